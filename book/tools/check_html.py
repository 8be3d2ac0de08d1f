#!/usr/bin/env python3
"""Checks the built book (book/book) the way a reader would be let down.

* Every internal link and every local `src` resolves: the file exists, and a
  `#fragment` names an `id` on the target page.
* Nothing is loaded from the network: no script, stylesheet, font, image or
  frame with an http(s) address, in the HTML or in the CSS (links a reader may
  click, `<a href="https://...">`, are fine).
* No code block is a playground block (those call play.rust-lang.org).
* Every page whose Markdown has a ```mermaid block got a rendered diagram
  container (`<pre class="mermaid">`) and loads mermaid.min.js from the book.
* Every page loads book/wrap-code.css, which wraps long lines of code
  instead of hiding their end behind a horizontal scrollbar.
* No diagram's source is in the search index (its first two lines are
  looked for), where it would be shown as a search result's snippet; see
  book/tools/diagrams_out_of_search.py.

Usage: python3 book/tools/check_html.py [built_dir]   (default: book/book)
"""

import html.parser
import json
import pathlib
import re
import sys
import urllib.parse

LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src",
           "link": "href", "audio": "src", "video": "src", "embed": "src"}
# Pages mdBook writes for its own purposes: 404.html uses a site-absolute
# <base>, toc.html is the no-JavaScript sidebar fallback.
SKIP = {"404.html"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads, self.classes = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in LOADING and attrs.get(LOADING[tag]):
            self.loads.append((tag, attrs[LOADING[tag]]))
        if attrs.get("class"):
            self.classes.append((tag, attrs["class"]))


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def main():
    built = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book/book")
    src = built.parent / "src"
    errors, pages = [], {}
    for f in sorted(built.rglob("*.html")):
        pages[f.resolve()] = parse(f)

    def resolve(base, url, what):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme or url.startswith("//"):
            return
        target = (base.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else base.resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            errors.append(f"{base.relative_to(built)}: {what} {url!r}: no such file")
            return
        if parts.fragment and target.suffix == ".html":
            page = pages.get(target)
            if page is not None and urllib.parse.unquote(parts.fragment) not in page.ids:
                errors.append(f"{base.relative_to(built)}: link {url!r}: no id "
                              f"{parts.fragment!r} on {target.relative_to(built.resolve())}")

    links = 0
    for path, page in pages.items():
        rel = path.relative_to(built.resolve())
        if rel.as_posix() in SKIP:
            continue
        for url in page.links:
            if url.startswith(("mailto:", "javascript:")) or re.match(r"(?i)^[a-z]+:", url):
                continue
            links += 1
            resolve(built / rel, url, "link")
        for tag, url in page.loads:
            if re.match(r"(?i)^(https?:)?//", url):
                errors.append(f"{rel}: <{tag}> loads {url} from the network")
            else:
                resolve(built / rel, url, f"<{tag}>")
        if not any(t == "link" and re.search(r"wrap-code(-[0-9a-f]+)?\.css$", u)
                   for t, u in page.loads):
            errors.append(f"{rel}: does not load wrap-code.css (long code lines would scroll)")
        for tag, cls in page.classes:
            if "playground" in cls.split():
                errors.append(f"{rel}: a <{tag} class=\"{cls}\"> would call play.rust-lang.org")

    for css in built.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if re.match(r"(?i)^(https?:)?//", url):
                errors.append(f"{css.relative_to(built)}: loads {url} from the network")
        for url in re.findall(r"@import\s+['\"]([^'\"]+)", css.read_text(encoding="utf-8")):
            if re.match(r"(?i)^(https?:)?//", url):
                errors.append(f"{css.relative_to(built)}: imports {url} from the network")

    index = "".join(f.read_text(encoding="utf-8")
                    for f in built.glob("searchindex*") if f.suffix in (".js", ".json"))
    if not index:
        errors.append("no search index (searchindex*.js) was built")

    diagrams = 0
    for md in sorted(src.rglob("*.md")):
        for block in re.findall(r"^```mermaid\s*\n(.*?)^```", md.read_text(encoding="utf-8"),
                                re.M | re.S):
            for line in [l.strip() for l in block.splitlines() if l.strip()][:2]:
                # The index stores text JSON-escaped: compare the same way.
                if json.dumps(line)[1:-1] in index:
                    errors.append(f"{md.name}: the diagram line {line!r} is in the search "
                                  "index, and would show as a search snippet")
        count = len(re.findall(r"^```mermaid\s*$", md.read_text(encoding="utf-8"), re.M))
        if not count:
            continue
        page_path = (built / md.relative_to(src)).with_suffix(".html").resolve()
        page = pages.get(page_path)
        if page is None:
            errors.append(f"{md}: has diagrams but {page_path} was not built")
            continue
        rendered = sum(1 for tag, cls in page.classes if tag == "pre" and "mermaid" in cls.split())
        if rendered != count:
            errors.append(f"{page_path.name}: {count} mermaid blocks in the source, "
                          f"{rendered} diagram containers in the page (is mdbook-mermaid running?)")
        # mdBook 0.5 adds a content hash: mermaid-0123abcd.min.js
        if not any(t == "script" and re.search(r"mermaid(-[0-9a-f]+)?\.min\.js$", u)
                   for t, u in page.loads):
            errors.append(f"{page_path.name}: has diagrams but does not load mermaid.min.js")
        diagrams += rendered

    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"built book ok: {len(pages)} pages, {links} internal links resolve, "
          f"{diagrams} diagrams, nothing loaded from the network")


if __name__ == "__main__":
    main()
