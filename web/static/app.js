/* Durable Inbox: the little script the server-rendered pages need (no build step).
   Segment counter (same rules as web/segments.py), merge fields, canned replies, keyboard shortcuts,
   alerts, notification toasts and error toasts. */
(function () {
  "use strict";

  // --- SMS segments, as carriers count them (keep in step with web/segments.py) -------------
  var GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM7_EXT = "^{}\\[~]|€\f";

  function pack(sizes, single, multi) {
    var total = sizes.reduce(function (a, b) { return a + b; }, 0);
    if (total <= single) return { segments: total ? 1 : 0, remaining: single - total, units: total };
    var segments = 1, used = 0;
    sizes.forEach(function (size) {
      if (used + size > multi) { segments += 1; used = 0; }
      used += size;
    });
    return { segments: segments, remaining: multi - used, units: total };
  }

  function countSegments(body) {
    var chars = Array.from(body);  // code points: an emoji is one item
    var gsm = chars.every(function (ch) { return GSM7_BASIC.indexOf(ch) >= 0 || GSM7_EXT.indexOf(ch) >= 0; });
    if (gsm) {
      var r = pack(chars.map(function (ch) { return GSM7_EXT.indexOf(ch) >= 0 ? 2 : 1; }), 160, 153);
      r.encoding = "GSM-7";
      return r;
    }
    var u = pack(chars.map(function (ch) { return ch.codePointAt(0) > 0xffff ? 2 : 1; }), 70, 67);
    u.encoding = "UCS-2";
    return u;
  }
  window.countSegments = countSegments;

  function updateCounter() {
    var box = document.getElementById("composer-body");
    var out = document.getElementById("segment-counter");
    if (!box || !out) return;
    var c = countSegments(box.value);
    out.textContent = c.units + " " + (c.encoding === "GSM-7" ? "chars" : "units") + " · " +
      c.segments + " segment" + (c.segments === 1 ? "" : "s") + " · " + c.encoding +
      (c.segments ? " · " + c.remaining + " left" : "");
    out.classList.toggle("warn", c.encoding === "UCS-2" || c.segments > 1);
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; }
    catch (e) { return ""; }
  }

  // --- toasts ---------------------------------------------------------------------------------
  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast " + (kind || "");
    el.textContent = text;  // never innerHTML: server messages may quote user input
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 5000);
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr, text = xhr.statusText || "Something went wrong";
    try { text = JSON.parse(xhr.responseText).detail || text; } catch (e) { /* plain text */ }
    if (typeof text !== "string") text = JSON.stringify(text);
    toast(text, "error");
    // A refused assign or move: the select goes back to what the conversation really has.
    var form = evt.detail.elt;
    // (Not the tag input: the agent fixes what they typed.)
    if (form && form.tagName === "FORM" && form.closest("#conv-header") && !form.classList.contains("tag-add")) form.reset();
  });
  // The tag input survives the header's refreshes (hx-preserve, so a live refresh never eats
  // what is being typed); once a tag is added it is emptied for the next one.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (evt.detail.successful && form && form.classList && form.classList.contains("tag-add")) form.reset();
  });
  // A refused in-place edit of the right panel answers 422 with the panel showing the reason
  // next to the input: swap it in rather than toast it.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr, elt = evt.detail.elt;
    var html = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") === 0;
    if (xhr.status === 422 && html && elt && elt.closest && elt.closest("[data-inline-errors]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("htmx:sendError", function () { toast("Cannot reach the server", "error"); });

  // A form with data-confirm asks first (inline onclick handlers are refused by the CSP).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) evt.preventDefault();
  }, true);
  document.addEventListener("notice", function (evt) { toast(evt.detail.value, "ok"); });

  // --- after every swap -----------------------------------------------------------------------
  function currentConversationId() {
    var m = location.pathname.match(/^\/inbox\/(\d+)/);
    return m ? m[1] : null;
  }

  var selectedId = null;  // set on click: htmx pushes the URL only after the swap settles

  function markActive() {
    var id = selectedId || currentConversationId();
    document.querySelectorAll(".conv-item").forEach(function (a) {
      a.classList.toggle("active", a.dataset.id === id);
      if (a.dataset.id === id) { a.classList.remove("unread"); var d = a.querySelector(".dot"); if (d) d.remove(); }
    });
  }

  function scrollTimeline() {
    var t = document.getElementById("timeline");
    if (t) t.scrollTop = t.scrollHeight;
  }

  document.addEventListener("htmx:afterSettle", function (evt) {
    markActive();
    updateCounter();
    if (evt.target && (evt.target.id === "timeline" || evt.target.id === "conversation-pane")) scrollTimeline();
  });
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "timeline") scrollTimeline();
    if (evt.detail.target && evt.detail.target.id === "consent") syncComposer();
  });

  // A number that opts out while its conversation is open: the composer goes off with the
  // banner that says why (the server refuses the send anyway).
  function syncComposer() {
    var consent = document.getElementById("consent");
    if (!consent) return;
    var blocked = consent.dataset.blocked === "true";
    ["composer-body", "composer-image", "send"].forEach(function (id) {
      var elt = document.getElementById(id);
      if (elt) elt.disabled = blocked;
    });
  }
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.id === "composer" && evt.detail.successful) { elt.reset(); updateCounter(); closeCanned(); }
    if (elt && elt.classList && elt.classList.contains("note-form") && evt.detail.successful) elt.reset();
    // The answer has already replaced the form (its inputs moved into the new one), so htmx
    // tells an ancestor: find the source in the request, and reset the form now on the page.
    var source = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var numberForm = document.getElementById("number-add");
    if (source && source.id === "number-add" && evt.detail.xhr.status === 200 && numberForm) numberForm.reset();
  });

  document.addEventListener("input", function (evt) {
    if (evt.target.id === "composer-body") { updateCounter(); updateCanned(evt.target); }
  });

  // --- canned replies: "/" at the start of a word opens a picker of them ----------------------
  // The server lists what matches (GET of a fragment, only the replies this agent may use in
  // this conversation); Enter or a click puts the reply's body in place of the "/word".
  var cannedQuery = null;  // the word the picker was asked for; null while it is closed

  function cannedToken(box) {
    if (box.selectionStart !== box.selectionEnd) return null;
    var before = box.value.slice(0, box.selectionStart);
    var m = before.match(/(^|\s)\/([^\s\/]*)$/);
    return m ? { start: before.length - m[2].length - 1, query: m[2] } : null;
  }

  function closeCanned() {
    var picker = document.getElementById("canned-picker");
    cannedQuery = null;
    if (picker) { picker.hidden = true; picker.innerHTML = ""; }
  }

  function fetchCanned(box, picker) {
    htmx.ajax("GET", box.dataset.cannedUrl + "?q=" + encodeURIComponent(cannedQuery),
      { source: picker, target: picker, swap: "innerHTML" });
  }

  function updateCanned(box) {
    var picker = document.getElementById("canned-picker");
    if (!picker || !box.dataset.cannedUrl) return;
    var token = cannedToken(box);
    if (!token) { closeCanned(); return; }
    if (token.query === cannedQuery) return;
    cannedQuery = token.query;
    fetchCanned(box, picker);
  }

  // A late answer for an older word is replaced by one for the word typed now.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var picker = evt.detail.target;
    if (!picker || picker.id !== "canned-picker") return;
    var list = picker.querySelector(".canned-list");
    if (cannedQuery === null) { closeCanned(); return; }
    if (list && list.dataset.q !== cannedQuery) { fetchCanned(document.getElementById("composer-body"), picker); return; }
    picker.hidden = false;
  });

  function cannedOptions() {
    return Array.from(document.querySelectorAll("#canned-picker .canned-option"));
  }

  function moveCanned(step) {
    var options = cannedOptions();
    if (!options.length) return;
    var idx = options.findIndex(function (o) { return o.classList.contains("active"); });
    var next = Math.max(0, Math.min(options.length - 1, idx + step));
    options.forEach(function (o, i) {
      o.classList.toggle("active", i === next);
      o.setAttribute("aria-selected", i === next ? "true" : "false");
    });
    options[next].scrollIntoView({ block: "nearest" });
  }

  function insertCanned(option) {
    var box = document.getElementById("composer-body");
    if (!box) return;
    var token = cannedToken(box);
    var body = option.dataset.body;
    var start = token ? token.start : box.selectionStart, end = box.selectionEnd;
    box.value = box.value.slice(0, start) + body + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + body.length;
    closeCanned();
    updateCounter();
  }

  // Keys while the picker is open: arrows choose, Enter or Tab inserts, Escape closes.
  function cannedKey(evt) {
    var picker = document.getElementById("canned-picker");
    if (!picker || picker.hidden || evt.ctrlKey || evt.metaKey || evt.altKey) return false;
    if (evt.key === "Escape") { closeCanned(); return true; }
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") { moveCanned(evt.key === "ArrowDown" ? 1 : -1); return true; }
    if (evt.key === "Enter" || evt.key === "Tab") {
      var active = picker.querySelector(".canned-option.active");
      if (!active) return false;
      insertCanned(active);
      return true;
    }
    return false;
  }

  // Keep the caret in the text box while an option is clicked.
  document.addEventListener("mousedown", function (evt) {
    if (evt.target.closest && evt.target.closest("#canned-picker")) evt.preventDefault();
  });

  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t.id === "merge-picker" && t.value) {
      var box = document.getElementById("composer-body");
      var field = "{{ " + t.value + " }}";
      var start = box.selectionStart, end = box.selectionEnd;
      box.value = box.value.slice(0, start) + field + box.value.slice(end);
      box.focus();
      box.selectionStart = box.selectionEnd = start + field.length;
      t.value = "";
      updateCounter();
    }
    if (t.id === "check-all") {
      document.querySelectorAll("input[name=ids]").forEach(function (c) { c.checked = t.checked; });
    }
    if (t.id === "bulk-action") showBulkTargets();
    if (t.name === "ids" || t.id === "check-all") {
      var n = document.querySelectorAll("input[name=ids]:checked").length;
      var label = document.getElementById("selected-count");
      if (label) label.textContent = n ? n + " selected" : "Select conversations for bulk actions";
    }
  });

  function showBulkTargets() {
    var action = document.getElementById("bulk-action");
    if (!action) return;
    document.getElementById("bulk-assignee").hidden = action.value !== "assign";
    document.getElementById("bulk-inbox").hidden = action.value !== "move";
  }

  // --- live renders of the open conversation -------------------------------------------------
  // Its header, timeline and details arrive from two sources, an action's own answer and the
  // live refresh, and the two can cross. Each render carries the live-feed position it read
  // before its data (data-live-version): an older render never replaces a newer one (every
  // change has its own feed event, whose refresh is newer still). A render equal to what is on
  // screen is not swapped, so the controls the agent is using (an open dropdown, a half-typed
  // note) stay in place.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var current = evt.detail.target, fragment = evt.detail.fragment;
    var incoming = fragment.nodeType === Node.DOCUMENT_FRAGMENT_NODE ? fragment.firstElementChild : fragment;
    if (!incoming || !current.dataset.liveVersion || !incoming.dataset.liveVersion) return;
    if (current.dataset.conversationId !== incoming.dataset.conversationId) return;
    var version = incoming.dataset.liveVersion;
    if (Number(version) < Number(current.dataset.liveVersion)) { evt.detail.shouldSwap = false; return; }
    // A refused panel edit shows its reason until something newer happens (the live refresh of
    // the change before it, read at the same position, would otherwise wipe it); and a render of
    // the same position leaves a form whose request is in flight in place, so its answer (a
    // refusal to show next to it) still has the form to land on.
    var same = Number(version) <= Number(current.dataset.liveVersion);
    if (same && !incoming.dataset.panelError && (current.dataset.panelError || current.querySelector(".htmx-request"))) { evt.detail.shouldSwap = false; return; }
    incoming.dataset.liveVersion = current.dataset.liveVersion;
    current.removeAttribute("hx-swap-oob");  // left over from the full page; htmx drops it from swaps
    if (current.isEqualNode(incoming)) { evt.detail.shouldSwap = false; current.dataset.liveVersion = version; }
    incoming.dataset.liveVersion = version;
  });

  // --- alerts (pushed over SSE) ---------------------------------------------------------------
  document.addEventListener("htmx:pushedIntoHistory", function () { selectedId = null; markActive(); });
  window.addEventListener("popstate", function () { selectedId = null; });

  document.addEventListener("click", function (evt) {
    var item = evt.target.closest(".conv-item");
    if (item) { selectedId = item.dataset.id; markActive(); }
    var close = evt.target.closest(".alert-close");
    if (close) close.closest(".alert").remove();
    if (evt.target.closest("#toggle-details")) toggleDetails();
    if (evt.target.closest("#help-button")) toggleHelp();
    var option = evt.target.closest(".canned-option");
    if (option) insertCanned(option);
    else if (!evt.target.closest("#canned-picker, #composer-body")) closeCanned();
  });
  // Alerts for new messages ("notify") and notification toasts ("notification") share the
  // corner: at most five, the newest on top, each gone after a while (the bell keeps count).
  document.addEventListener("htmx:sseMessage", function (evt) {
    if (evt.detail.type !== "notify" && evt.detail.type !== "notification") return;
    var alerts = document.querySelectorAll("#alerts .alert");
    alerts.forEach(function (a, i) { if (i >= 4) a.remove(); });
    var first = alerts[0];
    if (first) setTimeout(function () { first.remove(); }, 15000);
  });

  // --- right panel, remembered per user --------------------------------------------------------
  function toggleDetails() {
    var hidden = document.body.classList.toggle("details-hidden");
    var form = new FormData();
    form.append("hidden", hidden ? "1" : "0");
    fetch("/prefs/details", { method: "POST", body: form, headers: { "X-CSRF-Token": csrfToken() } });
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  // --- keyboard -------------------------------------------------------------------------------
  function moveSelection(step) {
    var items = Array.from(document.querySelectorAll(".conv-item"));
    if (!items.length) return;
    var idx = items.findIndex(function (a) { return a.classList.contains("active"); });
    var next = items[Math.max(0, Math.min(items.length - 1, idx + step))];
    if (idx < 0) next = items[0];
    next.click();
    next.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    var typing = t.closest && t.closest("input, textarea, select, [contenteditable]");
    if (t.id === "composer-body" && cannedKey(evt)) { evt.preventDefault(); return; }
    if (t.id === "composer-body" && evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
      evt.preventDefault();
      htmx.trigger(document.getElementById("composer"), "submit");
      return;
    }
    if (evt.key === "Escape" && typing) { t.blur(); return; }
    if (typing || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    var click = function (id) { var b = document.getElementById(id); if (b) b.click(); };
    switch (evt.key) {
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "r": var box = document.getElementById("composer-body"); if (box) { evt.preventDefault(); box.focus(); } break;
      case "c": click("btn-close"); break;
      case "a": var sel = document.getElementById("assign-select"); if (sel) { evt.preventDefault(); sel.focus(); if (sel.showPicker) { try { sel.showPicker(); } catch (e) { /* needs a gesture */ } } } break;
      case "/": var s = document.getElementById("search"); if (s) { evt.preventDefault(); s.focus(); } break;
      case "?": toggleHelp(); break;
      default: return;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    markActive();
    updateCounter();
    scrollTimeline();
    showBulkTargets();
    if (new URLSearchParams(location.search).get("compose")) {
      var box = document.getElementById("composer-body");
      if (box) box.focus();
    }
  });
})();
