//! Building the exercises' crates with cargo, from inside a program that
//! cargo itself started (`cargo test -p exercises`, `cargo run -p
//! exercises`).
//!
//! Why this does not deadlock on cargo's build lock: cargo holds it only
//! while it builds, and lets go before it runs a test or a program. And why
//! it does not build everything twice: the inner cargo is told the same
//! target directory and profile as the outer one, read from where this
//! program's own executable is (`target/debug/progress`,
//! `target/debug/deps/checks-HASH`; `CARGO_TARGET_DIR` if it is set), so
//! it finds everything the outer build left there.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use crate::course::Course;
use crate::json;

/// The longest a build may take before it is stopped. A first build of the
/// exercises compiles a few small crates; this only stops a build that can
/// never end (one waiting for ever on a lock, say).
pub const BUILD_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// How to run cargo the way the outer cargo was run.
#[derive(Debug, Clone)]
pub struct Cargo {
    program: OsString,
    manifest: PathBuf,
    /// The target directory, if it could be told.
    target: Option<PathBuf>,
    /// The profile flags (`--release`, `--profile NAME`).
    flags: Vec<OsString>,
    /// The profile's folder (`target/debug`), for the programs' paths.
    pub profile_dir: Option<PathBuf>,
}

/// The first error the compiler found in an exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The file, relative to the course's folder when it is inside it.
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// The compiler's one-line message, e.g. `mismatched types`.
    pub message: String,
    /// Every error the compiler reported for the exercise, as it prints them.
    pub rendered: String,
}

impl CompileError {
    /// `exercises/src/threads.rs:20:5: mismatched types`.
    pub fn headline(&self) -> String {
        format!(
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// What a build made of each exercise.
#[derive(Debug, Default)]
pub struct Build {
    /// Each exercise that compiled: its checks program.
    pub programs: HashMap<String, PathBuf>,
    /// Each exercise that did not compile: its first error.
    pub errors: HashMap<String, CompileError>,
    /// If cargo itself failed for another reason: what it said.
    pub failure: Option<String>,
}

impl Cargo {
    pub fn new(course: &Course) -> Cargo {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut flags = Vec::new();
        let mut profile_dir = None;
        let mut target_dir = None;
        if let Some((own, profile)) = Self::own_target_dir() {
            // As cargo does, CARGO_TARGET_DIR wins; it normally is where
            // this program is anyway.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|dir| !dir.is_empty())
                .map_or(own, PathBuf::from);
            target_dir = Some(target.clone());
            match profile.as_str() {
                "debug" => {}
                "release" => flags.push("--release".into()),
                other => {
                    flags.push("--profile".into());
                    flags.push(other.into());
                }
            }
            profile_dir = Some(target.join(profile));
        }
        Cargo {
            program,
            manifest: course.path("Cargo.toml"),
            target: target_dir,
            flags,
            profile_dir,
        }
    }

    /// The target directory the builds go to, if it could be told.
    pub fn target_dir(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    /// The same cargo and profile, for the course in `course`, building in
    /// `target` (a target directory of its own: see [`crate::grading`]).
    pub fn elsewhere(&self, course: &Course, target: &Path) -> Cargo {
        let profile = self
            .profile_dir
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(|| "debug".into(), |p| p.to_os_string());
        Cargo {
            program: self.program.clone(),
            manifest: course.path("Cargo.toml"),
            target: Some(target.to_path_buf()),
            flags: self.flags.clone(),
            profile_dir: Some(target.join(profile)),
        }
    }

    /// The target directory and profile this program was built in:
    /// `TARGET/PROFILE/NAME` or `TARGET/PROFILE/deps/NAME-HASH`.
    fn own_target_dir() -> Option<(PathBuf, String)> {
        let exe = std::env::current_exe().ok()?;
        let mut dir = exe.parent()?;
        if dir.file_name()? == "deps" {
            dir = dir.parent()?;
        }
        let profile = dir.file_name()?.to_str()?.to_string();
        let target = dir.parent()?;
        // Cargo marks every target directory with this file.
        target
            .join("CACHEDIR.TAG")
            .is_file()
            .then(|| (target.to_path_buf(), profile))
    }

    /// A `cargo SUBCOMMAND` for the course, with the outer build's target
    /// directory and profile.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.program);
        command
            .arg(subcommand)
            .arg("--manifest-path")
            .arg(&self.manifest)
            .args(&self.flags);
        if let Some(target) = &self.target {
            command.arg("--target-dir").arg(target);
        }
        if let Some(root) = self.manifest.parent() {
            command.current_dir(root);
        }
        command
    }

    /// Builds the checks program of each of `exercises` (by name), going on
    /// past the ones that do not compile. Cargo's progress lines go to
    /// stderr as it prints them.
    pub fn build(&self, course: &Course, exercises: &[&str]) -> Build {
        let mut build = Build::default();
        if exercises.is_empty() {
            return build;
        }
        let mut command = self.command("build");
        command
            .args(["--message-format=json", "--keep-going", "--test", "checks"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in exercises {
            command.arg("--package").arg(format!("exercise-{name}"));
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                build.failure = Some(format!("cannot run cargo ({:?}): {e}", self.program));
                return build;
            }
        };
        let stderr = child.stderr.take().map(|pipe| {
            thread::spawn(move || {
                // Passed on as it comes, but for the summaries of failed
                // crates: the errors themselves are reported better below.
                let mut kept = String::new();
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if line.starts_with("error: could not compile")
                        || line.starts_with("warning: build failed")
                    {
                        continue;
                    }
                    eprintln!("{line}");
                    kept.push_str(&line);
                    kept.push('\n');
                }
                kept
            })
        });
        let mut messages = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let reader = thread::spawn(move || read_lines(stdout));
            // Waits for cargo under the deadline, and for a cancel.
            let start = Instant::now();
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if crate::CANCEL.load(Ordering::SeqCst) => {
                        let _ = child.kill();
                        build.failure = Some("stopped".into());
                        break;
                    }
                    Ok(None) if start.elapsed() > BUILD_DEADLINE => {
                        let _ = child.kill();
                        build.failure = Some(format!(
                            "cargo did not finish building the exercises within {} minutes \
                             (is another cargo holding the lock on the target directory?)",
                            BUILD_DEADLINE.as_secs() / 60
                        ));
                        break;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                    Err(e) => {
                        build.failure = Some(format!("cannot wait for cargo: {e}"));
                        break;
                    }
                }
            }
            let _ = child.wait();
            messages = reader.join().unwrap_or_default();
        }
        let said = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        for line in messages {
            let Ok(message) = json::parse(&line) else {
                continue;
            };
            let Some(exercise) = exercise_of(&message) else {
                continue;
            };
            match message.get("reason").and_then(json::Value::as_str) {
                Some("compiler-artifact") => {
                    let target = message.get("target");
                    let is_checks = target
                        .and_then(|t| t.get("name"))
                        .and_then(json::Value::as_str)
                        == Some("checks");
                    let program = message.get("executable").and_then(json::Value::as_str);
                    if let (true, Some(program)) = (is_checks, program) {
                        build.programs.insert(exercise, PathBuf::from(program));
                    }
                }
                Some("compiler-message") => {
                    if let Some(mut error) = compile_error(course, &message) {
                        // The crate's manifest names the file through `..`:
                        // show the path the student knows.
                        let detour = format!("exercises/crates/{exercise}/../../src/");
                        error.rendered = error.rendered.replace(&detour, "exercises/src/");
                        build
                            .errors
                            .entry(exercise)
                            .and_modify(|first| {
                                first.rendered.push_str(&error.rendered);
                            })
                            .or_insert(error);
                    }
                }
                _ => {}
            }
        }
        // An exercise that neither compiled nor has an error of its own:
        // something it depends on failed (or cargo did).
        let unexplained = exercises
            .iter()
            .any(|e| !build.programs.contains_key(*e) && !build.errors.contains_key(*e));
        if unexplained && build.failure.is_none() {
            build.failure = Some(if said.trim().is_empty() {
                "cargo failed without saying why".to_string()
            } else {
                said
            });
        }
        build
    }
}

fn read_lines(pipe: impl Read) -> Vec<String> {
    BufReader::new(pipe).lines().map_while(Result::ok).collect()
}

/// The exercise a cargo message is about, from its package's manifest:
/// `.../exercises/crates/NAME/Cargo.toml`.
fn exercise_of(message: &json::Value) -> Option<String> {
    let manifest = Path::new(message.get("manifest_path")?.as_str()?);
    let dir = manifest.parent()?;
    let crates = dir.parent()?;
    (crates.file_name()? == "crates").then(|| dir.file_name()?.to_str().map(str::to_string))?
}

/// The error in a `compiler-message`, if it is one.
fn compile_error(course: &Course, message: &json::Value) -> Option<CompileError> {
    let diagnostic = message.get("message")?;
    let level = diagnostic.get("level")?.as_str()?;
    if !level.starts_with("error") {
        return None;
    }
    let text = diagnostic.get("message")?.as_str()?.to_string();
    let rendered = diagnostic
        .get("rendered")
        .and_then(json::Value::as_str)
        .unwrap_or(&text)
        .to_string();
    let spans = diagnostic
        .get("spans")
        .map(json::Value::as_array)
        .unwrap_or_default();
    let primary = spans
        .iter()
        .find(|s| s.get("is_primary").and_then(json::Value::as_bool) == Some(true))
        .or(spans.first());
    let (file, line, column) = match primary {
        Some(span) => (
            span.get("file_name")
                .and_then(json::Value::as_str)
                .map(|f| relative(course, f))
                .unwrap_or_default(),
            span.get("line_start")
                .and_then(json::Value::as_u64)
                .unwrap_or(0),
            span.get("column_start")
                .and_then(json::Value::as_u64)
                .unwrap_or(0),
        ),
        None => (String::new(), 0, 0),
    };
    Some(CompileError {
        file,
        line,
        column,
        message: text,
        rendered,
    })
}

/// A file name from the compiler, relative to the course's folder and
/// without `..` steps: `exercises/crates/threads/../../src/threads.rs`
/// becomes `exercises/src/threads.rs`.
fn relative(course: &Course, file: &str) -> String {
    let path = Path::new(file);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        course.root.join(path)
    };
    let mut clean = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    match clean.strip_prefix(&course.root) {
        Ok(inside) => inside
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => clean.display().to_string(),
    }
}
