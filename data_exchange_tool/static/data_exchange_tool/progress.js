/*
 * Live progress bars of data_exchange_tool's admin.
 *
 * Every element with data-dxt-progress polls its data-url (a small JSON endpoint) every
 * data-interval milliseconds while its job's task is queued or running. The bar and its text
 * follow the reported progress; when the job's state differs from the state the page was drawn
 * in (data-state), the page reloads so the preview, counts and buttons are current. Polling
 * stops when the task has ended. Text is set with textContent only: nothing is parsed as HTML.
 */
(function () {
  "use strict";

  function render(element, data) {
    var bar = element.querySelector(".dxt-progress-bar");
    var text = element.querySelector(".dxt-progress-text");
    var percent = Math.max(0, Math.min(100, Number(data.percent) || 0));
    if (bar) { bar.style.width = percent + "%"; }
    element.setAttribute("aria-valuenow", String(percent));
    if (text) {
      text.textContent = data.total ? data.done + " / " + data.total + " rows (" + percent + "%)" : percent + "%";
    }
  }

  function watch(element) {
    var url = element.getAttribute("data-url");
    var state = element.getAttribute("data-state");
    var interval = parseInt(element.getAttribute("data-interval"), 10) || 1500;

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          render(element, data);
          if (data.state !== state) {
            element.setAttribute("data-dxt-done", "1");
            window.location.reload();
          } else if (data.polling) {
            window.setTimeout(poll, interval);
          }
        })
        .catch(function () { window.setTimeout(poll, interval * 2); });
    }

    window.setTimeout(poll, interval);
  }

  function start() {
    var elements = document.querySelectorAll("[data-dxt-progress]");
    for (var i = 0; i < elements.length; i++) { watch(elements[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
