#!/usr/bin/env python3
"""Checks the built book as a reader sees it, laid out by headless Chromium:
no table, code block or diagram is wider than its page, no table column is
squeezed to a few letters, a code block's copy button copies its text, no
short inline code (32 characters or fewer) is broken across two lines, and
no diagram's labels are drawn smaller than 11 px.

A static check of the HTML cannot see any of this: widths come from the
fonts, the CSS and mermaid's drawing. So each page gets a copy, next to it,
with book/tools/layout-probe.js added; Chromium loads it (from disk, network
off), the probe measures once the diagrams are drawn, and writes what is
wrong into the page, which --dump-dom hands back. The window is 1280 x 900
(a laptop, with the sidebar open) and 760 x 900 (the sidebar closed).

Skipped with a line when no Chromium is installed (CI installs it).

Usage: python3 book/tools/check_layout.py [book_dir [page...]]   (default: book, every page)
"""

import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

WINDOWS = ((1280, 900), (760, 900))


def chromium():
    return next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(b)), None)


def report(browser, page, width, height, profile):
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "--virtual-time-budget=15000",
            "--dump-dom", page.as_uri()]
    # A browser that fails to start or to finish loading (it happens on a
    # busy machine) says nothing about the layout: try again, up to 3 times,
    # and fail only if it never produces the probe's report.
    said = ""
    for _ in range(3):
        try:
            ran = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            said = "chromium did not finish within 120 s"
            continue
        found = re.findall(r'<pre id="layout-report">(.*?)</pre>', ran.stdout, re.S)
        if found:
            return json.loads(html.unescape(found[-1])), None
        said = ran.stderr.strip().splitlines()[-1:] or ["no output"]
        said = f"exit status {ran.returncode}, {said[0]}"
    return None, f"the layout probe wrote no report in 3 tries ({said})"


def main():
    book = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book").resolve()
    browser = chromium()
    if browser is None:
        print("layout not checked: no chromium installed (apt-get install -y chromium)")
        return
    probe = (book / "tools" / "layout-probe.js").read_text(encoding="utf-8")
    built = book / "book"
    pages = [(built / md.relative_to(book / "src")).with_suffix(".html")
             for md in sorted((book / "src").rglob("*.md")) if md.name != "SUMMARY.md"]
    # Names of pages to check (lesson-05-multi), while fixing one.
    if sys.argv[2:]:
        pages = [p for p in pages if p.stem in sys.argv[2:]]
    errors, checked = [], 0
    with tempfile.TemporaryDirectory() as profile:
        for page in pages:
            text = page.read_text(encoding="utf-8")
            copy = page.with_name(f".layout-check-{page.name}")
            copy.write_text(text.replace("</body>", f"<script>{probe}</script></body>", 1),
                            encoding="utf-8")
            try:
                for width, height in WINDOWS:
                    result, failure = report(browser, copy, width, height, profile)
                    where = f"{page.relative_to(built)} at {width} px"
                    if failure:
                        errors.append(f"{where}: {failure}")
                        continue
                    errors.extend(f"{where}: {p}" for p in result["problems"])
                    checked += 1
            finally:
                copy.unlink()
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"layout ok: {len(pages)} pages at {' and '.join(str(w) for w, _ in WINDOWS)} px wide, "
          "no table, code block or diagram wider than its page, diagram labels 11 px or more")


if __name__ == "__main__":
    main()
