#!/usr/bin/env python3
"""Runs one load scenario against several servers, round after round, and
prints a table of medians: the side-by-side runs behind every comparison in
docs/measurements.md.

    python3 bench/compare.py --rounds 3 \\
        --scenario "pingpong --clients 50 --messages 2000 --size 32 --expect reverse" \\
        lesson03="target/release/examples/03_reverse_server --addr 127.0.0.1:0" \\
        tokio="bench/target/release/tokio-peer --addr 127.0.0.1:0 --mode reverse" \\
        python="python3 bench/py_threaded.py --mode reverse"

Run it from the course's root. Each server is NAME=COMMAND, one simple
command (no shell, and no wrapper such as strace: stopping a wrapper can
leave its child running), that prints `listening on IP:PORT` when it is ready: the
course's servers, `bench/tokio-peer` and `bench/py_threaded.py` all do, and
with port 0 the system picks a free port. A COMMAND containing `{port}` gets
a free port chosen here instead, and is ready when it prints a line with
"listening" in it (iperf3 does).

The scenario's first word picks the client:
- `pingpong ...`, `idle ...`: the course's load generator, `08_load MODE ...
  --addr ADDR --json` (`--load`, default target/release/examples/08_load).
- `bulk ...`: `bench/bulk`'s `bulk` program (`--bulk`).
- `iperf3 ...`: `iperf3 -c` against an `iperf3 -s` server, for the physical
  limit of one loopback stream.

Rounds are interleaved (A B C, A B C, ...), each server is started fresh for
each run and stopped after it (its stdin is closed first, which ends lesson
07 cleanly; then SIGTERM), and only the processes started here are stopped.

For `idle` on Linux it also reads, while the connections are held, the
server's resident memory, threads and memory mappings (/proc/PID), and the
change in the kernel's own memory since just before the run (/proc/meminfo:
KernelStack, Slab, SUnreclaim, PageTables). Those are counted for the whole
machine: they include the load generator's side of each connection, and
anything else running meanwhile, so the table shows every round.
"""
import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time

READY_TIMEOUT = 10.0  # seconds for a server to say it is listening
CLOSE_GRACE = 1.0  # seconds for a server to end by itself once its stdin closes
STOP_TIMEOUT = 5.0  # seconds for a server to end after SIGTERM
MEMINFO_FIELDS = ["KernelStack", "Slab", "SUnreclaim", "PageTables"]


class Server:
    """One server process, started fresh, its output drained by a thread so
    that a chatty server never blocks on a full pipe."""

    def __init__(self, name, command):
        self.name = name
        port = None
        if "{port}" in command:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            command = command.replace("{port}", str(port))
        self.argv = shlex.split(command)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.addr = None
        self.tail = []
        ready = threading.Event()

        def drain(pipe, is_stdout):
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.tail = (self.tail + [line])[-5:]
                # A {port} server may announce itself on either stream (the C
                # epoll peer writes to stderr); the others on stdout.
                announces = is_stdout or port is not None
                if announces and not ready.is_set() and "listening" in line.lower():
                    if port is not None:
                        self.addr = f"127.0.0.1:{port}"
                    elif line.startswith("listening on "):
                        self.addr = line.split()[2]
                    ready.set()

        for pipe, is_stdout in ((self.proc.stdout, True), (self.proc.stderr, False)):
            threading.Thread(target=drain, args=(pipe, is_stdout), daemon=True).start()
        if not ready.wait(READY_TIMEOUT) or self.addr is None:
            self.stop()
            sys.exit(
                f"error: {name} did not print `listening on IP:PORT` within "
                f"{READY_TIMEOUT:.0f} s; its last lines: {self.tail}"
            )

    def stop(self):
        try:
            self.proc.stdin.close()  # lesson 07 shuts down at the end of its console
        except OSError:
            pass
        try:
            self.proc.wait(CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def meminfo():
    """The kernel's memory counters, in KiB (Linux)."""
    values = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, rest = line.split(":", 1)
                if key in MEMINFO_FIELDS:
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def proc_status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, rest = line.split(":", 1)
                if key in ("VmRSS", "VmSize", "Threads"):
                    values[key] = int(rest.split()[0])
        with open(f"/proc/{pid}/maps") as f:
            values["maps"] = sum(1 for _ in f)
    except OSError:
        pass
    return values


def cpu_seconds(pid):
    """The CPU time (user + system) a process has used so far, in seconds,
    from /proc/PID/stat (Linux; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def established_to(port):
    """How many client sockets on this machine are connected to `port`
    (Linux: /proc/net/tcp and tcp6, state 01)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            pass
    return count


def option(words, flag, default):
    """The value after `flag` in a scenario's words."""
    if flag in words:
        return words[words.index(flag) + 1]
    return default


def run_load(args, server, words):
    """Runs the scenario's client against `server`; returns its result."""
    mode = words[0]
    if mode == "iperf3":
        port = server.addr.rsplit(":", 1)[1]
        argv = ["iperf3", "-c", "127.0.0.1", "-p", port, "-J", *words[1:]]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=args.run_timeout)
        result = json.loads(out.stdout)
        bits = result["end"]["sum_received"]["bits_per_second"]
        return {"mib_per_sec": bits / 8 / 1024 / 1024, "passed": out.returncode == 0}
    if mode == "bulk":
        argv = [args.bulk, *words[1:], "--addr", server.addr]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=args.run_timeout)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr
        if out.returncode != 0 or "MiB/s" not in line:
            return {"mib_per_sec": 0.0, "passed": False, "error": line.strip()}
        return {"mib_per_sec": float(line.split("=")[-1].split()[0]), "passed": True}

    argv = [args.load, *words, "--addr", server.addr, "--json"]
    sample = {}
    if mode == "idle":
        argv += ["--pid", str(server.proc.pid)]
        clients = int(option(words, "--clients", "1000"))
        before = meminfo()
        has_proc = open_fds(server.proc.pid) is not None  # Linux
        load = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait until every connection is established, and the server's
        # threads and descriptors have not changed for a second (it has
        # taken them all in), then read the memory while the load generator
        # still holds them (its --hold must leave time for this).
        port = int(server.addr.rsplit(":", 1)[1])
        deadline = time.monotonic() + args.run_timeout
        stable_since, last = None, None
        while has_proc and time.monotonic() < deadline and load.poll() is None:
            now = (open_fds(server.proc.pid), proc_status(server.proc.pid).get("Threads"))
            if established_to(port) < clients or now != last:
                stable_since, last = time.monotonic(), now
            elif time.monotonic() - stable_since >= 1.0:
                held = meminfo()
                sample = proc_status(server.proc.pid)
                sample.update({f"d_{k}": held[k] - before[k] for k in held if k in before})
                break
            time.sleep(0.1)
        stdout, stderr = load.communicate(timeout=args.run_timeout)
    else:
        cpu_before = cpu_seconds(server.proc.pid)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=args.run_timeout)
        stdout, stderr = out.stdout, out.stderr
        cpu_after = cpu_seconds(server.proc.pid)
        if cpu_before is not None and cpu_after is not None:
            sample["server_cpu_s"] = cpu_after - cpu_before
    lines = stdout.strip().splitlines()
    if not lines:
        return {"passed": False, "error": stderr.strip()}
    result = json.loads(lines[-1])
    result.update(sample)
    if result.get("server_cpu_s") is not None and result.get("ok"):
        # The server's CPU time per line answered (user + system, from
        # /proc/PID/stat in ticks of 10 ms: runs of a second or more).
        result["cpu_us_per_line"] = result["server_cpu_s"] * 1e6 / result["ok"]
    return result


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(headers))
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print(line(row))


def report(mode, names, results):
    first = None
    if mode == "pingpong":
        rows = []
        for name in names:
            runs = results[name]
            rate = median(runs, "msgs_per_sec")
            first = first or rate
            totals = "/".join(str(sum(r.get(k, 0) for r in runs)) for k in ("ok", "wrong", "errors"))
            rows.append([
                name, fmt(rate, 0), fmt(median(runs, "p50_us")), fmt(median(runs, "p99_us")),
                fmt(median(runs, "max_us"), 0), fmt(median(runs, "cpu_us_per_line"), 2), totals,
                f"{rate / first:.2f}x" if rate and first else "–",
            ])
        table(["server", "msgs/s", "p50 us", "p99 us", "max us", "server CPU us/line",
               "ok/wrong/errors (all runs)", "vs first"], rows)
        print("\nmsgs/s per round:")
        for name in names:
            print(f"  {name}: " + " / ".join(fmt(r.get("msgs_per_sec"), 0) for r in results[name]))
    elif mode in ("bulk", "iperf3"):
        rows = []
        for name in names:
            runs = results[name]
            rate = median(runs, "mib_per_sec")
            first = first or rate
            rows.append([
                name, fmt(rate), " / ".join(fmt(r.get("mib_per_sec")) for r in runs),
                sum(1 for r in runs if not r.get("passed")),
                f"{rate / first:.2f}x" if rate and first else "–",
            ])
        table(["server", "MiB/s (median)", "rounds", "failed runs", "vs first"], rows)
    elif mode == "idle":
        rows = []
        for name in names:
            runs = results[name]
            for i, r in enumerate(runs, 1):
                held = r.get("connected")
                per = lambda k: fmt(r[k] / held, 1) if r.get(k) is not None and held else "–"
                rows.append([
                    name, i, f"{held}/{r.get('clients')}", r.get("slow_connects"),
                    fmt(r.get("probe_first_reply_ms")),
                    f"{fmt(r.get('rss_before_kib'))} → {fmt(r.get('VmRSS'))}",
                    fmt(r.get("Threads")), fmt(r.get("maps")),
                    fmt(r["VmSize"] // 1024) if r.get("VmSize") else "–",
                    fmt(r.get("d_KernelStack")), fmt(r.get("d_PageTables")),
                    fmt(r.get("d_Slab")), fmt(r.get("d_SUnreclaim")),
                    per("d_KernelStack"), per("d_Slab"),
                ])
        table(["server", "round", "held", "slow connects", "probe ms", "VmRSS KiB",
               "threads", "maps", "VmSize MiB", "ΔKernelStack KiB", "ΔPageTables KiB",
               "ΔSlab KiB", "ΔSUnreclaim KiB", "ΔKernelStack/client", "ΔSlab/client"], rows)
    else:
        for name in names:
            print(name, json.dumps(results[name]))
    failed = [n for n in names for r in results[n] if not r.get("passed")]
    if failed:
        print(f"\nruns with failures: {', '.join(failed)}")
        for n in names:
            for r in results[n]:
                if r.get("first_error") or r.get("error"):
                    print(f"  {n}: {r.get('first_error') or r.get('error')}")


def uptime():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(
        description="Interleaved runs of one scenario against several servers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--scenario", required=True,
                        help="the client's mode and flags, e.g. 'pingpong --clients 50'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", default=os.path.join("target", "release", "examples", "08_load"))
    parser.add_argument("--bulk", default=os.path.join("bench", "target", "release", "bulk"))
    parser.add_argument("--run-timeout", type=float, default=600.0,
                        help="seconds any one run may take")
    parser.add_argument("--save", metavar="FILE",
                        help="also write every run's figures to FILE as JSON (for bench/plot.py)")
    parser.add_argument("servers", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20:
        sys.exit("error: --rounds must be from 1 to 20")
    servers = []
    for spec in args.servers:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command:
            sys.exit(f"error: expected NAME=COMMAND, not {spec!r}")
        servers.append((name, command))
    words = shlex.split(args.scenario)
    names = [n for n, _ in servers]
    results = {n: [] for n in names}

    print(f"scenario: {args.scenario}; {args.rounds} rounds; load average {uptime()} at the start")
    started = time.time()
    for _ in range(args.rounds):
        for name, command in servers:
            server = Server(name, command)
            try:
                results[name].append(run_load(args, server, words))
            finally:
                server.stop()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
          f"{time.time() - started:.0f} s, load average {uptime()} at the end\n")
    report(words[0], names, results)
    if args.save:
        with open(args.save, "w") as f:
            json.dump({"scenario": args.scenario, "rounds": args.rounds,
                       "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                       "servers": dict(servers), "results": results}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
