// Two versions side by side, with added / removed / changed elements highlighted.
(function () {
  "use strict";
  if (!window.BpmnJS) { return; }
  var texts = document.getElementById("diff-page") || document.body;

  // bpmn-js says "no diagram to display" both for a diagram without layout (BPMN DI) and for one whose ids it
  // refuses (Kazakh or Russian letters, which XML and the engine allow): the warnings tell them apart.
  function failure(err) {
    var text = String(err && err.message || err);
    var reason = ((err && err.warnings) || []).map(function (w) { return String(w && w.message || w); }).filter(function (m) {
      return /illegal ID|duplicate ID|unparsable content <([\w-]+:)?definitions>/i.test(m);
    })[0];
    if (!reason && /no diagram to display/i.test(text) && texts.dataset.noLayout) { return texts.dataset.noLayout; }
    reason = (reason || text).replace(/\s*\n\s*/g, "; ");
    return texts.dataset.cannotOpen ? texts.dataset.cannotOpen.replace("%s", reason) : reason;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".diff-diagram"), function (el) {
    var viewer = new window.BpmnJS({ container: el });
    fetch(el.dataset.diagramUrl, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        ["added", "removed", "changed"].forEach(function (kind) {
          (el.dataset[kind] || "").split(",").filter(Boolean).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, "tap-" + kind); }
          });
        });
        el.dataset.rendered = "true";
      })
      .catch(function (err) {
        el.textContent = failure(err);
        el.dataset.rendered = "error";
      });
  });
})();
