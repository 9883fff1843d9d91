/* Float treasury: formats the exact amounts the page carries as decimal strings
   (data-money, data-percent, data-datetime, data-country), and draws the float per
   country (bars) and the float history (stacked areas) for the chosen currency.
   ECharts' simple build has no tooltip or legend: the legend is HTML and a read-out
   line shows the figures of the hovered bucket. */
(function () {
  "use strict";
  const M = window.Molam;
  const t = M.t;
  const PALETTE = ["#0b5cad", "#2a9d8f", "#e9a23b", "#8e5cc4", "#d1495b", "#4c956c", "#5f6caf",
    "#c06c2f", "#2b7bb9", "#7a8b99", "#a23b72", "#3d8361"];
  let regionNames = null;
  try { regionNames = new Intl.DisplayNames([M.lang], {type: "region"}); } catch (e) { regionNames = null; }
  function countryName(code) {
    if (!regionNames || !/^[A-Z]{2}$/.test(code) || code === "ZZ") return code;
    try { return regionNames.of(code) || code; } catch (e) { return code; }
  }
  function pct(share) { return M.percent(Number(share), 0); }

  // ------------------------------------------------------------------ figures in the page
  document.querySelectorAll("[data-money]").forEach(function (el) {
    if (el.dataset.money !== "") el.textContent = M.money(el.dataset.money, el.dataset.currency);
  });
  document.querySelectorAll("[data-percent]").forEach(function (el) {
    el.textContent = el.dataset.percent === "" ? "—" : pct(el.dataset.percent);
  });
  document.querySelectorAll("[data-datetime]").forEach(function (el) {
    if (el.dataset.datetime) el.textContent = M.dateTime(el.dataset.datetime);
  });
  document.querySelectorAll("[data-country]").forEach(function (el) {
    const name = countryName(el.dataset.country);
    if (name !== el.dataset.country) el.textContent = name + " (" + el.dataset.country + ")";
  });
  document.querySelectorAll(".meter-bar[data-share]").forEach(function (el) {
    // Share of the threshold, capped at the "near" ratio so the bar stays inside its box.
    el.style.width = Math.min(100, Math.max(0, Number(el.dataset.share) / 1.25 * 100)) + "%";
  });

  const dataEl = document.getElementById("float-data");
  if (!dataEl || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  if (!data.currencies.length) return;
  let currency = data.currencies[0];
  const charts = {};

  // ECharts writes its own English description of a chart into aria-label: in another
  // language keep the page's translated label instead.
  function ariaOf(id) {
    if (M.lang.indexOf("en") === 0) return {enabled: true};
    return {enabled: true, label: {description: document.getElementById(id).getAttribute("aria-label")}};
  }

  function chart(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    if (!charts[id]) charts[id] = window.echarts.init(el, null, {renderer: "canvas"});
    return charts[id];
  }
  // One colour per country on both charts, whatever the currency shown.
  const allCountries = Array.from(new Set(data.history.series.map(function (r) { return r.country; })
    .concat(data.bars.kind === "country" ? data.bars.rows.map(function (r) { return r.label; }) : []))).sort();
  function colourOf(country) { return PALETTE[Math.max(0, allCountries.indexOf(country)) % PALETTE.length]; }

  function drawBars() {
    const c = chart("chart-by-country");
    if (!c) return;
    const byCity = data.bars.kind === "city";
    const rows = data.bars.rows.filter(function (r) { return r.currency === currency; });
    const labels = rows.map(function (r) { return byCity ? (r.label || t("Unknown city")) : countryName(r.label); });
    c.setOption({
      aria: ariaOf("chart-by-country"),
      animationDuration: 300,
      grid: {left: 8, right: 48, top: 10, bottom: 8, containLabel: true},
      xAxis: {type: "value", axisLabel: {formatter: function (v) { return M.compact(v); }, color: "#5b6776"},
        splitLine: {lineStyle: {color: "#e8ecf1"}}},
      yAxis: {type: "category", inverse: true, data: labels,
        axisLabel: {color: "#17202b", width: 110, overflow: "truncate"}, axisTick: {show: false}},
      series: [{
        type: "bar", barMaxWidth: 26,
        data: rows.map(function (r) {
          const colour = byCity ? PALETTE[0] : colourOf(r.label);
          return {value: Number(r.float), itemStyle: {color: colour, borderRadius: [0, 4, 4, 0]}};
        }),
        label: {show: true, position: "right", color: "#17202b", fontWeight: 600,
          formatter: function (p) { return M.compact(p.value); }},
      }],
    }, true);
  }

  function bucketLabel(iso) {
    const d = new Date(iso);
    const opts = data.history.unit === "hour"
      ? {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC"}
      : {day: "numeric", month: "short", timeZone: "UTC"};
    return new Intl.DateTimeFormat(M.lang, opts).format(d);
  }

  function drawHistory() {
    const c = chart("chart-history");
    if (!c) return;
    const series = data.history.series.filter(function (s) { return s.currency === currency; });
    const labels = data.history.buckets.map(bucketLabel);
    c.setOption({
      aria: ariaOf("chart-history"),
      animationDuration: 300,
      grid: {left: 8, right: 16, top: 12, bottom: 8, containLabel: true},
      xAxis: {type: "category", boundaryGap: false, data: labels, axisLabel: {color: "#5b6776", hideOverlap: true},
        axisLine: {lineStyle: {color: "#c3ccd6"}}},
      yAxis: {type: "value", axisLabel: {formatter: function (v) { return M.compact(v); }, color: "#5b6776"},
        splitLine: {lineStyle: {color: "#e8ecf1"}}},
      series: series.map(function (s) {
        const colour = colourOf(s.country);
        return {
          name: s.country, type: "line", stack: "float", symbol: "none", smooth: false,
          lineStyle: {width: 1.5, color: colour}, itemStyle: {color: colour},
          areaStyle: {color: colour, opacity: 0.25},
          data: s.values.map(Number),
        };
      }),
    }, true);
    const legend = document.getElementById("history-legend");
    if (legend) {
      legend.innerHTML = "";
      series.forEach(function (s) {
        const li = document.createElement("li");
        const swatch = document.createElement("i");
        swatch.style.background = colourOf(s.country);
        const value = document.createElement("span");
        value.className = "value";
        value.dataset.country = s.country;
        li.appendChild(swatch);
        li.appendChild(document.createTextNode(countryName(s.country) + " "));
        li.appendChild(value);
        legend.appendChild(li);
      });
    }
    readout(data.history.buckets.length - 1);
  }

  // Exact sum of decimal strings ("12.5", "-3") with BigInt: no binary rounding.
  function decimalSum(values) {
    const scale = Math.max(0, ...values.map(function (v) { return (String(v).split(".")[1] || "").length; }));
    let total = 0n;
    values.forEach(function (v) {
      const text = String(v);
      const negative = text.startsWith("-");
      const parts = text.replace("-", "").split(".");
      const digits = BigInt(parts[0] + (parts[1] || "").padEnd(scale, "0"));
      total += negative ? -digits : digits;
    });
    const negative = total < 0n;
    let text = (negative ? -total : total).toString().padStart(scale + 1, "0");
    if (scale) text = text.slice(0, -scale) + "." + text.slice(-scale);
    return (negative ? "-" : "") + text;
  }

  // The figures of one bucket: the exact total above the chart, each country's part
  // in the legend.
  function readout(index) {
    const el = document.getElementById("history-readout");
    if (!el) return;
    const series = data.history.series.filter(function (s) { return s.currency === currency; });
    if (!series.length || !(index >= 0 && index < data.history.buckets.length)) {
      el.textContent = series.length ? "" : t("No float history in this window.");
      return;
    }
    const values = series.map(function (s) { return s.values[index]; });
    el.innerHTML = "";
    const head = document.createElement("strong");
    head.textContent = bucketLabel(data.history.buckets[index]) +
      (data.history.unit === "day" ? " · " + t("end of day") : "");
    el.appendChild(head);
    el.appendChild(document.createTextNode(" · " + t("Total") + " " + M.money(decimalSum(values.concat(["0"])), currency)));
    series.forEach(function (s) {
      const slot = document.querySelector("#history-legend .value[data-country=\"" + s.country + "\"]");
      if (slot) slot.textContent = M.money(s.values[index], currency);
    });
  }

  function hookHover() {
    const c = charts["chart-history"];
    if (!c) return;
    function at(e) {
      const point = [e.offsetX, e.offsetY];
      if (!c.containPixel({gridIndex: 0}, point)) return;
      // On a category axis convertFromPixel takes the x pixel alone and gives the index.
      const index = Math.round(Number(c.convertFromPixel({xAxisIndex: 0}, e.offsetX)));
      if (Number.isFinite(index)) readout(index);
    }
    c.getZr().on("mousemove", at);
    c.getZr().on("click", at);
    c.getZr().on("globalout", function () { readout(data.history.buckets.length - 1); });
  }

  function drawAll() {
    document.querySelectorAll("[data-chart-currency]").forEach(function (el) {
      el.textContent = "· " + currency;
    });
    drawBars();
    drawHistory();
  }

  const switcher = document.getElementById("currency-switch");
  if (switcher) {
    switcher.addEventListener("click", function (e) {
      const button = e.target.closest("button[data-currency]");
      if (!button) return;
      currency = button.dataset.currency;
      switcher.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      drawAll();
    });
  }
  drawAll();
  hookHover();
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  // Used by the browser test to read what was drawn.
  window.MolamFloat = {charts: charts, currency: function () { return currency; }};
})();
