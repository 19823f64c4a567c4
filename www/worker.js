// The separation worker: the same wasm module as the page, entered through `start_worker`,
// which answers `separate` messages (see web/src/protocol.rs). Runs off the main thread so the
// page never freezes.
import init, { start_worker } from "./pkg/svs_web.js";

await init();
start_worker();
