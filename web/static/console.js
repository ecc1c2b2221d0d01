// Gatehouse console: the few behaviours htmx does not cover. No build step,
// no dependencies; everything else is server-rendered HTML.
(function () {
  "use strict";

  // The modal dialog: htmx swaps content into #modal, this opens it.
  function openModal() {
    var d = document.getElementById("modal");
    if (d && d.childElementCount > 0 && !d.open) d.showModal();
    if (d && d.childElementCount > 0) {
      var f = d.querySelector("select, textarea, input:not([type=hidden]), button.primary");
      if (f) f.focus();
    }
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.target && e.detail.target.id === "modal") openModal();
    if (e.detail.target && e.detail.target.id === "matrix") applyFilter();
  });
  document.addEventListener("click", function (e) {
    var c = e.target.closest("[data-close]");
    if (!c) return;
    var d = c.closest("dialog");
    if (d) { d.close(); d.replaceChildren(); } else { history.back(); }
  });
  document.addEventListener("close", function (e) {
    if (e.target.id === "modal") e.target.replaceChildren();
  }, true);

  // Confirmations for destructive one-click forms.
  document.addEventListener("submit", function (e) {
    var f = e.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
  }, true);

  // The matrix keeps its expanded sections across redraws: every editor
  // request says which are open.
  document.addEventListener("htmx:configRequest", function (e) {
    var editor = document.getElementById("editor");
    if (!editor || !e.detail.formData || !editor.contains(e.detail.elt)) return;
    editor.querySelectorAll("details.section[open]").forEach(function (d) {
      e.detail.formData.append("open", d.getAttribute("data-section"));
    });
  });

  // The filter box over modules and permissions.
  function applyFilter() {
    var input = document.querySelector("[data-matrix-filter]");
    if (!input) return;
    var q = input.value.trim().toLowerCase();
    document.querySelectorAll("#matrix details.section").forEach(function (sec) {
      var any = false;
      sec.querySelectorAll("tr[data-search]").forEach(function (tr) {
        var hit = q === "" || tr.getAttribute("data-search").indexOf(q) >= 0;
        tr.hidden = !hit;
        any = any || hit;
      });
      sec.hidden = !any;
      if (q !== "" && any) sec.open = true;
    });
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches("[data-matrix-filter]")) applyFilter();
  });

  // Keyboard on a matrix cell: arrows step to the nearest allowed level
  // above or below the shown one; Enter and Space cycle (the button's own
  // click).
  var order = ["none", "own", "department", "subdepartments", "all"];
  document.addEventListener("keydown", function (e) {
    var chip = e.target.closest("#matrix button.chip");
    if (!chip) return;
    var dir = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1 }[e.key];
    if (!dir) return;
    e.preventDefault();
    var cur = order.indexOf(chip.getAttribute("data-level"));
    var best = null, bestDist = 99;
    chip.closest("td").querySelectorAll("button.pip").forEach(function (p) {
      var i = order.indexOf(p.getAttribute("data-value"));
      var dist = (i - cur) * dir;
      if (i >= 0 && !p.disabled && dist > 0 && dist < bestDist) { best = p; bestDist = dist; }
    });
    if (best) best.click();
  });

  // Copy buttons: the text of the element data-copy names, to the
  // clipboard; where the browser refuses, the text is selected instead.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el) return;
    var status = b.parentNode.querySelector(".copy-status");
    function say(msg) { if (status) status.textContent = msg; }
    function select() {
      var r = document.createRange();
      r.selectNodeContents(el);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
      say("Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (!navigator.clipboard || !navigator.clipboard.writeText) { select(); return; }
    navigator.clipboard.writeText(el.textContent).then(function () { say("Copied."); }, select);
  });
})();
