// Injected into a copy of each page by check_layout.py. Once mermaid has
// drawn every diagram (or 8 s have passed), it measures the page as laid
// out and writes what is wrong, as JSON, into a pre element with the id
// layout-report, for chromium's --dump-dom to hand back. Every <details>
// (hints, reference answers) is opened first: a reader opens them.
(() => {
    const MIN_LABEL_PX = 11;
    const MIN_CELL_PX = 48;
    const started = Date.now();
    const describe = (el) => (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
    function measure() {
        for (const d of document.querySelectorAll('details')) d.open = true;
        const problems = [];
        const main = document.querySelector('#content main') || document.querySelector('main');
        const page = main.getBoundingClientRect();
        const tooWide = (el, what) => {
            const r = el.getBoundingClientRect();
            if (el.scrollWidth > el.clientWidth + 1 || r.right > page.right + 1) {
                problems.push(`${what} wider than the page (${Math.round(Math.max(el.scrollWidth, r.width))} px` +
                    ` in ${Math.round(page.width)} px): ${describe(el)}`);
            }
        };
        for (const table of main.querySelectorAll('table')) {
            tooWide(table, 'table');
            for (const cell of table.querySelectorAll('td, th')) {
                const w = cell.getBoundingClientRect().width;
                if (cell.textContent.trim() && w < MIN_CELL_PX) {
                    problems.push(`a table column squeezed to ${Math.round(w)} px: ${describe(cell)}`);
                    break;
                }
            }
        }
        for (const pre of main.querySelectorAll('pre')) {
            if (pre.classList.contains('mermaid')) continue;
            tooWide(pre, 'code block');
            const code = pre.querySelector('code');
            // Each line in a box of its own, so a wrapped line hangs under
            // its start (reader-view.js) instead of starting at column 0.
            if (code && code.textContent.trim() && !code.querySelector('.code-line')) {
                problems.push(`code block whose wrapped lines would start at column 0: ${describe(code)}`);
            }
            // What the copy button takes (innerText) is the code's text.
            if (code && code.innerText.replace(/\n+$/, '') !== code.textContent.replace(/\n+$/, '')) {
                problems.push(`code block copies other text than it holds: ${describe(code)}`);
            }
        }
        // A short command or name read whole: `--idle-timeout SECS` split
        // after its `--` reads as two things.
        for (const code of main.querySelectorAll(':not(pre) > code')) {
            if (code.textContent.length <= 32 && code.getClientRects().length > 1) {
                problems.push(`inline code broken across two lines: ${describe(code)}`);
            }
        }
        for (const svg of main.querySelectorAll('pre.mermaid svg')) {
            tooWide(svg, 'diagram');
            const box = svg.viewBox && svg.viewBox.baseVal;
            const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
            let smallest = null;
            for (const label of svg.querySelectorAll('text, foreignObject div, foreignObject span')) {
                if (!label.textContent.trim()) continue;
                const px = parseFloat(getComputedStyle(label).fontSize) * scale;
                if (smallest === null || px < smallest.px) smallest = { px, text: describe(label) };
            }
            if (smallest && smallest.px < MIN_LABEL_PX) {
                problems.push(`diagram labels drawn at ${smallest.px.toFixed(1)} px (under ${MIN_LABEL_PX}): ` +
                    smallest.text);
            }
        }
        const report = document.createElement('pre');
        report.id = 'layout-report';
        report.textContent = JSON.stringify({ problems, width: Math.round(page.width) });
        document.body.appendChild(report);
    }
    function whenDrawn() {
        const diagrams = document.querySelectorAll('pre.mermaid').length;
        const drawn = document.querySelectorAll('pre.mermaid svg').length;
        if (drawn >= diagrams || Date.now() - started > 8000) {
            measure();
        } else {
            setTimeout(whenDrawn, 100);
        }
    }
    window.addEventListener('load', () => setTimeout(whenDrawn, 100));
})();
