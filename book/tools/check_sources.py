#!/usr/bin/env python3
"""Checks the book's Markdown sources before mdBook sees them.

mdBook 0.5 only logs an error for a missing include file and says nothing at
all about a missing anchor (it includes an empty block), so a renamed anchor
would silently empty a listing. This script fails instead. It checks:

* every `{{#include path}}` / `{{#include path:anchor}}` / `{{#include
  path:N:M}}` points at an existing file, and a named anchor exists in it
  (both `ANCHOR: name` and `ANCHOR_END: name`) and is not empty;
* every ```rust or ```python block is made only of includes, unless its info
  string says `ignore` (a deliberately wrong snippet the text explains), so no
  code is pasted by hand;
* every chapter file under src/ is listed in SUMMARY.md, and every file
  SUMMARY.md lists exists;
* hint files (`*.hints.md`, a numbered list) are included hint by hint with
  line ranges: each range must be exactly one whole hint, and every hint of
  the file must be included, so an edited hint file cannot be shown cut in
  half or lose a hint silently;
* a `path.rs:1:N` include is exactly the file's `//!` doc comment;
* every test the text names (a `snake_case_name_with_several_words` in
  backticks, or `test_file::name`) exists, so a renamed test cannot leave
  the book pointing at nothing.

Usage: python3 book/tools/check_sources.py [book_dir]   (default: book)
"""

import pathlib
import re
import sys

INCLUDE = re.compile(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}")
FENCE = re.compile(r"^(```+|~~~+)\s*([^`]*)$")


def anchor_lines(text, name):
    """The lines between ANCHOR: name and ANCHOR_END: name, or None."""
    start = re.compile(r"ANCHOR:\s*" + re.escape(name) + r"\b")
    end = re.compile(r"ANCHOR_END:\s*" + re.escape(name) + r"\b")
    inside, found, body = False, False, []
    for line in text.splitlines():
        if not inside and start.search(line):
            inside, found = True, True
            continue
        if inside and end.search(line):
            return body
        if inside and "ANCHOR" not in line:
            body.append(line)
    return [] if found else None


def check_include(md, target, errors):
    path, _, selector = target.partition(":")
    file = (md.parent / path).resolve()
    where = f"{md}: {{{{#include {target}}}}}"
    if not file.is_file():
        errors.append(f"{where}: no file {file}")
        return
    if file.name.endswith(".hints.md"):
        check_hint_range(file, selector, where, errors)
        return
    m = re.fullmatch(r"1:([0-9]+)", selector)
    if m and file.suffix == ".rs":
        # A range from line 1 of a Rust file is its module doc comment: it
        # must be all of it, and nothing else.
        lines = file.read_text(encoding="utf-8").splitlines()
        doc = next((i for i, line in enumerate(lines) if not line.startswith("//!")), len(lines))
        if int(m.group(1)) != doc:
            errors.append(f"{where}: the doc comment at the top of {path} is lines 1-{doc}")
        return
    if not selector or re.fullmatch(r"[0-9]*(:[0-9]*)?", selector):
        return  # whole file or a line range
    body = anchor_lines(file.read_text(encoding="utf-8"), selector)
    if body is None:
        errors.append(f"{where}: no anchor `{selector}` in {path} "
                      f"(expected lines `ANCHOR: {selector}` and `ANCHOR_END: {selector}`)")
    elif not any(line.strip() for line in body):
        errors.append(f"{where}: anchor `{selector}` is empty or never closed")


def hints(file):
    """(first, last) line numbers (1-based) of each numbered hint in file."""
    lines = file.read_text(encoding="utf-8").splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if re.match(r"\d+\. ", line)]
    ranges = []
    for k, first in enumerate(starts):
        last = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines)
        while last > first and not lines[last - 1].strip():
            last -= 1
        ranges.append((first, last))
    return ranges


HINTS_INCLUDED = {}


def check_hint_range(file, selector, where, errors):
    m = re.fullmatch(r"([0-9]+):([0-9]+)", selector)
    if not m:
        errors.append(f"{where}: include hint files one hint at a time, with FIRST:LAST lines")
        return
    wanted = (int(m.group(1)), int(m.group(2)))
    ranges = hints(file)
    if wanted not in ranges:
        errors.append(f"{where}: lines {wanted[0]}-{wanted[1]} are not one whole hint; "
                      f"the hints of {file.name} are at lines {ranges}")
    HINTS_INCLUDED.setdefault(file, set()).add(wanted)


def check_code_blocks(md, text, errors):
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i].strip())
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).strip()
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        words = re.split(r"[,\s]+", info)
        lang = words[0] if words else ""
        if lang in ("rust", "python", "py") and "ignore" not in words:
            pasted = [b for b in body if b.strip() and not INCLUDE.fullmatch(b.strip())]
            if pasted:
                errors.append(
                    f"{md}:{start + 1}: a ```{lang} block must only include compiled or "
                    f"tested sources (or be marked `ignore` and explained); found "
                    f"{pasted[0].strip()!r}")


TEST_NAME = re.compile(r"`((?:[a-z][a-z0-9_]*::)*[a-z][a-z0-9_]*)`")


def check_test_names(md, text, root, sources, errors):
    """Every test named in the text exists in the workspace's Rust files."""
    for name in TEST_NAME.findall(text):
        parts = name.split("::")
        last = parts[-1]
        case = None
        if last.startswith("case_") and len(parts) > 1:
            case = re.sub(r"^case_[0-9]+_", "", last)
            last = parts[-2]
        if last.count("_") < 4:
            continue  # an ordinary identifier, not a test name
        files = sources
        test_file = root / "tests" / f"{parts[0]}.rs"
        if len(parts) > 1 and test_file.is_file():
            files = {test_file: sources[test_file]}
        found = any(re.search(r"\bfn " + re.escape(last) + r"\b", text_)
                    for text_ in files.values())
        if found and case:
            found = any(f"case::{case}" in text_ for text_ in files.values())
        if not found:
            errors.append(f"{md}: names the test `{name}`, which does not exist")


def main():
    book = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book")
    src = book / "src"
    errors = []
    summary = (src / "SUMMARY.md").read_text(encoding="utf-8")
    listed = set()
    for target in re.findall(r"\]\(([^)]+\.md)\)", summary):
        listed.add(target)
        if not (src / target).is_file():
            errors.append(f"SUMMARY.md lists {target}, which does not exist")
    root = book.resolve().parent
    sources = {f: f.read_text(encoding="utf-8")
               for d in ("tests", "lessons", "exercises", "solutions", "examples")
               for f in (root / d).rglob("*.rs")}
    includes = 0
    for md in sorted(src.rglob("*.md")):
        rel = md.relative_to(src).as_posix()
        if rel != "SUMMARY.md" and rel not in listed:
            errors.append(f"{md} is not listed in SUMMARY.md")
        text = md.read_text(encoding="utf-8")
        for _, target in INCLUDE.findall(text):
            includes += 1
            check_include(md, target, errors)
        check_code_blocks(md, text, errors)
        check_test_names(md, text, root, sources, errors)
    for file, included in HINTS_INCLUDED.items():
        for first, last in hints(file):
            if (first, last) not in included:
                errors.append(f"{file}: the hint at lines {first}-{last} is not in the book")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"book sources ok: {includes} includes resolve, no pasted code")


if __name__ == "__main__":
    main()
