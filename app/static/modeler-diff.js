// Two versions side by side, with added / removed / changed elements highlighted.
(function () {
  "use strict";
  if (!window.BpmnJS) { return; }
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
      .catch(function (err) { el.textContent = String(err); });
  });
})();
