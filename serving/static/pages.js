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
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  } else {
    drawCharts(document);
  }
})();
