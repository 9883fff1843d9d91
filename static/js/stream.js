/* Transactions page: the newest events of the scope, pushed by server-sent events
   (dashboard/web/stream.py). New rows go on top; Pause buffers what arrives until Resume;
   type and source filters apply in the browser; the rows on screen are capped. */
(function () {
  "use strict";
  const M = window.Molam;
  const t = M.t;

  const TYPE_LABELS = {
    "payment.initiated": t("Payment initiated"),
    "payment.succeeded": t("Payment succeeded"),
    "payment.failed": t("Payment failed"),
    "refund.succeeded": t("Refund"),
    "dispute.opened": t("Dispute opened"),
    "payout.completed": t("Payout completed"),
    "payout.failed": t("Payout failed"),
    "fraud.flagged": t("Fraud flagged"),
    "transfer.completed": t("Transfer"),
    "cash_in.completed": t("Cash-in"),
    "cash_out.completed": t("Cash-out"),
    "agent.float_updated": t("Float update"),
  };
  const STATUS = {
    succeeded: [t("Succeeded"), "badge-ok"],
    failed: [t("Failed"), "badge-bad"],
    pending: [t("Pending"), "badge-info"],
    flagged: [t("Flagged"), "badge-warn"],
    updated: [t("Updated"), ""],
  };
  const SOURCES = {wallet: t("Wallet"), connect: t("Connect")};
  const STATE_TEXT = {
    connecting: t("Connecting…"),
    live: t("Live"),
    reconnecting: t("Reconnecting…"),
    paused: t("Paused"),
  };

  const root = document.getElementById("stream");
  if (!root) return;
  const rows = root.querySelector("[data-rows]");
  const cap = Number(root.dataset.cap) || 200;
  const typeSelect = root.querySelector("[data-filter-type]");
  const sourceGroup = root.querySelector("[data-filter-source]");
  const pauseButton = root.querySelector("[data-pause]");
  const pauseLabel = root.querySelector("[data-pause-label]");
  const pauseIcon = root.querySelector("[data-pause-icon]");
  const buffered = root.querySelector("[data-buffered]");
  const received = root.querySelector("[data-count-received]");
  const shown = root.querySelector("[data-count-shown]");
  const empty = root.querySelector("[data-empty]");
  const emptyFiltered = root.querySelector("[data-empty-filtered]");
  const state = document.querySelector("[data-stream-state]");
  const stateText = document.querySelector("[data-stream-state-text]");

  const timeFmt = new Intl.DateTimeFormat(M.lang, {hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: "UTC"});
  const dayFmt = new Intl.DateTimeFormat(M.lang, {day: "numeric", month: "short", timeZone: "UTC"});
  const fullFmt = new Intl.DateTimeFormat(M.lang, {dateStyle: "full", timeStyle: "medium", timeZone: "UTC"});
  let regionNames = null;
  try { regionNames = new Intl.DisplayNames([M.lang], {type: "region"}); } catch (e) { regionNames = null; }

  let paused = false;
  let buffer = [];
  let receivedBeforePause = 0;
  let total = 0;
  let lastId = "";
  let filterType = "";
  let filterSource = "";
  let source = null;
  let reconnectTimer = null;
  let staleTimer = null;

  // Entry ids are "<ms>-<seq>", increasing within a scope's feed: anything not newer
  // than the last one shown is a repeat (a reconnect that started over) and is dropped.
  function newer(id, than) {
    if (!than) return true;
    const [a, b] = id.split("-").map(Number);
    const [c, d] = than.split("-").map(Number);
    return a > c || (a === c && b > d);
  }

  // The connection's state; the indicator says "paused" instead of "live" while paused.
  let connection = "connecting";
  function setState(name) {
    connection = name;
    if (!state) return;
    const shownState = paused && name === "live" ? "paused" : name;
    state.dataset.streamState = shownState;
    stateText.textContent = STATE_TEXT[shownState];
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function place(e) {
    let country = e.country && e.country !== "ZZ" ? e.country : "";
    if (country && regionNames) {
      try { country = regionNames.of(country) || country; } catch (err) { /* keep the code */ }
    }
    return [e.city, country].filter(Boolean).join(", ");
  }

  function party(e) {
    const parts = [];
    if (e.merchant) parts.push([t("Merchant"), e.merchant]);
    if (e.agent) parts.push([t("Agent"), e.agent]);
    if (!parts.length && e.bank) parts.push([t("Bank"), e.bank]);
    return parts;
  }

  function row(entry) {
    const e = entry.data;
    const tr = el("tr");
    tr.dataset.event = e.id;
    tr.dataset.type = e.type;
    tr.dataset.source = e.source;
    const when = new Date(e.occurred_at);

    const tdTime = el("td", "c-time col-time");
    const time = el("time", "", timeFmt.format(when));
    time.dateTime = e.occurred_at;
    time.title = fullFmt.format(when) + " UTC";
    tdTime.append(time);
    if (when.toISOString().slice(0, 10) !== new Date().toISOString().slice(0, 10)) {
      tdTime.append(el("span", "sub", dayFmt.format(when)));
    }

    const tdEvent = el("td", "c-event");
    const family = e.type.split(".")[0].replace("_", "-");
    tdEvent.append(el("span", "type-badge tb-" + family, TYPE_LABELS[e.type] || e.type));
    const detail = el("span", "sub");
    // On phones the time, merchant/agent and place columns are hidden: shown here instead.
    detail.append(el("span", "only-phone", timeFmt.format(when) + " · "));
    detail.append(el("span", "src", SOURCES[e.source] || e.source));
    const compact = party(e).map((p) => p[1]).concat([place(e)]).filter(Boolean).join(" · ");
    if (compact) detail.append(el("span", "only-phone", " · " + compact));
    tdEvent.append(detail);

    const tdAmount = el("td", "num c-amount");
    if (e.amount !== null && e.amount !== undefined) {
      tdAmount.append(el("span", "amount", M.money(e.amount, e.currency)));
      if (e.fee && Number(e.fee) > 0) {
        tdAmount.append(el("span", "sub", t("fee") + " " + M.money(e.fee, e.currency)));
      }
    } else if (e.balance !== null && e.balance !== undefined) {
      tdAmount.append(el("span", "amount", M.money(e.balance, e.currency)));
      tdAmount.append(el("span", "sub", t("float balance")));
    } else {
      tdAmount.append(el("span", "muted", "—"));
    }

    const status = STATUS[e.status] || [e.status, ""];
    // (On phones the status column is hidden: the badge goes under the amount.)
    const phoneStatus = el("span", "phone-status only-phone");
    phoneStatus.append(el("span", "badge " + status[1], status[0]));
    tdAmount.append(phoneStatus);

    const tdParty = el("td", "col-party");
    const parties = party(e);
    if (!parties.length) tdParty.append(el("span", "muted", "—"));
    parties.forEach(function (p) {
      const line = el("span", "party");
      line.append(el("span", "party-kind", p[0]), el("span", "mono", p[1]));
      tdParty.append(line);
    });

    const tdWhere = el("td", "col-where", place(e) || "—");

    const tdStatus = el("td", "c-status col-status");
    tdStatus.append(el("span", "badge " + status[1], status[0]));

    tr.append(tdTime, tdEvent, tdAmount, tdParty, tdWhere, tdStatus);
    return tr;
  }

  function matches(tr) {
    return (!filterType || tr.dataset.type === filterType) &&
      (!filterSource || tr.dataset.source === filterSource);
  }

  function refreshCounts() {
    let visible = 0;
    for (const tr of rows.children) {
      tr.hidden = !matches(tr);
      if (!tr.hidden) visible += 1;
    }
    received.textContent = M.number(total, 0);
    shown.textContent = M.number(visible, 0);
    empty.hidden = rows.children.length > 0;
    emptyFiltered.hidden = !(rows.children.length > 0 && visible === 0);
  }

  // Entries arrive oldest first: each goes on top, so the newest ends up first.
  function insert(entries, highlight) {
    const fragment = document.createDocumentFragment();
    for (const entry of entries) {
      const tr = row(entry);
      if (highlight) tr.classList.add("is-new");
      fragment.prepend(tr);
    }
    rows.prepend(fragment);
    while (rows.children.length > cap) rows.lastElementChild.remove();
    refreshCounts();
  }

  // Messages of one burst (the first chunk, or several entries at once) are drawn
  // together on the next frame instead of one layout per entry.
  let pending = [];
  let scheduled = false;
  let initial = true;
  function flushPending() {
    scheduled = false;
    const batch = pending;
    pending = [];
    insert(batch, !initial);
    initial = false;
  }

  function onMessage(msg) {
    const id = msg.lastEventId;
    if (id && !newer(id, lastId)) return;
    let data;
    try { data = JSON.parse(msg.data); } catch (err) { return; }
    if (id) lastId = id;
    total += 1;
    const entry = {id: id, data: data};
    if (paused) {
      buffer.push(entry);
      if (buffer.length > cap) buffer = buffer.slice(-cap);
      buffered.hidden = false;
      buffered.textContent = M.number(total - receivedBeforePause, 0) + " " + t("new");
      received.textContent = M.number(total, 0);
      return;
    }
    pending.push(entry);
    // (A hidden tab draws no frames: keep no more than the table can show.)
    if (pending.length > cap) pending.splice(0, pending.length - cap);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flushPending);
    }
  }

  function setPaused(value) {
    paused = value;
    pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
    pauseButton.classList.toggle("btn-secondary", paused);
    pauseLabel.textContent = paused ? t("Resume") : t("Pause");
    pauseIcon.textContent = paused ? "▶" : "❚❚";
    if (paused) {
      receivedBeforePause = total;
    } else {
      buffered.hidden = true;
      buffered.textContent = "";
      if (buffer.length) insert(buffer, true);
      buffer = [];
    }
    setState(connection);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    // A new EventSource sends no Last-Event-ID header: the last id goes in the query.
    const url = root.dataset.url + (lastId ? "&last_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    source.onopen = function () {
      clearTimeout(staleTimer);
      setState("live");
    };
    source.onmessage = onMessage;
    // The server could not read the feed (Redis down): it closes, the browser retries.
    source.addEventListener("unavailable", function () { setState("reconnecting"); });
    source.onerror = function () {
      // The server ends each connection after a while and the browser reconnects at
      // once (resuming from the last id): say "reconnecting" only if that takes long.
      clearTimeout(staleTimer);
      staleTimer = setTimeout(function () { setState("reconnecting"); }, 4000);
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out, Redis down...): the browser gives up; try again later.
        setState("reconnecting");
        reconnectTimer = setTimeout(connect, 5000);
      }
    };
  }

  // Type options: translated labels for the server's values.
  for (const option of typeSelect.options) {
    if (option.value && TYPE_LABELS[option.value]) option.textContent = TYPE_LABELS[option.value];
  }
  typeSelect.addEventListener("change", function () {
    filterType = typeSelect.value;
    refreshCounts();
  });
  sourceGroup.addEventListener("click", function (ev) {
    const button = ev.target.closest("button[data-source]");
    if (!button) return;
    filterSource = button.dataset.source;
    for (const b of sourceGroup.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    }
    refreshCounts();
  });
  pauseButton.addEventListener("click", function () { setPaused(!paused); });
  window.addEventListener("pagehide", function () { if (source) source.close(); });

  refreshCounts();
  connect();
})();
