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

  // Graph view: a click on a node focuses on it. Graphviz gives node K the
  // id "nodeK"; the server lists the nodes' names in that order.
  const graph = document.getElementById('graph');
  const graphNodes = document.getElementById('graph-nodes');
  if (graph && graphNodes) {
    const names = JSON.parse(graphNodes.textContent);
    graph.addEventListener('click', function (ev) {
      const node = ev.target.closest && ev.target.closest('g.node');
      const m = node && /^node(\d+)$/.exec(node.id);
      const name = m && names[parseInt(m[1], 10) - 1];
      if (!name) return;
      ev.preventDefault();
      const url = new URL(window.location.href);
      url.searchParams.set('f', '^' + quoteMeta(name) + '$');
      window.location.href = url.pathname + url.search;
    });
  }

  function quoteMeta(s) {
    return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
  }
  window.heapdriftQuoteMeta = quoteMeta;
})();
