// Provider portal: copy the exact URL without ever making it a link; follow a removal check as it runs.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    copyText(button.getAttribute("data-copy")).then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "Copied";
      setTimeout(function () { button.textContent = label; }, 1800);
    });
  });

  // The language menu submits its form on change (no inline handler: the Content-Security-Policy forbids them).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-submit-on-change]")) event.target.form.submit();
  });

  // While the provider's "removed" is being verified, poll the item states and reload when they change.
  var page = document.querySelector("[data-status-url]");
  if (!page) return;
  var url = page.getAttribute("data-status-url");
  var seen = JSON.stringify(JSON.parse(page.getAttribute("data-status")));
  var polls = 0;
  function poll() {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body === null) return;
        if (JSON.stringify(body) !== seen) { window.location.reload(); return; }
        if (polls < 60) setTimeout(poll, 2000);
      });
  }
  poll();
})();
