// The participant pages' one first-party script (static, so the CSP allows it; no inline code).
// Quick exit: the button, or Shift pressed three times, ends the visit (a beacon to the server)
// and replaces this page with a neutral site: location.replace leaves no history entry of it,
// and the pages are never cached, so Back does not bring it back. Nothing is kept in local or
// session storage. Idle warning (WCAG 2.2.1): before the visit ends, the person can extend it.
(function () {
  "use strict";
  // htmx notes the page's path in sessionStorage when it loads (for its history restore, which
  // this app does not use): removed at once, so the tab keeps no trace of where it was.
  try { window.sessionStorage.removeItem("htmx-current-path-for-history"); } catch (e) { }
  var body = document.body;
  var exitUrl = body.getAttribute("data-exit-url");
  var csrf = body.getAttribute("data-csrf");
  if (!exitUrl) { return; }  // a staff page: only the line above applies

  function leave(event) {
    if (event) { event.preventDefault(); }
    if (csrf && navigator.sendBeacon) {
      var form = new FormData();
      form.append("csrf_token", csrf);
      navigator.sendBeacon("/signout", form);
    }
    document.title = "";
    body.textContent = "";
    window.location.replace(exitUrl);
  }

  var button = document.getElementById("quick-exit");
  if (button) { button.addEventListener("click", leave); }

  var shifts = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift" || event.repeat) { return; }
    var now = Date.now();
    shifts = shifts.filter(function (t) { return now - t < 1500; });
    shifts.push(now);
    if (shifts.length >= 3) { leave(); }
  });

  var idle = parseInt(body.getAttribute("data-idle"), 10);
  var dialog = document.getElementById("idle-warning");
  if (!csrf || !dialog || !(idle > 0)) { return; }
  var warnAfter = Math.max(idle - 120, Math.floor(idle * 0.8)) * 1000;
  var warnTimer = null;
  var endTimer = null;

  function arm() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    warnTimer = window.setTimeout(warn, warnAfter);
    endTimer = window.setTimeout(function () { window.location.replace("/signin"); },
                                 idle * 1000);
  }
  function warn() {
    dialog.hidden = false;
    document.getElementById("idle-stay").focus();
  }
  document.getElementById("idle-stay").addEventListener("click", function () {
    var form = new FormData();
    form.append("csrf_token", csrf);
    fetch("/me/stay", { method: "POST", body: form, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) { dialog.hidden = true; arm(); }
      });
  });
  // Every htmx request the page makes (the status polls) is activity on the server as well.
  arm();
}());
