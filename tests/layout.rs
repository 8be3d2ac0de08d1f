//! The tree shows the design: the student's folder holds only the
//! exercises, and every package's code is inside its own folder. These
//! tests keep it so when someone adds a file or a package.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the course's folder")
        .to_path_buf()
}

#[test]
fn the_students_folder_holds_only_the_exercises_and_their_hints() {
    let src = root().join("exercises/src");
    let mut names: Vec<String> = fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()))
        .map(|entry| {
            let entry = entry.expect("a directory entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    let stubs = root().join("exercises/stubs");
    let mut exercises: Vec<String> = fs::read_dir(&stubs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", stubs.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .collect();
    exercises.sort();
    assert!(
        exercises.len() >= 10,
        "only {exercises:?} in exercises/stubs"
    );
    // A student's `reset` leaves NAME.rs.bak beside the file: that is theirs.
    let strays: Vec<&String> = names
        .iter()
        .filter(|name| {
            !exercises.iter().any(|e| {
                **name == format!("{e}.rs")
                    || **name == format!("{e}.hints.md")
                    || **name == format!("{e}.rs.bak")
            })
        })
        .collect();
    assert!(
        strays.is_empty(),
        "exercises/src/ is the student's folder: only NAME.rs and NAME.hints.md for the \
         exercises in exercises/stubs/ belong there, but it also holds {strays:?}. \
         The tool's code goes in exercises/tool/, the checks in exercises/crates/checks/."
    );
    for e in &exercises {
        for file in [format!("{e}.rs"), format!("{e}.hints.md")] {
            assert!(names.contains(&file), "exercises/src/{file} is missing");
        }
    }
}

/// Every `path = "..."` of a `[lib]`, `[[bin]]`, `[[test]]` or `[[example]]`
/// section in the manifest at `manifest`.
fn target_paths(manifest: &Path) -> Vec<String> {
    let text = fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let mut in_target = false;
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_target = matches!(
                line,
                "[lib]" | "[[bin]]" | "[[test]]" | "[[example]]" | "[[bench]]"
            );
        } else if in_target && let Some(value) = line.strip_prefix("path = ") {
            paths.push(value.trim_matches('"').to_string());
        }
    }
    paths
}

fn manifests(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && !matches!(name.to_str(), Some("target" | ".git" | "node_modules")) {
            manifests(&path, found);
        } else if name == "Cargo.toml" {
            found.push(path);
        }
    }
}

#[test]
fn no_package_takes_its_code_from_another_packages_folder() {
    let mut found = Vec::new();
    manifests(&root(), &mut found);
    assert!(found.len() > 10, "found only {found:?}");
    let mut outside = Vec::new();
    for manifest in &found {
        let folder = manifest.parent().expect("a manifest is in a folder");
        for path in target_paths(manifest) {
            let into = folder.join(&path);
            let inside = !path.split('/').any(|part| part == "..");
            // The one exception: an exercise's crate compiles the student's
            // file, which belongs in exercises/src/.
            let students_file = folder.parent().and_then(Path::file_name)
                == Some("crates".as_ref())
                && path.starts_with("../../src/")
                && path.matches('/').count() == 3;
            if !inside && !students_file {
                outside.push(format!("{} -> {}", manifest.display(), into.display()));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "these manifests take code from outside their package's folder:\n{}",
        outside.join("\n")
    );
}

#[test]
fn every_package_of_the_course_states_the_minimum_rust_version() {
    let mut found = Vec::new();
    manifests(&root(), &mut found);
    let missing: Vec<String> = found
        .iter()
        // bench/ holds tools of their own workspaces, not the course's.
        .filter(|m| !m.starts_with(root().join("bench")))
        .filter(|m| {
            let text = fs::read_to_string(m).unwrap_or_default();
            text.contains("[package]") && !text.contains("rust-version")
        })
        .map(|m| m.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "the workspace's rust-version (the minimum the teachers' page names) is not inherited \
         by {missing:?}: add `rust-version.workspace = true` under [package]"
    );
}
