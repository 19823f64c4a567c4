//! svs as a CLAP and VST3 plugin (nice-plug): turn the vocals or the accompaniment of a mix up,
//! down, solo or mute inside a DAW.
//!
//! The audio thread only moves samples: it feeds the input to a worker thread through a
//! lock-free ring and takes the separated vocals back from another, delayed by a fixed latency
//! that the plugin reports to the host ([`engine`]): one engine per latency mode, Quality (the
//! windowed separator) and Live (the streaming one). The output is a remix of the delayed input
//! and the vocals ([`dsp`]); the accompaniment is input minus vocals, so at 0 dB / 0 dB the output
//! is exactly the delayed input. The model is the core's embedded default or a file the user
//! chose ([`model`]).

pub mod dsp;
pub mod editor;
pub mod engine;
pub mod model;
pub mod params;
pub mod status;

use dsp::{Ramp, mix_sample};
use engine::{Engine, EngineConfig, Separation};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditorState, RepaintNotifier};
use params::{LatencyMode, SvsParams};
use status::PluginStatus;
use std::sync::Arc;
use std::time::Instant;
use svs_core::dsp::stem_gains;
use svs_core::{LiveConfig, LiveSeparator};

/// Gains and dry/wet move over 20 ms: fast enough to follow automation, slow enough not to click.
const RAMP_SECONDS: f32 = 0.02;
/// How often the audio thread asks an open editor to redraw its readings (load, late blocks).
const REPAINT_SECONDS: f32 = 0.1;

pub struct SvsPlugin {
    params: Arc<SvsParams>,
    engine: Option<Engine>,
    /// Main input channels of the active layout (1 or 2).
    input_channels: usize,
    vocals_gain: Ramp,
    accompaniment_gain: Ramp,
    wet: Ramp,
    /// 1 while the vocals arrive in time; drops to 0 when they are late (dry output) and fades
    /// back in when they return, so recovering does not click.
    health: Ramp,
    /// The Live mode's engine (built in `activate()` when a model loaded), and the mode now
    /// running.
    live: Option<Engine>,
    mode: LatencyMode,
    /// What the editor shows: the model, the device, the load and the late blocks.
    status: Arc<PluginStatus>,
    editor_state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    /// Samples until the next repaint request, and the sample rate (from `activate()`).
    until_repaint: u32,
    rate: f32,
}

/// The engine of `mode` as `activate()` built it (Live needs a model; without one the Quality
/// engine passes the input through at its own latency).
fn engine_for<'a>(
    mode: LatencyMode,
    quality: &'a mut Option<Engine>,
    live: &'a mut Option<Engine>,
) -> Option<&'a mut Engine> {
    match (mode, live) {
        (LatencyMode::Live, Some(live)) => Some(live),
        _ => quality.as_mut(),
    }
}

impl Default for SvsPlugin {
    fn default() -> Self {
        Self {
            params: Arc::new(SvsParams::default()),
            engine: None,
            input_channels: 2,
            vocals_gain: Ramp::new(1.0, 1),
            accompaniment_gain: Ramp::new(1.0, 1),
            wet: Ramp::new(1.0, 1),
            health: Ramp::new(1.0, 1),
            live: None,
            mode: LatencyMode::Quality,
            status: Arc::default(),
            editor_state: editor::default_state(),
            repaint: RepaintNotifier::new(),
            until_repaint: 0,
            rate: 48000.0,
        }
    }
}

impl SvsPlugin {
    /// Asks an open editor to redraw its readings every `REPAINT_SECONDS` of audio (one atomic
    /// store; the editor's own timer does the drawing, never this thread).
    fn tick_repaint(&mut self, samples: usize) {
        match self.until_repaint.checked_sub(samples as u32) {
            Some(left) if left > 0 => self.until_repaint = left,
            _ => {
                self.until_repaint = (REPAINT_SECONDS * self.rate) as u32;
                if self.editor_state.is_open() {
                    self.repaint.request_repaint();
                }
            }
        }
    }
}

impl Plugin for SvsPlugin {
    const NAME: &'static str = "svs Vocal Separator";
    const VENDOR: &'static str = "svs";
    const URL: &'static str = "https://example.invalid/svs";
    const EMAIL: &'static str = "svs@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    // Stereo first (the default); mono input is separated as mono and sent to both outputs.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
    ];

    type Editor = nice_plug_egui::EguiEditor<editor::EditorApp>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.editor_state.clone(), self.params.clone(), self.status.clone(), self.repaint.clone())
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Runs again on every rate, block size, render mode or state change: stop the old
        // worker first (its stream belongs to the old settings).
        (self.engine, self.live) = (None, None);
        let rate = buffer_config.sample_rate.round() as u32;
        if !(svs_core::separator::MIN_SAMPLE_RATE..=svs_core::separator::MAX_SAMPLE_RATE).contains(&rate) {
            nice_error!("svs: unsupported sample rate {rate} Hz");
            return false;
        }
        self.input_channels = layout.main_input_channels.map_or(2, |c| c.get() as usize).clamp(1, 2);
        let saved = self.params.model_path.read().map(|p| p.clone()).unwrap_or_default();
        let offline = buffer_config.process_mode == ProcessMode::Offline;
        let loaded = model::load(model::requested_path(&saved).as_deref(), engine::separator_config_for(offline));
        let status = &loaded.model.status;
        match (&loaded.separator, loaded.model.fell_back) {
            (Some(_), false) => nice_log!("svs: {status}"),
            (Some(_), true) => nice_warn!("svs: {status}"),
            (None, _) => nice_error!("svs: {status}"),
        }
        self.status.set_loaded(loaded.model.clone());
        self.status.clear_readings();
        self.repaint.request_repaint();
        let config = EngineConfig { sample_rate: rate, channels: self.input_channels, offline };
        self.live = loaded.live_model.as_ref().and_then(|model| {
            LiveSeparator::new(model, rate, self.input_channels, &LiveConfig::default())
                .map_err(|e| nice_error!("svs: no live mode: {e}"))
                .ok()
                .map(|live| Engine::new(config, Some(Separation::Live(live)), self.status.clone()))
        });
        self.engine = Some(Engine::new(config, loaded.separator.map(Separation::Windowed), self.status.clone()));
        self.mode = self.params.latency.value();
        let latency = engine_for(self.mode, &mut self.engine, &mut self.live).map_or(0, |e| e.latency() as u32);
        nice_log!(
            "svs: {rate} Hz, {} channel(s), {} render, {:?} latency: {latency} samples",
            self.input_channels,
            if offline { "offline" } else { "realtime" },
            self.mode
        );
        context.set_latency_samples(latency);
        let ramp = (RAMP_SECONDS * rate as f32) as u32;
        let (gv, ga) = stem_gains(self.params.vocals_control(), self.params.accompaniment_control());
        self.vocals_gain = Ramp::new(gv, ramp);
        self.accompaniment_gain = Ramp::new(ga, ramp);
        self.wet = Ramp::new(self.params.wet(), ramp);
        self.health = Ramp::new(1.0, ramp);
        self.rate = rate as f32;
        true
    }

    fn reset(&mut self) {
        if let Some(engine) = &mut self.engine {
            engine.reset();
        }
        if let Some(live) = &mut self.live {
            live.reset();
        }
        self.health.jump(1.0);
    }

    fn deactivate(&mut self) {
        // Joins the workers.
        (self.engine, self.live) = (None, None);
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let (gv, ga) = stem_gains(self.params.vocals_control(), self.params.accompaniment_control());
        self.vocals_gain.set_target(gv);
        self.accompaniment_gain.set_target(ga);
        self.wet.set_target(self.params.wet());
        // A new latency mode starts its path afresh and re-reports the latency (the host
        // restarts processing to apply it).
        let wanted = self.params.latency.value();
        if wanted != self.mode {
            self.mode = wanted;
            if let Some(engine) = engine_for(wanted, &mut self.engine, &mut self.live) {
                engine.reset();
                let latency = engine.latency() as u32;
                context.set_latency_samples(latency);
            }
        }
        let n = buffer.samples();
        self.tick_repaint(n);
        let channels = buffer.as_slice();
        if channels.len() < 2 {
            return ProcessStatus::Error("svs needs two output channels");
        }
        let mono = self.input_channels == 1;
        let Some(engine) = engine_for(self.mode, &mut self.engine, &mut self.live) else {
            return ProcessStatus::Normal;
        };
        engine.begin_block(n, Instant::now());
        let late_before = engine.shared().late_samples();
        for i in 0..n {
            let x = if mono { [channels[0][i]; 2] } else { [channels[0][i], channels[1][i]] };
            let frame = engine.tick(x);
            let (gv, ga, wet) = (self.vocals_gain.next(), self.accompaniment_gain.next(), self.wet.next());
            let vocals = match frame.vocals {
                Some(v) => {
                    self.health.set_target(1.0);
                    v
                }
                None => {
                    // Late: the dry signal for this sample (see engine.rs); the worker logs it.
                    self.health.jump(0.0);
                    [0.0; 2]
                }
            };
            let wet = wet * self.health.next();
            channels[0][i] = mix_sample(frame.dry[0], vocals[0], gv, ga, wet);
            channels[1][i] = mix_sample(frame.dry[1], vocals[1], gv, ga, wet);
        }
        if engine.shared().late_samples() > late_before {
            self.status.record_late_block();
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for SvsPlugin {
    const CLAP_ID: &'static str = "invalid.example.svs.vocal-separator";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Turn the vocals or the accompaniment of a mix up, down or off");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::AudioEffect, ClapFeature::Stereo, ClapFeature::Mono, ClapFeature::Utility, ClapFeature::Mixing];
}

impl Vst3Plugin for SvsPlugin {
    const VST3_CLASS_ID: [u8; 16] = *b"svsVocalSeparatr";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Fx, Vst3SubCategory::Tools];
}

nice_export_clap!(SvsPlugin);
nice_export_vst3!(SvsPlugin);
