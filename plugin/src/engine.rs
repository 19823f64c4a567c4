//! The realtime engine: the audio thread's side ([`Engine`]) and the inference worker thread,
//! connected by two lock-free single-producer/single-consumer rings (`rtrb`).
//!
//! ```text
//! audio thread ──InFrame{pos, x}──▶ worker: SeparationStream (resample to 16 kHz, model, masks
//!      ▲                                    applied to the full-rate channels, cross-fades)
//!      └──────VocalFrame{pos, v}─── worker
//! ```
//!
//! Every frame carries its position on the stream. That makes every failure mode a matter of
//! comparing positions, with no shared locks: the audio thread takes the vocals of exactly the
//! position it needs, drops older ones, and passes the dry signal when they have not arrived
//! (late worker); the worker restarts its stream whenever the input positions jump (a full input
//! ring dropped frames, or `reset()`), or when it has fallen so far behind that its output would
//! be stale anyway.
//!
//! The worker separates with one of the core's two separators ([`Separation`]):
//!
//! - Quality: the windowed stream emits a window's first `window - overlap` samples once the
//!   whole window has arrived, so a sample waits at most `window` samples for its vocals; on top
//!   of that the worker gets `margin` samples to run the model. The plugin reports
//!   `window + margin`.
//! - Live: the streaming separator's own latency (its STFT frame and resampler) plus one model
//!   hop (16 ms) for the worker to run a model frame. On the audio thread itself a frame's whole
//!   work fell into the one host block that completed it, so buffers under about 256 samples
//!   overran; on the worker it has a model hop of time whatever the host's buffer size.

use crate::dsp::DelayLine;
use crate::status::PluginStatus;
use nice_plug::prelude::{nice_error, nice_warn};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use svs_core::separator::SeparationStream;
use svs_core::{LiveSeparator, SeparationError, Separator};

/// The separator's window for the plugin. The core accepts 1 s at least; 1 s keeps the latency
/// low (it is most of it) while giving the model a useful context (the default model was
/// trained on 2 s excerpts; what 1 s costs against longer windows is in docs/BENCHMARKS.md).
pub const CHUNK_SECONDS: f32 = 1.0;
/// Overlap of consecutive windows (cross-faded by the core so window edges do not click).
pub const OVERLAP: f32 = 0.25;
/// Input before each window that the model also sees (the core drops its mask): the window's
/// start then has context at no cost in latency, for 2.5x the model work (what it gains in SDR
/// is measured in docs/BENCHMARKS.md).
pub const CONTEXT_SECONDS: f32 = 1.5;
/// Time the worker gets to separate a window before its output is due (realtime mode). The
/// worker must in any case keep up with one window per hop (0.75 s of audio).
pub const MARGIN_SECONDS: f32 = 0.5;
/// Context before each window in offline renders, for better stems at the same latency: the
/// model sees 4 s for each 1 s window (realtime: 2.5 s). What each context length gives is in
/// docs/BENCHMARKS.md ("Plugin"); longer ones gained no more there.
pub const OFFLINE_CONTEXT_SECONDS: f32 = 3.0;
/// How long the audio thread waits for the worker in offline mode before giving up on a sample
/// (a dead or hopelessly slow worker must not hang a bounce forever).
const OFFLINE_TIMEOUT: Duration = Duration::from_secs(60);
/// A host this far ahead of the wall clock is not playing in real time (an offline render the
/// host reported as realtime, e.g. through nice-plug 0.4.2's VST3 wrapper, which hands
/// `activate()` the previous render mode; a freewheeling JACK): the engine then waits for the
/// worker as in offline mode. No realtime host can run a second ahead of the clock, and at more
/// than 3x real time this triggers before the first vocals are due (after the 1.5 s latency), so
/// such renders stay exact.
const FREEWHEEL_LEAD: Duration = Duration::from_secs(1);
/// The audio the worker's load is measured over: longer than a Quality hop (0.75 s), so every
/// reading holds at least one window's work.
const LOAD_PERIOD_SECONDS: f64 = 1.0;
/// How long the worker sleeps when it has nothing to do.
const IDLE_SLEEP: Duration = Duration::from_micros(500);
/// The live worker's time for a model frame, beyond the live separator's latency: one model hop
/// (256 samples at 16 kHz). The embedded model's frame takes up to about 6 ms on this CPU.
pub const LIVE_MARGIN_SECONDS: f64 = 0.016;

/// What the worker separates with.
pub enum Separation {
    /// Quality: the core's windowed stream ([`separator_config`]).
    Windowed(Separator),
    /// Live: the core's streaming separator, one model frame at a time.
    Live(LiveSeparator),
}

impl Separation {
    /// The latency the engine reports with this separation at `rate`, in samples.
    pub fn latency(&self, rate: u32) -> usize {
        match self {
            Separation::Windowed(_) => latency_samples(rate),
            Separation::Live(live) => live_latency_samples(live.latency(), rate),
        }
    }

    /// How far behind (in samples) the worker may fall before its output is stale.
    fn hop(&self, rate: u32) -> usize {
        match self {
            Separation::Windowed(_) => separator_config().hop_samples(rate),
            Separation::Live(_) => live_margin_samples(rate),
        }
    }
}

fn live_margin_samples(rate: u32) -> usize {
    (LIVE_MARGIN_SECONDS * rate as f64).round() as usize
}

/// The latency the plugin reports in Live mode at `rate`, for a live separator whose own latency
/// is `separator_latency` samples.
pub fn live_latency_samples(separator_latency: usize, rate: u32) -> usize {
    separator_latency + live_margin_samples(rate)
}

/// Window length in samples at `rate`, as the core's stream cuts it.
pub fn window_samples(rate: u32) -> usize {
    separator_config().window_samples(rate)
}

/// The latency the plugin reports at `rate`, in samples.
pub fn latency_samples(rate: u32) -> usize {
    window_samples(rate) + (MARGIN_SECONDS as f64 * rate as f64).round() as usize
}

/// The separator settings the plugin uses in realtime.
pub fn separator_config() -> svs_core::SeparatorConfig {
    svs_core::SeparatorConfig {
        chunk_seconds: CHUNK_SECONDS,
        overlap: OVERLAP,
        context_seconds: CONTEXT_SECONDS,
        ..Default::default()
    }
}

/// The settings for `offline` renders (bounce, freeze), which have no deadline: the same windows
/// (so the same latency), with [`OFFLINE_CONTEXT_SECONDS`] of context before each.
pub fn separator_config_for(offline: bool) -> svs_core::SeparatorConfig {
    let realtime = separator_config();
    if offline { svs_core::SeparatorConfig { context_seconds: OFFLINE_CONTEXT_SECONDS, ..realtime } } else { realtime }
}

#[derive(Clone, Copy, Debug)]
struct InFrame {
    pos: u64,
    x: [f32; 2],
}

#[derive(Clone, Copy, Debug)]
struct VocalFrame {
    pos: u64,
    v: [f32; 2],
}

/// State shared between the audio thread and the worker: atomics only.
#[derive(Debug, Default)]
pub struct Shared {
    shutdown: AtomicBool,
    /// The worker is running and able to separate (model loaded, no fatal error).
    alive: AtomicBool,
    /// The stream position whose vocals the audio thread needs now.
    needed: AtomicU64,
    /// Samples output dry because their vocals were late (realtime) or never came.
    late: AtomicU64,
    /// Input frames dropped because the input ring was full.
    dropped: AtomicU64,
    /// The host runs far ahead of real time (see `FREEWHEEL_LEAD`): wait, never skip.
    freewheel: AtomicBool,
}

impl Shared {
    pub fn late_samples(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }
    pub fn dropped_samples(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    pub fn freewheeling(&self) -> bool {
        self.freewheel.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub sample_rate: u32,
    /// Input channels: 1 (mono, separated as mono and sent to both outputs) or 2.
    pub channels: usize,
    /// Offline render: the audio thread waits for the worker, so bounces are exact and
    /// deterministic.
    pub offline: bool,
}

/// What [`Engine::tick`] returns for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// The input, delayed by the latency.
    pub dry: [f32; 2],
    /// The vocals of the same instant; `None` when the worker was late (pass the dry signal).
    pub vocals: Option<[f32; 2]>,
}

/// The audio thread's side. Created (allocating) in `activate()`; [`Engine::tick`] and
/// [`Engine::reset`] never allocate, lock or block (except in offline mode, where waiting for the
/// worker is the point).
pub struct Engine {
    config: EngineConfig,
    latency: usize,
    input: rtrb::Producer<InFrame>,
    output: rtrb::Consumer<VocalFrame>,
    shared: Arc<Shared>,
    delay: DelayLine,
    /// Position of the next input frame.
    pos: u64,
    /// Position where the current stream started (after the last reset).
    start: u64,
    /// Wall-clock time of the first block and the frames processed since (freewheel detection).
    clock: Option<(Instant, u64)>,
    /// Waiting for the worker is allowed (offline mode, or a freewheeling host).
    may_wait: bool,
    worker: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts a worker that separates with `separation` (or, with `None`, passes everything dry
    /// at the Quality latency: no model could be loaded). The worker records its load in
    /// `status`.
    pub fn new(config: EngineConfig, separation: Option<Separation>, status: Arc<PluginStatus>) -> Self {
        assert!(config.channels == 1 || config.channels == 2, "1 or 2 channels");
        let rate = config.sample_rate;
        let latency = separation.as_ref().map_or_else(|| latency_samples(rate), |s| s.latency(rate));
        // Room for the whole latency plus a Quality window of slack in both directions: in
        // realtime the worker is never more than that ahead or behind (it restarts when it falls
        // behind).
        let capacity = 2 * (latency + window_samples(rate)) + 8192;
        let (input, worker_input) = rtrb::RingBuffer::new(capacity);
        let (worker_output, output) = rtrb::RingBuffer::new(capacity);
        let shared = Arc::new(Shared::default());
        let worker = separation.map(|separation| {
            shared.alive.store(true, Ordering::SeqCst);
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("svs-separator".into())
                .spawn(move || {
                    Worker {
                        config,
                        separation,
                        input: worker_input,
                        output: worker_output,
                        shared: shared.clone(),
                        status,
                    }
                    .run();
                    shared.alive.store(false, Ordering::SeqCst);
                })
                .expect("spawning the separator thread")
        });
        Self {
            config,
            latency,
            input,
            output,
            shared,
            delay: DelayLine::new(latency),
            pos: 0,
            start: 0,
            clock: None,
            may_wait: config.offline,
            worker,
        }
    }

    pub fn latency(&self) -> usize {
        self.latency
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Called by the audio thread before each host block of `frames` frames, with the current
    /// time: notices a host that runs far ahead of real time (see `FREEWHEEL_LEAD`). Reading the
    /// clock is a vDSO call: no lock, no allocation.
    pub fn begin_block(&mut self, frames: usize, now: Instant) {
        if self.config.offline || self.may_wait {
            return;
        }
        let (start, done) = self.clock.get_or_insert((now, 0));
        *done += frames as u64;
        let audio = Duration::from_secs_f64(*done as f64 / self.config.sample_rate as f64);
        if audio > now.duration_since(*start) + FREEWHEEL_LEAD {
            self.may_wait = true;
            self.shared.freewheel.store(true, Ordering::Relaxed);
        }
    }

    /// Forgets the past (transport jump, host `reset()`): clears the dry path and makes the worker
    /// start a fresh stream. Realtime-safe: skipping one position is how the worker learns of it.
    pub fn reset(&mut self) {
        self.delay.clear();
        self.pos += 1;
        self.start = self.pos;
        // The freewheel clock restarts too: time spent in the live mode (or stopped) fed it no
        // frames.
        self.clock = None;
    }

    /// One frame in (`x`; mono input has `x[1] == x[0]`), the delayed dry frame and its vocals out.
    #[inline]
    pub fn tick(&mut self, x: [f32; 2]) -> Frame {
        self.send_input(InFrame { pos: self.pos, x });
        let dry = self.delay.tick(x);
        let vocals = match self.pos.checked_sub(self.latency as u64) {
            // Before the stream's first output the dry path is silence (cleared delay line).
            Some(needed) if needed >= self.start => self.vocals_at(needed),
            _ => Some([0.0; 2]),
        };
        self.pos += 1;
        Frame { dry, vocals }
    }

    /// Hands an input frame to the worker. When the ring is full the worker is not draining
    /// (stuck, or slower than a host running ahead of real time): in realtime the frame is
    /// dropped (the worker sees the gap in positions and restarts its stream); when waiting is
    /// allowed the audio thread waits for room, because a frame dropped there could leave the
    /// worker restarted too close to the positions already due, which it could then never
    /// deliver.
    #[inline]
    fn send_input(&mut self, mut frame: InFrame) {
        let mut waited_since: Option<Instant> = None;
        while let Err(rtrb::PushError::Full(back)) = self.input.push(frame) {
            frame = back;
            let since = *waited_since.get_or_insert_with(Instant::now);
            if !self.may_wait || !self.shared.alive.load(Ordering::Acquire) || since.elapsed() > OFFLINE_TIMEOUT {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// The vocals at position `needed`, dropping older ones; waits for them in offline mode (or
    /// when the host freewheels).
    #[inline]
    fn vocals_at(&mut self, needed: u64) -> Option<[f32; 2]> {
        self.shared.needed.store(needed, Ordering::Relaxed);
        let mut waited_since: Option<Instant> = None;
        loop {
            while let Ok(frame) = self.output.peek() {
                if frame.pos == needed {
                    let v = frame.v;
                    let _ = self.output.pop();
                    return Some(v);
                }
                if frame.pos > needed {
                    // The worker skipped this position (it restarted): it will never come.
                    break;
                }
                let _ = self.output.pop();
            }
            let skipped = self.output.peek().is_ok_and(|f| f.pos > needed);
            if !self.may_wait || skipped || !self.shared.alive.load(Ordering::Acquire) {
                break;
            }
            // Offline: waiting is allowed and makes bounces exact.
            let since = *waited_since.get_or_insert_with(Instant::now);
            if since.elapsed() > OFFLINE_TIMEOUT {
                break;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        self.shared.late.fetch_add(1, Ordering::Relaxed);
        None
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

struct Worker {
    config: EngineConfig,
    separation: Separation,
    input: rtrb::Consumer<InFrame>,
    output: rtrb::Producer<VocalFrame>,
    shared: Arc<Shared>,
    status: Arc<PluginStatus>,
}

/// The worker's stream over the separation it owns.
enum Stream<'a> {
    Windowed {
        separator: &'a Separator,
        stream: SeparationStream<'a>,
    },
    /// The live separator's output lags its input by its latency: the first `skip` output
    /// samples of a fresh stream come before the stream's first position and are dropped.
    Live {
        live: &'a mut LiveSeparator,
        skip: usize,
        vocals: Vec<Vec<f32>>,
        accompaniment: Vec<Vec<f32>>,
    },
}

impl<'a> Stream<'a> {
    fn new(separation: &'a mut Separation, rate: u32, channels: usize) -> Result<Self, SeparationError> {
        Ok(match separation {
            Separation::Windowed(separator) => {
                Stream::Windowed { stream: separator.stream(rate, channels)?, separator: &*separator }
            }
            Separation::Live(live) => {
                live.reset();
                let skip = live.latency();
                Stream::Live {
                    live,
                    skip,
                    vocals: vec![Vec::new(); channels],
                    accompaniment: vec![Vec::new(); channels],
                }
            }
        })
    }

    /// Starts afresh at the next input (a jump in positions, or stale output).
    fn restart(&mut self, rate: u32, channels: usize) -> Result<(), SeparationError> {
        match self {
            Stream::Windowed { separator, stream } => *stream = separator.stream(rate, channels)?,
            Stream::Live { live, skip, .. } => {
                live.reset();
                *skip = live.latency();
            }
        }
        Ok(())
    }

    /// Separates `input` (one slice per channel) and hands the vocals that are ready, in order
    /// and per channel, to `emit` (which returns false to stop: shutdown).
    fn push(
        &mut self,
        input: &[&[f32]],
        emit: &mut dyn FnMut(&[Vec<f32>], usize) -> bool,
    ) -> Result<(), SeparationError> {
        match self {
            Stream::Windowed { stream, .. } => {
                for block in stream.push(input)? {
                    if !emit(&block.vocals, 0) {
                        break;
                    }
                }
            }
            Stream::Live { live, skip, vocals, accompaniment } => {
                let n = input[0].len();
                for buffer in vocals.iter_mut().chain(accompaniment.iter_mut()) {
                    buffer.resize(n, 0.0);
                }
                {
                    let mut v: Vec<&mut [f32]> = vocals.iter_mut().map(|c| c.as_mut_slice()).collect();
                    let mut a: Vec<&mut [f32]> = accompaniment.iter_mut().map(|c| c.as_mut_slice()).collect();
                    live.process(input, &mut v, &mut a)?;
                }
                let dropped = (*skip).min(n);
                *skip -= dropped;
                emit(vocals, dropped);
            }
        }
        Ok(())
    }
}

impl Worker {
    fn run(self) {
        let Worker { config, mut separation, mut input, mut output, shared, status } = self;
        let (rate, channels) = (config.sample_rate, config.channels);
        let hop = separation.hop(rate);
        let mut stream = match Stream::new(&mut separation, rate, channels) {
            Ok(s) => s,
            Err(e) => {
                nice_error!("svs: cannot separate at {rate} Hz: {e}; passing the input through");
                return;
            }
        };
        // Input gathered since the last push, per channel, and the positions it covers.
        let mut pending: Vec<Vec<f32>> = vec![Vec::with_capacity(8192); channels];
        // Position of the next input frame the stream expects, and of the next vocal frame out.
        let mut next_in: Option<u64> = None;
        let mut next_out = 0u64;
        let mut reported = (0u64, 0u64);
        let mut last_report = Instant::now();
        // Work time and audio time since the last load reading.
        let (mut busy, mut audio) = (0.0f64, 0.0f64);
        while !shared.shutdown.load(Ordering::Relaxed) {
            let available = input.slots();
            if available == 0 {
                report(&shared, &mut reported, &mut last_report);
                std::thread::sleep(IDLE_SLEEP);
                continue;
            }
            let Ok(chunk) = input.read_chunk(available) else { continue };
            for frame in chunk {
                if next_in != Some(frame.pos) {
                    // A jump in positions (reset, dropped frames, or the first frame): the
                    // separation so far belongs to another timeline. Start afresh here.
                    stream.restart(rate, channels).expect("the rate and channels were accepted above");
                    pending.iter_mut().for_each(Vec::clear);
                    next_out = frame.pos;
                }
                next_in = Some(frame.pos + 1);
                for (c, p) in pending.iter_mut().enumerate() {
                    p.push(frame.x[c]);
                }
            }
            // Realtime only: more than half a hop behind what the audio thread needs means this
            // output is stale; drop the backlog and continue from the newest input (the audio
            // thread passes the dry signal meanwhile).
            let needed = shared.needed.load(Ordering::Relaxed);
            let may_wait = config.offline || shared.freewheel.load(Ordering::Relaxed);
            if !may_wait && needed > next_out + hop as u64 / 2 {
                stream.restart(rate, channels).expect("the rate and channels were accepted above");
                pending.iter_mut().for_each(Vec::clear);
                next_out = next_in.unwrap_or(0);
                continue;
            }
            let slices: Vec<&[f32]> = pending.iter().map(|p| p.as_slice()).collect();
            let started = Instant::now();
            let mut emit = |vocals: &[Vec<f32>], from: usize| send(&mut output, &shared, vocals, from, &mut next_out);
            let pushed = stream.push(&slices, &mut emit);
            // A push that completes a window does a whole window's work for whatever little
            // input arrived: the load is read over `LOAD_PERIOD_SECONDS` of audio, not per push.
            busy += started.elapsed().as_secs_f64();
            audio += pending[0].len() as f64 / rate as f64;
            if audio >= LOAD_PERIOD_SECONDS {
                status.record_load(busy, audio);
                (busy, audio) = (0.0, 0.0);
            }
            if let Err(e) = pushed {
                nice_error!("svs: separation failed: {e}; passing the input through");
                return;
            }
            pending.iter_mut().for_each(Vec::clear);
        }
    }
}

/// Sends the vocals from sample `from` on as frames at `next_out` onwards. The ring only fills
/// if the audio thread stopped pulling (host paused): wait, but never past shutdown (then
/// returns false).
fn send(
    output: &mut rtrb::Producer<VocalFrame>,
    shared: &Shared,
    vocals: &[Vec<f32>],
    from: usize,
    next_out: &mut u64,
) -> bool {
    for i in from..vocals[0].len() {
        let l = vocals[0][i];
        let r = vocals.get(1).map_or(l, |v| v[i]);
        let mut frame = VocalFrame { pos: *next_out, v: [l, r] };
        while let Err(rtrb::PushError::Full(f)) = output.push(frame) {
            if shared.shutdown.load(Ordering::Relaxed) {
                return false;
            }
            frame = f;
            std::thread::sleep(IDLE_SLEEP);
        }
        *next_out += 1;
    }
    true
}

/// Logs (from the worker, never the audio thread) when samples went out dry.
fn report(shared: &Shared, reported: &mut (u64, u64), last: &mut Instant) {
    if last.elapsed() < Duration::from_secs(2) {
        return;
    }
    *last = Instant::now();
    let now = (shared.late_samples(), shared.dropped_samples());
    if now != *reported {
        nice_warn!(
            "svs: the separator fell behind: {} samples passed dry, {} input samples dropped so far \
             (the CPU cannot keep up in realtime; offline renders wait for it)",
            now.0,
            now.1
        );
        *reported = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use svs_core::{AudioBuffer, PoCoNetConfig};

    fn tiny_separator() -> Separator {
        let device = svs_core::BackendKind::Cpu.device(0).unwrap();
        let model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        Separator::new(model, device, separator_config()).unwrap()
    }

    fn signal(rate: u32, n: usize) -> Vec<[f32; 2]> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let a = 0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin();
                let b = 0.2 * (2.0 * std::f32::consts::PI * 1333.0 * t).sin() * (3.0 * t).sin();
                [a + b, a - b]
            })
            .collect()
    }

    #[test]
    fn offline_output_is_the_cores_separation_delayed_by_the_latency() {
        let rate = 16000;
        let sep = tiny_separator();
        let x = signal(rate, 4 * rate as usize);
        let reference = {
            let audio =
                AudioBuffer::new(rate, vec![x.iter().map(|f| f[0]).collect(), x.iter().map(|f| f[1]).collect()]);
            sep.separate(&audio, |_| {}).unwrap().vocals
        };
        let status = Arc::new(PluginStatus::default());
        let mut engine = Engine::new(
            EngineConfig { sample_rate: rate, channels: 2, offline: true },
            Some(Separation::Windowed(sep)),
            status.clone(),
        );
        let latency = engine.latency();
        assert_eq!(latency, 24000);
        let mut max_err = 0.0f32;
        for (i, &f) in x.iter().enumerate() {
            let out = engine.tick(f);
            if i >= latency {
                let j = i - latency;
                assert_eq!(out.dry, x[j]);
                let v = out.vocals.expect("offline never passes dry");
                // Up to the last window (which `separate` finishes early), the stream is the same.
                if j < x.len() - 2 * window_samples(rate) {
                    max_err = max_err.max((v[0] - reference.channels[0][j]).abs());
                    max_err = max_err.max((v[1] - reference.channels[1][j]).abs());
                }
            } else {
                assert_eq!(out.dry, [0.0; 2]);
            }
        }
        assert!(max_err < 1e-6, "{max_err}");
        assert_eq!(engine.shared().late_samples(), 0);
        // The worker timed its windows: some work, and far less than real time for this model.
        assert!(status.load() > 0.0 && status.load() < 1.0, "{}", status.load());
    }

    #[test]
    fn realtime_without_a_model_passes_dry_and_reports_it() {
        let mut engine =
            Engine::new(EngineConfig { sample_rate: 8000, channels: 1, offline: false }, None, Default::default());
        let latency = engine.latency();
        let x = signal(8000, latency + 100);
        let mut late = 0;
        for (i, &f) in x.iter().enumerate() {
            let out = engine.tick([f[0], f[0]]);
            if i >= latency {
                assert_eq!(out.dry, [x[i - latency][0]; 2]);
                late += out.vocals.is_none() as u64;
            }
        }
        assert_eq!(late, 100);
        assert_eq!(engine.shared().late_samples(), 100);
    }

    #[test]
    fn a_host_far_ahead_of_real_time_is_waited_for() {
        // Reported as realtime, but fed 3 s of audio in no time: after 1 s ahead of the clock
        // the engine waits for the worker, before the first vocals are due, so nothing is dry.
        let rate = 8000;
        let config = EngineConfig { sample_rate: rate, channels: 2, offline: false };
        let mut engine = Engine::new(config, Some(Separation::Windowed(tiny_separator())), Default::default());
        let x = signal(rate, 3 * rate as usize);
        let now = Instant::now();
        for block in x.chunks(256) {
            engine.begin_block(block.len(), now);
            for &f in block {
                engine.tick(f);
            }
        }
        assert!(engine.shared().freewheeling());
        assert_eq!(engine.shared().late_samples(), 0);
        // Paced at the clock, the same engine config never waits.
        let mut engine = Engine::new(config, None, Default::default());
        for k in 0..20u64 {
            engine.begin_block(rate as usize / 4, now + Duration::from_millis(250 * k));
        }
        assert!(!engine.shared().freewheeling());
    }

    #[test]
    fn reset_restarts_cleanly_in_offline_mode() {
        let rate = 8000;
        let mut engine = Engine::new(
            EngineConfig { sample_rate: rate, channels: 2, offline: true },
            Some(Separation::Windowed(tiny_separator())),
            Default::default(),
        );
        let latency = engine.latency();
        let x = signal(rate, 3 * latency);
        let first: Vec<Frame> = x.iter().map(|&f| engine.tick(f)).collect();
        engine.reset();
        let second: Vec<Frame> = x.iter().map(|&f| engine.tick(f)).collect();
        assert_eq!(first, second, "after reset() the same input gives the same output");
        assert_eq!(engine.shared().late_samples(), 0);
    }

    #[test]
    fn live_offline_output_is_the_live_separators_delayed_by_the_live_latency() {
        let rate = 48000;
        let device = svs_core::BackendKind::Cpu.device(0).unwrap();
        let model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        let x = signal(rate, 2 * rate as usize);
        let reference = {
            let audio =
                AudioBuffer::new(rate, vec![x.iter().map(|f| f[0]).collect(), x.iter().map(|f| f[1]).collect()]);
            let mut live = LiveSeparator::new(&model, rate, 2, &Default::default()).unwrap();
            live.separate(&audio).unwrap().vocals
        };
        let live = LiveSeparator::new(&model, rate, 2, &Default::default()).unwrap();
        let separator_latency = live.latency();
        let status = Arc::new(PluginStatus::default());
        let config = EngineConfig { sample_rate: rate, channels: 2, offline: true };
        let mut engine = Engine::new(config, Some(Separation::Live(live)), status.clone());
        let latency = engine.latency();
        assert_eq!(latency, live_latency_samples(separator_latency, rate));
        assert_eq!(latency - separator_latency, 768, "one 16 kHz model hop at 48 kHz");
        assert!(latency < rate as usize / 10, "{latency} samples is not under 100 ms");
        let mut max_err = 0.0f32;
        // Odd host blocks: the worker sees whatever arrived, the output does not depend on it.
        for (i, &f) in x.iter().enumerate() {
            if i % 61 == 0 {
                engine.begin_block(61, Instant::now());
            }
            let out = engine.tick(f);
            if i >= latency {
                let j = i - latency;
                assert_eq!(out.dry, x[j]);
                let v = out.vocals.expect("offline never passes dry");
                max_err = max_err.max((v[0] - reference.channels[0][j]).abs());
                max_err = max_err.max((v[1] - reference.channels[1][j]).abs());
            }
        }
        assert!(max_err < 1e-6, "{max_err}");
        assert_eq!(engine.shared().late_samples(), 0);
        assert!(status.load() > 0.0, "the live worker records its load");
    }

    #[test]
    fn offline_renders_see_more_context_with_the_same_windows_and_latency() {
        let (realtime, offline) = (separator_config_for(false), separator_config_for(true));
        assert_eq!(realtime, separator_config());
        assert_eq!((offline.chunk_seconds, offline.overlap), (realtime.chunk_seconds, realtime.overlap));
        assert!(offline.context_seconds > realtime.context_seconds);
        for rate in [44_100, 48_000] {
            assert_eq!(offline.window_samples(rate), window_samples(rate), "the latency follows the window");
        }
    }
}
