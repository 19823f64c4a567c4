// Starts the app: loads the wasm module built from the `web` crate and mounts the page.
// Any failure to start is shown on the page in words, never only in the console.
import init, { start_app } from "./pkg/svs_web.js";

const boot = document.getElementById("boot");
try {
  await init();
  boot.remove();
  start_app();
  // The moment the page can take a song: the tests and docs/BENCHMARKS.md read this mark.
  const ready = performance.mark("svs-ready");
  console.info(`svs: page ready: ${ready.startTime.toFixed(0)} ms after navigation`);
  // Offline use and installing the app (sw.js); the page works without it.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("./sw.js").catch((e) => console.warn("svs: no offline use:", e));
  }
} catch (error) {
  console.error(error);
  boot.innerHTML = "";
  const message = document.createElement("p");
  message.className = "banner error";
  message.id = "error";
  message.textContent =
    "This browser could not start the separator (" + (error && error.message ? error.message : error) +
    "). It needs WebAssembly with SIMD and module workers: a current Chrome, Edge, Firefox or Safari.";
  boot.appendChild(message);
}
