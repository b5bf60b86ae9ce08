// heapdrift web UI, shared by every view. Hand-written, no dependencies.
'use strict';
(function () {
  // Refine form: drop empty fields so URLs stay short (pprof ignores
  // empty parameters anyway).
  const form = document.getElementById('refine');
  if (form) {
    form.addEventListener('submit', function () {
      for (const input of Array.from(form.querySelectorAll('input'))) {
        if (input.value === '') input.disabled = true;
      }
    });
  }

  // Graph view: a click on a node focuses on it (its full name is the
  // tooltip Graphviz put on the node's link).
  const graph = document.getElementById('graph');
  if (graph) {
    graph.addEventListener('click', function (ev) {
      const node = ev.target.closest && ev.target.closest('g.node');
      if (!node) return;
      const link = node.querySelector('a');
      const name = link && (link.getAttribute('xlink:title') || link.getAttribute('title'));
      if (!name) return;
      ev.preventDefault();
      const url = new URL(window.location.href);
      url.searchParams.set('f', '^' + quoteMeta(name.split('\n')[0]) + '$');
      window.location.href = url.pathname + url.search;
    });
  }

  function quoteMeta(s) {
    return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
  }
  window.heapdriftQuoteMeta = quoteMeta;
})();
