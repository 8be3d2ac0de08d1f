#!/usr/bin/env python3
"""An mdBook preprocessor that shows an exercise's task, included from the
`//!` doc comment of its stub, as prose rather than as a code block.

The task is written once, in the stub a student opens
(`exercises/stubs/NAME.rs`), and the book includes it from there. As a
```rust block it would show its comment marks and its markdown raw
(`//! ... *without* ...`). A block marked in the chapter with the line
`<!-- as prose -->` just before its fence is replaced, after the includes
are expanded, by the comment's text without `//! ` (intra-doc links such as
[`forward`] lose their brackets), as a quotation.

Optional in book.toml, like diagrams_out_of_search.py: without python3 the
book still builds (mdBook prints a warning) and the task shows as the code
block it was. `.ci/book.sh` checks that no exercise page shows `//!`.
"""

import json
import re
import sys

BLOCK = re.compile(r"<!-- as prose -->\n```rust\n(.*?)\n```", re.S)
DOC_LINK = re.compile(r"\[(`[^`\]]+`)\]")


def as_prose(match):
    lines = []
    for line in match.group(1).split("\n"):
        text = re.sub(r"^//! ?", "", line)
        lines.append(("> " + DOC_LINK.sub(r"\1", text)).rstrip())
    return "\n".join(lines)


def walk(items):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter is not None:
            chapter["content"] = BLOCK.sub(as_prose, chapter["content"])
            walk(chapter.get("sub_items", []))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0 if sys.argv[2:] == ["html"] else 1)
    _context, book = json.load(sys.stdin)
    walk(book["items"])
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
