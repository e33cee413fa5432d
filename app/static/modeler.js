// The process owner's editor: bpmn-js modeler + our side panel (lane, form, operator, script, timer,
// called decision, condition), dmn-js for decision tables, server validation shown next to elements.
(function () {
  "use strict";
  var cfgEl = document.getElementById("modeler-config");
  if (!cfgEl || !window.BpmnJS) { return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var t = JSON.parse(document.getElementById("modeler-i18n").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var files = cfg.files;
  // The primary diagram first; a model may hold further diagrams (called processes), each in its own tab.
  var bpmnName = (cfg.bpmnFiles || [])[0] || Object.keys(files).filter(function (n) { return /\.bpmn$/.test(n); })[0];
  var currentBpmn = bpmnName, lastProblems = [], lastNotices = (cfg && cfg.notices) || [];
  var canvasEl = document.getElementById("canvas");
  var dmnEl = document.getElementById("dmn-canvas");
  var panel = document.getElementById("panel");
  var modeler, moddle, modeling, registry, overlays, canvas, dmn = null, currentDmn = null, dirty = false;
  // The .bpmn file bpmn-js holds now, or null: a diagram it could not open (no layout, ids it refuses) is never
  // taken back from the modeler on save: the stored text stays as it is, like a decision table dmn-js cannot open.
  var loadedBpmn = null;

  // Leaving the editor (Add form, a link, closing the tab) with unsaved changes asks first.
  document.querySelectorAll("[data-leaves-editor]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (dirty && !window.confirm(t.unsaved)) { ev.preventDefault(); ev.stopImmediatePropagation(); }
    });
  });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty && !leaving) { ev.preventDefault(); ev.returnValue = ""; }
  });
  var leaving = false;
  document.addEventListener("submit", function (ev) { if (!ev.defaultPrevented) { leaving = true; } });

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  var uid = 0;
  function field(label, input) {
    var id = "panel-f" + (++uid);
    input.id = id;
    input.classList.add(input.tagName === "SELECT" ? "form-select" : "form-control");
    input.classList.add("form-control-sm");
    return el("div", { "class": "mb-2" }, [el("label", { "class": "form-label small mb-0", "for": id, text: label }), input]);
  }

  function select(options, value, onChange) {
    var s = el("select");
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (o[0] === (value || "")) { opt.selected = true; }
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  }

  function input(value, onChange, tag) {
    var i = el(tag || "input");
    i.value = value || "";
    i.addEventListener("change", function () { onChange(i.value); });
    return i;
  }

  // ---- spiffworkflow extension elements -------------------------------------------------------
  function ext(bo, type, create) {
    var ee = bo.extensionElements;
    if (!ee && !create) { return null; }
    if (!ee) {
      ee = moddle.create("bpmn:ExtensionElements", { values: [] });
      ee.$parent = bo;
      bo.extensionElements = ee;
    }
    ee.values = ee.values || [];
    var found = ee.values.filter(function (v) { return v.$type === type; })[0];
    if (!found && create) {
      found = moddle.create(type);
      found.$parent = ee;
      ee.values.push(found);
    }
    return found || null;
  }

  function dropExt(bo, type) {
    var ee = bo.extensionElements;
    if (ee && ee.values) { ee.values = ee.values.filter(function (v) { return v.$type !== type; }); }
  }

  function getProp(bo, name) {
    var p = ext(bo, "spiffworkflow:Properties");
    var f = p && (p.properties || []).filter(function (x) { return x.name === name; })[0];
    return f ? f.value : "";
  }

  function setProp(bo, name, value) {
    var p = ext(bo, "spiffworkflow:Properties", true);
    p.properties = p.properties || [];
    var f = p.properties.filter(function (x) { return x.name === name; })[0];
    if (!value) {
      if (f) { p.properties.splice(p.properties.indexOf(f), 1); }
    } else if (f) {
      f.value = value;
    } else {
      f = moddle.create("spiffworkflow:Property", { name: name, value: value });
      f.$parent = p;
      p.properties.push(f);
    }
  }

  function schemaFiles() {
    return Object.keys(files).filter(function (n) { return /schema\.json$/.test(n) && !/uischema/.test(n); }).sort();
  }

  function uiFor(name) {
    return name.replace(/\.schema\.json$/, ".uischema.json").replace(/-schema\.json$/, "-uischema.json");
  }

  function decisions() {
    var out = [];
    Object.keys(files).filter(function (n) { return /\.dmn$/.test(n); }).forEach(function (n) {
      var doc = new DOMParser().parseFromString(files[n], "application/xml");
      Array.prototype.forEach.call(doc.getElementsByTagNameNS("*", "decision"), function (d) {
        out.push([d.getAttribute("id"), (d.getAttribute("name") || d.getAttribute("id")) + " (" + n + ")"]);
      });
    });
    return out;
  }

  // ---- lanes: a task's lane is the lane it sits in; choosing one moves the task into it ---------
  // A role's lane may be named in English, Kazakh or Russian, in any case and spacing (app/engine/lanes.py, _key):
  // the panel knows it by the role's English lane name whatever its language ("Мектеп бухгалтері" was shown as no
  // lane, and choosing the role added a second lane "School accountant").
  function laneKey(name) { return (name || "").split(/\s+/).filter(Boolean).join(" ").toLowerCase(); }
  function roleLane(name) { return (cfg.laneAliases || {})[laneKey(name)] || name || ""; }

  function laneOf(element) {
    var bo = element.businessObject;
    var lane = registry.filter(function (e) {
      return e.type === "bpmn:Lane" && (e.businessObject.flowNodeRef || []).indexOf(bo) >= 0;
    })[0];
    return lane ? roleLane(lane.businessObject.name) : "";
  }

  // A role the diagram has no lane for gets one: a new lane at the bottom of the task's pool, named after the role
  // (the task had stayed in the lane it was drawn in, and its step went to that lane's role at runtime). A pool
  // without lanes gets none (its steps are in no lane, not a wrong one): the owner is told to draw lanes.
  function addLaneNamed(element, name) {
    var pool = element.parent;
    while (pool && pool.type !== "bpmn:Participant") { pool = pool.parent; }
    if (!pool) { return null; }
    var lanes = registry.filter(function (e) {
      var up = e.parent;
      while (up && up.type !== "bpmn:Participant") { up = up.parent; }
      return e.type === "bpmn:Lane" && up === pool;
    });
    if (!lanes.length) { return null; }
    lanes.sort(function (a, b) { return (b.y + b.height) - (a.y + a.height); });
    var lane = modeling.addLane(lanes[0], "bottom");
    modeling.updateLabel(lane, name);
    return lane;
  }

  // ``name``: the role's English lane name; a lane added for it is named as the reader calls the role.
  function moveToLane(element, name) {
    var lane = registry.filter(function (e) { return e.type === "bpmn:Lane" && roleLane(e.businessObject.name) === name; })[0];
    if (!lane) { lane = addLaneNamed(element, (cfg.laneDrawn || {})[name] || name); }
    if (!lane) { window.alert(t.noLane); return false; }
    var target = lane;
    while (target.parent && target.type !== "bpmn:Participant") { target = target.parent; }
    var dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
    var dx = 0;
    if (element.x < lane.x + 40) { dx = lane.x + 40 - element.x; }
    // Slide right past any step already standing where the task would land.
    var top = element.y + dy, overlap = true;
    while (overlap) {
      var left = element.x + dx;
      overlap = registry.filter(function (e) {
        return e !== element && !e.waypoints && e.type !== "label" && !/Lane|Participant|Process/.test(e.type) &&
          e.x < left + element.width + 20 && e.x + e.width + 20 > left && e.y < top + element.height && e.y + e.height > top;
      }).length > 0;
      if (overlap) { dx += element.width + 40; }
    }
    modeling.moveElements([element], { x: dx, y: dy }, target);
    return true;
  }

  // A descriptive model (isExecutable="false", as many tools write) is kept for viewing; this box makes its
  // process one the engine runs.
  function executableBox(element, processBo) {
    var box = el("input", { type: "checkbox", "class": "form-check-input", id: "panel-executable" });
    box.checked = processBo.isExecutable !== false;
    box.disabled = !cfg.editable;
    box.addEventListener("change", function () {
      if (element.businessObject === processBo) {
        modeling.updateProperties(element, { isExecutable: box.checked });
      } else {
        processBo.isExecutable = box.checked;
        changed(element);
      }
    });
    return el("div", { "class": "form-check mt-2" }, [box, el("label", { "class": "form-check-label small", "for": "panel-executable", text: t.executable })]);
  }

  // ---- the side panel --------------------------------------------------------------------------
  // Names in the other languages live in the model (spiffworkflow property name.kk / name.ru / name.en) and are
  // what the inbox, history, lists, e-mails, the API and the diagram viewers show to a reader of that language.
  // An empty field says what its readers see instead: the name above (the viewers' fallback).
  function namePanel(element, bo) {
    cfg.nameLanguages.forEach(function (lang) {
      var box = input(getProp(bo, "name." + lang), function (v) {
        setProp(bo, "name." + lang, v.trim());
        changed(element);
      });
      // the words readers of this language see while the field is empty (Tapsyrys's translation), where known
      var seen = ((cfg.namesSeen || {})[bo.name || ""] || {})[lang];
      box.placeholder = seen && cfg.nameSeenAs ? cfg.nameSeenAs.replace("{name}", seen) : (cfg.nameFallback || "");
      box.title = box.placeholder;  // the whole sentence, where the field cuts it
      panel.appendChild(field(t.nameIn[lang], box));
    });
  }

  function showPanel(element) {
    panel.textContent = "";
    if (!element) { element = canvas.getRootElement(); }
    if (element.type === "label") { element = element.labelTarget || element; }
    var bo = element.businessObject;
    var type = element.type;
    if (type === "bpmn:Collaboration") {  // the pool's process names the model
      var pool = registry.filter(function (e) { return e.type === "bpmn:Participant"; })[0];
      if (!pool) { return; }
      element = pool;
      bo = pool.businessObject.processRef || pool.businessObject;
      type = "bpmn:Process";
    }
    panel.appendChild(el("p", { "class": "small mb-2", id: "panel-type" }, [el("code", { text: bo.id }), document.createTextNode(" · " + typeLabel(type))]));
    panel.dataset.elementId = bo.id;
    if (type === "bpmn:Process") {
      panel.appendChild(field(t.name, input(bo.name, function (v) { bo.name = v; changed(element); })));
      namePanel(element, bo);
      panel.appendChild(executableBox(element, bo));
      return;
    }
    panel.appendChild(field(t.name, input(bo.name, function (v) { modeling.updateLabel(element, v); })));
    namePanel(element, bo);
    if (type === "bpmn:UserTask") {
      var lanes = [["", t.none]].concat(cfg.lanes.map(function (l) { return [l, (cfg.laneLabels || {})[l] || l]; })
        .sort(function (a, b) { return a[1].localeCompare(b[1], document.documentElement.lang || undefined); }));
      panel.appendChild(field(t.lane, select(lanes, laneOf(element), function (v) { if (v) { moveToLane(element, v); } showPanel(element); })));
      var forms = [["", t.none]].concat(schemaFiles().map(function (n) { return [n, n]; }));
      panel.appendChild(field(t.form, select(forms, getProp(bo, "formJsonSchemaFilename"), function (v) {
        setProp(bo, "formJsonSchemaFilename", v);
        setProp(bo, "formUiSchemaFilename", v && files[uiFor(v)] !== undefined ? uiFor(v) : "");
        changed(element);
      })));
      var handlers = [["", t.none]].concat(cfg.handlers.map(function (h) { return [h, h]; }));
      panel.appendChild(field(t.handler, select(handlers, getProp(bo, "taskHandler"), function (v) { setProp(bo, "taskHandler", v); changed(element); })));
      panel.appendChild(field(t.dueDays, input(getProp(bo, "dueInWorkingDays"), function (v) { setProp(bo, "dueInWorkingDays", v.trim()); changed(element); })));
    }
    if (type === "bpmn:Participant" && bo.processRef) { panel.appendChild(executableBox(element, bo.processRef)); }
    if (type === "bpmn:ServiceTask") { servicePanel(element, bo); }
    if (type === "bpmn:ScriptTask") {
      panel.appendChild(field(t.script, input(bo.script, function (v) { modeling.updateProperties(element, { scriptFormat: "python", script: v }); }, "textarea")));
    }
    if (type === "bpmn:BusinessRuleTask") {
      var current = ext(bo, "spiffworkflow:CalledDecisionId");
      panel.appendChild(field(t.decision, select([["", t.none]].concat(decisions()), current ? current.value : "", function (v) {
        if (!v) { dropExt(bo, "spiffworkflow:CalledDecisionId"); } else { ext(bo, "spiffworkflow:CalledDecisionId", true).value = v; }
        changed(element);
      })));
    }
    var timer = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (timer) { timerPanel(element, timer); }
    if (type === "bpmn:SequenceFlow" && bo.sourceRef && /Gateway$/.test(bo.sourceRef.$type)) {
      var cond = bo.conditionExpression ? bo.conditionExpression.body : "";
      panel.appendChild(field(t.condition, input(cond, function (v) {
        // marked Python, as the script panel marks a script: a diagram whose definitions name another expression
        // language (FEEL, JUEL) would otherwise give it that language
        modeling.updateProperties(element, { conditionExpression: v ? moddle.create("bpmn:FormalExpression", { body: v, language: "python" }) : undefined });
      }, "textarea")));
    }
    if (cfg.editable && /^bpmn:(StartEvent|.*Task|.*Gateway|IntermediateCatchEvent|IntermediateThrowEvent|CallActivity|SubProcess)$/.test(type)) {
      var group = el("div", { "class": "d-flex flex-wrap gap-1" });
      [["bpmn:UserTask", t.appendUser, "append-user-task"], ["bpmn:ServiceTask", t.appendService, "append-service-task"],
       ["bpmn:EndEvent", t.appendEnd, "append-end-event"]].forEach(function (a) {
        var b = el("button", { type: "button", "class": "btn btn-sm btn-outline-secondary", id: a[2], text: a[1] });
        b.addEventListener("click", function () {
          // Insert after: the element's single outgoing flow now leaves the new step instead (not for an end event).
          var outgoing = (element.outgoing || []).filter(function (c) { return c.type === "bpmn:SequenceFlow"; });
          var shape = modeler.get("autoPlace").append(element, modeler.get("elementFactory").createShape({ type: a[0] }));
          if (a[0] !== "bpmn:EndEvent" && outgoing.length === 1) {
            modeling.reconnectStart(outgoing[0], shape, { x: shape.x + shape.width, y: shape.y + shape.height / 2 });
          }
          // The modeler opens inline label editing on a new shape; the panel's Name field is the editor here.
          var directEditing = modeler.get("directEditing");
          if (directEditing.isActive()) { directEditing.cancel(); }
          modeler.get("selection").select(shape);
        });
        group.appendChild(b);
      });
      panel.appendChild(group);
    }
  }

  function servicePanel(element, bo) {
    var op = ext(bo, "spiffworkflow:ServiceTaskOperator");
    var ops = [["", t.none]].concat(Object.keys(cfg.operators).sort().map(function (k) { return [k, k]; }));
    panel.appendChild(field(t.operator, select(ops, op ? op.id : "", function (v) {
      if (!v) { dropExt(bo, "spiffworkflow:ServiceTaskOperator"); changed(element); showPanel(element); return; }
      var o = ext(bo, "spiffworkflow:ServiceTaskOperator", true);
      o.id = v;
      var list = moddle.create("spiffworkflow:Parameters", { parameters: [] });
      list.$parent = o;
      var old = {};
      ((o.parameterList && o.parameterList.parameters) || []).forEach(function (p) { old[p.id] = p.value; });
      Object.keys(cfg.operators[v].params).forEach(function (name) {
        var p = moddle.create("spiffworkflow:Parameter", { id: name, type: cfg.operators[v].params[name], value: old[name] || name });
        p.$parent = list;
        list.parameters.push(p);
      });
      o.parameterList = list;
      changed(element);
      showPanel(element);
    })));
    if (!op) { return; }
    if (cfg.operators[op.id]) { panel.appendChild(el("p", { "class": "form-text", text: cfg.operators[op.id].description })); }
    panel.appendChild(field(t.result, input(op.resultVariable, function (v) { op.resultVariable = v || undefined; changed(element); })));
    panel.appendChild(el("p", { "class": "small mb-1", text: t.params }));
    ((op.parameterList && op.parameterList.parameters) || []).forEach(function (p) {
      panel.appendChild(field(p.id + " (" + (p.type || "any") + ")", input(p.value, function (v) { p.value = v; changed(element); })));
    });
  }

  function timerPanel(element, timer) {
    var kinds = ["timeDuration", "timeDate", "timeCycle"];
    var kind = kinds.filter(function (k) { return timer[k]; })[0] || "timeDuration";
    var body = timer[kind] ? timer[kind].body : "";
    var kindSel = select(kinds.map(function (k) { return [k, t.timerKinds[k] || k]; }), kind, function () { apply(); });
    var expr = input(body, function () { apply(); });
    function apply() {
      kinds.forEach(function (k) { timer[k] = undefined; });
      var f = moddle.create("bpmn:FormalExpression", { body: expr.value, language: "python" });
      f.$parent = timer;
      timer[kindSel.value] = f;
      changed(element);
    }
    panel.appendChild(field(t.timerKind, kindSel));
    panel.appendChild(field(t.timerExpression, expr));
  }

  // An element's kind in the page's language ("bpmn:UserTask" → "User task" → "Пользовательская задача"): the panel
  // named it by its BPMN type, in English, on a Kazakh or Russian page.
  function typeLabel(type) {
    var words = type.replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2");
    words = words.charAt(0) + words.slice(1).toLowerCase();
    return modeler.get("translate")(words);
  }

  function changed(element) {
    modeler.get("eventBus").fire("elements.changed", { elements: [element] });
  }

  // ---- problems next to their elements -----------------------------------------------------------
  var marked = [];
  // A link that selects an element of the open diagram and scrolls to it (problems and notices name elements).
  function elementLink(id) {
    var a = el("a", { href: "#", text: id });
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      modeler.get("selection").select(registry.get(id));
      canvas.scrollToElement(registry.get(id));
    });
    return a;
  }

  // An element drawn in the open diagram (none when bpmn-js could not open it).
  function onCanvas(id) {
    return !!(registry && loadedBpmn && loadedBpmn === currentBpmn && registry.get(id));
  }

  function showProblems(problems) {
    var list = document.getElementById("problems");
    list.textContent = "";
    if (overlays) { overlays.remove({ type: "problem" }); }
    marked.forEach(function (id) { if (onCanvas(id)) { canvas.removeMarker(id, "tap-problem"); } });
    marked = [];
    lastProblems = problems;
    problems.forEach(function (p) {
      var where = p.filename + (p.line ? ":" + p.line : "");
      var li = el("li", { "class": "mb-1 problem", "data-element": p.element_id || "", "data-file": p.filename || "" });
      var here = !/\.bpmn$/.test(p.filename || "") || p.filename === currentBpmn;
      if (p.element_id && here && onCanvas(p.element_id)) {
        li.appendChild(elementLink(p.element_id));
        li.appendChild(document.createTextNode(" "));
        if (marked.indexOf(p.element_id) < 0) {
          marked.push(p.element_id);
          canvas.addMarker(p.element_id, "tap-problem");
          var badge = el("span", { "class": "badge bg-danger tap-problem-badge", title: p.message, text: "!" });
          overlays.add(p.element_id, "problem", { position: { top: -12, right: 12 }, html: badge });
        }
      } else if (p.element_id) {
        li.appendChild(el("code", { text: p.element_id }));
        li.appendChild(document.createTextNode(" "));
      }
      if (p.name) { li.appendChild(el("span", { "class": "fw-semibold", text: "«" + p.name + "» " })); }
      li.appendChild(el("span", { text: p.message }));
      li.appendChild(el("span", { "class": "text-muted", text: " (" + where + ")" }));
      // the technical words (a data path such as lines.*.grade), smaller, for the expert
      if (p.detail) { li.appendChild(el("small", { "class": "d-block text-muted font-monospace problem-detail", text: p.detail })); }
      list.appendChild(li);
    });
    showNotices(lastNotices);
    var count = document.getElementById("problem-count");
    count.textContent = String(problems.length);
    // red only when there is something to fix: a red "0" read as an error to a new process owner
    count.classList.toggle("bg-danger", problems.length > 0);
    count.classList.toggle("bg-success", problems.length === 0);
    document.getElementById("no-problems").classList.toggle("d-none", problems.length > 0);
    var publish = document.getElementById("publish");
    if (publish) { publish.disabled = problems.length > 0; }
  }

  // Notices (an implicit end: a step nothing follows) do not stop publishing: listed apart, in amber, with a link
  // to the element when it is in the open diagram.
  function showNotices(notices) {
    var box = document.getElementById("notices-box");
    var list = document.getElementById("notices");
    if (!box || !list) { return; }
    list.textContent = "";
    (notices || []).forEach(function (n) {
      var li = el("li", { "class": "mb-1 notice", "data-element": n.element_id || "" });
      if (n.filename === currentBpmn && n.element_id && onCanvas(n.element_id)) {
        li.appendChild(elementLink(n.element_id));
        li.appendChild(document.createTextNode(" "));
      } else if (n.element_id) {
        li.appendChild(el("code", { text: n.element_id }));
        li.appendChild(document.createTextNode(" "));
      }
      if (n.name) { li.appendChild(el("span", { "class": "fw-semibold", text: "«" + n.name + "» " })); }
      li.appendChild(el("span", { text: n.message }));
      list.appendChild(li);
    });
    document.getElementById("notice-count").textContent = String((notices || []).length);
    box.classList.toggle("d-none", !(notices || []).length);
  }

  // ---- DMN tabs ---------------------------------------------------------------------------------
  function stashDmn() {
    if (!dmn || !currentDmn) { return Promise.resolve(); }
    var name = currentDmn;
    return dmn.saveXML({ format: true }).then(function (r) { files[name] = r.xml; });
  }

  function dmnNotice(text) {
    var notice = document.getElementById("dmn-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "dmn-notice";
      notice.className = "alert alert-warning";
      dmnEl.parentNode.insertBefore(notice, dmnEl);
    }
    notice.textContent = text;
    notice.classList.toggle("d-none", !text);
  }

  // An edit in a decision table is an unsaved change like one in the diagram (each dmn-js view has its own command
  // stack; importing a table clears it, which is no edit).
  function watchDmn() {
    var viewer = dmn && dmn.getActiveViewer();
    if (!viewer || viewer.tapsyrysWatched) { return; }
    viewer.tapsyrysWatched = true;
    viewer.get("eventBus").on("commandStack.changed", function (ev) {
      if (currentDmn && !(ev && ev.trigger === "clear")) { dirty = true; dmnEl.dataset.dirty = "true"; stillDrawing(); }
    });
  }

  function openFile(name) {
    Array.prototype.forEach.call(document.querySelectorAll("#file-tabs [data-file]"), function (b) {
      b.classList.toggle("active", b.dataset.file === name);
      b.setAttribute("aria-pressed", b.dataset.file === name ? "true" : "false");
    });
    stashDmn().then(function () {
      if (/\.bpmn$/.test(name)) {
        currentDmn = null;
        dmnNotice("");
        dmnEl.classList.add("d-none");
        canvasEl.classList.remove("d-none");
        if (name === currentBpmn) { return; }
        return started.then(keepBpmn).then(function () {
          currentBpmn = name;
          if (modeler) { return importBpmn(name); }
        });
      }
      canvasEl.classList.add("d-none");
      dmnEl.classList.remove("d-none");
      if (!dmn) {
        dmn = new window.DmnJS({ container: dmnEl });
        dmn.on("views.changed", watchDmn);
      }
      // The tab's file is taken back on save only once dmn-js has read it: a table it cannot read (DMN 1.1 or
      // 1.2) stays as stored, and saving the rest goes on ("no definitions loaded" stopped every save before).
      currentDmn = null;
      dmnNotice("");
      dmn.importXML(files[name]).then(function () {
        currentDmn = name;
        var table = dmn.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
        if (table) { return dmn.open(table); }
      }).then(watchDmn).catch(function (err) { dmnNotice(t.dmnUnreadable + " " + String(err && err.message || err)); });
    });
  }

  // ---- the diagram ------------------------------------------------------------------------------
  // The open diagram's text back from bpmn-js, only when bpmn-js holds it.
  function keepBpmn() {
    if (!modeler || !loadedBpmn) { return Promise.resolve(); }
    var name = loadedBpmn;
    return modeler.saveXML({ format: true }).then(function (r) { files[name] = r.xml; });
  }

  // bpmn-js drops an element whose id it refuses (Kazakh or Russian letters, which XML and the engine allow) and
  // says so only in a warning; a refused <definitions> leaves nothing, reported as "no diagram to display".
  function refusal(warnings) {
    return (warnings || []).map(function (w) { return String(w && w.message || w); }).filter(function (m) {
      return /illegal ID|duplicate ID|unparsable content <([\w-]+:)?definitions>/i.test(m);
    })[0];
  }

  function importFailure(err) {
    var text = String(err && err.message || err);
    var reason = refusal(err && err.warnings);
    if (!reason && /no diagram to display/i.test(text)) { return t.noLayout; }
    return t.cannotOpen.replace("%s", (reason || text).replace(/\s*\n\s*/g, "; "));
  }

  function canvasNotice(text) {
    var notice = document.getElementById("canvas-notice");
    if (!notice) {
      notice = el("div", { id: "canvas-notice", "class": "alert alert-warning m-2", role: "status" });
      canvasEl.insertBefore(notice, canvasEl.firstChild);
    }
    notice.textContent = text;
    notice.classList.toggle("d-none", !text);
  }

  // Always settles: a diagram bpmn-js cannot open is explained above the canvas, and the problems, saving and the
  // other tabs go on without it.
  function importBpmn(name) {
    loadedBpmn = null;
    var diagram = window.tapsyrysMainDiagram ? window.tapsyrysMainDiagram(files[name]) : undefined;
    return modeler.importXML(files[name], diagram).then(function (result) {
      var refused = refusal(result && result.warnings);
      if (refused) {  // drawn without the refused elements: editing that would lose them on save
        var err = new Error(refused);
        err.warnings = result.warnings;
        throw err;
      }
      loadedBpmn = name;
      canvasNotice("");
      canvas.zoom("fit-viewport");
      showPanel(null);
      showProblems(lastProblems);
      canvasEl.dataset.ready = "true";
    }).catch(function (err) {
      try { modeler.clear(); } catch (ignored) { /* nothing drawn */ }
      loadedBpmn = null;
      canvasNotice(importFailure(err));
      panel.textContent = "";
      showProblems(lastProblems);
      canvasEl.dataset.ready = "error";
    });
  }

  // Drawing is activity the server does not see: the editor says so at most every few minutes (half the idle limit,
  // at least 15 s), so a login does not end under an owner who has drawn for half an hour without saving.
  var lastAlive = Date.now();
  function stillDrawing() {
    var every = Math.max(15000, Math.min(300000, Number(cfg.aliveEvery) || 300000));
    if (!cfg.aliveUrl || !window.fetch || Date.now() - lastAlive < every) { return; }
    lastAlive = Date.now();
    fetch(cfg.aliveUrl, { method: "POST", credentials: "same-origin",
                          headers: { "X-CSRFToken": csrf, Accept: "application/json" } })
      .catch(function () { /* offline: saving will tell */ });
  }

  function save() {
    var status = document.getElementById("save-status");
    status.classList.remove("d-none");
    status.textContent = "…";
    return started.then(stashDmn).then(keepBpmn).then(function () {
      var payload = { files: {}, base: cfg.contentHash };
      Object.keys(files).forEach(function (n) { if (/\.(bpmn|dmn)$/.test(n)) { payload.files[n] = files[n]; } });
      return fetch(cfg.saveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(payload)
      });
    }).then(function (resp) {
      // An ended login answers with a page, not the draft's JSON (401, or the CSRF check's 400): it read "Unexpected
      // token '<' … is not valid JSON", and the owner did not learn that logging in again keeps the drawing.
      if ((resp.headers.get("Content-Type") || "").indexOf("json") < 0) {
        throw new Error(resp.status === 401 || resp.status === 400 ? t.sessionEnded
          : t.refused.replace("%s", String(resp.status)));
      }
      return resp.json().then(function (body) {
        if (!resp.ok) { throw new Error(body.error || resp.statusText); }
        cfg.contentHash = body.hash;  // the next save is made on what this one stored
        lastNotices = body.notices || [];
        showProblems(body.problems);
        status.textContent = t.saved + " " + t.problems.replace("%n", String(body.problems.length));
        canvasEl.dataset.saved = String(Date.now());
        dirty = false;
        dmnEl.dataset.dirty = "false";
      });
    }).catch(function (err) { status.textContent = t.saveFailed + " " + (err && err.message || err); });
  }

  // Problems, saving and the tabs do not wait for the diagram: they work whatever bpmn-js makes of it.
  showProblems(cfg.problems);
  var saveBtn = document.getElementById("save-draft");
  if (saveBtn) { saveBtn.addEventListener("click", save); }
  Array.prototype.forEach.call(document.querySelectorAll("#file-tabs [data-file]"), function (b) {
    b.addEventListener("click", function () { openFile(b.dataset.file); });
  });

  var started = fetch(cfg.descriptorUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (descriptor) {
    modeler = new window.BpmnJS({ container: canvasEl, moddleExtensions: { spiffworkflow: descriptor },
      additionalModules: window.TapsyrysBpmnTranslate ? [window.TapsyrysBpmnTranslate()] : [] });
    moddle = modeler.get("moddle");
    modeling = modeler.get("modeling");
    registry = modeler.get("elementRegistry");
    overlays = modeler.get("overlays");
    canvas = modeler.get("canvas");
    return importBpmn(bpmnName);
  }).then(function () {
    modeler.get("eventBus").on("selection.changed", function (e) { if (loadedBpmn) { showPanel(e.newSelection[0]); } });
    modeler.get("eventBus").on(["commandStack.changed", "elements.changed"], function () {
      if (loadedBpmn) { dirty = true; stillDrawing(); }
    });
  }).catch(function (err) {
    canvasNotice(importFailure(err));
    canvasEl.dataset.ready = "error";
  });
})();
