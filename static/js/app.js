/* Shared behaviour of every page: navigation toggle, auto-submitting selects, and the
   formatting helpers pages use (amounts per currency, localized numbers and dates). */
(function () {
  "use strict";
  const lang = document.documentElement.lang || "en";
  // Currencies whose minor unit is not used in practice (XOF, XAF, GNF have none).
  const NO_DECIMALS = new Set(["XOF", "XAF", "GNF", "JPY", "KRW", "RWF", "UGX", "BIF", "DJF", "KMF"]);

  function money(value, currency) {
    if (value === null || value === undefined || value === "") return "—";
    const n = Number(value);
    const digits = NO_DECIMALS.has(currency) ? 0 : 2;
    try {
      return new Intl.NumberFormat(lang, {
        style: "currency", currency: currency || "XOF", currencyDisplay: "code",
        minimumFractionDigits: digits, maximumFractionDigits: digits,
      }).format(n);
    } catch (e) {
      return number(n, digits) + " " + (currency || "");
    }
  }
  function number(value, digits) {
    if (value === null || value === undefined || value === "") return "—";
    return new Intl.NumberFormat(lang, {maximumFractionDigits: digits === undefined ? 2 : digits})
      .format(Number(value));
  }
  function compact(value) {
    return new Intl.NumberFormat(lang, {notation: "compact", maximumFractionDigits: 1})
      .format(Number(value));
  }
  function percent(value, digits) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(lang, {style: "percent", maximumFractionDigits: digits === undefined ? 1 : digits})
      .format(Number(value));
  }
  function dateTime(iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(lang, {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"})
      .format(new Date(iso)) + " UTC";
  }
  function t(text) {
    return typeof window.gettext === "function" ? window.gettext(text) : text;
  }
  window.Molam = {lang, money, number, compact, percent, dateTime, t, NO_DECIMALS};

  document.addEventListener("DOMContentLoaded", function () {
    const toggle = document.querySelector("[data-nav-toggle]");
    if (toggle) {
      toggle.addEventListener("click", function () {
        const open = document.body.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  });
})();
