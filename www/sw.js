// The service worker: the page, its module, its worker and player scripts, the manifest and the
// icon are cached on the first visit, so the app loads and separates with no network after it
// (songs and model files never touch the network anyway). `cargo xtask web build` fills in the
// version (a hash of the site's files) and the file list; a new build is a new version, whose
// install caches the new files and whose activation deletes every older cache.
const VERSION = "__SVS_VERSION__";
const FILES = ["__SVS_FILES__"];
const CACHE = `svs-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES.map((file) => new Request(file, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("svs-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Cache first (the files of one version never change), the network for anything else.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then((cache) => cache.match(request, { ignoreSearch: true })).then((hit) => hit || fetch(request)),
  );
});
