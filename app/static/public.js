// Public portal: draw each chart from the JSON block next to its canvas (the same figures are in the table
// below it). No inline script: the data is a non-executable application/json block.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var colours = ["#0d6efd", "#dc3545", "#198754"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return {label: s.label, data: s.values, borderColor: colours[i % colours.length],
                  backgroundColor: colours[i % colours.length], spanGaps: false, tension: 0.2};
        })
      },
      options: {responsive: true, maintainAspectRatio: false, animation: false,
                scales: {y: {beginAtZero: true}}}
    });
  });
})();
