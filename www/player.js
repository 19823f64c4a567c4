// The karaoke player's audio thread: an AudioWorklet that mixes the original and the two
// separated stems at the mixer's gains as they play. It plays only what is separated: at the
// edge of the separated part it waits, silent, and goes on when the next block arrives (the
// original alone never waits). Written in JavaScript because it runs on the browser's audio
// thread, where the wasm module is not loaded; it only copies and scales samples (the gains come
// from the page, by the core's mixer rule).
//
// Messages from the page (web/src/player.rs): {type: "song", channels} (the original, planar),
// {type: "clear"} (forget the stems), {type: "block", start, vocals, accompaniment},
// {type: "play", frame}, {type: "pause"}, {type: "seek", frame}, {type: "gains", gains:
// [original, vocals, accompaniment]}; each also carries `id`, a number that grows with every
// message. To the page: {type: "state", acked (the last message's id), frame, playing, waiting,
// level (null when nothing played)} about every 50 ms, {type: "sounding", frame} at the first audible sample after "play",
// {type: "ended"}.

const QUANTUM = 128;
const REPORT_FRAMES = 2048;
// Below this a sample is silence (-80 dBFS).
const AUDIBLE = 1e-4;

class SvsPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.original = [];
    this.frames = 0;
    this.clearStems();
    this.position = 0;
    this.playing = false;
    this.waiting = false;
    this.sounded = true;
    this.gains = [0, 1, 1];
    this.applied = [0, 1, 1];
    this.sinceReport = 0;
    this.energy = 0;
    this.counted = 0;
    this.acked = 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  receive(m) {
    // Reports carry the last message's number, so the page can ignore reports that were
    // already on their way when it sent a newer play, pause or seek.
    this.acked = m.id;
    switch (m.type) {
      case "song":
        this.original = m.channels;
        this.frames = m.channels[0].length;
        this.position = 0;
        this.playing = false;
        this.clearStems();
        break;
      case "clear":
        this.clearStems();
        break;
      case "block":
        this.addBlock(m.start, m.vocals, m.accompaniment);
        break;
      case "play":
        this.position = this.clamp(m.frame);
        this.playing = true;
        this.sounded = false;
        break;
      case "pause":
        this.playing = false;
        this.waiting = false;
        break;
      case "seek":
        this.position = this.clamp(m.frame);
        break;
      case "gains":
        this.gains = m.gains;
        break;
    }
    this.report();
  }

  clamp(frame) {
    return Math.max(0, Math.min(this.frames, Math.floor(frame)));
  }

  clearStems() {
    const channels = Math.max(1, this.original.length);
    this.vocals = Array.from({ length: channels }, () => new Float32Array(this.frames));
    this.accompaniment = Array.from({ length: channels }, () => new Float32Array(this.frames));
    // Separated frames per 128-frame quantum (blocks never overlap: the worker separates each
    // frame once, in stretches that start on a quantum: web/src/coverage.rs).
    this.filled = new Uint8Array(Math.ceil(this.frames / QUANTUM));
  }

  addBlock(start, vocals, accompaniment) {
    const end = Math.min(this.frames, start + vocals[0].length);
    for (let c = 0; c < this.vocals.length; c++) {
      this.vocals[c].set(vocals[c].subarray(0, end - start), start);
      this.accompaniment[c].set(accompaniment[c].subarray(0, end - start), start);
    }
    for (let q = Math.floor(start / QUANTUM); q * QUANTUM < end; q++) {
      this.filled[q] += Math.min(end, (q + 1) * QUANTUM) - Math.max(start, q * QUANTUM);
    }
  }

  separated(from, to) {
    for (let q = Math.floor(from / QUANTUM); q * QUANTUM < to; q++) {
      if (this.filled[q] < Math.min(QUANTUM, this.frames - q * QUANTUM)) return false;
    }
    return true;
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    for (const channel of out) channel.fill(0);
    if (this.playing) this.render(out);
    this.sinceReport += out[0].length;
    if (this.sinceReport >= REPORT_FRAMES) this.report();
    return true;
  }

  render(out) {
    const n = Math.min(out[0].length, this.frames - this.position);
    if (n <= 0) {
      this.playing = false;
      this.port.postMessage({ type: "ended" });
      return;
    }
    const [g0, g1, g2] = this.gains;
    const [a0, a1, a2] = this.applied;
    const needsStems = g1 > 0 || g2 > 0 || a1 > 0 || a2 > 0;
    if (needsStems && !this.separated(this.position, this.position + n)) {
      this.waiting = true;
      return;
    }
    this.waiting = false;
    const at = this.position;
    let peak = 0;
    for (let c = 0; c < out.length; c++) {
      const source = Math.min(c, this.original.length - 1);
      const [o, v, a] = [this.original[source], this.vocals[source], this.accompaniment[source]];
      const dst = out[c];
      for (let i = 0; i < n; i++) {
        // A linear ramp from the last gains to the new ones over the quantum: no zipper clicks.
        const t = (i + 1) / n;
        const x =
          (a0 + t * (g0 - a0)) * o[at + i] + (a1 + t * (g1 - a1)) * v[at + i] + (a2 + t * (g2 - a2)) * a[at + i];
        dst[i] = x;
        this.energy += x * x;
        peak = Math.max(peak, Math.abs(x));
      }
      this.counted += n;
    }
    this.applied = [g0, g1, g2];
    this.position += n;
    if (!this.sounded && peak > AUDIBLE) {
      this.sounded = true;
      this.port.postMessage({ type: "sounding", frame: at });
    }
  }

  report() {
    const level = this.counted > 0 ? Math.sqrt(this.energy / this.counted) : null;
    this.port.postMessage({
      type: "state",
      acked: this.acked,
      frame: this.position,
      playing: this.playing,
      waiting: this.playing && this.waiting,
      level,
    });
    this.sinceReport = 0;
    this.energy = 0;
    this.counted = 0;
  }
}

registerProcessor("svs-player", SvsPlayer);
