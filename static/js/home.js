/* Home page: the widget grid of one scope. The layout, the catalogue and each widget's data
   come from /api/dashboard/widgets (session auth); "Arrange" turns on dragging (title bar:
   move; corner: resize), saved in one bulk layout call; the ⚙ form is generated from the
   type's config schema; data is re-read every refreshS seconds. */
(function () {
  "use strict";
  const cfgEl = document.getElementById("home-config");
  const grid = document.getElementById("widget-grid");
  if (!cfgEl || !grid || !window.Molam) return;
  const M = window.Molam;
  const t = M.t;
  const cfg = JSON.parse(cfgEl.textContent);
  const statusEl = document.getElementById("home-status");
  const COLS = 12;
  const ROW_PX = 64;
  let layout = [];
  let catalogue = [];
  let editing = false;
  const charts = new Map();   // widget id -> ECharts instance or Leaflet map

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function api(path, options) {
    const opts = Object.assign({credentials: "same-origin", headers: {}}, options || {});
    opts.headers = Object.assign({"Accept": "application/json"}, opts.headers);
    if (opts.body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrf();
      opts.body = JSON.stringify(opts.body);
    }
    return fetch(cfg.api + path, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (body) {
        if (!r.ok) { const err = new Error(body.detail || String(r.status)); err.body = body; throw err; }
        return body;
      });
    });
  }
  function scopeQuery() { return "?scope=" + encodeURIComponent(cfg.scope); }
  function say(text) { if (statusEl) statusEl.textContent = text; }
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ grid placement
  function place(node, p) {
    node.style.gridColumn = (p.x + 1) + " / span " + p.w;
    node.style.gridRow = (p.y + 1) + " / span " + p.h;
    node.dataset.x = p.x; node.dataset.y = p.y; node.dataset.w = p.w; node.dataset.h = p.h;
  }
  function positionOf(node) {
    return {x: +node.dataset.x, y: +node.dataset.y, w: +node.dataset.w, h: +node.dataset.h};
  }
  function cellSize() {
    const box = grid.getBoundingClientRect();
    const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
    return {box: box, col: (box.width + gap) / COLS, row: ROW_PX + gap};
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  // One column on phones (home.css): the grid places nothing there, the form's
  // position fields do.
  const narrow = window.matchMedia("(max-width: 760px)");

  function startDrag(node, e, mode) {
    if (!editing || e.button !== 0 || narrow.matches) return;
    e.preventDefault();
    const start = positionOf(node);
    const size = cellSize();
    const x0 = e.clientX, y0 = e.clientY;
    node.classList.add("dragging");
    function move(ev) {
      const dx = Math.round((ev.clientX - x0) / size.col);
      const dy = Math.round((ev.clientY - y0) / size.row);
      const p = Object.assign({}, start);
      if (mode === "move") {
        p.x = clamp(start.x + dx, 0, COLS - start.w);
        p.y = clamp(start.y + dy, 0, 200);
      } else {
        p.w = clamp(start.w + dx, 1, COLS - start.x);
        p.h = clamp(start.h + dy, 1, 20);
      }
      place(node, p);
    }
    function up() {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      node.classList.remove("dragging");
      const p = positionOf(node);
      if (p.x !== start.x || p.y !== start.y || p.w !== start.w || p.h !== start.h) {
        settle(node);
        saveLayout();
      }
    }
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  }

  // The widget just moved or resized keeps its place; any it now overlaps moves down
  // below it (and so on down the grid), as Grafana's panels give way.
  function overlaps(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }
  function settle(fixed) {
    const placed = [positionOf(fixed)];
    const others = Array.from(grid.querySelectorAll(".widget")).filter(function (n) { return n !== fixed; })
      .sort(function (a, b) { return (+a.dataset.y - +b.dataset.y) || (+a.dataset.x - +b.dataset.x); });
    others.forEach(function (node) {
      const p = positionOf(node);
      let hit = placed.find(function (q) { return overlaps(p, q); });
      while (hit) {
        p.y = hit.y + hit.h;
        hit = placed.find(function (q) { return overlaps(p, q); });
      }
      place(node, p);
      placed.push(p);
    });
    compact();
  }
  // Then every widget rises as far as the ones above it allow: no holes left behind.
  function compact() {
    const placed = [];
    Array.from(grid.querySelectorAll(".widget"))
      .sort(function (a, b) { return (+a.dataset.y - +b.dataset.y) || (+a.dataset.x - +b.dataset.x); })
      .forEach(function (node) {
        const p = positionOf(node);
        while (p.y > 0 && !placed.some(function (q) { return overlaps(Object.assign({}, p, {y: p.y - 1}), q); })) p.y -= 1;
        place(node, p);
        placed.push(p);
      });
  }

  function saveLayout() {
    const items = Array.from(grid.querySelectorAll(".widget")).map(function (node) {
      return Object.assign({id: +node.dataset.id}, positionOf(node));
    });
    say(t("Saving…"));
    api("/layout", {method: "POST", body: {scope: cfg.scope, items: items}})
      .then(function (widgets) { render(widgets); say(t("Layout saved.")); })
      .catch(function (err) { say(t("The layout could not be saved.") + " " + err.message); load(); });
  }

  // ------------------------------------------------------------------ rendering
  // data-ready on the grid: "1" once the layout and every widget's data are drawn.
  function render(widgets) {
    layout = widgets;
    grid.dataset.ready = "0";
    charts.forEach(function (c) { if (c.dispose) c.dispose(); else if (c.remove) c.remove(); });
    charts.clear();
    grid.replaceChildren();
    if (!widgets.length) {
      grid.appendChild(el("p", "muted empty", t("No widgets yet: add one from the catalogue.")));
      grid.dataset.ready = "1";
      return;
    }
    const pending = [];
    widgets.forEach(function (w) {
      const node = el("article", "widget card widget-" + w.type);
      node.dataset.id = w.id;
      node.dataset.type = w.type;
      node.setAttribute("aria-labelledby", "wt-" + w.id);
      place(node, w.position);
      const head = el("header", "widget-head");
      const title = el("h2", "widget-title", w.title);
      title.id = "wt-" + w.id;
      const tools = el("div", "widget-tools");
      const gear = el("button", "widget-btn widget-configure", "⚙");
      gear.type = "button";
      gear.setAttribute("aria-label", t("Configure") + " " + w.title);
      gear.addEventListener("click", function () { openConfig(w, null); });
      const remove = el("button", "widget-btn widget-remove", "✕");
      remove.type = "button";
      remove.setAttribute("aria-label", t("Remove") + " " + w.title);
      remove.addEventListener("click", function () { removeWidget(w); });
      tools.append(gear, remove);
      head.append(title, tools);
      head.addEventListener("pointerdown", function (e) {
        if (e.target.closest("button")) return;
        startDrag(node, e, "move");
      });
      const body = el("div", "widget-body");
      body.tabIndex = 0;  // it may scroll: keyboard users must reach what overflows
      const resize = el("span", "widget-resize");
      resize.setAttribute("aria-hidden", "true");
      resize.addEventListener("pointerdown", function (e) { startDrag(node, e, "resize"); });
      node.append(head, body, resize);
      grid.appendChild(node);
      pending.push(loadData(w, body));
    });
    Promise.all(pending).then(function () { grid.dataset.ready = "1"; });
  }

  function loadData(w, body, attempt) {
    return fetch(cfg.api + "/" + w.id + "/data" + scopeQuery(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (d) { return {ok: r.ok, d: d, r: r}; }); })
      .then(function (res) {
        if (!res.ok) {
          body.replaceChildren(el("p", "muted", res.d.detail || t("No data.")));
          // 503: the scope's first figures are being computed; ask again when told to.
          const wait = Number(res.r.headers.get("Retry-After"));
          if (res.r.status === 503 && wait > 0 && (attempt || 0) < 5) {
            setTimeout(function () { loadData(w, body, (attempt || 0) + 1); }, wait * 1000);
          }
          return;
        }
        draw(w, body, res.d);
      })
      .catch(function () { body.replaceChildren(el("p", "muted", t("The data could not be loaded."))); });
  }

  function refreshData() {
    grid.querySelectorAll(".widget").forEach(function (node) {
      const w = layout.find(function (x) { return String(x.id) === node.dataset.id; });
      if (w && w.type !== "map") loadData(w, node.querySelector(".widget-body"));
    });
  }

  // ------------------------------------------------------------------ drawing per type
  function fmt(value, currency) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return M.money(value, currency);
    return M.number(value);
  }
  function draw(w, body, d) {
    body.replaceChildren();
    ({chart_line: drawChart, chart_bar: drawChart, gauge: drawGauge, table: drawTable,
      list: drawList, map: drawMap, alert_list: drawAlerts}[w.type] || drawRaw)(w, body, d);
  }
  function drawRaw(w, body, d) { body.appendChild(el("pre", "small", JSON.stringify(d))); }

  function drawChart(w, body, d) {
    if (!window.echarts) return drawRaw(w, body, d);
    const box = el("div", "widget-chart");
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", w.title);
    body.appendChild(box);
    const C = window.MolamCharts;
    const labels = d.points.map(function (p) { return C.timeLabel(p.t, d.granularity); });
    const num = function (v) { return v === null ? null : Number(v); };
    const kind = w.type === "chart_bar" ? "bar" : "line";
    const series = [{type: kind, name: t("This period"), data: d.points.map(function (p) { return num(p.value); }),
      itemStyle: {color: C.BRAND}, showSymbol: false, smooth: false}];
    if (d.previous) {
      series.push({type: kind, name: t("Previous period"), data: d.previous.points.map(function (p) { return num(p.value); }),
        itemStyle: {color: "#9aa7b6"}, lineStyle: {type: "dashed"}, showSymbol: false});
    }
    const chart = window.echarts.init(box, null, {renderer: "canvas"});
    chart.setOption({
      animation: false, grid: {left: 48, right: 12, top: 12, bottom: 24},
      xAxis: {type: "category", data: labels, axisLabel: {hideOverlap: true}},
      yAxis: {type: "value", axisLabel: {formatter: function (v) { return M.compact(v); }}},
      series: series,
    });
    charts.set(w.id + ":" + Math.random(), chart);
    const total = el("p", "widget-foot small muted");
    total.textContent = [d.currency, d.previous ? t("dashed: previous period") : ""].filter(Boolean).join(" · ");
    body.appendChild(total);
    new ResizeObserver(function () { chart.resize(); }).observe(box);
  }

  function drawGauge(w, body, d) {
    const value = el("p", "gauge-value", d.figure.endsWith("_rate") ? M.percent(d.value) : fmt(d.value, d.currency));
    value.dataset.value = d.value === null ? "" : String(d.value);
    const meter = el("meter", "gauge-meter");
    meter.min = d.min; meter.max = d.max;
    meter.value = d.value === null ? d.min : Number(d.value);
    // <meter> colours by low/high/optimum: the bands as the config states them.
    const worseHigh = !!w.config.higher_is_worse;
    const bands = [d.warning, d.critical].filter(function (v) { return v !== null; }).sort(function (a, b) { return a - b; });
    if (bands.length) { meter.low = bands[0]; meter.high = bands[bands.length - 1]; }
    meter.optimum = worseHigh ? d.min : d.max;
    meter.setAttribute("aria-label", w.title);
    const badgeClass = {ok: "badge-ok", warning: "badge-warn", critical: "badge-bad"}[d.band] || "badge-info";
    const band = el("span", "badge " + badgeClass, {ok: t("OK"), warning: t("Warning"), critical: t("Critical")}[d.band] || t("No data"));
    const foot = el("p", "small muted", d.period + (d.stale ? " · " + t("stale") : ""));
    body.append(value, meter, band, foot);
  }

  function table(headers, rows) {
    const wrap = el("div", "table-wrap");
    const tbl = el("table");
    const tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", null, h)); });
    const thead = el("thead"); thead.appendChild(tr);
    const tbody = el("tbody");
    rows.forEach(function (cells) {
      const row = el("tr");
      cells.forEach(function (c) { row.appendChild(el("td", null, c)); });
      tbody.appendChild(row);
    });
    tbl.append(thead, tbody);
    wrap.appendChild(tbl);
    return wrap;
  }

  function drawTable(w, body, d) {
    if (!d.rows.length) { body.appendChild(el("p", "muted", t("Nothing in this period."))); return; }
    const key = Object.keys(d.rows[0]).find(function (k) { return /_id$|^country$/.test(k); });
    body.appendChild(table([t("Name"), t("Volume")], d.rows.map(function (r) {
      return [r[key], M.money(r.gmv, r.currency)];
    })));
  }

  function drawList(w, body, d) {
    if (d.source === "ops_actions" && d.provider === false) {
      body.appendChild(el("p", "muted", t("Ops actions are not available here.")));
      return;
    }
    if (!d.items.length) { body.appendChild(el("p", "muted", t("Nothing yet."))); return; }
    let rows;
    let headers;
    if (d.source === "transactions") {
      headers = [t("Time"), t("Type"), t("Amount"), t("Status")];
      rows = d.items.map(function (i) { return [M.dateTime(i.occurred_at), i.type, fmt(i.amount, i.currency), i.status]; });
    } else if (d.source === "ops_actions") {
      headers = [t("Action"), t("Target"), t("Status"), t("Requested")];
      rows = d.items.map(function (i) { return [i.action_type, i.target, i.status, M.dateTime(i.created_at)]; });
    } else {
      headers = [t("Received"), t("Reason"), t("Event")];
      rows = d.items.map(function (i) { return [M.dateTime(i.received_at), i.reason, i.event_id || "—"]; });
    }
    body.appendChild(table(headers, rows));
  }

  function drawAlerts(w, body, d) {
    if (d.provider === false) {
      body.appendChild(el("p", "muted", t("Alerts will show here once the alerting service provides them.")));
      return;
    }
    if (!d.items.length) { body.appendChild(el("p", "muted", t("No alert."))); return; }
    body.appendChild(table([t("Severity"), t("Alert"), t("Status")], d.items.map(function (a) {
      return [a.severity, a.title, a.status];
    })));
  }

  let atlas = null;
  function drawMap(w, body, d) {
    if (!window.L) return drawRaw(w, body, d);
    const box = el("div", "widget-map");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", w.title);
    body.appendChild(box);
    const b = w.config.bbox;
    const map = L.map(box, {zoomControl: false, attributionControl: false, dragging: false,
      scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false});
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    charts.set(w.id + ":map", map);
    if (cfg.tileUrl) {
      L.tileLayer(cfg.tileUrl, {attribution: cfg.tileAttribution || ""}).addTo(map);
    } else {
      atlas = atlas || fetch(cfg.atlasUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); });
      atlas.then(function (topo) {
        if (!window.topojson) return;
        L.geoJSON(window.topojson.feature(topo, topo.objects.countries), {interactive: false,
          style: {color: "#98a9bb", weight: 0.8, fillColor: "#fbfaf5", fillOpacity: 1}}).addTo(map).bringToBack();
      }).catch(function () {});
    }
    const markers = w.config.markers;
    d.features.forEach(function (f) {
      const p = f.properties;
      const count = p.count || 1;
      const lowFloat = p.kind === "cluster" ? p.low_float_count : (p.low_float ? 1 : 0);
      const radius = Math.min(24, 5 + Math.sqrt(count) * 2);
      let label;
      if (markers === "float") {
        const fl = p.kind === "cluster" ? p.float : (p.currency ? {[p.currency]: p.float_balance} : {});
        label = Object.keys(fl).map(function (c) { return M.money(fl[c], c); }).join(", ") || "—";
      } else if (markers === "sales_24h") {
        const s = p.kind === "cluster" ? p.sales_24h : (p.currency ? {[p.currency]: p.sales_24h} : {});
        label = Object.keys(s).map(function (c) { return M.money(s[c], c); }).join(", ") || "—";
      } else if (markers === "low_float") {
        label = M.number(lowFloat, 0) + " " + t("under their float limit");
      } else {
        label = M.number(count, 0) + " " + t("agents");
      }
      const colour = markers === "low_float" && lowFloat ? "#b42318" : "#0b5cad";
      L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]],
        {radius: radius, color: colour, weight: 1, fillColor: colour, fillOpacity: 0.45})
        .bindTooltip(label).addTo(map);
    });
    const foot = el("p", "widget-foot small muted", M.number(d.count, 0) + " " + t("agents"));
    body.appendChild(foot);
    new ResizeObserver(function () { map.invalidateSize(); }).observe(box);
  }

  // ------------------------------------------------------------------ config form
  const dialog = document.getElementById("widget-config");
  const form = document.getElementById("config-form");
  const fieldsBox = document.getElementById("config-fields");
  const errorsBox = document.getElementById("config-errors");
  let editingWidget = null;
  let newType = null;

  function fieldInput(name, spec, value) {
    const wrap = el("div", "field");
    const id = "cfg-" + name;
    const label = el("label", null, spec.title || name);
    label.htmlFor = id;
    let input;
    const type = Array.isArray(spec.type) ? spec.type[0] : spec.type;
    if (spec.enum && type === "string") {
      input = el("select");
      spec.enum.forEach(function (v) {
        const o = el("option", null, v === "" ? t("(any)") : v);
        o.value = v; input.appendChild(o);
      });
      input.value = value === null || value === undefined ? "" : value;
      input.dataset.kind = "enum";
    } else if (type === "array" && spec.items && spec.items.enum) {
      input = el("fieldset", "checks");
      const legend = el("legend", null, spec.title || name);
      input.appendChild(legend);
      label.hidden = true;
      spec.items.enum.forEach(function (v) {
        const l = el("label", "check");
        const box = el("input");
        box.type = "checkbox"; box.value = v; box.name = name;
        box.checked = (value || []).indexOf(v) >= 0;
        l.append(box, document.createTextNode(" " + v));
        input.appendChild(l);
      });
      input.dataset.kind = "multi";
    } else if (type === "array") {  // bbox: four numbers
      input = el("input");
      input.value = (value || []).join(", ");
      input.dataset.kind = "numbers";
    } else if (type === "boolean") {
      input = el("input");
      input.type = "checkbox";
      input.checked = !!value;
      input.dataset.kind = "bool";
    } else if (type === "integer" || type === "number") {
      input = el("input");
      input.type = "number";
      input.step = type === "integer" ? "1" : "any";
      if (spec.minimum !== undefined) input.min = spec.minimum;
      if (spec.maximum !== undefined) input.max = spec.maximum;
      input.value = value === null || value === undefined ? "" : value;
      input.dataset.kind = type;
    } else {
      input = el("input");
      input.value = value === null || value === undefined ? "" : value;
      input.dataset.kind = "text";
    }
    input.id = id;
    input.dataset.name = name;
    if (spec.description) {
      const help = el("small", "muted", spec.description);
      help.id = id + "-help";
      input.setAttribute("aria-describedby", help.id);
      wrap.append(label, input, help);
    } else {
      wrap.append(label, input);
    }
    return wrap;
  }

  function readConfig() {
    const out = {};
    fieldsBox.querySelectorAll("[data-name]").forEach(function (input) {
      const name = input.dataset.name;
      const kind = input.dataset.kind;
      if (kind === "multi") {
        out[name] = Array.from(input.querySelectorAll("input:checked")).map(function (b) { return b.value; });
      } else if (kind === "bool") {
        out[name] = input.checked;
      } else if (kind === "enum") {
        out[name] = input.value;  // "" is a choice (any source)
      } else if (kind === "integer" || kind === "number") {
        out[name] = input.value === "" ? null : Number(input.value);
      } else if (kind === "numbers") {
        out[name] = input.value.split(",").map(function (v) { return Number(v.trim()); });
      } else {
        out[name] = input.value === "" ? null : input.value;
      }
    });
    return out;
  }

  function openConfig(w, typeInfo) {
    editingWidget = w;
    newType = typeInfo;
    const info = typeInfo || catalogue.find(function (c) { return c.type === w.type; });
    const values = w ? w.config : typeInfo.default_config;
    errorsBox.replaceChildren();
    fieldsBox.replaceChildren();
    document.getElementById("cfg-title").value = w ? w.title : typeInfo.label;
    const pos = w ? w.position : {x: 0, y: nextRow(), w: 4, h: 4};
    ["x", "y", "w", "h"].forEach(function (k) { document.getElementById("cfg-" + k).value = pos[k]; });
    const props = (info && info.config_schema.properties) || {};
    Object.keys(props).forEach(function (name) { fieldsBox.appendChild(fieldInput(name, props[name], values[name])); });
    dialog.showModal();
  }
  function nextRow() {
    return layout.reduce(function (m, w) { return Math.max(m, w.position.y + w.position.h); }, 0);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const position = {};
    ["x", "y", "w", "h"].forEach(function (k) { position[k] = Number(document.getElementById("cfg-" + k).value); });
    const body = {title: document.getElementById("cfg-title").value, config: readConfig(), position: position};
    let call;
    if (editingWidget) {
      call = api("/" + editingWidget.id + scopeQuery(), {method: "PATCH", body: body});
    } else {
      body.type = newType.type;
      body.scope = cfg.scope;
      call = api("", {method: "POST", body: body});
    }
    call.then(function () { dialog.close(); return load(); })
      .then(function () { say(t("Widget saved.")); })
      .catch(function (err) {
        errorsBox.replaceChildren();
        const errors = (err.body && err.body.errors) || {"": [err.message]};
        Object.keys(errors).forEach(function (k) {
          errorsBox.appendChild(el("p", null, (k ? k + ": " : "") + errors[k].join(" ")));
        });
      });
  });
  document.getElementById("config-cancel").addEventListener("click", function () { dialog.close(); });

  function removeWidget(w) {
    if (!window.confirm(t("Remove this widget?") + " " + w.title)) return;
    api("/" + w.id + scopeQuery(), {method: "DELETE"})
      .then(function () { say(t("Widget removed.")); load(); })
      .catch(function (err) { say(err.message); });
  }

  // ------------------------------------------------------------------ catalogue, toolbar
  const catalogueDialog = document.getElementById("widget-catalogue");
  function openCatalogue() {
    const list = document.getElementById("catalogue-list");
    list.replaceChildren();
    catalogue.filter(function (c) { return c.allowed; }).forEach(function (c) {
      const li = el("li");
      const b = el("button", "btn btn-secondary catalogue-item", c.label);
      b.type = "button";
      b.dataset.type = c.type;
      b.addEventListener("click", function () { catalogueDialog.close(); openConfig(null, c); });
      li.appendChild(b);
      list.appendChild(li);
    });
    catalogueDialog.showModal();
  }
  document.getElementById("home-add").addEventListener("click", openCatalogue);
  const editBtn = document.getElementById("home-edit");
  editBtn.addEventListener("click", function () {
    editing = !editing;
    editBtn.setAttribute("aria-pressed", editing ? "true" : "false");
    grid.classList.toggle("editing", editing);
    document.getElementById("home-hint").hidden = !editing;
  });
  document.getElementById("home-reset").addEventListener("click", function () {
    if (!window.confirm(t("Reset this home page to the default layout?"))) return;
    api("/reset", {method: "POST", body: {scope: cfg.scope}})
      .then(function (widgets) { render(widgets); say(t("Default layout restored.")); })
      .catch(function (err) { say(err.message); });
  });

  function load() {
    return api(scopeQuery()).then(render).catch(function (err) { say(err.message); });
  }
  api("/types" + scopeQuery()).then(function (types) { catalogue = types; }).catch(function () {});
  load();
  setInterval(function () { if (!document.hidden && !editing) refreshData(); }, cfg.refreshS * 1000);
})();
