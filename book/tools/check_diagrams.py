#!/usr/bin/env python3
"""Renders every page with diagrams in headless Chromium and checks that
mermaid drew each one.

mdbook-mermaid only wraps the diagram's text; mermaid.min.js draws it in the
browser, and a diagram with a syntax error becomes a "Syntax error in text"
picture, which no static check of the HTML can see. So this script loads each
page (from disk, network disabled), lets the scripts run, and counts the
drawn <svg> elements against the ```mermaid blocks of the page's source.

Skipped, with a note, when no Chromium is installed (CI installs it).

Usage: python3 book/tools/check_diagrams.py [book_dir]   (default: book)
"""

import pathlib
import re
import shutil
import subprocess
import sys


def main():
    book = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book").resolve()
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:
        print("diagrams not rendered: no chromium installed (apt-get install -y chromium)")
        return
    errors, drawn = [], 0
    for md in sorted((book / "src").rglob("*.md")):
        expected = len(re.findall(r"^```mermaid\s*$", md.read_text(encoding="utf-8"), re.M))
        if not expected:
            continue
        page = (book / "book" / md.relative_to(book / "src")).with_suffix(".html")
        try:
            dom = subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--virtual-time-budget=10000",
                 "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=120, check=False).stdout
        except subprocess.TimeoutExpired:
            errors.append(f"{page.name}: chromium did not finish within 120 s")
            continue
        svgs = len(re.findall(r'<svg[^>]*aria-roledescription="[^"]+"', dom))
        if "Syntax error" in dom:
            errors.append(f"{page.name}: mermaid reports a syntax error in a diagram")
        elif svgs < expected:
            errors.append(f"{page.name}: {expected} diagrams in {md.name}, {svgs} drawn")
        drawn += svgs
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"diagrams ok: {drawn} drawn by mermaid in headless Chromium")


if __name__ == "__main__":
    main()
