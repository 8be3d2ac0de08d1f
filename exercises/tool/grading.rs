//! Grading a student's answers with this copy's checks: `list --answers
//! PATH` (see `list --help`).
//!
//! Only the exercise files (`exercises/src/NAME.rs`, one per exercise of
//! `checks::exercises()`) are read from PATH, as bytes: nothing else of the
//! student's copy is built, run or even read (their checks, their
//! `Cargo.toml`, their `.cargo/config.toml` are never looked at). They are
//! checked in a private copy of this course, `TARGET/grading/course/`: this
//! course's files, mirrored, with the student's exercise files in its
//! `exercises/src/`. Your own `exercises/src/` is never touched.
//!
//! Why a copy with a target directory of its own (`TARGET/grading/target/`)
//! rather than this course's target directory: cargo names a package's
//! artifacts after its path *inside* its workspace and judges them fresh by
//! the files' times, so two copies of the course sharing a target
//! directory build over each other's programs, and a later `cargo run -p
//! exercises` in your own copy could run a student's build and call it
//! yours (tests/common/exercises.rs says the same of the tests' copies).
//! The private copy stays at the same place from student to student, and
//! only the files that differ are rewritten, so what does not change (the
//! checks, the course's library) is built once, not once per student. Each
//! exercise whose file changed since the last grading is cleaned (`cargo
//! clean -p exercise-NAME`) before it is built: a file system whose clock is
//! coarse could otherwise let cargo take the previous student's program for
//! fresh. Plain files and std only, so it works the same on Linux, macOS
//! and Windows (no symbolic links, which Windows grants only to some).
//!
//! One grading at a time per target directory: the private copy is
//! shared, so a second one waits for the first (a lock on
//! `TARGET/grading/lock`, released by the system if the first is killed).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cargo::{BUILD_DEADLINE, Cargo};
use crate::course::{Course, State as Saved};

/// A course copy ready to grade a student's answers in. Holds the lock
/// until it is dropped.
pub struct Grading {
    /// The private copy, with the student's files.
    pub course: Course,
    /// Cargo, building in the private copy's own target directory.
    pub cargo: Cargo,
    /// Notes for the teacher: the files not taken, and why.
    pub notes: Vec<String>,
    _lock: File,
}

/// Where a student's file of `exercise` comes from.
enum Answer {
    Theirs(Vec<u8>),
    /// Missing or not a plain file: the stub, as not started.
    Stub(String),
}

/// Prepares the private copy of `course` with the exercise files of the
/// student's copy at `answers`.
pub fn prepare(course: &Course, cargo: &Cargo, answers: &Path) -> Result<Grading, String> {
    if !answers.is_dir() {
        return Err(format!(
            "--answers {}: not a folder (give the folder of a student's copy of the course)",
            answers.display()
        ));
    }
    let home = cargo
        .target_dir()
        .map_or_else(|| course.path("target"), Path::to_path_buf)
        .join("grading");
    fs::create_dir_all(&home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let lock = lock(&home.join("lock"))?;
    let copy = Course {
        root: home.join("course"),
    };
    let mut notes = Vec::new();
    let theirs = answers.join("exercises").join("src");
    if !theirs.is_dir() {
        notes.push(format!(
            "{} has no exercises/src/ folder: every exercise counts as not started",
            answers.display()
        ));
    }
    let mut wanted: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    mirror(&course.root, &course.root, &copy.root, &mut wanted)?;
    let mut changed = Vec::new();
    for exercise in checks::exercises() {
        let file = format!("{}.rs", exercise.name);
        let answer = match answer(&theirs, &file) {
            Answer::Theirs(bytes) => bytes,
            Answer::Stub(why) => {
                notes.push(format!(
                    "exercises/src/{file}: {why}; counted as not started"
                ));
                fs::read(course.path(&exercise.stub()))
                    .map_err(|e| format!("cannot read the stub {}: {e}", exercise.stub()))?
            }
        };
        let path = copy.path(&exercise.file());
        if fs::read(&path).ok().as_ref() != Some(&answer) {
            changed.push(exercise.name);
        }
        wanted.push((path, answer));
    }
    sync(&copy.root, &wanted)?;
    let cargo = cargo.elsewhere(&copy, &home.join("target"));
    clean(&cargo, &changed)?;
    Ok(Grading {
        course: copy,
        cargo,
        notes,
        _lock: lock,
    })
}

/// The student's file `name` in their `exercises/src/`, if it is a plain
/// file. A symbolic link is not followed: it could point into this course
/// (at `solutions/`, say) rather than at the student's own work.
fn answer(folder: &Path, name: &str) -> Answer {
    let linked = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let dirs = [folder.parent().unwrap_or(folder), folder];
    if dirs.iter().any(|d| linked(d)) {
        return Answer::Stub(
            "exercises/ or exercises/src/ is a symbolic link, not followed".into(),
        );
    }
    let path = folder.join(name);
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Answer::Stub("missing".into()),
        Err(e) => Answer::Stub(format!("cannot be read ({e})")),
        Ok(m) if m.file_type().is_symlink() => Answer::Stub("a symbolic link, not followed".into()),
        Ok(m) if !m.is_file() => Answer::Stub("not a file".into()),
        Ok(_) => match fs::read(&path) {
            Ok(bytes) => Answer::Theirs(bytes),
            Err(e) => Answer::Stub(format!("cannot be read ({e})")),
        },
    }
}

/// Takes the lock at `path`, waiting for another grading to end.
fn lock(path: &Path) -> Result<File, String> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let start = Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < BUILD_DEADLINE => {
                if !said {
                    eprintln!(
                        "waiting for another grading to finish (it holds {}) ...",
                        path.display()
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another grading held {} for {} minutes: stopped waiting",
                    path.display(),
                    BUILD_DEADLINE.as_secs() / 60
                ));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
    }
}

/// Collects into `wanted` every file of the course `root` under `dir` that
/// the private copy needs, with its place in the copy `copy`: all but git's data (at
/// any depth: a folder of students' clones kept in the course), build
/// output (any folder cargo marked as a target directory), the book, and
/// the student's own files (the exercises, their `.bak`, `.progress`).
fn mirror(
    root: &Path,
    dir: &Path,
    copy: &Path,
    wanted: &mut Vec<(PathBuf, Vec<u8>)>,
) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let git = entry.file_name() == ".git";
        if git || matches!(name.as_str(), "target" | "book" | "exercises/.progress") {
            continue;
        }
        let is_exercise = name
            .strip_prefix("exercises/src/")
            .is_some_and(|f| f.ends_with(".rs") || f.ends_with(".bak"));
        if is_exercise {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !path.join("CACHEDIR.TAG").exists() {
                mirror(root, &path, copy, wanted)?;
            }
        } else if kind.is_file() {
            let bytes =
                fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            wanted.push((copy.join(relative), bytes));
        }
    }
    Ok(())
}

/// Makes the folder `root` hold exactly the files `wanted`, rewriting only
/// those that differ (the others keep their times, so cargo rebuilds only
/// what changed).
fn sync(root: &Path, wanted: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
    for (path, bytes) in wanted {
        if fs::read(path).ok().as_ref() == Some(bytes) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    remove_others(root, wanted);
    Ok(())
}

/// Removes what is under `dir` but not wanted (a file the course no longer
/// has); folders that hold a wanted file stay.
fn remove_others(dir: &Path, wanted: &[(PathBuf, Vec<u8>)]) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let holds_wanted = wanted.iter().any(|(w, _)| w.starts_with(&path));
        if !holds_wanted {
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        } else if path.is_dir() {
            remove_others(&path, wanted);
        }
    }
}

/// `cargo clean -p exercise-NAME` for each exercise in `changed`.
fn clean(cargo: &Cargo, changed: &[&str]) -> Result<(), String> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut command = cargo.command("clean");
    command
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for name in changed {
        command.arg("--package").arg(format!("exercise-{name}"));
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "`cargo clean` of the changed exercises failed ({status})"
        )),
        Err(e) => Err(format!("cannot run cargo: {e}")),
    }
}

/// The hints the student saw, as their copy recorded them
/// (`exercises/.progress`): read only if it is a plain, small file, so a
/// link to something endless (`/dev/zero`) cannot stop the grading.
pub fn hints_seen(answers: &Path) -> Saved {
    let path = answers.join("exercises").join(".progress");
    let plain_and_small =
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= 65_536);
    let text = if plain_and_small {
        fs::read_to_string(&path).unwrap_or_default()
    } else {
        String::new()
    };
    Saved::from_text(&text)
}
