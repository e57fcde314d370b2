/* rtbook's pages work without this file; it only adds: the service worker (the
   last-seen ward book stays readable offline), the offline banner, and wiping the
   phone's saved pages at logout and on the login page. */
(function () {
  "use strict";
  var PAGES = "rtbook-pages";
  var banner = document.getElementById("offline-banner");
  var cachedCopy = document.documentElement.hasAttribute("data-offline-copy");
  var loggedIn = document.body.hasAttribute("hx-headers");

  function wipe() {
    if (window.caches) { return caches.delete(PAGES); }
    return Promise.resolve();
  }
  function showBanner(on) {
    if (banner) { banner.hidden = !(on || cachedCopy); }
  }
  if ("serviceWorker" in navigator) {
    if (loggedIn) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    } else {
      wipe();  /* a login page: whoever comes next must not read the last user's pages */
    }
  }
  window.addEventListener("offline", function () { showBanner(true); });
  window.addEventListener("online", function () { showBanner(false); });
  showBanner(!navigator.onLine);
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.getAttribute("action") === "/logout") { wipe(); }
  });
})();
