// Loaded in the page's head, before any field can be used: what a submit must ask, carry or keep is handled here, on
// the document, so it works from the first moment the page can be used — not only once app.js (loaded at the end of the
// page, after Bootstrap and htmx) has arrived. On a slow line a person can type and press a button before that, and
// a comment or a file posted then wiped what was typed into the task's form.
(function () {
  "use strict";
  var keyOf = function () {
    var person = document.querySelector('meta[name="tapsyrys-person"]');
    return "tapsyrys:unsaved:" + (person ? person.content : "") + ":" + window.location.pathname;
  };
  // The task form's own fields a person types into (never passwords, files or the page's hidden ones).
  var fields = function (form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !/^(hidden|password|file|submit|button)$/.test(el.type) && el.name.charAt(0) !== "_";
    });
  };
  var collect = function (form) {
    var values = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio") { if (el.checked) { values[el.name] = el.value; } }
      else if (el.type === "checkbox") { values[el.name] = el.checked; }
      else { values[el.name] = el.value; }
    });
    return values;
  };
  // Changed is what differs from what the page came with (typed before any script listened, it raised no event the
  // page saw), or what app.js saw change (a row removed, entries put back).
  var changed = function (form) {
    if (form.dataset.changed === "true") { return true; }
    return fields(form).some(function (el) {
      if (el.type === "radio" || el.type === "checkbox") { return el.checked !== el.defaultChecked; }
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
  };
  var keep = function (entry) {
    try { window.sessionStorage.setItem(keyOf(), JSON.stringify(entry)); }
    catch (err) { /* storage full or off: as before */ }
  };
  window.tapsyrysEntries = { key: keyOf, fields: fields };
  // A field the browser refuses before sending (required, a number's bounds, a length) is said in the page's language
  // (data-field-words, app/i18n.py): the browser's own bubble speaks the browser's language — "Please select a file."
  // on the Kazakh registry page. The message is dropped as soon as the field changes, so the browser checks it anew.
  document.addEventListener("invalid", function (evt) {
    var el = evt.target, words;
    try { words = JSON.parse(document.documentElement.dataset.fieldWords || "null"); } catch (err) { words = null; }
    if (!words || !el || typeof el.setCustomValidity !== "function") { return; }
    el.setCustomValidity("");
    var v = el.validity, say = function (key, n) { return String(words[key]).replace("{n}", n); };
    var message = v.valueMissing ? say("missing")
      : v.badInput ? say("number")
      : v.rangeUnderflow ? say("min", el.min)
      : v.rangeOverflow ? say("max", el.max)
      : v.stepMismatch ? say("step")
      : v.tooShort ? say("short", el.minLength)
      : v.tooLong ? say("long", el.maxLength)
      : (v.patternMismatch || v.typeMismatch) ? say("format") + (el.title ? " " + el.title : "")
      : "";
    if (message) { el.setCustomValidity(message); }
  }, true);
  var fresh = function (evt) {
    var el = evt.target, form = el && el.form;
    // a radio chosen answers its whole group; a key or a button that sends the form lets the browser check it anew
    var all = form && (el.type === "radio" || evt.type === "click" || evt.type === "keydown");
    (all ? Array.prototype.slice.call(form.elements) : [el]).forEach(function (field) {
      if (field && typeof field.setCustomValidity === "function") { field.setCustomValidity(""); }
    });
  };
  document.addEventListener("input", fresh, true);
  document.addEventListener("change", fresh, true);
  document.addEventListener("click", function (evt) {
    var button = evt.target && evt.target.closest && evt.target.closest("button, input[type=submit]");
    if (button && button.form && button.type === "submit") { fresh({ target: button, type: "click" }); }
  }, true);
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && evt.target && evt.target.form) { fresh(evt); }
  }, true);
  // A page's own request (the form editor's live preview) that finds the login ended sends the whole page to the login
  // page (HX-Redirect): what was typed is kept as if sent, and comes back after logging in — it was lost, or the
  // browser asked whether to leave the page with changes.
  document.addEventListener("htmx:beforeOnLoad", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    var form = document.querySelector("#task-form, form[data-keeps-entries]");
    if (!form || !xhr || xhr.status !== 401 || !xhr.getResponseHeader("HX-Redirect")) { return; }
    keep({ sent: Date.now(), values: collect(form) });
    form.dataset.kept = "true";
  });
  // Irreversible actions ask first: a form (or its submit button) with data-confirm="question". A form's question
  // with data-confirm-field/-value is asked only when that field has that value (accepting an act asks, returning
  // it — which the school corrects and submits again — does not).
  var chosen = function (form) {
    var name = form.dataset.confirmField;
    if (!name) { return true; }
    var field = form.elements.namedItem(name);
    return Boolean(field) && field.value === form.dataset.confirmValue;
  };
  // A check digit (IIN, BIN: app/registry/identifiers.py; a KZ IBAN's mod-97) or a field's pattern (the form's JSON
  // Schema, searched as the server does) the page can see is wrong: the form goes to the server, which names the
  // field in the user's language — a question first ("Submit the act?") was about an act that could not be sent.
  var twelve = function (value) {
    value = value.replace(/[\s\-\u2010-\u2014\u2212]/g, "");  // written in groups: the server reads the digits
    if (!/^[0-9]{12}$/.test(value)) { return false; }
    var d = value.split("").map(Number);
    var weighted = function (weights) {
      return weights.reduce(function (sum, w, i) { return sum + d[i] * w; }, 0) % 11;
    };
    var c = weighted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if (c === 10) { c = weighted([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]); }
    return c !== 10 && c === d[11];
  };
  var iban = function (value) {
    var v = value.replace(/ /g, "").toUpperCase();
    if (!/^KZ[0-9]{2}[0-9A-Z]{16}$/.test(v)) { return false; }
    var rest = 0;
    (v.slice(4) + v.slice(0, 4)).split("").forEach(function (ch) {
      String(parseInt(ch, 36)).split("").forEach(function (digit) { rest = (rest * 10 + Number(digit)) % 97; });
    });
    return rest === 1;
  };
  // a form's date as app/engine/forms.date_entered takes it: dd.mm.yyyy (or d.m.yyyy, / or -) or ISO, a real day
  var day = function (value) {
    var dmy = /^([0-9]{1,2})[.\/-]([0-9]{1,2})[.\/-]([0-9]{4})$/.exec(value);
    var ymd = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
    var y, m, d;
    if (dmy) { y = +dmy[3]; m = +dmy[2]; d = +dmy[1]; } else if (ymd) { y = +ymd[1]; m = +ymd[2]; d = +ymd[3]; }
    else { return false; }
    var at = new Date(0);
    at.setUTCFullYear(y, m - 1, d);  // not Date.UTC: it reads the years 0–99 as 1900–1999
    return y >= 1 && at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d;
  };
  var formats = { iin: twelve, bin: twelve, "iban-kz": iban, date: day };
  var seenWrong = function (form) {
    return Array.prototype.some.call(form.elements, function (el) {
      var value = typeof el.value === "string" ? el.value.trim() : "";
      if (el.disabled || !value || !el.dataset) { return false; }
      var check = formats[el.dataset.format];
      if (check && !check(value)) { return true; }
      // Never stricter than the server: Python's \d, \w, \s and \b also match other scripts' digits and letters.
      if (!el.dataset.pattern || /\\[dwsbDWSB]/.test(el.dataset.pattern)) { return false; }
      try { return !new RegExp(el.dataset.pattern, "u").test(value); }
      catch (err) { return false; }  // a pattern this browser cannot read: the server checks it
    });
  };
  // A form on its way is sent once: a second Enter or click before the answer came (a slow line) asked "Register the
  // payment?" again and sent it again — the first was already taken, and a "Cancel" to the second question cancelled
  // nothing. Marked below, once no listener has stopped the submit; a page the back button brings back is free again.
  var sendsOnce = function (form, button) {
    var target = (button && button.getAttribute("formtarget")) || form.getAttribute("target");
    var method = ((button && button.getAttribute("formmethod")) || form.getAttribute("method") || "get").toLowerCase();
    return method === "post" && (!target || target === "_self");
  };
  document.addEventListener("submit", function (evt) {
    if (evt.target.dataset && evt.target.dataset.sending === "true") {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  window.addEventListener("pageshow", function () {
    document.querySelectorAll('form[data-sending="true"]').forEach(function (form) { delete form.dataset.sending; });
  });
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var button = evt.submitter;
    var question = (button && button.dataset.confirm) || (chosen(form) && form.dataset.confirm);
    // A student listed twice stops the form first (app.js, with the line to correct): no question before that.
    if (question && form.querySelector('input[data-duplicate="1"]')) { return; }
    // Nor before a field the page itself knows the server refuses (days past the month's end, a required field
    // left empty): the form goes to the server, which names each field in the user's language and decides nothing.
    if (question && typeof form.checkValidity === "function" && !form.checkValidity()) { return; }
    if (question && seenWrong(form)) { return; }
    if (question && !window.confirm(question)) { evt.preventDefault(); evt.stopImmediatePropagation(); }
  }, true);
  // A file field drawn in the user's language (templates/_file_pick.html) names the file chosen, or says none is.
  var nameChosen = function (input) {
    var name = input.parentNode && input.parentNode.querySelector(".file-pick-name");
    if (!name) { return; }
    if (!name.dataset.none) { name.dataset.none = name.textContent; }
    name.textContent = input.files && input.files.length
      ? Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ") : name.dataset.none;
  };
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches('.file-pick > input[type="file"]')) { nameChosen(evt.target); }
  });
  // a page come back from the browser's history keeps the file chosen
  window.addEventListener("pageshow", function () {
    document.querySelectorAll('.file-pick > input[type="file"]').forEach(nameChosen);
  });
  document.addEventListener("submit", function (event) {
    var sent = event.target;
    if (!sent || !sent.matches || event.defaultPrevented) { return; }  // a submit the page stopped sends nothing
    if (sendsOnce(sent, event.submitter)) { sent.dataset.sending = "true"; }
    // a task's form, or another a login's end must not cost (data-keeps-entries: the modeler's form editor)
    var form = document.querySelector("#task-form, form[data-keeps-entries]");
    if (form && sent === form) {
      // What is sent is kept in this tab until the page comes back: if the login had ended meanwhile (the form went
      // to the login page, and nothing was saved), the same task page offers the entries back after logging in.
      keep({ sent: Date.now(), values: collect(form) });
    } else if (form && sent.matches("#comment-form, #attach-form, form[data-keeps-task-form]") && changed(form)) {
      // A comment, a file or a line's review decision reloads the task page: the entries are put back, unsaved.
      keep({ values: collect(form) });
    }
    // A comment the server refuses (too many, a hidden direction mark) comes back as a message: what was written is
    // kept for that moment and put back into the box (app.js), not lost with the page.
    if (sent.id === "comment-form") {
      var body = sent.elements.namedItem("body");
      try { if (body && body.value) { window.sessionStorage.setItem(keyOf() + ":comment", body.value); } }
      catch (err) { /* storage full or off: as before */ }
    }
    // "Fill the lines from a file": the task form's entries go along (as JSON), so the page that comes back keeps
    // the note — and everything, if the file has no usable line. Removed (disabled) rows are not sent, as on Submit.
    if (sent.matches("form[data-carry-form]")) {
      var source = document.getElementById(sent.dataset.carryForm);
      var target = sent.querySelector('input[name="current"]');
      if (!source || !target || !window.FormData) { return; }
      var values = {};
      new FormData(source).forEach(function (value, name) {
        if (typeof value === "string" && name !== "csrf_token" && name.charAt(0) !== "_") { values[name] = value; }
      });
      target.value = JSON.stringify(values);
    }
  });
})();
