//! The plugin as a host sees it: the built CLAP bundle through `clack-host`, the built VST3
//! bundle through the `vst3` bindings and `libloading`. The first test to run builds the plugin
//! (`cargo build --workspace --lib --test plugin`: the same feature resolution as `cargo test
//! --workspace`, so nothing is rebuilt twice) and lays out the bundles exactly as `cargo xtask bundle
//! svs-plugin` does, under `$CARGO_TARGET_DIR/bundled/`.
//!
//! The plugin is built with nice-plug's `assert_process_allocs` (a default feature of svs-plugin,
//! active in this debug-assertions profile): an allocation on the audio thread aborts the test.
//!
//! Renders use the hosts' offline mode (CLAP `render` extension, VST3 `kOffline`), in which the
//! plugin waits for its worker: a test host calls `process` far faster than real time, so in
//! realtime mode every block would (correctly) come out dry. Realtime pacing is measured by the
//! `#[ignore]`d benchmark at the end.
//!
//! `cargo test --workspace --test plugin -- --nocapture` prints the separation figures.

use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::latency::PluginLatency;
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer, ParamRescanFlags,
    PluginParams,
};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use std::ffi::{CStr, CString, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use svs_plugin::engine::latency_samples;
use vst3::Steinberg::Vst::*;
use vst3::Steinberg::*;
use vst3::{Class, ComPtr, ComWrapper, Interface};

// ---------------------------------------------------------------------------------------------
// Building and bundling

struct Bundles {
    clap: PathBuf,
    vst3_bundle: PathBuf,
    vst3_library: PathBuf,
}

/// `$CARGO_TARGET_DIR`, found from this test binary (target/debug/deps/plugin-HASH).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().parent().unwrap().to_path_buf()
}

fn bundles() -> &'static Bundles {
    static BUNDLES: OnceLock<Bundles> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // A no-op when fresh. The whole workspace, as `cargo test --workspace` (scripts/test)
        // resolves it: a narrower package set turns some shared dependency's features off
        // (serde_json's `unbounded_depth` comes from xtask), which would rebuild burn for the
        // bundle alone.
        let status = Command::new(cargo)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target_dir())
            .args(["build", "--workspace", "--lib", "--test", "plugin"])
            .status()
            .expect("running cargo");
        assert!(status.success(), "building the plugin failed");
        let target = target_dir();
        let library = target.join("debug").join(format!(
            "{}svs_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        assert!(library.is_file(), "{} missing", library.display());
        // The layout nice-plug-xtask produces (bundle name from bundler.toml).
        let bundled = target.join("bundled");
        let clap = bundled.join("svs.clap");
        let vst3_bundle = bundled.join("svs.vst3");
        let vst3_library = vst3_bundle.join("Contents").join(vst3_arch_dir()).join(format!("svs{}", vst3_suffix()));
        std::fs::create_dir_all(vst3_library.parent().unwrap()).unwrap();
        for dst in [&clap, &vst3_library] {
            // Copy to a temporary name and rename, so a running host never sees half a file.
            let tmp = dst.with_extension("tmp");
            std::fs::copy(&library, &tmp).unwrap();
            std::fs::rename(&tmp, dst).unwrap();
        }
        Bundles { clap, vst3_bundle, vst3_library }
    })
}

fn vst3_arch_dir() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-linux",
        ("linux", "aarch64") => "aarch64-linux",
        ("macos", _) => "MacOS",
        ("windows", "x86_64") => "x86_64-win",
        ("windows", "aarch64") => "arm64-win",
        other => panic!("no VST3 layout for {other:?}"),
    }
}

fn vst3_suffix() -> &'static str {
    if cfg!(target_os = "windows") {
        ".vst3"
    } else if cfg!(target_os = "macos") {
        ""
    } else {
        ".so"
    }
}

/// The tests run one at a time: each separation already uses both cores, and the paced realtime
/// test must not compete with the others for them.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// A synthetic song with known stems

struct Song {
    rate: u32,
    vocals: [Vec<f32>; 2],
    accompaniment: [Vec<f32>; 2],
}

impl Song {
    fn mix(&self) -> [Vec<f32>; 2] {
        let m = |c: usize| self.vocals[c].iter().zip(&self.accompaniment[c]).map(|(v, a)| v + a).collect();
        [m(0), m(1)]
    }
}

/// A small deterministic noise source.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A pop-like excerpt: a sung melody (harmonic voice with vibrato, formants and syllables,
/// centred) over bass, a chord pad (panned), kick and hi-hat. Vocals and accompaniment have
/// equal energy.
fn song(rate: u32, seconds: f32) -> Song {
    use std::f32::consts::TAU;
    let n = (rate as f32 * seconds) as usize;
    let sr = rate as f32;
    let beat = 0.5; // 120 bpm
    let melody = [64, 67, 69, 67, 72, 71, 69, 67, 64, 62, 64, 67, 69, 71, 72, 74];
    let bass = [40, 40, 45, 45, 43, 43, 38, 38];
    let chords = [[52, 55, 59], [57, 60, 64], [55, 59, 62], [50, 54, 57]];
    let hz = |midi: i32| 440.0 * 2f32.powf((midi - 69) as f32 / 12.0);
    let formant = |f: f32| {
        [(700.0, 130.0, 1.0), (1200.0, 160.0, 0.6), (2600.0, 250.0, 0.35)]
            .iter()
            .map(|&(c, w, g): &(f32, f32, f32)| g * (-((f - c) / w).powi(2) / 2.0).exp())
            .sum::<f32>()
            + 0.05
    };
    let mut noise = Lcg(7);
    let mut voice = vec![0.0f32; n];
    let mut phase = 0.0f32;
    let mut acc = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut bass_phase = 0.0f32;
    for i in 0..n {
        let t = i as f32 / sr;
        // Voice: one syllable per beat, a short gap before the next.
        let note = (t / beat) as usize;
        let in_note = t - note as f32 * beat;
        let f0 = hz(melody[note % melody.len()]) * (1.0 + 0.015 * (TAU * 5.5 * t).sin() * (in_note / 0.15).min(1.0));
        phase = (phase + f0 / sr).fract();
        let envelope = (in_note / 0.03).min(1.0) * ((beat - 0.06 - in_note) / 0.05).clamp(0.0, 1.0);
        let mut v = 0.0;
        for k in 1..=16 {
            let f = k as f32 * f0;
            if f < sr / 2.0 - 500.0 {
                v += formant(f) / k as f32 * (TAU * k as f32 * phase).sin();
            }
        }
        voice[i] = envelope * (v + 0.02 * noise.next());
        // Bass: a note per two beats, with its octave.
        let b = hz(bass[(t / (2.0 * beat)) as usize % bass.len()]);
        bass_phase = (bass_phase + b / sr).fract();
        let bass_sample = 0.5 * (TAU * bass_phase).sin() + 0.2 * (TAU * 2.0 * bass_phase).sin();
        // Pad: a chord per bar, soft sawtooth partials, panned left and right.
        let chord = chords[(t / (4.0 * beat)) as usize % chords.len()];
        let mut pad = [0.0f32; 2];
        for (j, &m) in chord.iter().enumerate() {
            let f = hz(m);
            let s: f32 = (1..=6).map(|k| (TAU * k as f32 * f * t).sin() / k as f32).sum();
            pad[j % 2] += 0.12 * s;
            pad[(j + 1) % 2] += 0.06 * s;
        }
        // Drums: kick on every beat, hi-hat every half beat.
        let kt = t % beat;
        let kick = 0.8 * (-kt * 25.0).exp() * (TAU * (50.0 + 80.0 * (-kt * 40.0).exp()) * kt).sin();
        let ht = t % (beat / 2.0);
        let hat = 0.15 * (-ht * 60.0).exp() * noise.next();
        for c in 0..2 {
            acc[c][i] = bass_sample + pad[c] + kick + hat;
        }
    }
    // Equal energy: scale the voice to the accompaniment.
    let energy = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    let gain = ((energy(&acc[0]) + energy(&acc[1])) / (2.0 * energy(&voice))).sqrt() as f32;
    voice.iter_mut().for_each(|v| *v *= gain);
    // Keep the mix below full scale.
    let peak = (0..n).map(|i| (voice[i] + acc[0][i]).abs().max((voice[i] + acc[1][i]).abs())).fold(0.0, f32::max);
    let scale = 0.8 / peak;
    voice.iter_mut().for_each(|v| *v *= scale);
    acc.iter_mut().for_each(|c| c.iter_mut().for_each(|v| *v *= scale));
    Song { rate, vocals: [voice.clone(), voice], accompaniment: acc }
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|v| (*v as f64).powi(2)).sum()
}

/// 10 log10(signal / error) over both channels.
fn snr_db(reference: &[Vec<f32>; 2], estimate: [&[f32]; 2]) -> f64 {
    let mut s = 0.0;
    let mut e = 0.0;
    for c in 0..2 {
        s += energy(&reference[c]);
        e += reference[c].iter().zip(estimate[c]).map(|(r, x)| ((r - x) as f64).powi(2)).sum::<f64>();
    }
    10.0 * (s / e.max(1e-30)).log10()
}

/// Feeds `input` to `process` in blocks whose lengths cycle through `blocks` (the last one cut
/// short), as a host does, and collects the output: `process(pos, inputs, outputs)` fills
/// `outputs` (as long as `inputs`) for the block starting at `pos`.
fn render_in_blocks(
    input: &[Vec<f32>; 2],
    blocks: &[usize],
    mut process: impl FnMut(usize, &mut [Vec<f32>; 2], &mut [Vec<f32>; 2]),
) -> [Vec<f32>; 2] {
    let n = input[0].len();
    let mut output = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut pos = 0;
    for &block in blocks.iter().cycle() {
        if pos >= n {
            break;
        }
        let len = block.min(n - pos);
        let mut ins = [input[0][pos..pos + len].to_vec(), input[1][pos..pos + len].to_vec()];
        let mut outs = [vec![0.0f32; len], vec![0.0f32; len]];
        process(pos, &mut ins, &mut outs);
        for c in 0..2 {
            output[c][pos..pos + len].copy_from_slice(&outs[c]);
        }
        pos += len;
    }
    output
}

/// The output with the latency removed (`n` samples from the start of the song).
fn aligned(output: &[Vec<f32>; 2], latency: usize, n: usize) -> [&[f32]; 2] {
    [&output[0][latency..latency + n], &output[1][latency..latency + n]]
}

/// Vocal figures of an output in which the vocals were turned off:
/// - `reduction_db`: the vocals' energy in the mix over the vocal energy left in the output,
///   measured by projecting the output onto the true vocals in 0.25 s windows (what a listener
///   hears as "the voice", leaving aside artefacts);
/// - `residual_db`: the vocals' energy over the energy of everything in the output that is not
///   the accompaniment (the strict figure: leakage and artefacts together);
/// - `accompaniment_sdr_db`: SDR of the output against the true accompaniment.
struct VocalFigures {
    reduction_db: f64,
    residual_db: f64,
    accompaniment_sdr_db: f64,
}

fn vocal_figures(song: &Song, out: [&[f32]; 2]) -> VocalFigures {
    let w = (song.rate / 4) as usize;
    let (mut vocal, mut left) = (0.0f64, 0.0f64);
    for c in 0..2 {
        for (start, v) in song.vocals[c].chunks(w).enumerate().map(|(k, v)| (k * w, v)) {
            let y = &out[c][start..start + v.len()];
            let vv = energy(v);
            if vv < 1e-12 {
                continue;
            }
            let alpha = v.iter().zip(y).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>() / vv;
            vocal += vv;
            left += alpha * alpha * vv;
        }
    }
    let residual: f64 = (0..2)
        .map(|c| out[c].iter().zip(&song.accompaniment[c]).map(|(y, a)| ((y - a) as f64).powi(2)).sum::<f64>())
        .sum();
    VocalFigures {
        reduction_db: 10.0 * (vocal / left.max(1e-30)).log10(),
        residual_db: 10.0 * (vocal / residual.max(1e-30)).log10(),
        accompaniment_sdr_db: snr_db(&song.accompaniment, out),
    }
}

/// [`vocal_figures`] of a render `out` of `input` (the song `s` padded) with vocals at -inf, and
/// the mix's own accompaniment SDR, printed under `label`.
fn vocals_off_figures(
    label: &str,
    rate: u32,
    s: &Song,
    input: &[Vec<f32>; 2],
    out: &[Vec<f32>; 2],
    latency: usize,
) -> (VocalFigures, f64) {
    let n = s.vocals[0].len();
    let figures = vocal_figures(s, aligned(out, latency, n));
    let input_sdr = snr_db(&s.accompaniment, [&input[0][..n], &input[1][..n]]);
    println!(
        "{label}, vocals -inf, {rate} Hz: vocal energy -{:.1} dB (projection), vocals / residual {:.1} dB, \
         accompaniment SDR {:.1} dB (the mix itself: {input_sdr:.1} dB)",
        figures.reduction_db, figures.residual_db, figures.accompaniment_sdr_db
    );
    (figures, input_sdr)
}

/// The largest sample difference between two stereo renders.
fn max_abs_diff(a: &[Vec<f32>; 2], b: &[Vec<f32>; 2]) -> f32 {
    (0..2).flat_map(|c| a[c].iter().zip(&b[c]).map(|(x, y)| (x - y).abs())).fold(0.0f32, f32::max)
}

/// The input delayed by `latency`: what 0 dB / 0 dB must give.
fn max_diff_to_delayed_input(input: &[Vec<f32>; 2], output: &[Vec<f32>; 2], latency: usize) -> f32 {
    let mut worst = 0.0f32;
    for c in 0..2 {
        for (i, y) in output[c].iter().enumerate() {
            let x = if i >= latency { input[c][i - latency] } else { 0.0 };
            worst = worst.max((x - y).abs());
        }
    }
    worst
}

/// `input` followed by `latency` samples of silence, so the whole song comes out.
fn padded(input: &[Vec<f32>; 2], latency: usize) -> [Vec<f32>; 2] {
    let p = |c: &Vec<f32>| c.iter().copied().chain(std::iter::repeat_n(0.0, latency)).collect();
    [p(&input[0]), p(&input[1])]
}

// ---------------------------------------------------------------------------------------------
// A minimal CLAP host

struct TestHost;

/// What the plugin asked of the host from any thread; the tests act on it on the main thread.
#[derive(Default)]
struct TestHostShared {
    restart_requested: AtomicBool,
    callback_requested: AtomicBool,
    flush_requested: AtomicBool,
}

/// The host's main-thread side: nothing to keep (parameter rescans need no action here).
struct TestHostMainThread;

impl MainThreadHandler<'_> for TestHostMainThread {}

/// The host side of the params extension: a plugin whose parameters change outside processing
/// (an edit in its editor) asks for a flush, which the tests' event loop turn performs.
impl HostParamsImplShared for TestHostShared {
    fn request_flush(&self) {
        self.flush_requested.store(true, Ordering::SeqCst);
    }
}

impl HostParamsImplMainThread for TestHostMainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {}
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// The host side of the GUI extension: the test's parent window has a fixed size, so resize
/// requests are acknowledged and nothing else is needed.
impl HostGuiImpl for TestHostShared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = TestHostMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>().register::<HostParams>();
    }
}

#[derive(Clone, Debug)]
struct ClapParam {
    id: ClapId,
    name: String,
    min: f64,
    max: f64,
    default: f64,
}

impl ClapParam {
    /// The CLAP value for a normalized position (nice-plug maps continuous parameters to 0..1 and
    /// stepped ones to their steps).
    fn value(&self, normalized: f64) -> f64 {
        self.min + normalized * (self.max - self.min)
    }
}

struct Clap {
    // Declared first: dropped before the entry that holds the library.
    instance: PluginInstance<TestHost>,
    entry: PluginEntry,
}

impl Clap {
    fn load() -> Self {
        let entry = unsafe { PluginEntry::load(&bundles().clap) }.expect("loading the CLAP bundle");
        let id: CString = {
            let factory = entry.get_plugin_factory().expect("a plugin factory");
            let descriptor = factory.plugin_descriptors().next().expect("one plugin");
            descriptor.id().unwrap().to_owned()
        };
        let info = HostInfo::new("svs plugin tests", "svs", "https://example.invalid", "0.1").unwrap();
        let instance =
            PluginInstance::<TestHost>::new(|_| TestHostShared::default(), |_| TestHostMainThread, &entry, &id, &info)
                .unwrap();
        Self { instance, entry }
    }

    fn params(&mut self) -> Vec<ClapParam> {
        let handle = self.instance.plugin_handle();
        let params = handle.get_extension::<PluginParams>().expect("the params extension");
        let mut buffer = ParamInfoBuffer::new();
        (0..params.count(&handle))
            .map(|i| {
                let info = params.get_info(&handle, i, &mut buffer).unwrap();
                let name = String::from_utf8_lossy(info.name).trim_end_matches('\0').to_string();
                ClapParam { id: info.id, name, min: info.min_value, max: info.max_value, default: info.default_value }
            })
            .collect()
    }

    fn param(&mut self, name: &str) -> ClapParam {
        self.params().into_iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no parameter {name}"))
    }

    fn latency(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        handle.get_extension::<PluginLatency>().expect("the latency extension").get(&handle)
    }

    fn set_offline(&mut self) {
        let handle = self.instance.plugin_handle();
        let render = handle.get_extension::<PluginRender>().expect("the render extension");
        render.set(&handle, RenderMode::Offline).expect("offline rendering");
    }

    /// Activates at `rate`, processes `input` in blocks cycling through `blocks` with the
    /// parameter events `(sample, param, value)`, deactivates. Returns the output and the
    /// latency reported while active.
    fn render(
        &mut self,
        rate: u32,
        input: &[Vec<f32>; 2],
        blocks: &[usize],
        events: &[(usize, ClapId, f64)],
    ) -> ([Vec<f32>; 2], usize) {
        self.render_with(rate, input, blocks, events, &mut |_| {})
    }

    /// [`Clap::render`], calling `before_block(position)` before each block.
    fn render_with(
        &mut self,
        rate: u32,
        input: &[Vec<f32>; 2],
        blocks: &[usize],
        events: &[(usize, ClapId, f64)],
        before_block: &mut dyn FnMut(usize),
    ) -> ([Vec<f32>; 2], usize) {
        let max_block = *blocks.iter().max().unwrap();
        let config = PluginAudioConfiguration {
            sample_rate: rate as f64,
            min_frames_count: 1,
            max_frames_count: max_block as u32,
        };
        let processor = self.instance.activate(|_, _| (), config).expect("activate");
        let latency = self.latency() as usize;
        let mut processor = processor.start_processing().expect("start processing");
        let mut in_ports = AudioPorts::with_capacity(2, 1);
        let mut out_ports = AudioPorts::with_capacity(2, 1);
        let output = render_in_blocks(input, blocks, |pos, ins, outs| {
            let len = outs[0].len();
            before_block(pos);
            let block_events: Vec<ParamValueEvent> = events
                .iter()
                .filter(|(t, ..)| (pos..pos + len).contains(t))
                .map(|&(t, id, value)| ParamValueEvent::new((t - pos) as u32, id, Pckn::match_all(), value))
                .collect();
            {
                let in_audio = in_ports.with_input_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(ins.iter_mut().map(|b| InputChannel::variable(b))),
                }]);
                let mut out_audio = out_ports.with_output_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(outs.iter_mut().map(|b| b.as_mut_slice())),
                }]);
                processor
                    .process(
                        &in_audio,
                        &mut out_audio,
                        &InputEvents::from_buffer(&block_events),
                        &mut OutputEvents::void(),
                        None,
                        None,
                    )
                    .expect("process");
            }
        });
        let stopped = processor.stop_processing();
        self.instance.deactivate(stopped);
        (output, latency)
    }
    /// [`Clap::render`] in realtime mode with `block`-sample blocks delivered at the real rate.
    fn render_paced(
        &mut self,
        rate: u32,
        input: &[Vec<f32>; 2],
        block: usize,
        events: &[(usize, ClapId, f64)],
    ) -> ([Vec<f32>; 2], usize) {
        let start = std::time::Instant::now();
        let mut pace = |pos: usize| {
            let due = start + std::time::Duration::from_secs_f64(pos as f64 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        };
        self.render_with(rate, input, &[block], events, &mut pace)
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal VST3 host

/// The parameter changes of one block, passed to `process()` as a real host does.
struct ParamChanges {
    queues: Vec<ComWrapper<ParamQueue>>,
}

struct ParamQueue {
    id: ParamID,
    points: Vec<(i32, f64)>,
}

impl Class for ParamChanges {
    type Interfaces = (IParameterChanges,);
}

impl Class for ParamQueue {
    type Interfaces = (IParamValueQueue,);
}

impl IParameterChangesTrait for ParamChanges {
    unsafe fn getParameterCount(&self) -> int32 {
        self.queues.len() as int32
    }
    unsafe fn getParameterData(&self, index: int32) -> *mut IParamValueQueue {
        self.queues
            .get(index as usize)
            .and_then(|q| q.as_com_ref::<IParamValueQueue>())
            .map_or(std::ptr::null_mut(), |q| q.as_ptr())
    }
    unsafe fn addParameterData(&self, _id: *const ParamID, _index: *mut int32) -> *mut IParamValueQueue {
        std::ptr::null_mut()
    }
}

impl IParamValueQueueTrait for ParamQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.id
    }
    unsafe fn getPointCount(&self) -> int32 {
        self.points.len() as int32
    }
    unsafe fn getPoint(&self, index: int32, offset: *mut int32, value: *mut ParamValue) -> tresult {
        match self.points.get(index as usize) {
            Some(&(o, v)) => {
                unsafe {
                    *offset = o;
                    *value = v;
                }
                kResultOk
            }
            None => kInvalidArgument,
        }
    }
    unsafe fn addPoint(&self, _offset: int32, _value: ParamValue, _index: *mut int32) -> tresult {
        kResultFalse
    }
}

struct Vst3Param {
    id: ParamID,
    title: String,
    step_count: i32,
    default: f64,
}

struct Vst3 {
    // COM pointers first: released before the library is unloaded.
    component: ComPtr<IComponent>,
    processor: ComPtr<IAudioProcessor>,
    controller: ComPtr<IEditController>,
    class_name: String,
    category: String,
    library: libloading::Library,
}

fn utf16(s: &[u16]) -> String {
    String::from_utf16_lossy(&s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())])
}

impl Vst3 {
    fn load() -> Self {
        let b = bundles();
        assert!(b.vst3_bundle.is_dir());
        unsafe {
            let library = libloading::Library::new(&b.vst3_library).expect("loading the VST3 library");
            #[cfg(target_os = "linux")]
            {
                let entry: libloading::Symbol<unsafe extern "C" fn(*mut c_void) -> bool> =
                    library.get(b"ModuleEntry").expect("ModuleEntry");
                assert!(entry(std::ptr::null_mut()));
            }
            let get_factory: libloading::Symbol<unsafe extern "system" fn() -> *mut IPluginFactory> =
                library.get(b"GetPluginFactory").expect("GetPluginFactory");
            let factory = ComPtr::from_raw(get_factory()).expect("a factory");
            let mut found = None;
            for i in 0..factory.countClasses() {
                let mut info: PClassInfo = std::mem::zeroed();
                assert_eq!(factory.getClassInfo(i, &mut info), kResultOk);
                let category = CStr::from_ptr(info.category.as_ptr()).to_string_lossy().to_string();
                if category == "Audio Module Class" {
                    found =
                        Some((info.cid, CStr::from_ptr(info.name.as_ptr()).to_string_lossy().to_string(), category));
                }
            }
            let (cid, class_name, category) = found.expect("an audio module class");
            let mut object: *mut c_void = std::ptr::null_mut();
            let result = factory.createInstance(cid.as_ptr(), IComponent::IID.as_ptr() as FIDString, &mut object);
            assert_eq!(result, kResultOk);
            let component = ComPtr::from_raw(object as *mut IComponent).expect("a component");
            assert_eq!(component.initialize(std::ptr::null_mut()), kResultOk);
            let processor = component.cast::<IAudioProcessor>().expect("IAudioProcessor");
            let controller = component.cast::<IEditController>().expect("IEditController (single component)");
            Self { component, processor, controller, class_name, category, library }
        }
    }

    fn params(&self) -> Vec<Vst3Param> {
        unsafe {
            (0..self.controller.getParameterCount())
                .map(|i| {
                    let mut info: ParameterInfo = std::mem::zeroed();
                    assert_eq!(self.controller.getParameterInfo(i, &mut info), kResultOk);
                    Vst3Param {
                        id: info.id,
                        title: utf16(&info.title),
                        step_count: info.stepCount,
                        default: info.defaultNormalizedValue,
                    }
                })
                .collect()
        }
    }

    fn param_id(&self, title: &str) -> ParamID {
        self.params().into_iter().find(|p| p.title == title).unwrap_or_else(|| panic!("no parameter {title}")).id
    }

    /// Like [`Clap::render`]; `events` carry normalized values, delivered through
    /// `IParameterChanges` in `process()`. Returns the output and the latency after activation.
    fn render(
        &self,
        rate: u32,
        input: &[Vec<f32>; 2],
        blocks: &[usize],
        events: &[(usize, ParamID, f64)],
    ) -> ([Vec<f32>; 2], usize) {
        self.render_setup(rate, input, blocks, events, 2)
    }

    /// [`Vst3::render`], calling `setupProcessing` `setups` times before activating.
    fn render_setup(
        &self,
        rate: u32,
        input: &[Vec<f32>; 2],
        blocks: &[usize],
        events: &[(usize, ParamID, f64)],
        setups: usize,
    ) -> ([Vec<f32>; 2], usize) {
        let max_block = *blocks.iter().max().unwrap();
        unsafe {
            let mut setup = ProcessSetup {
                processMode: ProcessModes_::kOffline as int32,
                symbolicSampleSize: SymbolicSampleSizes_::kSample32 as int32,
                maxSamplesPerBlock: max_block as int32,
                sampleRate: rate as f64,
            };
            // Twice (by default): nice-plug 0.4.2's `setupProcessing` hands `activate()` the process mode of
            // the *previous* call (it stores the new mode after building the buffer config), so a
            // first offline setup would otherwise activate in realtime mode. Hosts that set up
            // before every activation (as they must) hit this only on the first activation.
            for _ in 0..setups {
                assert_eq!(self.processor.setupProcessing(&mut setup), kResultOk);
            }
            for direction in [BusDirections_::kInput, BusDirections_::kOutput] {
                self.component.activateBus(MediaTypes_::kAudio as int32, direction as int32, 0, 1);
            }
            assert_eq!(self.component.setActive(1), kResultOk);
            let latency = self.processor.getLatencySamples() as usize;
            self.processor.setProcessing(1);
            let output = render_in_blocks(input, blocks, |pos, ins, outs| {
                let len = outs[0].len();
                let mut in_ptrs = [ins[0].as_mut_ptr(), ins[1].as_mut_ptr()];
                let mut out_ptrs = [outs[0].as_mut_ptr(), outs[1].as_mut_ptr()];
                let mut in_bus = AudioBusBuffers {
                    numChannels: 2,
                    silenceFlags: 0,
                    __field0: AudioBusBuffers__type0 { channelBuffers32: in_ptrs.as_mut_ptr() },
                };
                let mut out_bus = AudioBusBuffers {
                    numChannels: 2,
                    silenceFlags: 0,
                    __field0: AudioBusBuffers__type0 { channelBuffers32: out_ptrs.as_mut_ptr() },
                };
                let queues: Vec<ComWrapper<ParamQueue>> = events
                    .iter()
                    .filter(|(t, ..)| (pos..pos + len).contains(t))
                    .map(|&(t, id, value)| ComWrapper::new(ParamQueue { id, points: vec![((t - pos) as i32, value)] }))
                    .collect();
                let changes = ComWrapper::new(ParamChanges { queues });
                let changes_ptr = changes.as_com_ref::<IParameterChanges>().unwrap().as_ptr();
                let mut data = ProcessData {
                    processMode: ProcessModes_::kOffline as int32,
                    symbolicSampleSize: SymbolicSampleSizes_::kSample32 as int32,
                    numSamples: len as int32,
                    numInputs: 1,
                    numOutputs: 1,
                    inputs: &mut in_bus,
                    outputs: &mut out_bus,
                    inputParameterChanges: changes_ptr,
                    outputParameterChanges: std::ptr::null_mut(),
                    inputEvents: std::ptr::null_mut(),
                    outputEvents: std::ptr::null_mut(),
                    processContext: std::ptr::null_mut(),
                };
                assert_eq!(self.processor.process(&mut data), kResultOk);
            });
            self.processor.setProcessing(0);
            assert_eq!(self.component.setActive(0), kResultOk);
            (output, latency)
        }
    }
}

impl Drop for Vst3 {
    fn drop(&mut self) {
        unsafe {
            self.component.terminate();
        }
        let _ = &self.library;
    }
}

#[path = "plugin/editor.rs"]
mod editor;

// ---------------------------------------------------------------------------------------------
// CLAP

const PARAM_NAMES: [&str; 9] = [
    "Vocals",
    "Vocals Solo",
    "Vocals Mute",
    "Accompaniment",
    "Accompaniment Solo",
    "Accompaniment Mute",
    "Mix",
    "Bypass",
    "Latency",
];

#[test]
fn clap_descriptor_parameters_and_latency() {
    let _serial = serial();
    let mut clap = Clap::load();
    {
        let factory = clap.entry.get_plugin_factory().unwrap();
        assert_eq!(factory.plugin_count(), 1);
        let d = factory.plugin_descriptors().next().unwrap();
        assert_eq!(d.id().unwrap().to_str().unwrap(), "invalid.example.svs.vocal-separator");
        assert_eq!(d.name().unwrap().to_str().unwrap(), "svs Vocal Separator");
        let features: Vec<String> = d.features().map(|f| f.to_string_lossy().to_string()).collect();
        assert!(
            features.contains(&"audio-effect".to_string()) && features.contains(&"stereo".to_string()),
            "{features:?}"
        );
    }
    let params = clap.params();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, PARAM_NAMES);
    // Gains default to 0 dB (normalized 60/72 of the -60..+12 dB range), the rest off; mix 100 %.
    let vocals = &params[0];
    assert!((vocals.default - vocals.value(60.0 / 72.0)).abs() < 1e-6, "{vocals:?}");
    for p in &params[1..3] {
        assert_eq!(p.default, p.min, "{p:?}");
    }
    assert_eq!(params[6].default, params[6].max);
    clap.set_offline();
    let input = padded(&song(48000, 0.5).mix(), 0);
    for rate in [44100, 48000, 96000] {
        let (_, latency) = clap.render(rate, &input, &[512], &[]);
        assert_eq!(latency, latency_samples(rate), "{rate} Hz");
        assert_eq!(latency, (1.5 * rate as f64) as usize, "1 s window + 0.5 s margin");
        // Re-activating reports it again (nice-plug announces a latency change by a restart
        // request; a host reads it after re-activation).
        let (_, again) = clap.render(rate, &input, &[64], &[]);
        assert_eq!(again, latency);
    }
}

#[test]
fn clap_unity_gains_reproduce_the_delayed_input_and_a_parameter_event_changes_the_audio() {
    let _serial = serial();
    let rate = 48000;
    let latency = latency_samples(rate);
    let s = song(rate, 4.0);
    let input = padded(&s.mix(), latency);
    let mut clap = Clap::load();
    clap.set_offline();
    let (out, reported) = clap.render(rate, &input, &[480], &[]);
    assert_eq!(reported, latency);
    let err = max_diff_to_delayed_input(&input, &out, latency);
    assert!(err < 1e-6, "0 dB / 0 dB differs from the delayed input by {err}");

    // Turn the vocals off through a parameter event at 2 s: the output before it is untouched,
    // afterwards (past the 20 ms ramp) it differs from the delayed input.
    let vocals = clap.param("Vocals");
    let at = 2 * rate as usize;
    let (out, _) = clap.render(rate, &input, &[480], &[(at, vocals.id, vocals.value(0.0))]);
    let before: [Vec<f32>; 2] = [out[0][..at].to_vec(), out[1][..at].to_vec()];
    let input_before = [input[0][..at].to_vec(), input[1][..at].to_vec()];
    assert!(max_diff_to_delayed_input(&input_before, &before, latency) < 1e-6);
    let after = at + rate as usize / 40;
    let changed: f64 = (0..2)
        .map(|c| (after..out[c].len()).map(|i| ((out[c][i] - input[c][i - latency]) as f64).powi(2)).sum::<f64>())
        .sum();
    let total: f64 = (0..2).map(|c| energy(&input[c][after - latency..input[c].len() - latency])).sum();
    assert!(changed > 1e-3 * total, "the parameter change did not reach the audio ({changed} vs {total})");
}

/// The issue's target: at least 10 dB less vocal energy, with the accompaniment kept, which this
/// test reads strictly: an accompaniment SDR at least 10 dB better than the mix's (0.0 dB here,
/// vocals and accompaniment at equal energy).
const ISSUE_TARGET_DB: f64 = 10.0;

/// The bar for the live mode (67-75 ms of latency instead of 1.5 s): the issue sets none; on these
/// songs it gives up 1.4-2 dB of accompaniment SDR against the Quality mode (10.3 dB at 48 kHz,
/// 9.7 dB at 44.1 kHz, where its mask frames do not coincide with the channel frames; Quality
/// 11.7 dB), so it is held to 9 dB: it must still separate, not merely pass the mix through.
const LIVE_TARGET_DB: f64 = 9.0;

fn check_vocal_figures(f: &VocalFigures, input_sdr: f64, required_db: f64) {
    assert!(
        f.reduction_db >= required_db,
        "vocal energy only {:.1} dB lower (required {required_db} dB)",
        f.reduction_db
    );
    assert!(
        f.accompaniment_sdr_db >= input_sdr + required_db,
        "the accompaniment ({:.1} dB SDR) is not {required_db} dB better than the mix itself ({input_sdr:.1} dB)",
        f.accompaniment_sdr_db
    );
}

/// CLAP, vocals at -inf through a parameter event on the 44.1 kHz song: the figures.
fn clap_vocals_off_figures() -> (VocalFigures, f64) {
    let rate = 44100;
    let latency = latency_samples(rate);
    let s = song(rate, 8.0);
    let input = padded(&s.mix(), latency);
    let mut clap = Clap::load();
    clap.set_offline();
    let vocals = clap.param("Vocals");
    let (out, _) = clap.render(rate, &input, &[1024], &[(0, vocals.id, vocals.value(0.0))]);
    let (figures, input_sdr) = vocals_off_figures("CLAP", rate, &s, &input, &out, latency);
    (figures, input_sdr)
}

#[test]
fn clap_vocals_at_minus_inf_remove_the_vocals_and_keep_the_accompaniment() {
    let _serial = serial();
    let (figures, input_sdr) = clap_vocals_off_figures();
    check_vocal_figures(&figures, input_sdr, ISSUE_TARGET_DB);
}

/// The live mode's latency with the embedded model at `rate` (what the plugin must report): the
/// live separator's plus the live worker's model hop, under 100 ms.
fn live_latency(rate: u32) -> usize {
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let (model, _) = svs_core::default_model::default_model().unwrap().separator(&device).unwrap();
    let separator = svs_core::LiveSeparator::new(&model, rate, 2, &svs_core::LiveConfig::default()).unwrap().latency();
    let live = svs_plugin::engine::live_latency_samples(separator, rate);
    assert!(live < rate as usize / 10, "{live} samples is not under 100 ms");
    live
}

/// The Latency parameter set to Live during processing: the plugin re-reports its latency (the
/// live separator's and its worker's, under 100 ms), the host reads it on re-activation, 0 dB /
/// 0 dB gives the delayed input, and vocals at -inf still separate ([`LIVE_TARGET_DB`]), with the
/// allocation checker on the audio thread (debug builds panic on an allocation).
#[test]
fn clap_live_mode_reports_its_latency_and_separates() {
    let _serial = serial();
    let rate = 48000;
    let mut clap = Clap::load();
    clap.set_offline();
    let mode = clap.param("Latency");
    let short = padded(&song(rate, 0.2).mix(), 0);
    let (_, quality) = clap.render(rate, &short, &[512], &[(0, mode.id, mode.max)]);
    assert_eq!(quality, latency_samples(rate), "the latency before the switch");
    let live = live_latency(rate);
    let s = song(rate, 8.0);
    let input = padded(&s.mix(), live);
    let (out, reported) = clap.render(rate, &input, &[480, 64, 1024], &[]);
    assert_eq!(reported, live, "the host reads the live latency after the switch");
    let err = max_diff_to_delayed_input(&input, &out, live);
    assert!(err < 1e-5, "0 dB / 0 dB differs from the delayed input by {err}");
    let vocals = clap.param("Vocals");
    let (out, _) = clap.render(rate, &input, &[480], &[(0, vocals.id, vocals.value(0.0))]);
    let (figures, input_sdr) = vocals_off_figures("CLAP live", rate, &s, &input, &out, live);
    check_vocal_figures(&figures, input_sdr, LIVE_TARGET_DB);
    // Back to Quality: the windowed latency again.
    let (_, _) = clap.render(rate, &short, &[512], &[(0, mode.id, mode.min)]);
    let (_, back) = clap.render(rate, &short, &[512], &[]);
    assert_eq!(back, latency_samples(rate));
}

#[test]
fn clap_realtime_mode_paced_like_a_host_separates_in_time() {
    // Realtime mode, blocks delivered at the real rate as an audio interface would: the worker
    // keeps up (embedded model), so the vocals are removed in realtime too, and the audio thread
    // never waits (each block takes a tiny fraction of its budget). Late stretches would be the
    // delayed input exactly; they are counted and printed. (A host far *ahead* of real time is
    // treated as an offline render: see engine.rs, `FREEWHEEL_LEAD`.)
    let _serial = serial();
    let rate = 48000;
    let block = 512;
    let latency = latency_samples(rate);
    let input = padded(&song(rate, 2.5).mix(), latency);
    let mut clap = Clap::load();
    let vocals = clap.param("Vocals");
    let start = std::time::Instant::now();
    let (out, _) = clap.render_paced(rate, &input, block, &[(0, vocals.id, vocals.value(0.0))]);
    let elapsed = start.elapsed().as_secs_f64();
    let seconds = input[0].len() as f64 / rate as f64;
    assert!(elapsed > 0.9 * seconds, "not paced: {elapsed:.2} s for {seconds:.2} s");
    assert!(out.iter().flatten().all(|v| v.is_finite()));
    let dry = (latency..input[0].len()).filter(|&i| (0..2).all(|c| out[c][i] == input[c][i - latency])).count();
    let fraction = dry as f64 / (input[0].len() - latency) as f64;
    println!("CLAP realtime, paced: {:.1} % of the output passed dry (late)", 100.0 * fraction);
    // Lenient: other builds share this machine's two cores.
    assert!(fraction < 0.5, "{:.0} % of the output was late", 100.0 * fraction);
}

#[test]
fn clap_state_restores_the_model_path_and_a_bad_file_falls_back_to_the_default() {
    let _serial = serial();
    let rate = 48000;
    let latency = latency_samples(rate);
    let input = padded(&song(rate, 2.5).mix(), latency);
    let tmp = tempfile::tempdir().unwrap();
    // A different (random, tiny) separator: its output must differ from the default model's.
    let tiny = tmp.path().join("tiny.safetensors");
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let config = svs_core::PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8);
    let meta = svs_core::ModelMetadata { trained_on: "nothing (random weights)".into(), ..Default::default() };
    svs_core::model_file::save_separator(&tiny, &config.init(&device), &config, &meta).unwrap();
    let garbage = tmp.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a model").unwrap();

    let render = |model_path: Option<&Path>| -> [Vec<f32>; 2] {
        let mut clap = Clap::load();
        clap.set_offline();
        if let Some(path) = model_path {
            let handle = clap.instance.plugin_handle();
            let state = handle.get_extension::<PluginState>().expect("the state extension");
            let mut saved = Vec::new();
            state.save(&handle, &mut saved).unwrap();
            // nice-plug's CLAP state: the JSON's length (u64, little endian), then the JSON.
            let mut json: serde_json::Value = serde_json::from_slice(&saved[8..]).expect("nice-plug's JSON state");
            assert_eq!(json["fields"]["model-path"], "\"\"", "no model file by default");
            // Persisted fields are JSON strings inside the state.
            let field = serde_json::to_string(path.to_str().unwrap()).unwrap();
            json["fields"]["model-path"] = serde_json::Value::String(field.clone());
            let body = serde_json::to_vec(&json).unwrap();
            let framed = [(body.len() as u64).to_le_bytes().as_slice(), &body].concat();
            state.load(&handle, &mut framed.as_slice()).unwrap();
            // Saved again with the project: the path survives.
            let mut again = Vec::new();
            state.save(&handle, &mut again).unwrap();
            let again: serde_json::Value = serde_json::from_slice(&again[8..]).unwrap();
            assert_eq!(again["fields"]["model-path"], serde_json::Value::String(field));
        }
        let vocals = clap.param("Vocals");
        clap.render(rate, &input, &[1024], &[(0, vocals.id, vocals.value(0.0))]).0
    };
    let default = render(None);
    let with_tiny = render(Some(&tiny));
    assert!(max_abs_diff(&default, &with_tiny) > 1e-3, "the model file from the state was not used");
    for bad in [garbage.as_path(), Path::new("/nonexistent/model.safetensors")] {
        let fallback = render(Some(bad));
        assert!(max_abs_diff(&default, &fallback) < 1e-6, "{}: no fallback to the default model", bad.display());
    }
}

/// Renders the 2.5 s song with vocals at -inf, offline, with `SVS_PLUGIN_BACKEND` set to
/// `backend` (unset for `None`) while the plugin activates.
fn render_with_backend(backend: Option<&str>, input: &[Vec<f32>; 2], rate: u32) -> [Vec<f32>; 2] {
    // SAFETY: the plugin tests hold the `serial` lock, so no other test reads the environment
    // meanwhile; the variable is restored before returning.
    unsafe {
        match backend {
            Some(b) => std::env::set_var(svs_plugin::model::BACKEND_ENV, b),
            None => std::env::remove_var(svs_plugin::model::BACKEND_ENV),
        }
    }
    let mut clap = Clap::load();
    clap.set_offline();
    let vocals = clap.param("Vocals");
    let out = clap.render(rate, input, &[1024], &[(0, vocals.id, vocals.value(0.0))]).0;
    unsafe { std::env::remove_var(svs_plugin::model::BACKEND_ENV) };
    out
}

#[test]
fn clap_runs_on_wgpu_when_asked_and_on_the_cpu_without_a_hardware_gpu() {
    // This machine has no GPU, only lavapipe (a software Vulkan driver, installed by
    // scripts/test): the automatic choice must be the CPU, bit for bit the CPU's output. Forced
    // onto wgpu, the plugin runs the model's tensor graph on lavapipe: the same separation to
    // rounding, but not the same bits (a different computation ran).
    let _serial = serial();
    let rate = 48000;
    let latency = latency_samples(rate);
    let s = song(rate, 2.5);
    let n = s.vocals[0].len();
    let input = padded(&s.mix(), latency);
    let cpu = render_with_backend(Some("cpu"), &input, rate);
    let automatic = render_with_backend(None, &input, rate);
    let gpu = render_with_backend(Some("wgpu"), &input, rate);
    assert_eq!(max_abs_diff(&cpu, &automatic), 0.0, "without a hardware GPU the plugin must run on the CPU");
    let difference = max_abs_diff(&cpu, &gpu);
    assert!(difference > 0.0, "forced onto wgpu, the output is the CPU's bit for bit: wgpu did not run");
    let (on_cpu, on_gpu) = (vocal_figures(&s, aligned(&cpu, latency, n)), vocal_figures(&s, aligned(&gpu, latency, n)));
    println!(
        "wgpu (lavapipe) vs CPU: largest sample difference {difference:.2e}; accompaniment SDR {:.2} vs {:.2} dB",
        on_gpu.accompaniment_sdr_db, on_cpu.accompaniment_sdr_db
    );
    assert!(difference < 1e-2, "wgpu and the CPU separate differently (largest difference {difference})");
    assert!((on_gpu.accompaniment_sdr_db - on_cpu.accompaniment_sdr_db).abs() < 0.1);
}

#[test]
fn clap_sample_rates_and_block_sizes() {
    let _serial = serial();
    // Every rate and block size gives the same separation: offline output does not depend on
    // how the host slices the audio.
    let mut clap = Clap::load();
    clap.set_offline();
    for rate in [44100, 48000, 96000] {
        let latency = latency_samples(rate);
        let s = song(rate, 2.5);
        let input = padded(&s.mix(), latency);
        let vocals = clap.param("Vocals");
        let events = [(0, vocals.id, vocals.value(0.0))];
        let (reference, reported) = clap.render(rate, &input, &[4096], &events);
        assert_eq!(reported, latency);
        assert!(reference.iter().flatten().all(|v| v.is_finite()));
        let figures = vocal_figures(&s, aligned(&reference, latency, s.vocals[0].len()));
        println!(
            "CLAP {rate} Hz: vocal energy -{:.1} dB, accompaniment SDR {:.1} dB",
            figures.reduction_db, figures.accompaniment_sdr_db
        );
        let variable = [1, 7, 64, 333, 4096, 2, 1000, 17, 4095];
        for blocks in [&[1usize][..], &[64], &variable] {
            let (out, _) = clap.render(rate, &input, blocks, &events);
            let mut worst = 0.0f32;
            for c in 0..2 {
                for (a, b) in out[c].iter().zip(&reference[c]) {
                    worst = worst.max((a - b).abs());
                }
            }
            assert!(worst < 1e-5, "{rate} Hz, blocks {blocks:?}: differs from 4096-sample blocks by {worst}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// VST3

#[test]
fn vst3_class_parameters_and_latency() {
    let _serial = serial();
    let vst3 = Vst3::load();
    assert_eq!(vst3.class_name, "svs Vocal Separator");
    assert_eq!(vst3.category, "Audio Module Class");
    let params = vst3.params();
    let titles: Vec<&str> = params.iter().map(|p| p.title.as_str()).collect();
    // nice-plug adds no hidden parameters beyond ours.
    for name in PARAM_NAMES {
        assert!(titles.contains(&name), "{name} missing from {titles:?}");
    }
    let vocals = params.iter().find(|p| p.title == "Vocals").unwrap();
    assert!((vocals.default - 60.0 / 72.0).abs() < 1e-6);
    assert_eq!(params.iter().find(|p| p.title == "Vocals Mute").unwrap().step_count, 1);
    let input = song(48000, 0.3).mix();
    for rate in [44100, 48000, 96000] {
        let (_, latency) = vst3.render(rate, &input, &[256], &[]);
        assert_eq!(latency, latency_samples(rate), "{rate} Hz");
    }
}

#[test]
fn vst3_unity_gains_parameter_changes_and_vocals_at_minus_inf() {
    let _serial = serial();
    let rate = 48000;
    let latency = latency_samples(rate);
    let s = song(rate, 6.0);
    let input = padded(&s.mix(), latency);
    let vst3 = Vst3::load();
    let (out, reported) = vst3.render(rate, &input, &[1024, 100, 4096], &[]);
    assert_eq!(reported, latency);
    let err = max_diff_to_delayed_input(&input, &out, latency);
    assert!(err < 1e-6, "0 dB / 0 dB differs from the delayed input by {err}");

    // The parameter change reaches the audio through IParameterChanges in process().
    let vocals = vst3.param_id("Vocals");
    let (out, _) = vst3.render(rate, &input, &[1024, 100, 4096], &[(0, vocals, 0.0)]);
    let (figures, input_sdr) = vocals_off_figures("VST3", rate, &s, &input, &out, latency);
    assert!(max_diff_to_delayed_input(&input, &out, latency) > 1e-2, "the parameter change did not reach the audio");
    check_vocal_figures(&figures, input_sdr, ISSUE_TARGET_DB);

    // A host that sets up offline once: nice-plug activates the plugin in realtime mode, but it
    // notices the host running far ahead of real time and waits for its worker, so nothing goes
    // out dry. It separates with the realtime settings (1.5 s of context, not the offline 3 s),
    // so the figures are the realtime ones, not the offline render's.
    let fresh = Vst3::load();
    let (once, _) = fresh.render_setup(rate, &input, &[1024, 100, 4096], &[(0, vocals, 0.0)], 1);
    let (once_figures, _) = vocals_off_figures("VST3, one offline setup", rate, &s, &input, &once, latency);
    check_vocal_figures(&once_figures, input_sdr, ISSUE_TARGET_DB);
    assert!(max_abs_diff(&once, &out) > 1e-3, "the offline settings were used after all");
    drop(fresh);

    // Solo the accompaniment: the same as turning the vocals off.
    let solo = vst3.param_id("Accompaniment Solo");
    let (soloed, _) = vst3.render(rate, &input, &[512], &[(0, solo, 1.0)]);
    let worst = max_abs_diff(&soloed, &out);
    assert!(worst < 1e-5, "accompaniment solo differs from vocals at -inf by {worst}");
}

/// VST3: the Latency parameter switched to Live through IParameterChanges; the host reads the
/// live latency after the restart, 0 dB / 0 dB gives the delayed input, vocals at -inf still
/// separate ([`LIVE_TARGET_DB`]).
#[test]
fn vst3_live_mode_reports_its_latency_and_separates() {
    let _serial = serial();
    let rate = 44100;
    let vst3 = Vst3::load();
    let mode = vst3.param_id("Latency");
    let short = padded(&song(rate, 0.2).mix(), 0);
    let (_, quality) = vst3.render(rate, &short, &[512], &[(0, mode, 1.0)]);
    assert_eq!(quality, latency_samples(rate), "the latency before the switch");
    let live = live_latency(rate);
    let s = song(rate, 6.0);
    let input = padded(&s.mix(), live);
    let (out, reported) = vst3.render(rate, &input, &[1024, 100, 4096], &[]);
    assert_eq!(reported, live, "the host reads the live latency after the switch");
    let err = max_diff_to_delayed_input(&input, &out, live);
    assert!(err < 1e-5, "0 dB / 0 dB differs from the delayed input by {err}");
    let vocals = vst3.param_id("Vocals");
    let (out, _) = vst3.render(rate, &input, &[1024, 100, 4096], &[(0, vocals, 0.0)]);
    let (figures, input_sdr) = vocals_off_figures("VST3 live", rate, &s, &input, &out, live);
    check_vocal_figures(&figures, input_sdr, LIVE_TARGET_DB);
}

// ---------------------------------------------------------------------------------------------
// pedalboard (JUCE)

/// pedalboard, Spotify's Python host built on JUCE (scripts/test installs it from PyPI), loads
/// the VST3 bundle and processes in both latency modes with the latency the plugin reports
/// (tests/hosts/pedalboard_host.py says what it checks).
#[test]
fn pedalboard_juce_host_processes_in_both_latency_modes() {
    let _serial = serial();
    let bundle = &bundles().vst3_bundle;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hosts").join("pedalboard_host.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(bundle)
        .arg(latency_samples(48000).to_string())
        .arg(live_latency(48000).to_string())
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pedalboard host (needs `python3 -m pip install pedalboard==0.9.26 numpy`, as scripts/test does):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Benchmark (docs/BENCHMARKS.md, "Plugin")

/// Realtime CPU load of the plugin's engine at 48 kHz stereo for the embedded model and the
/// three presets (random weights: speed does not depend on them), and a paced realtime run.
/// `cargo test --workspace --test plugin -- --ignored --nocapture benchmark`
#[test]
#[ignore = "a benchmark: minutes of CPU"]
fn benchmark_realtime_load_48k_stereo() {
    let _serial = serial();
    use std::time::{Duration, Instant};
    use svs_core::{Preset, Separator};
    use svs_plugin::engine::{Engine, EngineConfig, Separation, separator_config};
    let rate = 48000;
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let latency = latency_samples(rate);
    println!("latency: {latency} samples ({:.3} s) at {rate} Hz", latency as f64 / rate as f64);
    let mut models: Vec<(String, svs_core::PoCoNet, f32)> = Vec::new();
    let default = svs_core::default_model::default_model().unwrap();
    models.push(("embedded default".into(), default.separator(&device).unwrap().0, 20.0));
    for preset in Preset::ALL {
        models.push((preset.name().into(), preset.config().init(&device), 6.0));
    }
    for (name, model, seconds) in models {
        // Offline mode: the audio thread waits for the worker, so wall time is the work.
        let separator = Separator::new(model.clone(), device.clone(), separator_config()).unwrap();
        let mut engine = Engine::new(
            EngineConfig { sample_rate: rate, channels: 2, offline: true },
            Some(Separation::Windowed(separator)),
            Default::default(),
        );
        let input = padded(&song(rate, seconds).mix(), latency);
        let start = Instant::now();
        for i in 0..input[0].len() {
            std::hint::black_box(engine.tick([input[0][i], input[1][i]]));
        }
        let load = start.elapsed().as_secs_f64() / (input[0].len() as f64 / rate as f64);
        println!("{name}: CPU load {:.0} % of real time ({seconds} s of audio)", 100.0 * load);
    }
    // Paced: 10 s at the real rate, as a host's audio thread would call it: Quality in 512-sample
    // blocks, Live in 512- and 64-sample blocks.
    let paced = |mut engine: Engine, block: usize, label: &str| {
        let input = song(rate, 10.0).mix();
        let start = Instant::now();
        let mut worst_block = Duration::ZERO;
        for (k, pos) in (0..input[0].len()).step_by(block).enumerate() {
            let due = start + Duration::from_secs_f64(k as f64 * block as f64 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let t = Instant::now();
            engine.begin_block(block, t);
            for i in pos..(pos + block).min(input[0].len()) {
                std::hint::black_box(engine.tick([input[0][i], input[1][i]]));
            }
            worst_block = worst_block.max(t.elapsed());
        }
        let late = engine.shared().late_samples();
        println!(
            "paced realtime, {label}, embedded model, 10 s in {block}-sample blocks: {late} of {} output samples \
             passed dry (late), slowest audio-thread block {:.1} us (budget {:.0} us)",
            input[0].len() - engine.latency(),
            worst_block.as_secs_f64() * 1e6,
            block as f64 / rate as f64 * 1e6
        );
    };
    let realtime = EngineConfig { sample_rate: rate, channels: 2, offline: false };
    let model = default.separator(&device).unwrap().0;
    let quality = || Separation::Windowed(Separator::new(model.clone(), device.clone(), separator_config()).unwrap());
    paced(Engine::new(realtime, Some(quality()), Default::default()), 512, "Quality");
    let live = || Separation::Live(svs_core::LiveSeparator::new(&model, rate, 2, &Default::default()).unwrap());
    for block in [512, 64] {
        paced(Engine::new(realtime, Some(live()), Default::default()), block, "Live");
    }
}

/// How the window length (latency) and the context before each window (model work) trade for
/// separation with the embedded model (the plugin uses 1 s windows with 1.5 s of context, 3 s in
/// offline renders):
/// `cargo test --workspace --test plugin -- --ignored --nocapture window_length`.
#[test]
#[ignore = "a diagnostic: prints figures"]
fn window_length_vs_vocal_reduction() {
    let _serial = serial();
    let rate = 44100;
    let s = song(rate, 8.0);
    let mix = s.mix();
    let audio = svs_core::AudioBuffer::new(rate, mix.to_vec());
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let model = svs_core::default_model::default_model().unwrap().separator(&device).unwrap().0;
    let windows = [
        (1.0, 0.0),
        (1.0, 0.5),
        (1.0, 1.0),
        (1.0, 1.5),
        (1.0, 2.0),
        (1.0, 3.0),
        (1.0, 4.0),
        (1.0, 6.0),
        (2.0, 0.0),
        (4.0, 0.0),
        (8.0, 0.0),
    ];
    for (chunk_seconds, context_seconds) in windows {
        let config =
            svs_core::SeparatorConfig { chunk_seconds, context_seconds, ..svs_plugin::engine::separator_config() };
        let sep = svs_core::Separator::new(model.clone(), device.clone(), config).unwrap();
        let stems = sep.separate(&audio, |_| {}).unwrap();
        let acc = &stems.accompaniment.channels;
        let f = vocal_figures(&s, [&acc[0], &acc[1]]);
        println!(
            "window {chunk_seconds} s, context {context_seconds} s: vocal energy -{:.1} dB (projection), vocals / residual {:.1} dB, accompaniment SDR {:.1} dB",
            f.reduction_db, f.residual_db, f.accompaniment_sdr_db
        );
    }
}
