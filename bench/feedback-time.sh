#!/usr/bin/env bash
# How long a student waits for `watch` to answer: from saving an exercise's
# file to the end of the message it shows (`(watching: ...`), for a right
# answer and for three wrong answers that hang (issue 19):
#
#   bash bench/feedback-time.sh [REV] [ROUNDS]
#
# REV: a commit to measure (e.g. the one before a change); without it, the
# working tree as it is. ROUNDS (default 3): each answer is saved that many
# times, alternating with the others; the table shows every time, the
# median, the median as a multiple of the median of the right answer to the
# same exercise ("x right"), and the slowest. Run it from a clone of the
# course, best on a machine doing nothing else (the table shows the load
# average).
#
# It never touches the course's own files: it copies the course (`git
# archive REV`, or the working tree's files) to
# TARGET/feedback-time/COMMIT/course (or worktree/course), builds the
# progress program there, runs `watch` in that copy, and writes the answers
# into the copy's exercises/src/. The copy and its target directory stay,
# so the next run of the same REV builds only what changed. (One target
# directory for two commits would not do: cargo judges a file by its time,
# and a `git archive` of an older commit has older times than the last
# build, so it would run the other commit's program.) Everything stays on 127.0.0.1 (the checks' own
# sockets). `watch` is stopped with `q` (and by its process id if need be).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rev=${1:-}
rounds=${2:-3}
case "$rounds" in '' | *[!0-9]* | 0) echo "ROUNDS must be a number from 1 up" >&2; exit 2 ;; esac

if [ -n "$rev" ]; then
    commit=$(git rev-parse --short "$rev^{commit}")
else
    commit=worktree
fi
base=${CARGO_TARGET_DIR:-$root/target}/feedback-time/$commit
copy=$base/course
target=$base/target
rm -rf "$copy"
mkdir -p "$copy" "$target"
# Copies keep the files' times, so cargo finds its earlier builds fresh.
if [ -n "$rev" ]; then
    git archive "$rev" | tar -x -C "$copy"
else
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar -c --null -T - | tar -x -C "$copy"
fi
echo "copy of ${rev:-the working tree} in $copy; building the progress program ..." >&2
(cd "$copy" && CARGO_TARGET_DIR=$target cargo build -q -p exercises --bin progress)
progress=$target/debug/progress

# ---- the answers -----------------------------------------------------------
right_echo_server() { cat "$copy/solutions/src/echo_server.rs"; }
right_exit_client() { cat "$copy/solutions/src/exit_client.rs"; }

never_accepts() { cat <<'EOF'
//! Exercise 02b, wrong: `loop {}` where the accept loop should be.
use std::io;
use std::net::TcpListener;

pub fn serve_all(listener: TcpListener) -> io::Result<()> {
    let _listening = listener;
    loop {}
}
EOF
}

# Takes the end of the input (`Ok(0)`) for an empty line: it never ends.
never_ends() { cat <<'EOF'
//! Exercise 02a, wrong: never stops at the end of the input.
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;

pub fn run_client<R: BufRead, W: Write>(mut input: R, mut output: W, server: TcpStream) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    loop {
        let mut line = String::new();
        input.read_line(&mut line)?;
        if line.trim() == "exit" {
            return Ok(());
        }
        (&server).write_all(format!("{}\n", line.trim_end_matches(['\r', '\n'])).as_bytes())?;
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        output.write_all(reply.as_bytes())?;
        output.flush()?;
    }
}
EOF
}

# Reads "the reply" to the end of the stream: the server never closes.
reads_to_end() { cat <<'EOF'
//! Exercise 02a, wrong: `read_to_string` instead of reading a line.
use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;

pub fn run_client<R: BufRead, W: Write>(input: R, mut output: W, server: TcpStream) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        (&server).read_to_string(&mut reply)?;
        output.write_all(reply.as_bytes())?;
        output.flush()?;
    }
    Ok(())
}
EOF
}

# case name | exercise | function writing the answer
cases=(
    "right answer (02b)|echo_server|right_echo_server"
    "server never accepts (loop {})|echo_server|never_accepts"
    "right answer (02a)|exit_client|right_exit_client"
    "client never ends|exit_client|never_ends"
    "read_to_string for a line|exit_client|reads_to_end"
)

# ---- watch -----------------------------------------------------------------
coproc WATCH { cd "$copy" && CARGO_TARGET_DIR=$target exec "$progress" watch 2>"$base/watch.stderr"; }
watch_pid=$WATCH_PID
exec {to_watch}>&"${WATCH[1]}" {from_watch}<&"${WATCH[0]}"
stop_watch() {
    printf 'q\n' >&"$to_watch" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$watch_pid" 2>/dev/null || return 0; sleep 0.1; done
    kill "$watch_pid" 2>/dev/null || true
}
trap stop_watch EXIT

# Reads watch's lines up to the next `(watching:`; what it showed is in $shown.
shown=""
until_watching() {
    shown=""
    local line
    while IFS= read -r -t 900 -u "$from_watch" line; do
        shown+="$line"$'\n'
        [[ "$line" == "(watching:"* ]] && return 0
    done
    echo "watch stopped answering; its stderr is in $base/watch.stderr:" >&2
    printf '%s' "$shown" >&2
    exit 1
}

now() { date +%s.%N; }

# Saves `answer` as exercise `name`'s file (in one rename, as editors do),
# and sets $secs to the seconds until watch has shown its message.
secs=""
save_and_time() {
    local name=$1 answer=$2 round=$3 file="$copy/exercises/src/$1.rs"
    { "$answer"; printf '// round %s\n' "$round"; } >"$file.new"
    local start
    start=$(now)
    mv "$file.new" "$file"
    until_watching
    secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
}

until_watching
# Warm-up: the first save in a fresh copy builds the checks library.
echo "warming up (the first build of a copy takes a while) ..." >&2
for name in echo_server exit_client; do
    save_and_time "$name" "right_$name" warm-up
done

declare -A times verdict
for round in $(seq "$rounds"); do
    for entry in "${cases[@]}"; do
        IFS='|' read -r label name answer <<<"$entry"
        save_and_time "$name" "$answer" "$round"
        # The exercise's row of the table, and the first failing check shown.
        # (The table's columns: 2 spaces, id 4, space, name 15, space, state.)
        row=$(grep -E "^  [0-9a-z]+ +$name " <<<"$shown" | tail -n 1 | cut -c 24- \
            | sed -E 's/^(done|not started|does not compile|not built|fails check [0-9]+ of [0-9]+|[0-9]+ of [0-9]+ checks).*/\1/' \
            || true)
        # ("Its first failing check, NAME:" before issue 19, "check N of M
        # fails, NAME:" after it.)
        first=$(grep -E "^$name: " <<<"$shown" \
            | grep -oE "(first failing check|of [0-9]+ fails), [a-z0-9_]+" | tail -n 1 | sed 's/.*, //' || true)
        verdict[$label]="$row${first:+ ($first)}"
        times[$label]+="$secs "
        echo "round $round: $label: $secs s" >&2
    done
done

printf '\nwatch, save to message, %s (%s), %s round(s), %s, load average %s:\n\n' \
    "${rev:-working tree}" "$commit" "$rounds" "$(date -u '+%F %H:%M UTC')" \
    "$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf '| %-30s | %-16s | %-6s | %-7s | %-7s | %s\n' "answer" "seconds" "median" "x right" "slowest" \
    "what watch showed (the first failing check)"
printf '|%s|%s|%s|%s|%s|%s\n' "--------------------------------" "------------------" "--------" \
    "---------" "---------" "----"
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
declare -A right
worst=0 worst_label="" worst_ratio=""
for entry in "${cases[@]}"; do
    IFS='|' read -r label name _ <<<"$entry"
    mid=$(median "${times[$label]}")
    slowest=$(tr ' ' '\n' <<<"${times[$label]}" | grep . | sort -n | tail -n 1)
    # Each answer's median against the median of the right answer to its
    # exercise (the right answer comes first in `cases`).
    [[ "$label" == "right answer"* ]] && right[$name]=$mid
    x=$(ratio "$mid" "${right[$name]}")
    if [[ "$label" != "right answer"* ]] && awk -v a="$mid" -v b="$worst" 'BEGIN {exit !(a > b)}'; then
        worst=$mid worst_label=$label worst_ratio=$x
    fi
    printf '| %-30s | %-16s | %-6s | %-7s | %-7s | %s\n' "$label" "${times[$label]% }" "$mid" "$x" \
        "$slowest" "${verdict[$label]}"
done
printf '\nslowest wrong answer (by median): %s, %s s, %s x the right answer to its exercise\n' \
    "$worst_label" "$worst" "$worst_ratio"
