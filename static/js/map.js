/* Agent map: offline country outlines (or the configured tile server), server clusters of
   the viewport reloaded on every move (debounced), individual agents once zoomed in, and
   the nearby search. Data: /api/dashboard/agents/clusters and /nearby (session auth). */
(function () {
  "use strict";
  const cfgEl = document.getElementById("map-config");
  const mapEl = document.getElementById("agent-map");
  if (!cfgEl || !mapEl || !window.L || !window.Molam) return;
  const M = window.Molam;
  const t = M.t;
  const ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  const interpolate = window.interpolate || function (text, obj) {
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return String(obj[k]); });
  };
  const cfg = JSON.parse(cfgEl.textContent);
  const statusEl = document.getElementById("map-status");
  const asofEl = document.getElementById("map-asof");
  const MAX_ZOOM = 18;

  // Exact amounts and times the page carries (the "your agent" card).
  document.querySelectorAll("[data-money]").forEach(function (el) {
    if (el.dataset.money !== "") el.textContent = M.money(el.dataset.money, el.dataset.currency);
  });
  document.querySelectorAll("[data-datetime]").forEach(function (el) {
    if (el.dataset.datetime) el.textContent = M.dateTime(el.dataset.datetime);
  });

  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }
  function setStatus(text) { if (statusEl) statusEl.textContent = text; }
  function moneyLines(byCurrency) {
    const keys = Object.keys(byCurrency || {});
    if (!keys.length) return "—";
    return keys.map(function (c) { return esc(M.money(byCurrency[c], c)); }).join("<br>");
  }
  function distance(m) {
    if (m === null || m === undefined) return "—";
    if (m < 1000) return M.number(Math.round(m), 0) + " m";
    return M.number(m / 1000, m < 10000 ? 2 : 1) + " km";
  }
  function statusBadge(status) {
    if (status === "frozen") return "<span class=\"badge badge-bad\">" + esc(t("Frozen")) + "</span>";
    return "<span class=\"badge badge-ok\">" + esc(t("Active")) + "</span>";
  }
  function place(p) {
    const parts = [p.city, p.region && p.region !== p.city ? p.region : "", p.country].filter(Boolean);
    return parts.join(", ");
  }
  function agentsText(n) {
    return interpolate(ngettext("%(n)s agent", "%(n)s agents", n), {n: M.number(n, 0)}, true);
  }

  // ------------------------------------------------------------------ map and basemap
  // The zoom buttons' titles (Leaflet's own are English).
  L.Control.Zoom.prototype.options.zoomInTitle = t("Zoom in");
  L.Control.Zoom.prototype.options.zoomOutTitle = t("Zoom out");
  const map = L.map(mapEl, {
    minZoom: 2, maxZoom: MAX_ZOOM, worldCopyJump: false,
    maxBounds: [[-85, -180], [85, 180]], maxBoundsViscosity: 1.0,
  });
  map.on("popupopen", function (e) {  // Leaflet names its close button in English
    const close = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", t("Close"));
  });
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, {attribution: cfg.tileAttribution || "", maxZoom: MAX_ZOOM}).addTo(map);
  } else {
    mapEl.classList.add("offline");
    const pane = map.createPane("basemap");
    pane.style.zIndex = 250;
    pane.style.pointerEvents = "none";
    map.attributionControl.addAttribution("Natural Earth");
    fetch(cfg.atlasUrl, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (topo) {
        L.geoJSON(window.topojson.feature(topo, topo.objects.countries), {
          pane: "basemap", interactive: false, renderer: L.canvas({pane: "basemap", padding: 0.5}),
          style: {color: "#98a9bb", weight: 0.8, fillColor: "#fbfaf5", fillOpacity: 1},
        }).addTo(map);
      })
      .catch(function () { if (asofEl) asofEl.textContent = t("The country outlines could not be loaded."); });
  }
  const dataLayer = L.layerGroup().addTo(map);
  const nearbyLayer = L.layerGroup().addTo(map);

  // ------------------------------------------------------------------ clusters and agents
  // Exact sum of decimal strings ("12.5", "-3") with BigInt: no binary rounding.
  function decimalSum(values) {
    const scale = Math.max(0, ...values.map(function (v) { return (String(v).split(".")[1] || "").length; }));
    let total = 0n;
    values.forEach(function (v) {
      const text = String(v);
      const parts = text.replace("-", "").split(".");
      const digits = BigInt(parts[0] + (parts[1] || "").padEnd(scale, "0"));
      total += text.startsWith("-") ? -digits : digits;
    });
    const negative = total < 0n;
    let text = (negative ? -total : total).toString().padStart(scale + 1, "0");
    if (scale) text = text.slice(0, -scale) + "." + text.slice(-scale);
    return (negative ? "-" : "") + text;
  }
  function addMoney(into, from) {
    Object.keys(from || {}).forEach(function (c) {
      into[c] = into[c] === undefined ? from[c] : decimalSum([into[c], from[c]]);
    });
  }
  function discSize(count) {
    return Math.round(Math.min(64, 30 + 10 * Math.log10(Math.max(1, count))));
  }

  // The server's clusters are fixed grid cells, so the centroids of two neighbouring
  // cells can sit a few pixels apart: discs that would overlap are drawn as one, with
  // exact sums, and "Zoom in" shows all of its cells.
  function mergeClusters(features, cellDeg) {
    const items = features.map(function (f) {
      const p = f.properties;
      const lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
      const cell = String(f.id || "").split("/").map(Number);
      const west = cell[1] * cellDeg - 180, south = cell[2] * cellDeg - 90;
      return {
        count: p.count, low: p.low_float_count, lat: lat, lon: lon,
        float: Object.assign({}, p.float), sales: Object.assign({}, p.sales_24h),
        bounds: L.latLngBounds([south, west], [south + cellDeg, west + cellDeg]),
        pt: map.latLngToLayerPoint([lat, lon]),
      };
    }).sort(function (a, b) { return b.count - a.count; });
    const out = [];
    items.forEach(function (it) {
      const host = out.find(function (o) {
        return o.pt.distanceTo(it.pt) < (discSize(o.count) + discSize(it.count)) / 2;
      });
      if (!host) { out.push(it); return; }
      const n = host.count + it.count;
      host.lat = (host.lat * host.count + it.lat * it.count) / n;
      host.lon = (host.lon * host.count + it.lon * it.count) / n;
      host.count = n;
      host.low += it.low;
      addMoney(host.float, it.float);
      addMoney(host.sales, it.sales);
      host.bounds.extend(it.bounds);
      host.pt = map.latLngToLayerPoint([host.lat, host.lon]);
    });
    return out;
  }

  function clusterMarker(c) {
    const size = discSize(c.count);
    let label = agentsText(c.count);
    if (c.low) {
      label += " · " + interpolate(t("%(n)s with low float"), {n: M.number(c.low, 0)}, true);
    }
    const low = c.low ? "<i class=\"low\">" + esc(M.compact(c.low)) + "</i>" : "";
    const icon = L.divIcon({
      className: "cluster-icon",
      html: "<span class=\"disc\" data-count=\"" + c.count + "\">" + esc(M.compact(c.count)) + low + "</span>",
      iconSize: [size, size],
    });
    const marker = L.marker([c.lat, c.lon], {icon: icon, title: label, keyboard: true, riseOnHover: true});
    marker.bindPopup(
      "<h3>" + esc(agentsText(c.count)) + "</h3><dl class=\"props\">" +
      "<dt>" + esc(t("Low float")) + "</dt><dd>" + esc(M.number(c.low, 0)) + "</dd>" +
      "<dt>" + esc(t("Float")) + "</dt><dd>" + moneyLines(c.float) + "</dd>" +
      "<dt>" + esc(t("Sales 24 h")) + "</dt><dd>" + moneyLines(c.sales) + "</dd></dl>" +
      "<button type=\"button\" class=\"btn btn-secondary\" data-zoom>" + esc(t("Zoom in")) + "</button>"
    );
    marker.on("popupopen", function (e) {
      e.popup.getElement().querySelector("[data-zoom]").addEventListener("click", function () {
        map.fitBounds(c.bounds, {maxZoom: MAX_ZOOM});
      });
    });
    return marker;
  }

  function agentPopup(p) {
    const cur = p.currency;
    let html = "<h3><span class=\"mono\">" + esc(p.agent_id) + "</span> " + statusBadge(p.status) +
      (p.low_float ? " <span class=\"badge badge-bad\">" + esc(t("Low float")) + "</span>" : "") + "</h3>";
    html += "<div class=\"muted\">" + esc(place(p)) + "</div><dl class=\"props\">";
    html += "<dt>" + esc(t("Float")) + "</dt><dd>" + esc(M.money(p.float_balance, cur)) + "</dd>";
    html += "<dt>" + esc(t("Low-float threshold")) + "</dt><dd>" + esc(M.money(p.low_float_threshold, cur)) + "</dd>";
    if (p.float_limit !== null && p.float_limit !== undefined) {
      html += "<dt>" + esc(t("Float limit")) + "</dt><dd>" + esc(M.money(p.float_limit, cur)) + "</dd>";
    }
    html += "<dt>" + esc(t("Sales 24 h")) + "</dt><dd>" + esc(M.money(p.sales_24h, cur)) + "</dd>";
    html += "<dt>" + esc(t("Last activity")) + "</dt><dd>" + esc(M.dateTime(p.last_seen_at)) + "</dd>";
    html += "<dt>" + esc(t("Float updated")) + "</dt><dd>" + esc(M.dateTime(p.float_updated_at)) + "</dd>";
    if (p.distance_m !== null && p.distance_m !== undefined) {
      html += "<dt>" + esc(t("Distance")) + "</dt><dd>" + esc(distance(p.distance_m)) + "</dd>";
    }
    return html + "</dl>";
  }

  function agentMarker(f) {
    // The agent id is the GeoJSON feature's id (not repeated in its properties).
    const p = Object.assign({agent_id: f.id}, f.properties);
    const lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
    const own = cfg.agentOnly ? " is-own" : "";
    const icon = L.divIcon({
      className: "agent-icon" + own,
      html: "<span class=\"agent-dot status-" + esc(p.status) + (p.low_float ? " is-low" : "") + "\"></span>",
      iconSize: [16, 16],
    });
    const state = p.status === "frozen" ? t("Frozen") : t("Active");
    const title = p.agent_id + " · " + state + (p.low_float ? " · " + t("Low float") : "");
    const marker = L.marker([lat, lon], {icon: icon, title: title, keyboard: true, riseOnHover: true});
    marker.bindPopup(function () { return agentPopup(p); });
    return marker;
  }

  let seq = 0;
  let timer = null;
  let firstDraw = true;
  function viewBox() {
    const b = map.getBounds();
    const clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
    const w = clamp(b.getWest(), -180, 180), e = clamp(b.getEast(), -180, 180);
    const s = clamp(b.getSouth(), -90, 90), n = clamp(b.getNorth(), -90, 90);
    if (!(w < e && s < n)) return null;
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  }
  function schedule() {
    clearTimeout(timer);
    mapEl.dataset.loading = "1";  // until the answer is drawn (tests wait on it)
    timer = setTimeout(load, 250);
  }
  async function load() {
    const bbox = viewBox();
    if (!bbox) { mapEl.dataset.loading = "0"; return; }
    const mine = ++seq;  // answers to older requests are dropped, not aborted
    if (map.hasLayer(dataLayer)) setStatus(t("Loading…"));
    let data;
    try {
      const params = new URLSearchParams({bbox: bbox, zoom: String(Math.round(map.getZoom()))});
      const resp = await fetch(cfg.clustersUrl + "?" + params, {
        credentials: "same-origin", headers: {Accept: "application/json"},
      });
      if (!resp.ok) throw new Error(String(resp.status));
      data = await resp.json();
    } catch (err) {
      if (mine === seq) {
        setStatus(t("The map data could not be loaded; move the map to try again."));
        mapEl.dataset.loading = "0";
      }
      return;
    }
    if (mine !== seq) return;
    draw(data);
    mapEl.dataset.loading = "0";
  }
  function draw(data) {
    // An agent's own popup survives redraws: opening it may pan the map, and that
    // move reloads (and redraws) the layer it belongs to.
    const reopen = cfg.agentOnly && dataLayer.getLayers().some(function (l) {
      return l.isPopupOpen && l.isPopupOpen();
    });
    dataLayer.clearLayers();
    const searching = !map.hasLayer(dataLayer);  // a nearby search holds the map and the status
    const features = data.features || [];
    if (data.mode === "clusters") {
      const clusters = mergeClusters(features, data.cell_deg);
      clusters.forEach(function (c) { dataLayer.addLayer(clusterMarker(c)); });
      mapEl.dataset.mode = "clusters";
      if (!searching) setStatus(features.length
        ? interpolate(ngettext("%(clusters)s cluster", "%(clusters)s clusters", clusters.length),
          {clusters: M.number(clusters.length, 0)}, true) + " · " + agentsText(data.count) + " " + t("in view")
        : t("No agents in view"));
      if (asofEl) {
        asofEl.textContent = data.as_of
          ? interpolate(t("Clusters as of %(time)s (refreshed every minute)."), {time: M.dateTime(data.as_of)}, true)
          : "";
      }
    } else {
      features.forEach(function (f) { dataLayer.addLayer(agentMarker(f)); });
      mapEl.dataset.mode = "agents";
      if (!searching) setStatus(features.length ? agentsText(features.length) + " " + t("in view") : t("No agents in view"));
      if (asofEl) asofEl.textContent = t("Individual agents with live figures.");
      if (cfg.agentOnly && (firstDraw || reopen) && features.length === 1) {
        const own = dataLayer.getLayers()[0];
        if (!firstDraw && own.getPopup()) own.getPopup().options.autoPan = false;
        own.openPopup();
      }
    }
    firstDraw = false;
    mapEl.dataset.features = String(dataLayer.getLayers().length);
  }
  if (cfg.center) {
    map.setView([cfg.center.lat, cfg.center.lon], cfg.center.zoom);
  } else {
    map.fitBounds(cfg.bounds, {padding: [16, 16]});
  }
  // The first view loads at once (its request goes out while the outlines are parsed);
  // later moves reload after a pause. Listening only now: setting the view is a move.
  mapEl.dataset.loading = "1";
  load();
  map.on("moveend", schedule);

  // ------------------------------------------------------------------ nearby search
  const form = document.getElementById("nearby-form");
  if (!form) return;
  const results = document.getElementById("nearby-results");
  const errorEl = document.getElementById("nearby-error");
  const latIn = form.elements.lat, lonIn = form.elements.lon;
  const pickIcon = L.divIcon({className: "pick-icon", html: "<span></span>", iconSize: [16, 16], iconAnchor: [8, 20]});
  let pick = null;

  function setPoint(latlng) {
    latIn.value = latlng.lat.toFixed(5);
    lonIn.value = L.Util.wrapNum(latlng.lng, [-180, 180], true).toFixed(5);
    if (pick) pick.setLatLng(latlng);
    else pick = L.marker(latlng, {icon: pickIcon, interactive: false, keyboard: false, zIndexOffset: 1000}).addTo(map);
  }
  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  map.on("click", function (e) {
    setPoint(e.latlng);
    const radius = form.elements.radius_m;
    const html = "<div class=\"muted\">" + esc(latIn.value + ", " + lonIn.value) + "</div>" +
      "<button type=\"button\" class=\"btn\" data-search>" +
      esc(interpolate(t("Search within %(radius)s"), {radius: radius.options[radius.selectedIndex].text}, true)) +
      "</button>";
    const popup = L.popup({offset: [0, -14]}).setLatLng(e.latlng).setContent(html).openOn(map);
    popup.getElement().querySelector("[data-search]").addEventListener("click", function () {
      map.closePopup(popup);
      search();
    });
  });
  document.getElementById("nearby-centre").addEventListener("click", function () {
    setPoint(map.getCenter());
    search();
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    search();
  });

  async function search() {
    const lat = Number(latIn.value), lon = Number(lonIn.value);
    if (latIn.value === "" || lonIn.value === "" || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) {
      showError(t("Pick a point: click the map, or enter a latitude (-90 to 90) and a longitude (-180 to 180)."));
      return;
    }
    showError("");
    setPoint(L.latLng(lat, lon));
    const radius = Number(form.elements.radius_m.value);
    const params = new URLSearchParams({lat: String(lat), lon: String(lon), radius_m: String(radius), limit: "50"});
    if (form.elements.status.value) params.set("status", form.elements.status.value);
    if (form.elements.low_float.checked) params.set("low_float", "true");
    results.innerHTML = "<p class=\"summary\">" + esc(t("Searching…")) + "</p>";
    let data;
    try {
      const resp = await fetch(cfg.nearbyUrl + "?" + params, {credentials: "same-origin", headers: {Accept: "application/json"}});
      data = await resp.json();
      if (!resp.ok) {
        results.innerHTML = "";
        showError(data.detail || t("The search failed."));
        return;
      }
    } catch (err) {
      results.innerHTML = "";
      showError(t("The search failed; try again."));
      return;
    }
    nearbyLayer.clearLayers();
    // While a search is shown its agents replace the clusters (no discs over the dots).
    map.removeLayer(dataLayer);
    const circle = L.circle([lat, lon], {radius: radius, color: "#0b5cad", weight: 1.5, dashArray: "4 4",
      fillColor: "#0b5cad", fillOpacity: 0.05, interactive: false}).addTo(nearbyLayer);
    const features = data.features || [];
    const markers = features.map(function (f) { return agentMarker(f).addTo(nearbyLayer); });
    map.fitBounds(circle.getBounds(), {maxZoom: 16});
    renderResults(features, markers, radius);
  }

  function renderResults(features, markers, radius) {
    const within = distance(radius);
    let summary = features.length
      ? interpolate(t("%(agents)s within %(radius)s, nearest first."), {agents: agentsText(features.length), radius: within}, true)
      : interpolate(t("No agent within %(radius)s."), {radius: within}, true);
    if (features.length >= 50) summary += " " + t("Only the 50 nearest are listed.");
    const list = document.createElement("ol");
    list.className = "nearby-list";
    features.forEach(function (f, i) {
      const p = Object.assign({agent_id: f.id}, f.properties);
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.innerHTML = "<span class=\"id\">" + esc(p.agent_id) + "</span>" +
        "<span class=\"dist\">" + esc(distance(p.distance_m)) + "</span>" +
        "<span class=\"meta\">" + esc(place(p)) + " · " + esc(M.money(p.float_balance, p.currency)) +
        (p.low_float ? " <span class=\"badge badge-bad\">" + esc(t("Low float")) + "</span>" : "") +
        (p.status === "frozen" ? " " + statusBadge(p.status) : "") + "</span>";
      button.addEventListener("click", function () {
        const ll = markers[i].getLatLng();
        const box = mapEl.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) {
          mapEl.scrollIntoView({block: "center"});  // phones: the list is under the map
        }
        map.setView(ll, Math.max(map.getZoom(), 16));
        markers[i].openPopup();
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    results.innerHTML = "<p class=\"summary\">" + esc(summary) + "</p>";
    setStatus(summary);
    const clear = document.createElement("button");
    clear.type = "button";
    clear.className = "btn btn-secondary clear-search";
    clear.textContent = t("Clear search");
    clear.addEventListener("click", clearSearch);
    results.appendChild(list);
    results.appendChild(clear);
  }

  function clearSearch() {
    nearbyLayer.clearLayers();
    if (pick) { map.removeLayer(pick); pick = null; }
    results.innerHTML = "";
    latIn.value = "";
    lonIn.value = "";
    showError("");
    if (!map.hasLayer(dataLayer)) dataLayer.addTo(map);
    schedule();
  }
})();
