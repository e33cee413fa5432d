// Process analytics: colour each step of the diagram by how long it waits for a person (p95, relative to the
// slowest step) and badge the steps where instances wait now. Data: the JSON block next to the diagram.
(function () {
  "use strict";
  var el = document.getElementById("heat-diagram");
  var source = document.getElementById("heat-data");
  if (!el || !source || !window.BpmnJS) { return; }
  var data = JSON.parse(source.textContent);
  var viewer = new window.BpmnJS({ container: el });
  fetch(el.dataset.diagramUrl, { credentials: "same-origin" })
    .then(function (r) { return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      canvas.zoom("fit-viewport");
      Object.keys(data.heat).forEach(function (id) {
        if (!registry.get(id)) { return; }
        var bucket = Math.min(5, Math.round(data.heat[id] * 5));
        canvas.addMarker(id, "tap-heat-" + bucket);
      });
      Object.keys(data.waiting).forEach(function (id) {
        if (!registry.get(id)) { return; }
        var badge = document.createElement("span");
        badge.className = "badge rounded-pill bg-danger";
        badge.textContent = String(data.waiting[id]);
        overlays.add(id, { position: { top: -10, right: 10 }, html: badge });
      });
      el.dataset.rendered = "true";
    })
    .catch(function (err) { el.textContent = String(err); });
})();
