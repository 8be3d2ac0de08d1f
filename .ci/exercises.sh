#!/usr/bin/env bash
# Proves that the exercises' checks do their job (called by .ci/run):
#  1. the reference answers pass every check;
#  2. the wrong answers learners really write are rejected, each by the check
#     and message meant for it (solutions/tests/wrong_solutions.rs);
#  3. the untouched stubs fail EVERY check of EACH exercise, each with the
#     message that names the file to edit.
# Nothing here can hang: every cargo command runs under `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=0

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

BUILD_LIMIT=900 # seconds for a command that may compile
RUN_LIMIT=120   # seconds for running one exercise's checks (each has a 10 s deadline)

step "exercises: the reference answers pass every check"
timeout "$BUILD_LIMIT" cargo test -p solutions --test checks

step "exercises: the wrong answers learners write are rejected"
timeout "$BUILD_LIMIT" cargo test -p solutions --test wrong_solutions

step "exercises: the untouched stubs fail every check"
timeout "$BUILD_LIMIT" cargo test -p exercises --test checks --no-run
# The exercises and their test modules, from the one list of checks:
# lines like `    echo_server in e02b_echo_server: [`.
mapfile -t exercises < <(sed -n 's/^ *\([a-z_0-9]*\) in \(e[0-9a-z_]*\): \[$/\1 \2/p' \
    exercises/tests/shared/checks_list.rs)
[ "${#exercises[@]}" -ge 7 ] || fail "found only ${#exercises[@]} exercises in checks_list.rs"
for entry in "${exercises[@]}"; do
    read -r name module <<<"$entry"
    status=0
    out=$(timeout "$RUN_LIMIT" cargo test -q -p exercises --test checks -- "${module}::" 2>&1) || status=$?
    [ "$status" -ne 124 ] || fail "$name: the checks did not finish within ${RUN_LIMIT}s"
    [ "$status" -ne 0 ] || fail "$name: cargo test passed on the untouched stub"
    summary=$(grep -E '^test result: ' <<<"$out" || true)
    [[ "$summary" =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed ]] \
        || fail "$name: no test summary in the output:"$'\n'"$out"
    passed=${BASH_REMATCH[1]}
    failed=${BASH_REMATCH[2]}
    [ "$passed" -eq 0 ] || fail "$name: $passed check(s) passed on the untouched stub"
    [ "$failed" -gt 0 ] || fail "$name: no check ran"
    # Each failure must say which file to edit (the todo!() message).
    named=$(grep -c "^not done yet: exercise .* in exercises/src/$name.rs$" <<<"$out" || true)
    [ "$named" -eq "$failed" ] \
        || fail "$name: only $named of $failed failures name exercises/src/$name.rs:"$'\n'"$out"
    printf '%-16s %2d checks, all failed on the stub, each naming exercises/src/%s.rs\n' \
        "$name" "$failed" "$name"
done
