// Small progressive enhancements; every page works without them.
// The diagram of a BPMN file to draw when it has several (an ADONIS export opened on a 7-shape "collapsed call
// activity" page, the main collaboration of 200 shapes out of sight): the one with the most shapes and edges.
// Undefined for a file with one diagram (bpmn-js then draws its first, as before).
window.tapsyrysMainDiagram = function (xml) {
  "use strict";
  if (!window.DOMParser || xml.indexOf("BPMNDiagram") === xml.lastIndexOf("BPMNDiagram")) { return undefined; }
  var doc = new window.DOMParser().parseFromString(xml, "application/xml");
  var best, most = -1;
  Array.prototype.forEach.call(doc.getElementsByTagNameNS("*", "BPMNDiagram"), function (d) {
    var size = d.getElementsByTagNameNS("*", "BPMNShape").length + d.getElementsByTagNameNS("*", "BPMNEdge").length;
    if (size > most && d.getAttribute("id")) { most = size; best = d.getAttribute("id"); }
  });
  return doc.getElementsByTagNameNS("*", "BPMNDiagram").length > 1 ? best : undefined;
};
(function () {
  "use strict";
  // A printable document's Print button (its page has no other script).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // A date picked in the browser's own date field is said again in words, in the user's language (the page's
  // data-date-words, app/i18n.py): the field orders day and month by the browser's language, so 12/05/2026 on a
  // Kazakh page — 5 December, not 12 May — is said "2026 ж. 5 желтоқсан".
  var dateWords = (function () {
    try { return JSON.parse(document.documentElement.dataset.dateWords || "null"); }
    catch (err) { return null; }
  }());
  var sayDate = function (input) {
    var said = input.nextElementSibling;
    if (!said || !said.classList.contains("date-words")) {
      said = document.createElement("div");
      said.className = "form-text date-words";
      said.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", said);
    }
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.value), month = /^(\d{4})-(\d{2})$/.exec(input.value);
    if (parts) {
      said.textContent = dateWords.pattern.replace("{y}", parts[1])
        .replace("{m}", dateWords.months[Number(parts[2]) - 1]).replace("{d}", String(Number(parts[3])));
    } else {
      // a month field (type="month") names the month in the browser's language: "November 2026" on a Kazakh page
      said.textContent = month && dateWords.month_words ? dateWords.month_words[Number(month[2]) - 1].replace("{y}", month[1]) : "";
    }
    said.hidden = !said.textContent;
  };
  if (dateWords && dateWords.months && dateWords.pattern) {
    document.querySelectorAll('input[type="date"], input[type="month"]').forEach(function (input) {
      sayDate(input);
      input.addEventListener("input", function () { sayDate(input); });
      input.addEventListener("change", function () { sayDate(input); });
    });
  }
  // htmx requests carry the CSRF token.
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // A form table's line number and IIN stay in sight while the row scrolls sideways (app.css): a field scrolled to —
  // the first to correct, one tabbed to, one named in the list of errors — stops beside them, not under them (on a
  // phone a name's error was read from its fifth letter, the field's start hidden under the IIN).
  document.querySelectorAll("main .form-table-box").forEach(function (box) {
    var held = box.querySelector("tbody td:nth-child(2)");
    if (!held) { return; }
    var width = held.getBoundingClientRect().right - box.getBoundingClientRect().left;
    if (width > 0 && width < box.clientWidth / 2) { box.style.scrollPaddingLeft = Math.ceil(width) + "px"; }
  });
  // A field put in sight with the focus: in a form table, its start beside the held columns ("nearest" moved a field
  // wider than what is left of a phone's screen by its right edge only, and its start stayed under the IIN).
  var reveal = function (field) {
    field.focus({ preventScroll: true });
    var inTable = field.closest && field.closest(".form-table-box");
    field.scrollIntoView({ block: "center", inline: inTable ? "start" : "nearest" });
  };
  // The list of a form's errors (inbox/task.html) names each field with a link: it puts the focus in that field,
  // scrolled into sight — in a wide table on a phone, the second error was past the right edge, unseen.
  document.querySelectorAll("#form-errors a[data-field]").forEach(function (link) {
    link.addEventListener("click", function (evt) {
      var field = document.getElementById(link.dataset.field);
      if (!field || typeof field.focus !== "function") { return; }
      evt.preventDefault();
      reveal(field);
    });
  });
  // A form sent back with errors: the first field to correct gets the focus, scrolled into view (row 37 of 40
  // was found only by scrolling).
  // A page whose problems are not one field's (a form's JSON refused in the form editor) focuses its list of them.
  var firstInvalid = document.querySelector("main form .is-invalid") || document.querySelector("main [data-takes-focus]");
  if (firstInvalid && typeof firstInvalid.focus === "function") { reveal(firstInvalid); }
  // An address that names a field puts the focus in it (after a line's review decision: the next line's box).
  var named = !firstInvalid && window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (named && named.matches("main input, main select, main textarea, main button")) {
    named.focus({ preventScroll: true });
    named.scrollIntoView({ block: "center" });
  }
  // A table that scrolls sideways in its own box (on a phone) can be scrolled from the keyboard too.
  document.querySelectorAll("main table.table, main .table-responsive").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); }
  });
  // A row's Remove / Put back button is named with its line, as the row's cells are ("Remove, line 3"): a screen
  // reader tabbing through 30 lines heard "Remove" thirty times, not which line it would take out.
  function lineButtonName(button, cellLabel, text, line) {
    if (cellLabel) { button.setAttribute("aria-label", cellLabel.replace("{column}", text).replace("{line}", String(line))); }
  }
  // "Add row" in form tables: clone the last row with the next index.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var table = document.querySelector('table[data-array="' + button.dataset.addRow + '"] tbody');
      var cellLabel = table.closest("table").dataset.cellLabel;
      var last = table.querySelector("tr:last-child");
      var index = table.querySelectorAll("tr").length;
      var row = last.cloneNode(true);
      row.classList.remove("table-danger", "table-warning", "row-removed", "row-excluded");
      delete row.dataset.excluded;
      row.querySelectorAll(".row-mark").forEach(function (el) { el.remove(); });
      row.querySelector("th").textContent = String(index + 1);
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/\.\d+\./, "." + index + ".");
        input.id = input.id.replace(/-\d+-/, "-" + index + "-");
        input.value = "";
        input.disabled = false;
        input.classList.remove("is-invalid");
        // the copied line's error is not the new line's; its name says its own line
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        if (cellLabel && input.dataset.column) {
          input.setAttribute("aria-label", cellLabel.replace("{column}", input.dataset.column)
            .replace("{line}", String(index + 1)));
        }
        delete input.dataset.duplicate;
        delete input.dataset.describedBefore;
      });
      row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
      row.querySelectorAll("[data-remove-row]").forEach(function (b) {
        b.textContent = b.dataset.removeLabel;
        lineButtonName(b, cellLabel, b.dataset.removeLabel, index + 1);
      });
      table.appendChild(row);
      row.querySelector("input").focus();
    });
  });
  // Form tables: a row can be taken out (and put back) with one button, and a student listed twice is marked at once
  // with the line that already has them; the form is not sent while one is (the accountant learnt of a duplicate
  // only from the verification report, the line then withheld; removing a line meant emptying each of its cells).
  // An IIN is compared as the server reads it (app/registry/formats.py typed_identifier): "900101 300 123", with a
  // non-breaking space or hyphens, is the same child as "900101300123" — the raw text let both lines through.
  var DIGIT_GROUPING = /[\s\u00a0\u2007\u2009\u202f\-\u2010\u2011\u2012\u2013\u2014\u2212]+/g;
  var sameIdentifier = function (text) {
    var digits = text.replace(DIGIT_GROUPING, "");
    return /^[0-9]{12}$/.test(digits) ? digits : text.trim();
  };
  document.querySelectorAll("table[data-array]").forEach(function (table) {
    var form = table.closest("form");
    var removeLabel = table.dataset.removeLabel, restoreLabel = table.dataset.restoreLabel;
    var cellLabel = table.dataset.cellLabel;
    var lineOf = function (row) { return row.querySelector("th").textContent.trim(); };
    if (removeLabel) {
      var head = table.querySelector("thead tr");
      if (head) { var th = document.createElement("th"); th.scope = "col"; head.appendChild(th); }
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var cell = document.createElement("td");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-sm btn-link text-danger p-0";
        button.dataset.removeRow = "1";
        button.dataset.removeLabel = removeLabel;
        button.textContent = removeLabel;
        lineButtonName(button, cellLabel, removeLabel, lineOf(row));
        cell.appendChild(button);
        row.appendChild(cell);
      });
    }
    var check = function () {
      var first = {};
      table.querySelectorAll('tbody input[data-format="iin"]').forEach(function (input) {
        var feedback = input.parentNode.querySelector(".js-duplicate");
        if (feedback) {
          feedback.remove();
          // the field is described by its server error again, if it has one, else by nothing
          if (input.dataset.describedBefore) { input.setAttribute("aria-describedby", input.dataset.describedBefore); }
          else { input.removeAttribute("aria-describedby"); }
          delete input.dataset.describedBefore;
        }
        if (input.dataset.duplicate) {
          input.classList.remove("is-invalid");
          input.removeAttribute("aria-invalid");
          delete input.dataset.duplicate;
        }
        var value = sameIdentifier(input.value);
        if (input.disabled || !value) { return; }
        if (!(value in first)) { first[value] = input.closest("tr").querySelector("th").textContent; return; }
        if (!input.classList.contains("is-invalid")) {
          input.classList.add("is-invalid");
          input.setAttribute("aria-invalid", "true");
          input.dataset.duplicate = "1";
        }
        var note = document.createElement("div");
        note.className = "invalid-feedback d-block js-duplicate";
        note.id = input.id + "-dup";
        note.textContent = (table.dataset.duplicateMessage || "").replace("{line}", first[value]);
        input.parentNode.appendChild(note);
        // a screen reader on the field reads why it is marked (the note was seen, not heard)
        var described = input.getAttribute("aria-describedby") || "";
        input.dataset.describedBefore = described;
        input.setAttribute("aria-describedby", (described ? described + " " : "") + note.id);
      });
    };
    table.addEventListener("input", check);
    table.addEventListener("click", function (evt) {
      var button = evt.target.closest("[data-remove-row]");
      if (!button) { return; }
      var row = button.closest("tr");
      var removing = !row.classList.contains("row-removed");
      row.classList.toggle("row-removed", removing);
      row.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = removing; });
      button.textContent = removing ? restoreLabel : removeLabel;
      lineButtonName(button, cellLabel, button.textContent, lineOf(row));
      check();
    });
    if (form) {
      form.addEventListener("submit", function (evt) {
        check();
        var duplicate = table.querySelector('input[data-duplicate="1"], .js-duplicate');
        if (!duplicate) { return; }
        evt.preventDefault();
        evt.stopImmediatePropagation();
        reveal(duplicate.tagName === "INPUT" ? duplicate : duplicate.parentNode.querySelector("input"));
      });
    }
    check();
  });
  // The page that answers the file is the task's page: its address too (a reload does not send the file again;
  // unsaved entries below are kept under the task's address).
  var filled = document.querySelector("[data-task-url]");
  if (filled && window.history && window.history.replaceState) { window.history.replaceState(null, "", filled.dataset.taskUrl); }
  // The file's report is where the person reads next (a screen down on a phone): it takes the focus, so it is seen
  // and read out.
  var fileReport = filled && document.getElementById("lines-file-report");
  if (fileReport) { fileReport.focus(); }
  // A comment or a file posted from a task page reloads it: what was typed into the task's own form and not yet
  // submitted is kept in this tab's session storage for that moment and put back, with a note that it is still
  // unsaved (a school accountant lost her edited days when she commented). Passwords and files are never kept.
  // A refused comment (the page came back with a danger message) is put back into its box; a saved one is not.
  (function () {
    var entries = window.tapsyrysEntries, box = document.getElementById("comment-body");
    if (!entries || !window.sessionStorage) { return; }
    var key = entries.key() + ":comment", written = window.sessionStorage.getItem(key);
    window.sessionStorage.removeItem(key);
    if (written && box && !box.value && document.querySelector("main .alert-danger")) { box.value = written; }
  })();
  (function () {
    var form = document.querySelector("#task-form, form[data-keeps-entries]");
    var entries = window.tapsyrysEntries;  // early.js: keeps what a submit must keep, from the page's first moment
    if (!form || !window.sessionStorage || !entries) { return; }
    var key = entries.key();
    var changed = function () { form.dataset.changed = "true"; };
    // Typing is activity the server does not see: say so at most every five minutes (or half the idle limit, if
    // shorter), so the login does not end while an act of forty lines is being checked.
    var lastAlive = Date.now();
    var aliveEvery = Math.max(15000, Math.min(300000, Number(form.dataset.aliveEvery) || 300000));
    var alive = function () {
      changed();
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (!form.dataset.aliveUrl || !meta || !window.fetch || Date.now() - lastAlive < aliveEvery) { return; }
      lastAlive = Date.now();
      fetch(form.dataset.aliveUrl, { method: "POST", credentials: "same-origin",
                                     headers: { "X-CSRFToken": meta.content, Accept: "application/json" } })
        .catch(function () { /* offline: the submit will tell */ });
    };
    form.addEventListener("input", alive);
    form.addEventListener("change", alive);
    var saved = window.sessionStorage.getItem(key);
    if (!saved) { return; }
    window.sessionStorage.removeItem(key);
    var kept, values, message = form.dataset.keptMessage;
    try { kept = JSON.parse(saved); } catch (err) { return; }
    if (!kept || typeof kept.values !== "object") { return; }
    values = kept.values;
    if (kept.sent) {
      // Sent and back on the same form: as the answer to the post (errors, a conflict), the server kept the entries
      // itself; opened afresh, the submission never arrived (the login had ended), and what was sent is offered
      // back — for twelve hours.
      if (form.dataset.posted || Date.now() - kept.sent > 43200000) { return; }
      message = form.dataset.resentMessage;
    }
    // Entries the page already shows were saved (the form editor's save comes back to the same page): nothing to
    // offer back, nothing unsaved.
    var differs = entries.fields(form).some(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) { return false; }
      if (el.type === "radio") { return el.checked !== (el.value === values[el.name]); }
      if (el.type === "checkbox") { return el.checked !== (values[el.name] === true); }
      return el.value !== values[el.name];
    });
    if (!differs) { return; }
    entries.fields(form).forEach(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) { return; }
      if (el.type === "radio") { el.checked = el.value === values[el.name]; }
      else if (el.type === "checkbox") { el.checked = values[el.name] === true; }
      else { el.value = values[el.name]; }
    });
    var note = document.createElement("div");
    note.className = "alert alert-warning";
    note.id = "unsaved-kept";
    note.setAttribute("role", "status");
    note.textContent = message;
    form.parentNode.insertBefore(note, form);
    changed();
    // the entries put back are changes not saved: a form that warns before it is left does so (data-warn-unsaved)
    form.dataset.unsaved = "true";
  })();
  // A form marked data-warn-unsaved (the modeler's form editor) asks before the page is left with changes not yet
  // saved: typing sets the flag, sending the form clears it; a page drawn again with errors (the entries are not
  // saved) starts with it set (data-unsaved). The browser shows its own "leave site?" prompt.
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    var dirty = form.dataset.unsaved === "true";
    var mark = function () { dirty = true; form.dataset.dirty = "true"; };
    if (dirty) { form.dataset.dirty = "true"; }
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
    form.addEventListener("submit", function () { dirty = false; form.dataset.dirty = "false"; });
    window.addEventListener("beforeunload", function (ev) {
      if (dirty && form.dataset.kept !== "true") { ev.preventDefault(); ev.returnValue = ""; }  // kept: early.js
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
