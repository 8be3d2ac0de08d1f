//! The teachers' page, end to end: the class overview
//! (`exercises/tools/progress_summary.py`) run with python3 on the files a
//! class really hands in, good and bad, and the page's `list --json`
//! example held to what the real tool prints.
//!
//! The good files come from the real tool (`list --json` on a fresh copy of
//! the course: every exercise is the stub, so nothing is built) and from
//! `exercises/tools/example-progress.json`, the real output of a
//! copy with one exercise done, one failing a check and one that does not
//! compile. That file is also the page's example, and
//! [`the_pages_example_has_the_shape_of_what_list_json_prints`] fails when
//! the tool's output moves away from it (a check added, a field renamed).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::exercises::{CourseCopy, Ran, course_root, run};
use pretty_assertions::assert_eq;

/// The page's example: real `list --json` output, one exercise a line.
const EXAMPLE: &str = "exercises/tools/example-progress.json";

/// The check the example's exercise 02b stops at.
const SECOND_CLIENT: &str = "a_second_client_is_served_while_the_first_stays_connected";

/// A folder of its own for this test's files, emptied first.
fn class_folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tcp-lessons-teachers-{}-{test}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
}

/// What a student's `list --json` prints on a fresh clone: the real tool.
fn stub_progress(copy: &str) -> String {
    let ran = CourseCopy::new(copy).run(&["list", "--json"]);
    assert!(ran.status.success(), "{}", ran.all());
    ran.stdout
}

fn example() -> String {
    fs::read_to_string(course_root().join(EXAMPLE))
        .unwrap_or_else(|e| panic!("cannot read {EXAMPLE}: {e}"))
}

/// `python3 progress_summary.py ARGS`.
fn summary(args: &[&Path]) -> Ran {
    summary_in(Path::new("."), args)
}

/// `python3 progress_summary.py ARGS`, run in `dir`.
fn summary_in(dir: &Path, args: &[&Path]) -> Ran {
    let mut python = Command::new("python3");
    python
        .arg(course_root().join("exercises/tools/progress_summary.py"))
        .args(args)
        .current_dir(dir);
    run(python, "progress_summary.py")
}

/// The `text` block of the teachers' page that follows `after`.
fn page_block(after: &str) -> String {
    let page =
        fs::read_to_string(course_root().join("book/src/teachers.md")).expect("the teachers' page");
    let from = page
        .find(after)
        .unwrap_or_else(|| panic!("the page says {after:?}"));
    let start = from + page[from..].find("```text\n").expect("a text block") + "```text\n".len();
    let end = start + page[start..].find("\n```").expect("the block's end");
    page[start..end].to_string()
}

/// `2>&1`: cargo's messages before and after the JSON.
fn with_cargo_noise(json: &str) -> String {
    format!(
        "   Compiling exercise-reverse v0.1.0 (/home/carol/tcp-lessons/exercises/crates/reverse)\n\
         error[E0308]: mismatched types {{ here }}\n\
         \x20    Running `target/debug/progress list --json`\n{json}\
         warning: build failed, waiting for other jobs to finish...\n"
    )
}

/// Text as Windows PowerShell 5.1's `>` writes it: UTF-16 LE with a BOM,
/// CRLF line ends.
fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.replace('\n', "\r\n").encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

#[test]
fn the_summary_reads_every_file_labels_the_bad_ones_and_shows_where_the_class_is_stuck() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let class = class_folder("class");
    let example = example();
    write(
        &class,
        "progress-alice.json",
        stub_progress("teachers-class").as_bytes(),
    );
    write(&class, "progress-bob.json", &utf16le_with_bom(&example));
    write(
        &class,
        "progress-carol.json",
        with_cargo_noise(&example).as_bytes(),
    );
    // The student's cargo failed before the tool printed anything.
    write(&class, "progress-dave.json", b"");
    // A student whose 02b fails at another check, named in the file, with
    // fields this summary does not read.
    let erin = example
        .replacen(SECOND_CLIENT, "echoes_what_one_client_sends", 1)
        .replacen("\"student\":null", "\"student\":\"Erin\"", 1)
        .replacen(
            "\"version\":1,",
            "\"version\":1,\"a_field_from_later\":[1,{\"x\":null}],",
            1,
        );
    write(&class, "progress-x7.json", erin.as_bytes());
    write(
        &class,
        "progress-frank.json",
        b"error: could not compile `exercises`\n",
    );

    let ran = summary(&[&class]);
    assert_eq!(ran.status.code(), Some(1), "{}", ran.all());
    let dave = class.join("progress-dave.json");
    let frank = class.join("progress-frank.json");
    let (dave, frank) = (dave.display(), frank.display());
    assert_eq!(
        ran.stdout,
        format!(
            "\
student  done  01    02a  02b   03  04  05  06  07  08  09  10
alice    0/11  --    --   --    --  --  --  --  --  --  --  --
bob      1/11  done  --   1/11  CE  --  --  --  --  --  --  --
carol    1/11  done  --   1/11  CE  --  --  --  --  --  --  --
Erin     1/11  done  --   1/11  CE  --  --  --  --  --  --  --

done: every check passes; 3/12: 3 of 12 checks pass; --: not started (the stub);
CE: does not compile; NB: not built (cargo failed); .: not in the file

Stuck on (per exercise, the most common first failing check among those not done):
  02b echo_server: 2 of the 4 not done stop at
      {SECOND_CLIENT}
  03 reverse: 3 of the 4 not done do not compile

Could not read 2 file(s):
  {dave}: empty (did the student's cargo command fail?)
  {frank}: no complete progress JSON in it (it begins: 'error: could not compile `exercises`')"
        ),
        "{}",
        ran.all()
    );
    let _ = fs::remove_dir_all(&class);
}

/// The page's example of a summary is this run: a fresh clone's file, a
/// UTF-16 one, one with cargo's messages around the JSON, an empty one.
#[test]
fn the_pages_example_summary_is_what_the_summary_prints() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let parent = class_folder("page");
    let class = parent.join("FOLDER");
    fs::create_dir_all(&class).unwrap_or_else(|e| panic!("cannot create FOLDER: {e}"));
    let example = example();
    write(
        &class,
        "progress-alice.json",
        stub_progress("teachers-page").as_bytes(),
    );
    write(&class, "progress-bob.json", &utf16le_with_bom(&example));
    write(
        &class,
        "progress-carol.json",
        with_cargo_noise(&example).as_bytes(),
    );
    write(&class, "progress-dave.json", b"");
    let ran = summary_in(&parent, &[Path::new("FOLDER")]);
    assert_eq!(ran.status.code(), Some(1), "{}", ran.all());
    // Python joins paths with `\\` on Windows; the page shows `/`.
    let stdout = ran.stdout.replace('\\', "/");
    assert_eq!(stdout, page_block("For four files"), "{}", ran.all());
    let _ = fs::remove_dir_all(&parent);
}

#[test]
fn the_summary_of_a_class_that_has_not_started_exits_with_success() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let class = class_folder("fresh");
    let file = class.join("progress-alice.json");
    write(
        &class,
        "progress-alice.json",
        stub_progress("teachers-fresh").as_bytes(),
    );
    let ran = summary(&[&file]);
    assert_eq!(ran.status.code(), Some(0), "{}", ran.all());
    assert!(
        ran.stdout
            .contains("alice    0/11  --  --   --   --  --  --  --  --  --  --  --"),
        "{}",
        ran.all()
    );
    assert!(
        ran.stdout
            .contains("  nothing: no student has a failing check or a compile error"),
        "{}",
        ran.all()
    );
    let _ = fs::remove_dir_all(&class);
}

/// The page's example is a real run's output, kept in a file; it must keep
/// the exercises (ids, names, files, numbers of checks) and the fields, in
/// their order, of what the tool prints today.
#[test]
fn the_pages_example_has_the_shape_of_what_list_json_prints() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let page =
        fs::read_to_string(course_root().join("book/src/teachers.md")).expect("the teachers' page");
    assert!(
        page.contains("{{#include ../../exercises/tools/example-progress.json}}"),
        "the page shows {EXAMPLE}"
    );
    let class = class_folder("shape");
    write(
        &class,
        "real.json",
        stub_progress("teachers-shape").as_bytes(),
    );
    write(&class, "example.json", example().as_bytes());
    // Python's json module: the tests' package has no JSON parser.
    let shape = r#"
import json, sys
def shape(path):
    report = json.load(open(path, encoding="utf-8"))
    top = [k for k in report if k not in ("done",)]
    exercises = [([k for k in e], e["id"], e["name"], e["file"], e["checks"])
                 for e in report["exercises"]]
    return top, report["total"], exercises
real, example = shape(sys.argv[1]), shape(sys.argv[2])
print("same" if real == example else "real:    %r\nexample: %r" % (real, example))
"#;
    let mut python = Command::new("python3");
    python
        .args(["-c", shape])
        .arg(class.join("real.json"))
        .arg(class.join("example.json"));
    let ran = run(python, "python3 -c shape");
    assert!(ran.status.success(), "{}", ran.all());
    assert_eq!(
        ran.stdout.trim(),
        "same",
        "{EXAMPLE} no longer looks like what `list --json` prints: record it again \
         (see the page's comment above its include)"
    );
    let _ = fs::remove_dir_all(&class);
}
