#!/usr/bin/env python3
"""An mdBook preprocessor that keeps the diagrams' source text out of the
search index, so that a search never shows `flowchart TB stdin([...` as its
snippet.

mdbook-mermaid turns each ```mermaid block into `<pre class="mermaid">SOURCE
</pre>`, and mermaid.min.js draws the diagram from that text in the browser.
mdBook indexes every text of a page for its search, but for `<script>` and
`<style>` elements. So this preprocessor, run after mdbook-mermaid, moves each
diagram's text into a `<script type="text/plain">` next to an empty `<pre
class="mermaid">`, and book/diagram-source.js puts it back before mermaid
draws. The page looks the same; only the index no longer sees the source.

It is optional in book.toml: without python3 the book still builds (mdBook
prints a warning) and the diagrams still render; only the search snippets
show their source again. `.ci/book.sh` checks the index.

mdBook calls it as `diagrams_out_of_search.py supports RENDERER` (answer: only
html) and then with `[context, book]` as JSON on stdin, expecting the book
back on stdout.
"""

import json
import re
import sys

DIAGRAM = re.compile(r'<pre class="mermaid">(.*?)</pre>', re.S)


def move_source(content):
    # mdbook-mermaid has escaped <, >, & and " in the source, so it cannot
    # contain `</script>`; diagram-source.js decodes it back.
    return DIAGRAM.sub(
        lambda m: '<script type="text/plain" class="mermaid-source">'
        f'{m.group(1)}</script><pre class="mermaid"></pre>',
        content,
    )


def walk(items):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter is not None:
            chapter["content"] = move_source(chapter["content"])
            walk(chapter.get("sub_items", []))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0 if sys.argv[2:] == ["html"] else 1)
    _context, book = json.load(sys.stdin)
    walk(book["items"])
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
