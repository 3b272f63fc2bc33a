/*
 * Live progress of data_exchange_tool's admin.
 *
 * Every element with data-dxt-progress polls its data-url (a small JSON endpoint) while its job's
 * task is queued or running: first soon after the page loads (a small file's phases are short),
 * then every data-interval milliseconds. It keeps the bar, the rows done / total and time left
 * beside it ([data-dxt-detail]), the steps of the task ([data-step]) and the counts
 * ([data-count]) current. When the job's state differs from the state the page was drawn in
 * (data-state), the page reloads so the preview, counts and buttons are current; polling stops
 * when the task has ended.
 *
 * The script holds no words of its own: every text it shows comes translated from the server
 * (phase_label, detail), and it is set with textContent only: nothing is parsed as HTML.
 */
(function () {
  "use strict";

  var FIRST_POLL_MS = 300;

  function setText(element, text) {
    if (element && typeof text === "string") { element.textContent = text; }
  }

  function renderSteps(data) {
    var steps = document.querySelectorAll("[data-step]");
    var reached = false;
    for (var i = steps.length - 1; i >= 0; i--) {
      var step = steps[i];
      var name = step.getAttribute("data-step");
      var status = "todo";
      if (name === data.phase) {
        status = "current";
        reached = true;
        setText(step.querySelector(".dxt-step-label"), data.phase_label);
      } else if (reached) {
        status = "done";
      }
      step.className = "dxt-step dxt-step-" + status;
    }
  }

  function renderCounts(counts) {
    if (!counts) { return; }
    var cells = document.querySelectorAll("[data-count]");
    for (var i = 0; i < cells.length; i++) {
      var name = cells[i].getAttribute("data-count");
      if (Object.prototype.hasOwnProperty.call(counts, name)) {
        cells[i].textContent = String(counts[name]);
      }
    }
  }

  function render(element, data) {
    var bar = element.querySelector(".dxt-progress-bar");
    var text = element.querySelector(".dxt-progress-text");
    var percent = Math.max(0, Math.min(100, Number(data.percent) || 0));
    if (bar) { bar.style.width = percent + "%"; }
    element.setAttribute("aria-valuenow", String(percent));
    setText(text, percent + "%");
    if (data.detail) { element.setAttribute("title", data.detail); }
    var row = element.parentNode;
    setText(row && row.querySelector("[data-dxt-detail]"), data.detail);
    if (element.hasAttribute("data-dxt-page")) {
      renderSteps(data);
      renderCounts(data.counts_text || data.counts);
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

    window.setTimeout(poll, Math.min(interval, FIRST_POLL_MS));
  }

  function start() {
    var elements = document.querySelectorAll("[data-dxt-progress]");
    var page = document.querySelector(".dxt-job-page [data-dxt-progress]");
    if (page) { page.setAttribute("data-dxt-page", "1"); }
    for (var i = 0; i < elements.length; i++) { watch(elements[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
