"""Sums up a class's progress: one line per student.

Each student runs, in their clone of the course,
    cargo run -q -p exercises -- list --json > progress-NAME.json
and hands the file in. Then, in the folder of those files:
    python3 exercises/tools/progress_summary.py [FOLDER]
The format is described in the book's page for teachers (book/src/teachers.md).
"""

import glob
import json
import os
import sys

# ANCHOR: summary
folder = sys.argv[1] if len(sys.argv) > 1 else "."
for path in sorted(glob.glob(os.path.join(folder, "progress-*.json"))):
    with open(path) as file:
        report = json.load(file)
    if report.get("format") != "tcp-lessons-progress" or report.get("version") != 1:
        print(f"{path}: not a version 1 progress file")
        continue
    cells = [e["id"] + ":" + e["label"] for e in report["exercises"]]
    name = os.path.basename(path)
    print(f"{name}: {report['done']}/{report['total']} done; " + ", ".join(cells))
# ANCHOR_END: summary
