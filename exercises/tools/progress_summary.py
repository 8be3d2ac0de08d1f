"""A class's progress at a glance: a student x exercise grid, and where
the class is stuck.

Each student runs, in their clone of the course,
    cargo run -q -p exercises -- list --json > progress-NAME.json
and hands the file in. Then:
    python3 exercises/tools/progress_summary.py [FOLDER_OR_FILE ...]
(default: the current folder; a folder means every *.json file in it).

It reads every file it is given and never stops at a bad one: files in
UTF-8 (with or without a BOM) or UTF-16 with a BOM (what Windows
PowerShell 5.1's `>` writes) are read, and cargo's messages around the
JSON (`2>&1`) are skipped. A file it cannot read (empty, no progress JSON
in it, not text) is listed with the reason. Exit status: 0 when every
file was read, 1 when one was not (the summary is printed anyway), 2 for
a bad command line.

Python 3.8 or later, standard library only. The format is described in
the book's page for teachers (book/src/teachers.md).
"""

import codecs
import glob
import json
import os
import sys
from collections import Counter

USAGE = "usage: python3 progress_summary.py [FOLDER_OR_FILE ...]"

# One short cell per state, so ten exercises fit in 100 columns.
CELLS = {
    "done": "done",
    "not_started": "--",
    "does_not_compile": "CE",
    "not_built": "NB",
}
LEGEND = (
    "done: every check passes; 3/12: 3 of 12 checks pass; --: not started "
    "(the stub);\nCE: does not compile; NB: not built (cargo failed); "
    ".: not in the file"
)
NAME_WIDTH = 18


class Unreadable(Exception):
    """Why a file cannot be summed up, in words for the teacher."""


def decode(data):
    """The text of a file in UTF-8 or UTF-16, which the BOM tells apart."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                raise Unreadable(f"starts as {encoding} but is not valid {encoding}")
    # UTF-16 without a BOM: every other byte of ASCII text is zero.
    if len(data) >= 4 and data[1::2].count(0) * 2 >= len(data) // 2:
        encoding = "utf-16-le"
    elif len(data) >= 4 and data[0::2].count(0) * 2 >= len(data) // 2:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise Unreadable("not text (neither UTF-8 nor UTF-16)")


def find_report(text):
    """The progress object in `text`, skipping whatever surrounds it:
    with `2>&1`, cargo's `Compiling ...` lines come before and after."""
    decoder = json.JSONDecoder()
    found_json = False
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            found_json = True
            if value.get("format") == "tcp-lessons-progress":
                return value
        start = text.find("{", start + 1)
    if found_json:
        raise Unreadable("JSON, but not a tcp-lessons-progress file")
    first = text.strip().splitlines()[0].strip()
    if len(first) > 50:
        first = first[:47] + "..."
    raise Unreadable(f"no complete progress JSON in it (it begins: {first!r})")


def read_report(path):
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as e:
        raise Unreadable(f"cannot open it: {e.strerror or e}")
    text = decode(data)
    if not text.strip():
        raise Unreadable("empty (did the student's cargo command fail?)")
    report = find_report(text)
    if report.get("version") != 1:
        raise Unreadable(f"version {report.get('version')!r}; this summary reads version 1")
    if not isinstance(report.get("exercises"), list):
        raise Unreadable("its \"exercises\" is not a list")
    return report


def student_name(path, report):
    """The optional "student" field, else the file's name without
    `progress-` and `.json`."""
    name = report.get("student")
    if not isinstance(name, str) or not name.strip():
        name = os.path.splitext(os.path.basename(path))[0]
        if name.startswith("progress-") and len(name) > len("progress-"):
            name = name[len("progress-"):]
    name = "".join(c if c.isprintable() else "?" for c in name.strip())
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "~"


def number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def cell(exercise):
    state = exercise.get("state")
    if state == "in_progress":
        return f"{number(exercise.get('passed'))}/{number(exercise.get('checks'))}"
    return CELLS.get(state, "?")


def files_of(arguments, unreadable):
    paths = []
    for argument in arguments or ["."]:
        if os.path.isdir(argument):
            found = sorted(glob.glob(os.path.join(argument, "*.json")))
            if not found:
                unreadable.append((argument, "a folder with no .json file in it"))
            paths.extend(found)
        else:
            paths.append(argument)
    return paths


def summary(arguments):
    """The lines to print, and whether every file was read."""
    unreadable = []
    students = []  # (name, report)
    for path in files_of(arguments, unreadable):
        try:
            report = read_report(path)
        except Unreadable as why:
            unreadable.append((path, str(why)))
            continue
        except Exception as e:  # noqa: BLE001 - one odd file must not stop the rest
            unreadable.append((path, f"cannot make sense of it ({type(e).__name__}: {e})"))
            continue
        students.append((student_name(path, report), report))

    # The columns: every exercise id, in the order the files list them.
    ids, names = [], {}
    for _, report in students:
        for exercise in report["exercises"]:
            if isinstance(exercise, dict) and exercise.get("id") not in names:
                ids.append(exercise.get("id"))
                names[exercise.get("id")] = exercise.get("name", "")
    rows = []
    for name, report in students:
        by_id = {e.get("id"): e for e in report["exercises"] if isinstance(e, dict)}
        done = sum(1 for e in by_id.values() if e.get("state") == "done")
        cells = [cell(by_id[i]) if i in by_id else "." for i in ids]
        rows.append([name, f"{done}/{len(by_id)}"] + cells)

    lines = []
    if rows:
        header = ["student", "done"] + [str(i) for i in ids]
        widths = [max(len(row[c]) for row in rows + [header]) for c in range(len(header))]
        for row in [header] + rows:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        lines.append("")
        lines.extend(LEGEND.splitlines())
        lines.append("")
        lines.extend(stuck_on(students, ids, names))
    else:
        lines.append("No progress file could be read.")
    if unreadable:
        lines.append("")
        lines.append(f"Could not read {len(unreadable)} file(s):")
        for path, why in unreadable:
            lines.append(f"  {path}: {why}")
    return lines, not unreadable


def stuck_on(students, ids, names):
    """Per exercise, the first failing check most students who have not
    finished it stop at: where to help the class next."""
    lines = ["Stuck on (per exercise, the most common first failing check among those not done):"]
    for i in ids:
        failing = Counter()
        order = {}  # check -> its place among the checks, to break ties
        not_done = compile_errors = 0
        for _, report in students:
            exercise = next(
                (e for e in report["exercises"] if isinstance(e, dict) and e.get("id") == i),
                None,
            )
            if exercise is None or exercise.get("state") == "done":
                continue
            not_done += 1
            compile_errors += exercise.get("state") == "does_not_compile"
            failure = exercise.get("first_failure")
            if isinstance(failure, dict) and isinstance(failure.get("check"), str):
                failing[failure["check"]] += 1
                order.setdefault(failure["check"], number(exercise.get("ran")))
        if not failing:
            if compile_errors:
                lines.append(
                    f"  {i} {names[i]}: {compile_errors} of the {not_done} not done do not compile"
                )
            continue
        check, count = min(failing.items(), key=lambda item: (-item[1], order[item[0]], item[0]))
        lines.append(f"  {i} {names[i]}: {count} of the {not_done} not done stop at")
        lines.append(f"      {check}")
    if len(lines) == 1:
        lines.append("  nothing: no student has a failing check or a compile error")
    return lines


def main(arguments):
    if any(a in ("-h", "--help") for a in arguments):
        print(__doc__.strip())
        return 0
    if any(a.startswith("-") and not os.path.exists(a) for a in arguments):
        print(USAGE, file=sys.stderr)
        return 2
    # A student's name the console cannot show must not stop the summary.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    lines, all_read = summary(arguments)
    try:
        print("\n".join(lines))
        sys.stdout.flush()
    except BrokenPipeError:
        # `... | head`: the reader has what it wanted. Point stdout at
        # nothing, so Python's own flush at exit fails no more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if all_read else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
