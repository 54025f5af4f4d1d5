// Draws the Plotly charts of a page from the JSON each chart carries in a
// <script type="application/json" data-chart-for="ID"> block (data, not code), so no inline
// script is needed. Each chart has its numbers as a table beside it (the text alternative).
function drawCharts(attempt) {
  if (typeof Plotly === "undefined") {
    // after a boosted (htmx) navigation the Plotly file may still be loading
    if ((attempt || 0) < 50) setTimeout(function () { drawCharts((attempt || 0) + 1); }, 100);
    return;
  }
  document.querySelectorAll("script[data-chart-for]").forEach(function (block) {
    var target = document.getElementById(block.dataset.chartFor);
    if (!target || target.dataset.drawn) return;
    try {
      var figure = JSON.parse(block.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {displayModeBar: false, responsive: true});
      target.dataset.drawn = "1";
    } catch (error) {
      // the table under the chart still has the numbers
      console.error("chart " + block.dataset.chartFor + ": " + error);
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(0); });
document.addEventListener("htmx:afterSettle", function () { drawCharts(0); });
