//! `cargo run -p exercises --bin NAME`: runs an exercise's program with
//! your code. The program belongs to the exercise's own crate
//! (`exercises/crates/NAME/program.rs`), so that it compiles only your
//! file for that exercise; this launcher asks cargo to build and run it,
//! with the same target directory and profile, and passes on every
//! argument and the exit code.

use std::process::ExitCode;

use crate::cargo::Cargo;
use crate::course::Course;

pub fn launch(program: &str) -> ExitCode {
    let Some(exercise) = checks::exercises()
        .into_iter()
        .find(|e| e.program == program)
    else {
        eprintln!("error: no exercise has a program called {program}");
        return ExitCode::FAILURE;
    };
    let course = Course::find();
    let mut cargo = Cargo::new(&course).command("run");
    cargo
        .args([
            "--quiet",
            "--package",
            &exercise.package(),
            "--example",
            program,
            "--",
        ])
        .args(std::env::args_os().skip(1));
    match cargo.status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE, // stopped by a signal (Ctrl-C)
        },
        Err(e) => {
            eprintln!("error: cannot run cargo to build {program}: {e}");
            ExitCode::FAILURE
        }
    }
}
