// What the page does for its reader once mdBook has highlighted the code:
//
// - Each line of a code block becomes a box of its own, so that a line too
//   long for the page wraps *under itself*, indented past its own start,
//   instead of starting again at column 0 where it would read as a new line
//   (wrap-code.css). The line's `\n` stays inside it, so copying the block
//   gives back exactly its text.
// - A short inline command or name (`--idle-timeout SECS`) never breaks at
//   a hyphen or a space: it moves to the next line whole.
(() => {
    // Splits a code element into one span per line, reopening (cloning) the
    // highlighting spans a line break falls inside.
    function splitLines(code) {
        const lines = [];
        let line = document.createElement('span');
        let open = [line]; // the line, then the spans open at this point
        function newLine() {
            lines.push(line);
            line = document.createElement('span');
            const reopened = [line];
            for (const span of open.slice(1)) {
                const copy = span.cloneNode(false);
                reopened[reopened.length - 1].appendChild(copy);
                reopened.push(copy);
            }
            open = reopened;
        }
        function walk(node) {
            for (const child of Array.from(node.childNodes)) {
                if (child.nodeType === Node.TEXT_NODE) {
                    const parts = child.data.split('\n');
                    parts.forEach((part, i) => {
                        if (part) open[open.length - 1].appendChild(document.createTextNode(part));
                        if (i < parts.length - 1) {
                            open[open.length - 1].appendChild(document.createTextNode('\n'));
                            newLine();
                        }
                    });
                } else if (child.nodeType === Node.ELEMENT_NODE) {
                    const copy = child.cloneNode(false);
                    open[open.length - 1].appendChild(copy);
                    open.push(copy);
                    walk(child);
                    open.pop();
                }
            }
        }
        walk(code);
        if (line.textContent !== '') lines.push(line);
        code.textContent = '';
        for (const l of lines) {
            const indent = l.textContent.match(/^ */)[0].length;
            l.className = 'code-line';
            // Wrapped parts start 4 columns right of the line's own start.
            l.style.paddingLeft = `${indent + 4}ch`;
            l.style.textIndent = `-${indent + 4}ch`;
            code.appendChild(l);
        }
    }
    for (const code of document.querySelectorAll('.content pre > code')) {
        if (code.closest('pre.mermaid')) continue;
        splitLines(code);
    }
    for (const code of document.querySelectorAll('.content :not(pre) > code')) {
        if (code.textContent.length <= 32) code.classList.add('unbroken');
    }
})();
