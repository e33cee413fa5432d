// Render the instance's diagram with bpmn-js and mark completed, active and failed steps.
(function () {
  "use strict";
  var el = document.getElementById("diagram");
  if (!el || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({ container: el });
  fetch(el.dataset.diagramUrl, { credentials: "same-origin" })
    .then(function (r) { return r.text(); })
    .then(function (xml) {
      return viewer.importXML(xml, window.tapsyrysMainDiagram ? window.tapsyrysMainDiagram(xml) : undefined);
    })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      [["completed", "tap-completed"], ["active", "tap-active"], ["failed", "tap-failed"]].forEach(function (pair) {
        (el.dataset[pair[0]] || "").split(",").filter(Boolean).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
        });
      });
      // Cockpit: a waiting timer's due time next to its element (data-timers = [{element, due}]).
      var overlays = viewer.get("overlays");
      JSON.parse(el.dataset.timers || "[]").forEach(function (t) {
        if (!registry.get(t.element)) { return; }
        canvas.addMarker(t.element, "tap-active");
        var badge = document.createElement("span");
        badge.className = "badge bg-warning text-dark tap-timer";
        badge.textContent = "⏱ " + (t.due || "");
        overlays.add(t.element, { position: { bottom: -4, left: 0 }, html: badge });
      });
      el.dataset.rendered = "true";
    })
    .catch(function (err) {
      // A diagram without layout (BPMN DI) imports and runs, but bpmn-js has nothing to draw. It says "no diagram
      // to display" too for ids it refuses (Kazakh or Russian letters, which XML and the engine allow): the
      // warnings tell them apart, and then their reason is shown (translated when the page gives data-cannot-open).
      var text = String(err && err.message || err);
      var reason = ((err && err.warnings) || []).map(function (w) { return String(w && w.message || w); }).filter(function (m) {
        return /illegal ID|duplicate ID|unparsable content <([\w-]+:)?definitions>/i.test(m);
      })[0];
      if (!reason && /no diagram to display/i.test(text) && el.dataset.noLayout) {
        el.textContent = el.dataset.noLayout;
      } else {
        reason = (reason || text).replace(/\s*\n\s*/g, "; ");
        el.textContent = el.dataset.cannotOpen ? el.dataset.cannotOpen.replace("%s", reason) : reason;
      }
      el.dataset.rendered = "error";
    });
})();
