// Public portal: draw each chart from the JSON block next to its canvas (the same figures are in the table
// below it). No inline script: the data is a non-executable application/json block.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var colours = ["#0d6efd", "#dc3545", "#198754"];
  // Numbers as the page's language writes them (3 000 000 in Kazakh and Russian, not 3,000,000). Kazakh borrows
  // Russian's number format (the same symbols as the tables' 2 811 800,00 ₸): Chromium's "kk-KZ" wrote 2,500,000.
  var lang = document.documentElement.lang || "ru";
  var numbers = new Intl.NumberFormat(lang === "kk" || lang === "ru" ? "ru-RU" : "en-GB",
                                      {maximumFractionDigits: 2});
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          // Straight segments (a curve drew a peak between two equal months), and each line its own dash and
          // point, so one lying on another (paid = accepted) still shows.
          return {label: s.label, data: s.values, borderColor: colours[i % colours.length],
                  backgroundColor: colours[i % colours.length], spanGaps: false, tension: 0,
                  borderDash: i === 0 ? [] : [6, 4 + 2 * i], borderWidth: 3 - i * 0.5,
                  pointStyle: ["circle", "rectRot", "triangle"][i % 3], pointRadius: 4 + i};
        })
      },
      options: {responsive: true, maintainAspectRatio: false, animation: false,
                scales: {y: {beginAtZero: true, ticks: {callback: function (value) { return numbers.format(value); }}}},
                plugins: {tooltip: {callbacks: {label: function (ctx) {
                  return ctx.dataset.label + ": " + numbers.format(ctx.parsed.y);
                }}}}}
    });
  });
})();
