/* Overview page: the KPI cards' sparklines (one JSON request for every card, again after
   each htmx swap of the live part), country names, share bars, and the open
   "more currencies" lists kept open across swaps. */
(function () {
  "use strict";
  const BRAND = "#0b5cad";
  const charts = [];
  const loaded = new Map(); // series URL -> promise of its JSON (one request per snapshot)
  let current = null;
  let openDetails = new Set();

  function countryNames(root) {
    let names = null;
    try {
      names = new Intl.DisplayNames([window.Molam.lang], {type: "region"});
    } catch (e) {
      return;
    }
    root.querySelectorAll("[data-country]").forEach(function (el) {
      const code = el.dataset.country;
      let name = null;
      try { name = names.of(code); } catch (e) { name = null; }
      if (!name || name === code) return;
      el.textContent = name + " ";
      const tag = document.createElement("span");
      tag.className = "code";
      tag.textContent = code;
      el.appendChild(tag);
    });
  }

  function bars(root) {
    root.querySelectorAll("[data-bar]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, Number(el.dataset.bar))) + "%";
    });
  }

  function dispose() {
    while (charts.length) charts.pop().dispose();
  }

  function format(value, meta) {
    const M = window.Molam;
    if (value === null || value === undefined) return "—";
    if (meta.kind === "money") return M.money(value, meta.currency);
    if (meta.kind === "ratio") return M.percent(value, 1);
    if (meta.kind === "bps") return M.number(value, 2) + " " + window.Molam.t("bps");
    return M.number(value, 0);
  }

  function sparkOption(values, times, granularity, featured) {
    const flat = values.every(function (v) { return !v; });
    return {
      animation: false,
      grid: featured ? {left: 2, right: 2, top: 6, bottom: 20} : {left: 2, right: 2, top: 4, bottom: 2},
      xAxis: {
        type: "category", boundaryGap: false, data: times, show: featured,
        axisLine: {show: false}, axisTick: {show: false},
        axisLabel: {color: "#5b6776", fontSize: 11, hideOverlap: true,
          formatter: function (t) { return window.MolamCharts.timeLabel(t, granularity); }},
      },
      yAxis: {type: "value", show: false, scale: !flat, min: flat ? 0 : undefined},
      series: [{
        type: "line", data: values, showSymbol: false, smooth: 0.2, connectNulls: false,
        symbolSize: 6, lineStyle: {width: featured ? 2 : 1.6, color: BRAND}, itemStyle: {color: BRAND},
        emphasis: {scale: false},
        areaStyle: {color: new window.echarts.graphic.LinearGradient(0, 0, 0, 1, [
          {offset: 0, color: "rgba(11, 92, 173, 0.20)"}, {offset: 1, color: "rgba(11, 92, 173, 0)"},
        ])},
      }],
    };
  }

  function draw(root, data) {
    dispose();
    if (!window.echarts) return;
    root.querySelectorAll("[data-spark]").forEach(function (el) {
      const key = el.dataset.spark;
      const raw = data.series[key];
      const meta = data.meta[key];
      if (!raw || !raw.length || !meta) return;
      const values = raw.map(function (v) { return v === null ? null : Number(v); });
      const featured = el.closest(".kpi-featured") !== null;
      const chart = window.echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(sparkOption(values, data.t, data.granularity, featured));
      window.MolamCharts.attachTip(chart, el, function (i) {
        if (i < 0 || i >= raw.length) return null;
        return [window.MolamCharts.timeTitle(data.t[i], data.granularity), format(raw[i], meta)];
      });
      charts.push(chart);
    });
  }

  function series(url) {
    if (!loaded.has(url)) {
      loaded.clear(); // only the newest snapshot's series is worth keeping
      loaded.set(url, fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; }));
    }
    return loaded.get(url);
  }

  function init(live) {
    if (!live || live === current) return;
    current = live;
    countryNames(live);
    bars(live);
    live.querySelectorAll("details[data-keep]").forEach(function (d) {
      if (openDetails.has(d.dataset.keep)) d.open = true;
    });
    const url = live.dataset.seriesUrl;
    if (!url) return;
    series(url).then(function (data) {
      if (data && current === live) draw(live, data);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document.getElementById("live"));
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "live") {
        openDetails = new Set(Array.from(evt.detail.target.querySelectorAll("details[data-keep][open]"))
          .map(function (d) { return d.dataset.keep; }));
      }
    });
    document.body.addEventListener("htmx:load", function (evt) {
      const elt = evt.detail.elt;
      if (elt && elt.id === "live") init(elt);
    });
    let pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  });
})();
