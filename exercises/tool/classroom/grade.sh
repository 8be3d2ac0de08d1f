#!/bin/sh
# Grades a student's repository of tcp-lessons with the course's own checks,
# as the teacher pinned them: the GitHub Classroom workflow (grade.yml)
# calls it, and a teacher can run it by hand on a student's clone.
#
#   sh grade.sh COMMIT [STUDENT_DIR [OUT_DIR]]
#
# COMMIT       the course's commit the class works from: its checks grade.
# STUDENT_DIR  the student's repository (default: the current folder).
# OUT_DIR      where the results go (default: ./grading-results):
#              points.txt (points per exercise, and "Points P/M") and
#              classroom.json (one point per check, in the format of GitHub
#              Classroom's grading reporter).
# Environment: COURSE_REPO, a URL or path to fetch COMMIT from if the
# student's history lacks it (with the commit present, no network is
# used); STUDENT_NAME, shown in the results; CARGO_TARGET_DIR, to reuse
# earlier builds.
#
# What it trusts: nothing of the student's repository but the exercise files
# exercises/src/NAME.rs. The course is checked out at COMMIT in a folder of
# its own, outside the student's (so no .cargo/config.toml of theirs
# applies), and `list --answers` there takes only those files.
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: sh grade.sh COMMIT [STUDENT_DIR [OUT_DIR]]" >&2
    exit 2
fi
commit=$1
student=$(cd "${2:-.}" && pwd)
mkdir -p "${3:-grading-results}"
out=$(cd "${3:-grading-results}" && pwd)

# 1. The course at COMMIT, from the student's history (or COURSE_REPO).
if ! git -C "$student" cat-file -e "$commit^{commit}" 2>/dev/null; then
    if [ -z "${COURSE_REPO:-}" ]; then
        echo "error: commit $commit is not in $student's history; set COURSE_REPO to fetch it" >&2
        exit 1
    fi
    git -C "$student" fetch --quiet --no-tags "$COURSE_REPO" "$commit"
fi
work=$(mktemp -d)
course="$work/course"
cleanup() {
    git -C "$student" worktree remove --force "$course" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
git -C "$student" worktree add --quiet --detach "$course" "$commit"

# 2. Grade: the course's own tool, every check of each of the exercise files.
cd "$course"
set -- list --answers "$student" --classroom "$out/classroom.json"
if [ -n "${STUDENT_NAME:-}" ]; then
    set -- "$@" --name "$STUDENT_NAME"
fi
cargo run --quiet --locked -p exercises -- "$@" > "$out/points.txt"
cat "$out/points.txt"

# 3. For GitHub Actions: the reporter's input, and the job's summary.
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "result=$(base64 < "$out/classroom.json" | tr -d '\n')" >> "$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    { echo '```'; cat "$out/points.txt"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
fi
