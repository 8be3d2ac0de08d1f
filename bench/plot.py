#!/usr/bin/env python3
"""Draws lesson 10's two plots as SVG from the runs bench/compare.py saved
(`--save`), with nothing but Python 3's standard library:

    python3 bench/plot.py bench/data/lesson10 book/src/img

- `memory-per-client.svg`: the server's resident memory plus the kernel's
  stacks and slab per idle client, against the number of idle clients
  (files `idle-N.json`);
- `cpu-per-line.svg`: the server's CPU time per line answered, against the
  number of pingpong clients (files `pingpong-N.json`).

One line per server, through the median of its rounds. For maintainers: the
SVG files are committed, so the book needs no Python to build.
"""
import glob
import json
import math
import os
import re
import statistics
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#7f7f7f", "#8c564b"]
W, H = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 40, 50


def load(folder, prefix):
    """{server: {x: [values...]}} from every PREFIX-N.json in folder."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, f"{prefix}-*.json"))):
        match = re.search(rf"{prefix}-(\d+)\.json$", path)
        if not match:
            continue
        with open(path) as f:
            data = json.load(f)
        runs[int(match.group(1))] = data["results"]
    return runs


def memory_per_client(run):
    """KiB per idle client: the server's RSS growth, plus the growth of the
    kernel's stacks and slab (whole machine: both ends of each connection)."""
    held = run.get("connected")
    if not held or run.get("VmRSS") is None or run.get("rss_before_kib") is None:
        return None
    kernel = (run.get("d_KernelStack") or 0) + (run.get("d_Slab") or 0)
    return (run["VmRSS"] - run["rss_before_kib"] + kernel) / held


def series(runs, value):
    """{server: [(x, median value)]}, in the order the servers first appear."""
    out = {}
    for x in sorted(runs):
        for server, rounds in runs[x].items():
            values = [v for v in (value(r) for r in rounds) if v is not None]
            if values:
                out.setdefault(server, []).append((x, statistics.median(values)))
    return out


def nice_ticks(low, top):
    """Round tick values from `low` (at most 0: the kernel's counters are the
    whole machine's, and can fall while a run holds its clients) to at
    least `top`."""
    span = top - low
    if span <= 0:
        return [0, 1]
    step = 10 ** math.floor(math.log10(span / 5))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 6:
            step *= m
            break
    first = math.floor(low / step)
    return [i * step for i in range(first, int(math.ceil(top / step)) + 1)]


def svg(title, xlabel, ylabel, lines, log_x, path):
    xs = sorted({x for pts in lines.values() for x, _ in pts})
    if not xs:
        sys.exit(f"error: no data for {path}")
    ymax = max(y for pts in lines.values() for _, y in pts)
    ymin = min(0, min(y for pts in lines.values() for _, y in pts))
    yticks = nice_ticks(ymin, ymax)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def fx(x):
        if len(xs) == 1:
            return LEFT + pw / 2
        lo, hi = (math.log10(xs[0]), math.log10(xs[-1])) if log_x else (xs[0], xs[-1])
        v = math.log10(x) if log_x else x
        return LEFT + (v - lo) / (hi - lo) * pw

    def fy(y):
        return TOP + ph - (y - yticks[0]) / (yticks[-1] - yticks[0]) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{title}</text>']
    for t in yticks:
        y = fy(t)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    for x in xs:
        px = fx(x)
        out.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{px:.1f}" y="{TOP + ph + 18}" text-anchor="middle">{x:,}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 10}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text x="16" y="{TOP + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {TOP + ph / 2})">{ylabel}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    for i, (name, pts) in enumerate(lines.items()):
        colour = COLOURS[i % len(COLOURS)]
        d = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="3" fill="{colour}"/>')
        ly = TOP + 10 + i * 18
        out.append(f'<line x1="{W - RIGHT + 12}" y1="{ly}" x2="{W - RIGHT + 32}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{W - RIGHT + 38}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {path}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    svg("Memory per idle client (RSS + kernel stack + slab)", "idle clients (log scale)",
        "KiB per client", series(load(folder, "idle"), memory_per_client), True,
        os.path.join(out, "memory-per-client.svg"))
    svg("Server CPU time per line (pingpong)", "pingpong clients (log scale)",
        "µs per line", series(load(folder, "pingpong"), lambda r: r.get("cpu_us_per_line")),
        True, os.path.join(out, "cpu-per-line.svg"))


if __name__ == "__main__":
    main()
