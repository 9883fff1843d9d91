/* Metrics explorer: reads the time-series API with the session (the URL the page built
   from the form), draws it as a line or bar chart, its summary and a data table; shows
   the API's field errors next to the fields. Keeps the currency choice sensible for
   money metrics. */
(function () {
  "use strict";
  const M = window.Molam;
  const Molam = window.Molam; // Molam.t("...") literals are what makemessages extracts

  // ------------------------------------------------------------- form behaviour
  function formBehaviour() {
    const metric = document.getElementById("f-metric");
    const currency = document.getElementById("f-currency");
    if (!metric || !currency) return;
    const any = currency.querySelector("option[data-any]");
    // On a metric change only: a money metric needs a currency, so pick one; a count or a
    // rate goes back to every currency. On load the form stays as submitted, so that the
    // server's message matches what is shown.
    function sync(changed) {
      const option = metric.options[metric.selectedIndex];
      const needs = option && option.hasAttribute("data-needs-currency");
      if (changed && !needs) currency.value = "";
      if (changed && needs && !currency.value) {
        const xof = currency.querySelector("option[value='XOF']");
        currency.value = xof ? "XOF" : (currency.options[1] ? currency.options[1].value : "");
      }
      if (any) any.disabled = needs && currency.value !== "";
    }
    metric.addEventListener("change", function () { sync(true); });
    currency.addEventListener("change", function () { sync(false); });
    sync(false);
  }

  // ------------------------------------------------------------- exact sums of decimal strings
  const SCALE = 4;
  function toScaled(text) {
    const negative = text.startsWith("-");
    const [whole, frac = ""] = text.replace("-", "").split(".");
    const n = BigInt(whole + (frac + "0000").slice(0, SCALE));
    return negative ? -n : n;
  }
  function fromScaled(n) {
    const negative = n < 0n;
    let s = (negative ? -n : n).toString().padStart(SCALE + 1, "0");
    s = s.slice(0, -SCALE) + "." + s.slice(-SCALE);
    return (negative ? "-" : "") + s.replace(/\.?0+$/, "");
  }

  // ------------------------------------------------------------- chart
  function init() {
    const node = document.getElementById("explorer-config");
    if (!node || !window.echarts) return;
    const cfg = JSON.parse(node.textContent);
    const el = document.getElementById("explorer-chart");
    const state = document.getElementById("chart-state");
    const C = window.MolamCharts;
    let chart = null;
    let points = [];
    let type = cfg.chart === "bar" ? "bar" : "line";

    function format(value) {
      if (value === null || value === undefined) return "—";
      if (cfg.kind === "money") return M.money(value, cfg.currency);
      if (cfg.kind === "ratio") return M.percent(value, 2);
      if (cfg.kind === "bps") return M.number(value, 2) + " " + Molam.t("bps");
      return M.number(value, 0);
    }
    function axisValue(value) {
      if (cfg.kind === "ratio") return M.percent(value, 0);
      return M.compact(value);
    }

    function option() {
      const values = points.map(function (p) { return p.value === null ? null : Number(p.value); });
      const flat = values.every(function (v) { return !v; });
      return {
        animation: points.length < 500,
        grid: {left: 8, right: 16, top: 16, bottom: 8, containLabel: true},
        xAxis: {
          type: "category", data: points.map(function (p) { return p.t; }), boundaryGap: type === "bar",
          axisLine: {lineStyle: {color: "#c3ccd6"}}, axisTick: {show: false},
          axisLabel: {color: "#5b6776", hideOverlap: true,
            formatter: function (t) { return C.timeLabel(t, cfg.granularity); }},
        },
        yAxis: {
          type: "value", min: flat ? 0 : undefined, max: flat ? 1 : undefined,
          splitLine: {lineStyle: {color: "#eef1f5"}},
          axisLabel: {color: "#5b6776", formatter: axisValue},
        },
        series: [type === "bar" ? {
          type: "bar", data: values, barMaxWidth: 28, itemStyle: {color: C.BRAND, borderRadius: [3, 3, 0, 0]},
          emphasis: {itemStyle: {color: "#084a8c"}},
        } : {
          type: "line", data: values, showSymbol: values.length < 40, symbolSize: 5, connectNulls: false,
          lineStyle: {width: 2, color: C.BRAND}, itemStyle: {color: C.BRAND}, emphasis: {scale: 1.6},
          areaStyle: {color: new window.echarts.graphic.LinearGradient(0, 0, 0, 1, [
            {offset: 0, color: "rgba(11, 92, 173, 0.18)"}, {offset: 1, color: "rgba(11, 92, 173, 0)"},
          ])},
        }],
      };
    }

    function draw() {
      if (!chart) {
        chart = window.echarts.init(el, null, {renderer: "canvas"});
        C.attachTip(chart, el, function (i) {
          if (i < 0 || i >= points.length) return null;
          return [C.timeTitle(points[i].t, cfg.granularity), format(points[i].value)];
        });
        chart.on("click", function (params) {
          const p = points[params.dataIndex];
          const href = p && drillUrl(p.t);
          if (href) window.location.assign(href);
        });
        let pending = null;
        window.addEventListener("resize", function () {
          clearTimeout(pending);
          pending = setTimeout(function () { chart.resize(); }, 150);
        });
      }
      chart.setOption(option(), true);
    }

    function stat(list, label, value, note) {
      const wrap = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      // May break between the currency code and the number on a narrow screen, never
      // inside the number (its group separators do not break).
      dd.textContent = String(value).replace(/\u00a0/g, " ");
      if (note) {
        const small = document.createElement("span");
        small.className = "stat-note";
        small.textContent = note;
        dd.appendChild(small);
      }
      wrap.append(dt, dd);
      list.appendChild(wrap);
    }

    function summary() {
      const list = document.getElementById("chart-stats");
      list.replaceChildren();
      const known = points.filter(function (p) { return p.value !== null; });
      const hourly = cfg.granularity === "hour";
      if (cfg.kind === "money" || cfg.kind === "count") {
        const total = cfg.kind === "money"
          ? fromScaled(known.reduce(function (acc, p) { return acc + toScaled(String(p.value)); }, 0n))
          : known.reduce(function (acc, p) { return acc + Number(p.value); }, 0);
        stat(list, Molam.t("Total"), format(total));
        stat(list, hourly ? Molam.t("Average per hour") : Molam.t("Average per day"),
          format(points.length ? Number(total) / points.length : 0));
        let peak = null;
        known.forEach(function (p) { if (peak === null || Number(p.value) > Number(peak.value)) peak = p; });
        stat(list, hourly ? Molam.t("Peak hour") : Molam.t("Peak day"), peak ? format(peak.value) : "—",
          peak && Number(peak.value) ? C.timeTitle(peak.t, cfg.granularity) : "");
      } else {
        const last = known.length ? known[known.length - 1] : null;
        let hi = null;
        let lo = null;
        known.forEach(function (p) {
          if (hi === null || p.value > hi.value) hi = p;
          if (lo === null || p.value < lo.value) lo = p;
        });
        stat(list, Molam.t("Latest"), last ? format(last.value) : "—", last ? C.timeTitle(last.t, cfg.granularity) : "");
        stat(list, Molam.t("Highest"), hi ? format(hi.value) : "—", hi ? C.timeTitle(hi.t, cfg.granularity) : "");
        stat(list, Molam.t("Lowest"), lo ? format(lo.value) : "—", lo ? C.timeTitle(lo.t, cfg.granularity) : "");
      }
      stat(list, hourly ? Molam.t("Hours") : Molam.t("Days"), M.number(points.length, 0));
    }

    // Drill-down (docs/transactions.md): a point's events are the transactions of the same
    // scope and cuts in [t, t + one bucket), of the metric's event types.
    const drillBase = el.dataset.transactionsUrl;
    function drillUrl(t) {
      if (!drillBase) return null;
      const api = new URL(cfg.api, window.location.href).searchParams;
      const start = new Date(t);
      const end = new Date(start.getTime() + (cfg.granularity === "day" ? 86400000 : 3600000));
      const q = new URLSearchParams({figure: cfg.metric, from: t, to: end.toISOString().replace(".000Z", "Z")});
      ["scope", "currency", "source", "country", "region", "city"].forEach(function (name) {
        if (api.get(name)) q.set(name, api.get(name));
      });
      return drillBase + "?" + q.toString();
    }

    function table() {
      const body = document.querySelector("#chart-table tbody");
      const rows = points.map(function (p) {
        const tr = document.createElement("tr");
        const th = document.createElement("td");
        const href = drillUrl(p.t);
        if (href) {
          const a = document.createElement("a");
          a.href = href;
          a.textContent = C.timeTitle(p.t, cfg.granularity);
          a.title = Molam.t("Transactions");
          th.append(a);
        } else {
          th.textContent = C.timeTitle(p.t, cfg.granularity);
        }
        const td = document.createElement("td");
        td.className = "num";
        td.textContent = format(p.value);
        td.dataset.value = p.value === null ? "" : String(p.value);
        tr.append(th, td);
        return tr;
      });
      body.replaceChildren.apply(body, rows);
    }

    function showErrors(body) {
      state.hidden = false;
      state.classList.add("chart-state-error");
      state.textContent = (body && body.detail) || Molam.t("The series could not be loaded.");
      const errors = (body && body.errors) || {};
      Object.keys(errors).forEach(function (field) {
        const list = document.querySelector("[data-error-for='" + field + "']");
        if (!list) return;
        list.replaceChildren.apply(list, errors[field].map(function (message) {
          const li = document.createElement("li");
          li.textContent = message;
          return li;
        }));
        list.hidden = false;
      });
    }

    document.querySelectorAll("[data-chart-type]").forEach(function (button) {
      button.addEventListener("click", function () {
        type = button.dataset.chartType;
        document.querySelectorAll("[data-chart-type]").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        const input = document.querySelector("[data-chart-input]");
        if (input) input.value = type;
        const url = new URL(window.location.href);
        url.searchParams.set("chart", type);
        window.history.replaceState(null, "", url);
        if (points.length) draw();
      });
    });

    fetch(cfg.api, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok || !body || !Array.isArray(body.points)) { showErrors(body); return; }
          points = body.points;
          el.dataset.points = String(points.length);
          const empty = points.every(function (p) { return !p.value; });
          state.hidden = !empty;
          state.classList.toggle("chart-state-empty", empty);
          if (empty) state.textContent = Molam.t("Nothing recorded for these filters in this range.");
          draw();
          summary();
          table();
          el.dataset.ready = "true";
        });
      })
      .catch(function () { showErrors(null); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    formBehaviour();
    init();
  });
})();
