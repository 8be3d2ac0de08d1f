// Puts each diagram's text back into its <pre class="mermaid"> before mermaid
// draws it (mermaid starts on the page's load event, after this runs). The
// text was kept in a <script type="text/plain"> by
// book/tools/diagrams_out_of_search.py so that mdBook's search index, which
// skips scripts, does not show it as a snippet. It is HTML-escaped text, so
// assigning it as innerHTML yields exactly the text mdbook-mermaid wrote.
(() => {
    for (const source of document.querySelectorAll('script.mermaid-source')) {
        const diagram = source.nextElementSibling;
        if (diagram && diagram.matches('pre.mermaid') && diagram.textContent === '') {
            diagram.innerHTML = source.textContent;
        }
    }
})();
