/* Chart helpers of the overview and metrics pages. The ECharts "simple" build they load has
   no tooltip or axis-pointer component: attachTip() adds a small hover tooltip that
   highlights the nearest bucket, and timeLabel()/timeTitle() write bucket times (UTC). */
(function () {
  "use strict";
  const M = window.Molam;

  function timeLabel(iso, granularity) {
    const d = new Date(iso);
    if (granularity === "day" || (d.getUTCHours() === 0 && granularity !== "hour-only")) {
      return new Intl.DateTimeFormat(M.lang, {day: "numeric", month: "short", timeZone: "UTC"}).format(d);
    }
    return new Intl.DateTimeFormat(M.lang, {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC"}).format(d);
  }

  function timeTitle(iso, granularity) {
    const d = new Date(iso);
    if (granularity === "day") {
      return new Intl.DateTimeFormat(M.lang, {dateStyle: "medium", timeZone: "UTC"}).format(d);
    }
    const end = new Date(d.getTime() + 3600 * 1000);
    const day = new Intl.DateTimeFormat(M.lang, {day: "numeric", month: "short", timeZone: "UTC"}).format(d);
    const hour = new Intl.DateTimeFormat(M.lang, {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC"});
    return day + ", " + hour.format(d) + "–" + hour.format(end) + " UTC";
  }

  // A tooltip for `chart` (drawn in element `el`): describe(index) -> [title, value] or null.
  function attachTip(chart, el, describe) {
    const host = el.parentNode;
    const tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.hidden = true;
    const title = document.createElement("div");
    title.className = "chart-tip-title";
    const value = document.createElement("div");
    value.className = "chart-tip-value";
    tip.append(title, value);
    host.appendChild(tip);
    let last = -1;

    function hide() {
      tip.hidden = true;
      if (last >= 0) chart.dispatchAction({type: "downplay", seriesIndex: 0, dataIndex: last});
      last = -1;
    }
    const zr = chart.getZr();
    zr.on("mousemove", function (e) {
      const point = [e.offsetX, e.offsetY];
      if (!chart.containPixel({gridIndex: 0}, point)) { hide(); return; }
      const index = Math.round(chart.convertFromPixel({xAxisIndex: 0}, e.offsetX));
      const text = describe(index);
      if (!text) { hide(); return; }
      if (index !== last) {
        if (last >= 0) chart.dispatchAction({type: "downplay", seriesIndex: 0, dataIndex: last});
        chart.dispatchAction({type: "highlight", seriesIndex: 0, dataIndex: index});
        last = index;
      }
      title.textContent = text[0];
      value.textContent = text[1];
      tip.hidden = false;
      const x = el.offsetLeft + e.offsetX;
      const y = el.offsetTop + e.offsetY;
      const flip = e.offsetX > el.clientWidth / 2;
      tip.style.left = (flip ? x - tip.offsetWidth - 12 : x + 12) + "px";
      tip.style.top = Math.max(0, y - tip.offsetHeight - 8) + "px";
    });
    zr.on("globalout", hide);
  }

  window.MolamCharts = {attachTip, timeLabel, timeTitle, BRAND: "#0b5cad"};
})();
