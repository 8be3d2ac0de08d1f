//! The course's folder, and the files of an exercise in it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use checks::Exercise;

/// The folder of the course you are working in.
#[derive(Debug, Clone)]
pub struct Course {
    pub root: PathBuf,
}

impl Course {
    /// The nearest folder, from the current directory up, that holds
    /// `exercises/stubs/` (so `cargo run -p exercises` checks the course you
    /// are in, wherever in it you are); else the one this program was built
    /// from.
    pub fn find() -> Course {
        let here = std::env::current_dir().ok();
        let found = here.as_deref().and_then(|here| {
            here.ancestors().find(|dir| {
                dir.join("exercises/stubs").is_dir() && dir.join("Cargo.toml").is_file()
            })
        });
        let root = match found {
            Some(root) => root.to_path_buf(),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")))
                .to_path_buf(),
        };
        Course { root }
    }

    /// A path of the course, from its `/`-separated relative name.
    pub fn path(&self, relative: &str) -> PathBuf {
        relative
            .split('/')
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    /// True if the student's file is still the stub as shipped.
    pub fn is_untouched(&self, exercise: &Exercise) -> bool {
        match (
            fs::read(self.path(&exercise.file())),
            fs::read(self.path(&exercise.stub())),
        ) {
            (Ok(file), Ok(stub)) => file == stub,
            _ => false,
        }
    }

    /// The small state file the progress program keeps (git ignores it).
    pub fn state_file(&self) -> PathBuf {
        self.path("exercises/.progress")
    }

    /// The commit this course is at (`git rev-parse HEAD`), if it is a git
    /// checkout and git is installed. Only the course's own `.git` counts:
    /// a copy inside another repository (a target directory) has none.
    pub fn commit(&self) -> Option<String> {
        if !self.root.join(".git").exists() {
            return None;
        }
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["rev-parse", "HEAD"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
        let hex = !commit.is_empty() && commit.chars().all(|c| c.is_ascii_hexdigit());
        (out.status.success() && hex).then_some(commit)
    }

    /// The hints of an exercise, one string each, from its `NAME.hints.md`
    /// (a numbered list: `1. ...`, `2. ...`, each maybe several lines).
    pub fn hints(&self, exercise: &Exercise) -> io::Result<Vec<String>> {
        let text = fs::read_to_string(self.path(&exercise.hints()))?;
        Ok(split_hints(&text))
    }
}

/// Splits a numbered Markdown list into its items, numbers removed.
pub fn split_hints(text: &str) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let numbered = trimmed.split_once(". ").filter(|(n, _)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && line == trimmed
        });
        match (numbered, hints.last_mut()) {
            (Some((_, first)), _) => hints.push(first.to_string()),
            (None, Some(hint)) if !trimmed.is_empty() => {
                hint.push('\n');
                hint.push_str(trimmed);
            }
            _ => {}
        }
    }
    hints
}

/// How many hints of each exercise were shown, from the state file.
#[derive(Debug, Default)]
pub struct State {
    hints_shown: Vec<(String, usize)>,
}

impl State {
    pub fn load(course: &Course) -> State {
        State::from_text(&fs::read_to_string(course.state_file()).unwrap_or_default())
    }

    /// The state file's contents, read.
    pub fn from_text(text: &str) -> State {
        let hints_shown = text
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some("hints-shown"), Some(name), Some(n)) => {
                        Some((name.to_string(), n.parse().ok()?))
                    }
                    _ => None,
                }
            })
            .collect();
        State { hints_shown }
    }

    pub fn hints_shown(&self, exercise: &str) -> usize {
        self.hints_shown
            .iter()
            .find(|(name, _)| name == exercise)
            .map_or(0, |(_, n)| *n)
    }

    pub fn set_hints_shown(&mut self, exercise: &str, n: usize) {
        self.hints_shown.retain(|(name, _)| name != exercise);
        self.hints_shown.push((exercise.to_string(), n));
        self.hints_shown.sort();
    }

    pub fn save(&self, course: &Course) -> io::Result<()> {
        let mut text = String::from(
            "# Kept by `cargo run -p exercises -- hint NAME` (git ignores this file).\n\
             # Delete it to see the hints from the first again.\n",
        );
        for (name, n) in &self.hints_shown {
            text.push_str(&format!("hints-shown {name} {n}\n"));
        }
        fs::write(course.state_file(), text)
    }
}
