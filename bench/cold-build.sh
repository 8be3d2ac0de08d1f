#!/usr/bin/env bash
# How long a learner's first `cargo run --example 03_reverse_server` takes,
# for two commits of the course, side by side: each round builds both from
# nothing (a fresh copy and a fresh target directory), alternating, so both
# see the same machine. Downloads are done before the clock starts.
#
#   bash bench/cold-build.sh [BEFORE [AFTER [ROUNDS]]]
#
# BEFORE defaults to e9bf852 (the last commit before the end-to-end tests
# left the package that owns examples/), AFTER to HEAD, ROUNDS to 3. Run it
# from a clone of the course with its history, on a machine doing nothing
# else. It prints one line per build and the median of each commit.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-e9bf852}
after=${2:-HEAD}
rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for rev in "$before" "$after"; do
    git worktree add -q --detach "$work/$rev" "$rev"
    # Fetch every crate first: the figure is compile time, not download time.
    (cd "$work/$rev" && cargo fetch -q)
done

declare -A times
for round in $(seq "$rounds"); do
    for rev in "$before" "$after"; do
        target="$work/target-$rev-$round"
        start=$(date +%s.%N)
        (cd "$work/$rev" && CARGO_TARGET_DIR="$target" cargo run -q --offline \
            --example 03_reverse_server -- --help >/dev/null)
        end=$(date +%s.%N)
        secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
        crates=$(find "$target/debug/deps" -name '*.rlib' | wc -l)
        printf 'round %s  %-8s %6.1f s  %3s crates compiled (rlibs)\n' \
            "$round" "$rev" "$secs" "$crates"
        times[$rev]+="$secs "
        rm -rf "$target"
    done
done

for rev in "$before" "$after"; do
    median=$(tr ' ' '\n' <<<"${times[$rev]}" | grep . | sort -n \
        | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf 'median %-8s %6.1f s\n' "$rev" "$median"
done
for rev in "$before" "$after"; do git worktree remove --force "$work/$rev"; done
