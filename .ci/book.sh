#!/usr/bin/env bash
# Builds the book and checks it: pinned tools, every include resolves, no
# warning from mdBook, every internal link resolves, nothing is loaded from
# the network, every diagram is rendered, and the pages' layout fits. Never serves, never hangs; needs the
# network only to install a missing tool from crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

# A matching pair. mdbook-mermaid 0.17.1 (the newest) is built, with
# --locked, against mdBook's 0.5.0 libraries, and warns on every build when a
# different mdBook calls it ("built against version 0.5.0 of mdbook, but
# we're being called from version 0.5.4"). The preprocessor protocol is the
# same throughout 0.5, so the warning was harmless, but a build that always
# warns hides the warnings that matter: pin the mdBook it was built for.
MDBOOK_VERSION=0.5.0
MDBOOK_MERMAID_VERSION=0.17.1

# Installs a crate's binary at exactly `version`, unless that version is
# already installed: `mdbook --version` prints `mdbook v0.5.0`,
# `mdbook-mermaid --version` prints `mdbook-mermaid 0.17.1`.
pinned() {
    local name=$1 version=$2 found
    found=$("$name" --version 2>/dev/null || true)
    if [[ $found =~ [\ v]${version//./\\.}$ ]]; then
        echo "$name $version: installed"
    else
        echo "$name $version: installing (found: ${found:-nothing})"
        cargo install "$name" --version "$version" --locked
    fi
}

pinned mdbook "$MDBOOK_VERSION"
pinned mdbook-mermaid "$MDBOOK_MERMAID_VERSION"

# The diagrams' script is kept in book/ (served from the book, never from a
# CDN). Check it is the one the pinned mdbook-mermaid installs.
assets=$(mktemp -d)
trap 'rm -rf "$assets"' EXIT
cp book/book.toml "$assets/"
mdbook-mermaid install "$assets" >/dev/null 2>&1
for f in mermaid.min.js mermaid-init.js; do
    if ! cmp -s "$assets/$f" "book/$f"; then
        echo "error: book/$f differs from what mdbook-mermaid $MDBOOK_MERMAID_VERSION installs;" \
            "run: mdbook-mermaid install book" >&2
        exit 1
    fi
done

# mdBook 0.5 logs a missing include file as an error but still exits 0, and
# includes nothing at all for a missing anchor, so check the sources first.
python3 book/tools/check_sources.py book

log="$assets/build.log"
if ! mdbook build book >"$log" 2>&1; then
    cat "$log"
    echo "error: mdbook build failed" >&2
    exit 1
fi
cat "$log"
# Any warning or error fails the build (with the pair above, a clean build
# prints none).
if grep -Ei 'warn|error' "$log" >/dev/null; then
    echo "error: mdbook build printed warnings or errors:" >&2
    grep -Ei 'warn|error' "$log" >&2
    exit 1
fi

python3 book/tools/check_html.py book/book

# mermaid draws the diagrams in the browser; a syntax error only shows there.
python3 book/tools/check_diagrams.py book

# Each exercise's task is shown as prose (book/tools/doc_comments_as_prose.py),
# never as its raw `//!` comment.
if grep -l '//!' book/book/exercises/*.html >&2; then
    echo "error: these exercise pages show a raw //! doc comment" >&2
    exit 1
fi

# The book as a reader sees it, laid out by headless Chromium: no table, code
# block or diagram wider than its page, no diagram label under 11 px.
# Skipped with a line where Chromium is missing.
python3 book/tools/check_layout.py book
