#!/usr/bin/env bash
# Proves that the exercises' checks do their job (called by .ci/run), for
# every exercise:
#  0. the files students edit are the stubs as shipped (exercises/stubs/),
#     which `reset` puts back and the book shows;
#  1. the reference answers pass every check;
#  2. the wrong answers learners really write are rejected, each by the check
#     and message meant for it (solutions/tests/wrong_solutions*.rs);
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
RUN_LIMIT=300   # seconds for checking every stub (each check has a 10 s deadline)

# The exercises and their checks, from the one list (checks::exercises()):
# lines like `echo_server::echoes_what_one_client_sends: test`.
listed=$(timeout "$BUILD_LIMIT" cargo test -q -p exercises --test checks -- --list)
mapfile -t exercises < <(sed -n 's/^\([a-z_0-9]*\)::.*: test$/\1/p' <<<"$listed" | uniq)
[ "${#exercises[@]}" -ge 10 ] || fail "found only ${#exercises[@]} exercises: ${exercises[*]}"

step "exercises: the files to edit are the stubs as shipped"
for name in "${exercises[@]}"; do
    cmp -s "exercises/src/$name.rs" "exercises/stubs/$name.rs" \
        || fail "exercises/src/$name.rs differs from exercises/stubs/$name.rs. If the task changed, copy it: cp exercises/src/$name.rs exercises/stubs/"
done
for stub in exercises/stubs/*.rs; do
    name=$(basename "$stub" .rs)
    printf '%s\n' "${exercises[@]}" | grep -qx "$name" \
        || fail "$stub is no exercise's stub (checks::exercises() has no $name)"
done
echo "${#exercises[@]} exercises, each file equal to its stub"

step "exercises: the reference answers pass every check"
timeout "$BUILD_LIMIT" cargo test -p solutions --test checks

step "exercises: the wrong answers learners write are rejected"
timeout "$BUILD_LIMIT" cargo test -p solutions --test wrong_solutions --test wrong_solutions_07_08 \
    --test wrong_solutions_09

step "exercises: the untouched stubs fail every check"
timeout "$BUILD_LIMIT" cargo test -p exercises --test checks --no-run
status=0
out=$(timeout "$RUN_LIMIT" cargo test -p exercises --test checks 2>&1) || status=$?
[ "$status" -ne 124 ] || fail "the checks did not finish within ${RUN_LIMIT}s"
[ "$status" -ne 0 ] || fail "cargo test -p exercises passed on the untouched stubs"
for name in "${exercises[@]}"; do
    checks=$(grep -c "^$name::" <<<"$listed" || true)
    passed=$(grep -c "^test $name::.* \.\.\. ok$" <<<"$out" || true)
    failed=$(grep -c "^test $name::.* \.\.\. FAILED$" <<<"$out" || true)
    [ "$passed" -eq 0 ] || fail "$name: $passed check(s) passed on the untouched stub"
    [ "$failed" -eq "$checks" ] \
        || fail "$name: $failed of its $checks checks failed (and reported):"$'\n'"$out"
    # Each failure must say which file to edit (the todo!() message).
    named=$(grep -c "^not done yet: exercise .* in exercises/src/$name.rs$" <<<"$out" || true)
    [ "$named" -eq "$failed" ] \
        || fail "$name: only $named of $failed failures name exercises/src/$name.rs:"$'\n'"$out"
    printf '%-16s %2d checks, all failed on the stub, each naming exercises/src/%s.rs\n' \
        "$name" "$failed" "$name"
done
