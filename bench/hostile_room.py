#!/usr/bin/env python3
"""08_load room against four hostile servers: how long past --max-secs it
runs, and its peak memory.

    python3 bench/hostile_room.py [PATH/TO/08_load] [--max-secs S]

The servers are the ones of tests/common/peers.rs, on 127.0.0.1 port 0:
- drip: one byte every 200 ms, never a newline;
- welcome-then-drip: lesson 05's welcome line, then the drip;
- welcome-then-silence: the welcome, then nothing;
- endless-line: bytes without a newline, as fast as they are taken.

Each runs against four room variants (plain, plain with --timeout 2,
--flood, --flood with a slow reader). Each run is bounded by a 30 s cap
(and then killed). Peak memory is the load generator's VmHWM (peak resident
set) in /proc/PID/status, read every 20 ms while it runs: Linux only. Its
address space is capped at 16 GiB (RLIMIT_AS): before issue 20's fix, the
flood against an endless line grew by about half a gigabyte a second (14 GiB
in 30 s on the machine of the figures); the cap bounds what such a run takes.
"""

import os
import socket
import subprocess
import sys
import threading
import time

WELCOME = b"* welcome, you are #1 (type /help)\n"
CAP = 30.0


def serve(kind, listener, stop):
    def handle(conn):
        try:
            if kind in ("welcome-then-drip", "welcome-then-silence"):
                conn.sendall(WELCOME)
            if kind in ("drip", "welcome-then-drip"):
                while not stop.is_set():
                    conn.sendall(b"x")
                    time.sleep(0.2)
            elif kind == "endless-line":
                chunk = b"x" * 65536
                while not stop.is_set():
                    conn.sendall(chunk)
            else:
                conn.settimeout(0.2)
                while not stop.is_set():
                    try:
                        if not conn.recv(65536):
                            return
                    except socket.timeout:
                        pass
        except OSError:
            pass
        finally:
            conn.close()

    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def cap_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))


def run(load, kind, mode, max_secs):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    addr = "127.0.0.1:%d" % listener.getsockname()[1]
    stop = threading.Event()
    t = threading.Thread(target=serve, args=(kind, listener, stop), daemon=True)
    t.start()
    args = [load, "room", "--addr", addr, "--max-secs", str(max_secs)] + mode
    start = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=cap_memory)
    peak = [0]

    def watch():
        # VmHWM before the exec would be Python's: count only once the
        # process is the load generator.
        while child.poll() is None:
            try:
                with open("/proc/%d/status" % child.pid) as f:
                    status = f.read()
                if "\nName:\t08_load" in "\n" + status:
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    killed = False
    try:
        _, err = child.communicate(timeout=CAP)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
        killed = True
    took = time.monotonic() - start
    watcher.join()
    stop.set()
    t.join()
    listener.close()
    said = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return took, peak[0], killed, child.returncode, said[0]


MODES = [
    ("plain", ["--clients", "2", "--messages", "1"]),
    ("plain --timeout 2", ["--clients", "2", "--messages", "1", "--timeout", "2"]),
    ("--flood", ["--flood", "10", "--readers", "2"]),
    ("--flood --slow-readers 1", ["--flood", "10", "--readers", "1", "--slow-readers", "1"]),
]
KINDS = ["drip", "welcome-then-drip", "welcome-then-silence", "endless-line"]


def main():
    argv = sys.argv[1:]
    max_secs = 1.0
    if "--max-secs" in argv:
        i = argv.index("--max-secs")
        max_secs = float(argv[i + 1])
        del argv[i : i + 2]
    if argv and argv[0] == "--one":
        kind, mode = argv[1], MODES[int(argv[2])][1]
        took, peak, killed, code, last = run(argv[3], kind, mode, max_secs)
        print("%.2f %d %s %s %s" % (took, peak, killed, code, last))
        return
    load = argv[0] if argv else "target/release/examples/08_load"
    print("08_load room --max-secs %g against each server: seconds past --max-secs, "
          "peak resident memory (VmHWM)" % max_secs)
    for kind in KINDS:
        for i, (name, _) in enumerate(MODES):
            out = subprocess.run(
                [sys.executable, __file__, "--max-secs", str(max_secs), "--one", kind,
                 str(i), load],
                capture_output=True, text=True, check=True).stdout.split(" ", 4)
            took, peak, killed = float(out[0]), int(out[1]), out[2] == "True"
            note = " (killed at the %g s cap)" % CAP if killed else ""
            print("%-21s %-25s %+7.2f s  %9d KiB%s  %s" % (
                kind, name, took - max_secs, peak, note, out[4].strip()[:100]))


if __name__ == "__main__":
    main()
