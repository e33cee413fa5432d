// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // htmx requests carry the CSRF token.
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // "Add row" in form tables: clone the last row with the next index.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var table = document.querySelector('table[data-array="' + button.dataset.addRow + '"] tbody');
      var last = table.querySelector("tr:last-child");
      var index = table.querySelectorAll("tr").length;
      var row = last.cloneNode(true);
      row.classList.remove("table-danger");
      row.querySelector("th").textContent = String(index + 1);
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/\.\d+\./, "." + index + ".");
        input.id = input.id.replace(/-\d+-/, "-" + index + "-");
        input.value = "";
        input.classList.remove("is-invalid");
      });
      row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
      table.appendChild(row);
      row.querySelector("input").focus();
    });
  });
})();
