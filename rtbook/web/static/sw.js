/* rtbook's service worker. Files under /static/ come from a cache (refreshed with
   each release); the RT pages (/rt/...) come from the network, and a copy of the
   last one seen is kept, so the ward book stays readable without a connection,
   with a banner saying it is a saved copy. Nothing else is kept. */
"use strict";
var VERSION = "__ASSETS_VERSION__";
var SHELL = "rtbook-shell-" + VERSION;
var PAGES = "rtbook-pages";
var SHELL_FILES = ["/static/rtbook.css", "/static/htmx.min.js", "/static/app.js", "/static/icon.svg"];
var KEPT = /^\/rt\/[^/]+(\/kabar|\/warga\/[^/]+)?\/?$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf("rtbook-shell-") === 0 && key !== SHELL;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function offlineCopy(response) {
  return response.text().then(function (html) {
    html = html.replace("<html ", "<html data-offline-copy ")
      .replace('id="offline-banner" class="offline" role="status" hidden', 'id="offline-banner" class="offline" role="status"');
    return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  });
}

function offlinePage() {
  var html = '<!doctype html><html lang="id"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<link rel="stylesheet" href="/static/rtbook.css"><title>Luring &middot; rtbook</title></head>' +
    '<body><main><h1>Anda sedang luring</h1><p>Halaman ini belum pernah dibuka di ponsel ini. ' +
    'Buku induk RT yang terakhir dibuka tetap bisa dibaca.</p><p><em>You are offline; this page ' +
    'was never opened on this phone. The last ward book you opened can still be read.</em></p>' +
    '</main></body></html>';
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (request.mode !== "navigate") { return; }
  var keep = KEPT.test(url.pathname);
  event.respondWith(fetch(request).then(function (response) {
    if (keep && response.ok && !response.redirected &&
        (response.headers.get("Content-Type") || "").indexOf("text/html") === 0) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(request.url, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request.url).then(function (hit) {
        return hit || cache.match(url.origin + url.pathname, { ignoreSearch: true });
      });
    }).then(function (hit) { return hit ? offlineCopy(hit) : offlinePage(); });
  }));
});
