#!/usr/bin/env bash
# Lesson 10's measurements: lesson 03 (a thread per client), 10_event_loop,
# 10_async on one thread and on two, and bench/tokio-peer, side by side in
# interleaved rounds (bench/compare.py), saved as JSON for bench/plot.py.
#
#   bash bench/lesson10.sh OUT_DIR [NAME=COMMAND ...]
#
# Extra servers (NAME=COMMAND, as compare.py takes them) join every run: the
# figures in docs/measurements.md add a single-threaded C epoll server that
# answers the same protocol, the floor of a line's cost, which is not part
# of this repository. Build first (bench/README.md, "Build"). Linux: the
# memory figures come from /proc. 10 000 idle clients need `ulimit -n` of
# 10 100 or more (in each of the two processes); with less, that size is
# skipped, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash bench/lesson10.sh OUT_DIR [NAME=COMMAND ...]}
shift
mkdir -p "$out"
R=${R:-target/release/examples}
B=${B:-bench/target/release}
servers=(
    lesson03="$R/03_reverse_server --addr 127.0.0.1:0"
    event-loop="$R/10_event_loop --addr 127.0.0.1:0"
    async-1-thread="$R/10_async --addr 127.0.0.1:0"
    async-2-threads="$R/10_async --addr 127.0.0.1:0 --threads 2"
    tokio-peer="$B/tokio-peer --addr 127.0.0.1:0 --mode reverse"
    "$@"
)
compare() { python3 bench/compare.py --load "$R/08_load" "$@"; echo; }

# CPU per line and p99: 200 000 lines of 32 bytes at each client count.
for clients in 10 50 200; do
    compare --rounds 3 --save "$out/pingpong-$clients.json" \
        --scenario "pingpong --clients $clients --messages $((200000 / clients)) --size 32 --expect reverse" \
        "${servers[@]}"
done
# Bulk: lines of 60 000 bytes (under the 64 KiB limit), 4 clients.
compare --rounds 3 --save "$out/bulk.json" \
    --scenario "pingpong --clients 4 --messages 1000 --size 60000 --expect reverse" "${servers[@]}"
# Memory per idle client, and threads.
for clients in 100 1000 10000; do
    # The load generator and the server each hold one end of every client.
    if (( $(ulimit -n) < clients + 100 )); then
        echo "SKIPPED idle $clients: ulimit -n is $(ulimit -n), $((clients + 100)) needed"
        continue
    fi
    compare --rounds 2 --save "$out/idle-$clients.json" \
        --scenario "idle --clients $clients --hold 3 --settle 1" "${servers[@]}"
done
# One blocking call (1 ms per line) in the serving thread.
compare --rounds 2 --save "$out/block.json" \
    --scenario "pingpong --clients 10 --messages 200 --size 32 --expect reverse" \
    event-loop-block-1ms="$R/10_event_loop --addr 127.0.0.1:0 --block-ms 1" \
    async-1-thread-block-1ms="$R/10_async --addr 127.0.0.1:0 --block-ms 1" \
    async-2-threads-block-1ms="$R/10_async --addr 127.0.0.1:0 --threads 2 --block-ms 1"
