// Behaviour of the pages, from a static file: the Content-Security-Policy allows no inline script.
"use strict";
(function () {
  var plotlyLoading = null;

  function withPlotly(then) {
    if (typeof Plotly !== "undefined") return then();
    // a page reached through hx-boost swaps the body only: fetch Plotly when a chart needs it
    if (plotlyLoading === null) {
      plotlyLoading = [];
      var script = document.createElement("script");
      script.src = "/static/plotly.min.js";
      script.onload = function () { plotlyLoading.forEach(function (f) { f(); }); };
      document.head.appendChild(script);
    }
    plotlyLoading.push(then);
  }

  function drawCharts(root) {
    var figures = (root || document).querySelectorAll('script[type="application/json"][data-chart]');
    if (figures.length === 0) return;
    withPlotly(function () {
      figures.forEach(function (el) {
        if (el.dataset.drawn) return;
        el.dataset.drawn = "1";
        var figure = JSON.parse(el.textContent);
        Plotly.newPlot(el.dataset.chart, figure.data, figure.layout, {displayModeBar: false, responsive: true});
      });
    });
  }

  document.addEventListener("click", function (event) {
    var back = event.target.closest && event.target.closest("a[data-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
  document.addEventListener("htmx:load", function (event) { drawCharts(event.target); });

  // A solve takes seconds to a minute: while the form's request runs (htmx keeps the page
  // usable), show how long the optimiser has been at it, from GET /api/solves.
  var solving = null;
  function isSolve(event) {
    var config = event.detail && event.detail.requestConfig;
    var path = (config && config.path) || "";
    return config && config.verb === "post" && /^\/plans(\/[^/]+\/resolve)?$/.test(path);
  }
  function showProgress(text) {
    var box = document.getElementById("solve-progress");
    if (!box) {
      box = document.createElement("div");
      box.id = "solve-progress";
      box.className = "next";
      box.setAttribute("role", "status");
      box.setAttribute("data-testid", "solve-progress");
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.textContent = text;
    box.hidden = !text;
  }
  function poll() {
    fetch("/api/solves", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {running: []}; })
      .then(function (body) {
        if (solving === null) return;
        var run = body.running && body.running[body.running.length - 1];
        showProgress(run
          ? "Beregner planen … " + Math.round(run.elapsed_s) + " av høyst " + Math.round(run.time_limit_s) + " sekunder"
          : "Beregner planen …");
      })
      .catch(function () {});
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isSolve(event)) return;
    showProgress("Beregner planen …");
    solving = window.setInterval(poll, 1000);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (solving === null || !isSolve(event)) return;
    window.clearInterval(solving);
    solving = null;
    showProgress("");
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  } else {
    drawCharts(document);
  }
})();
