// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // htmx requests carry the CSRF token.
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // Irreversible actions ask first: a form (or its submit button) with data-confirm="question".
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var button = evt.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) { evt.preventDefault(); evt.stopImmediatePropagation(); }
  }, true);
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
  // Inbox: "/" jumps to the search field (unless the user is typing somewhere).
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "/" || evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    var target = evt.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    var search = document.getElementById("q");
    if (search) { evt.preventDefault(); search.focus(); search.select(); }
  });
  // Inbox: one checkbox selects every clean act on the page for bulk acceptance.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll(box.dataset.selectAll).forEach(function (el) { el.checked = box.checked; });
    });
  });
  // The bell's unread count stays current: poll once a minute while the page is visible.
  var bell = document.getElementById("bell");
  if (bell && bell.dataset.unreadUrl && window.fetch) {
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(bell.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var badge = document.getElementById("unread-count");
          if (!badge && data.unread) {
            badge = document.createElement("span");
            badge.id = "unread-count";
            badge.className = "badge rounded-pill bg-danger";
            bell.appendChild(badge);
          }
          if (badge) { badge.textContent = String(data.unread); badge.hidden = !data.unread; }
          bell.setAttribute("aria-label", (bell.dataset.label || "").replace("%n", String(data.unread)));
        })
        .catch(function () { /* offline: keep the last count */ });
    }, 60000);
  }
})();
