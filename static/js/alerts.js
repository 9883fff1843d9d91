/* Alerts pages: dates in the reader's language (also in the table htmx swaps in every
   10 s), and on the detail page the metric around the alert with its threshold. */
(function () {
  "use strict";
  const M = window.Molam;

  function formatDates(root) {
    root.querySelectorAll("[data-datetime]").forEach(function (el) {
      if (el.dataset.datetime) el.textContent = M.dateTime(el.dataset.datetime);
    });
  }
  formatDates(document);
  document.body.addEventListener("htmx:afterSwap", function (ev) { formatDates(ev.target); });

  const el = document.getElementById("alert-chart");
  if (!el || !window.echarts) return;
  const data = JSON.parse(el.dataset.chart);
  const times = data.points.map(function (p) { return p[0]; });
  const values = data.points.map(function (p) { return p[1] === null ? null : Number(p[1]); });
  const series = [{type: "line", name: data.metric, data: values, showSymbol: false,
    lineStyle: {width: 2, color: "#0b5cad"}, itemStyle: {color: "#0b5cad"}}];
  if (data.threshold !== null) {
    const limit = Number(data.threshold);
    series.push({type: "line", name: "threshold", data: times.map(function () { return limit; }),
      showSymbol: false, lineStyle: {width: 1, type: "dashed", color: "#d1495b"},
      itemStyle: {color: "#d1495b"}});
  }
  const chart = window.echarts.init(el, null, {renderer: "canvas"});
  chart.setOption({
    animation: false,
    grid: {left: 56, right: 16, top: 16, bottom: 32},
    xAxis: {type: "category", data: times, axisLabel: {formatter: function (iso) {
      return new Intl.DateTimeFormat(M.lang, {day: "numeric", hour: "2-digit", minute: "2-digit",
        hourCycle: "h23", timeZone: "UTC"}).format(new Date(iso));
    }}},
    yAxis: {type: "value", scale: true},
    series: series,
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
