/* Transactions page (dashboard/transactions/web.py): htmx loads the next rows when the
   sentinel row scrolls into view and an event's detail into the side panel; this marks the
   chosen row and moves focus to the detail for keyboard and screen-reader users. */
(function () {
  "use strict";
  const rows = document.getElementById("tx-rows");
  const detail = document.getElementById("tx-detail");
  if (!rows || !detail) return;
  rows.addEventListener("click", function (event) {
    const link = event.target.closest("a[hx-get]");
    if (!link) return;
    rows.querySelectorAll("tr[aria-current]").forEach(function (tr) { tr.removeAttribute("aria-current"); });
    const tr = link.closest("tr");
    if (tr) tr.setAttribute("aria-current", "true");
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === detail) {
      detail.setAttribute("tabindex", "-1");
      detail.focus({preventScroll: window.innerWidth > 900});
    }
  });
})();
