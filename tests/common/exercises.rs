//! For the tests of the exercises' tools (`cargo run -p exercises`, `cargo
//! test -p exercises`): a copy of the course to break and edit, so the real
//! stubs are never touched, and the real progress program to run in it.
//!
//! Each copy lives at a fixed place of its own, `TARGET/exercise-copies/
//! NAME/`, and is brought back in line with the course file by file, writing
//! only what differs: its files keep their times, so cargo rebuilds only
//! what a test changed since the last run. The progress program finds the
//! course from its current directory, so run in the copy, it checks the
//! copy.
//!
//! Each copy also has a target directory of its own, `NAME.target/`, kept
//! from run to run: cargo names the artifacts of a package after its path
//! *inside* its workspace, so two copies (or a copy and the course) sharing
//! a target directory would build over each other's programs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::Duration;

use super::Program;

/// How long a run that may build some of the exercises can take: a first
/// build of a copy compiles the course's library and a dozen small crates.
pub const BUILD_DEADLINE: Duration = Duration::from_secs(600);

/// The course's own folder (this package is its `tests/`).
pub fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the course")
        .to_path_buf()
}

/// The target directory and profile folder this test was built in:
/// `TARGET/PROFILE/deps/TEST-HASH`.
fn target_and_profile() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("TARGET/PROFILE/deps")
        .to_path_buf();
    let target = profile.parent().expect("TARGET/PROFILE").to_path_buf();
    (target, profile)
}

/// The progress program (`cargo run -p exercises`), built once per test
/// run with the cargo and profile that built this test.
pub fn progress_path() -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let (_, profile) = target_and_profile();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "--package",
                "exercises",
                "--bin",
                "progress",
            ])
            .arg("--manifest-path")
            .arg(course_root().join("Cargo.toml"));
        if profile.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        match build.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("`cargo build -p exercises` failed ({status})")),
            Err(e) => Err(format!(
                "cannot run cargo to build the progress program: {e}"
            )),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let path = profile.join(format!("progress{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// What a program printed, and how it ended.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Everything it printed, for failure messages.
    pub fn all(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A copy of the course, to break and edit.
pub struct CourseCopy {
    pub root: PathBuf,
}

impl CourseCopy {
    /// The copy called `name`, made or brought back in line with the course.
    pub fn new(name: &str) -> CourseCopy {
        let (target, _) = target_and_profile();
        let root = target.join("exercise-copies").join(name);
        sync(&course_root(), &root);
        CourseCopy { root }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        relative
            .split('/')
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("cannot read {relative} in the copy: {e}"))
    }

    pub fn write(&self, relative: &str, contents: &str) {
        fs::write(self.path(relative), contents)
            .unwrap_or_else(|e| panic!("cannot write {relative} in the copy: {e}"));
    }

    /// Puts the reference answer of `exercise` in the student's file.
    pub fn solve(&self, exercise: &str) {
        let answer = fs::read_to_string(course_root().join(format!("solutions/src/{exercise}.rs")))
            .expect("the reference answer");
        self.write(&format!("exercises/src/{exercise}.rs"), &answer);
    }

    /// Puts a type error into the student's file of `exercise`.
    pub fn break_types(&self, exercise: &str) {
        let file = format!("exercises/src/{exercise}.rs");
        let mut text = self.read(&file);
        text.push_str("\npub fn not_a_number() -> u32 {\n    \"forty-two\"\n}\n");
        self.write(&file, &text);
    }

    /// The copy's own target directory.
    pub fn target_dir(&self) -> PathBuf {
        let mut dir = self.root.clone().into_os_string();
        dir.push(".target");
        PathBuf::from(dir)
    }

    /// `cargo ARGS` in the copy, with its own target directory.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", self.target_dir());
        command
    }

    /// The progress program with `args`, run in the copy (its builds go to
    /// the copy's target directory).
    pub fn progress(&self, args: &[&str]) -> Command {
        let mut command = Command::new(progress_path());
        command
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", self.target_dir());
        command
    }

    /// Runs the progress program with `args` in the copy to its end.
    pub fn run(&self, args: &[&str]) -> Ran {
        run(self.progress(args), &format!("progress {}", args.join(" ")))
    }
}

/// Runs `command` to its end under [`BUILD_DEADLINE`], stdin closed.
pub fn run(command: Command, name: &str) -> Ran {
    let mut program = Program::spawn(command, name);
    program.close_stdin();
    let status = program.wait_for_exit_within(BUILD_DEADLINE);
    Ran {
        status,
        stdout: program.rest_of_stdout().join("\n"),
        stderr: program.stderr().join("\n"),
    }
}

/// What is not copied: git's data, build output, and the book (which no
/// build needs).
fn skipped(name: &str) -> bool {
    matches!(name, ".git" | "target" | "book")
}

/// Makes `to` a copy of `from`, writing only the files that differ, and
/// removing what `from` does not have (a test's `.bak` files, say).
fn sync(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    let entries =
        fs::read_dir(from).unwrap_or_else(|e| panic!("cannot list {}: {e}", from.display()));
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if skipped(&name.to_string_lossy()) {
            continue;
        }
        let (source, copy) = (entry.path(), to.join(&name));
        names.push(name);
        if source.is_dir() {
            sync(&source, &copy);
        } else {
            let contents = fs::read(&source)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
            if fs::read(&copy).ok().as_ref() != Some(&contents) {
                fs::write(&copy, &contents)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", copy.display()));
            }
        }
    }
    for entry in fs::read_dir(to).into_iter().flatten().flatten() {
        if !names.contains(&entry.file_name()) {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}
