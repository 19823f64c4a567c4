//! All parameters and persisted state in one struct (nice-plug's `#[derive(Params)]`).

use crate::dsp::{MAX_DB, MIN_DB, slider_gain};
use nice_plug::prelude::*;
use std::sync::{Arc, RwLock};
use svs_core::dsp::StemControl;

#[derive(Params)]
pub struct SvsParams {
    /// The model file the user chose (empty: the embedded default). Saved with the project; a
    /// missing or bad file falls back to the default and logs why.
    #[persist = "model-path"]
    pub model_path: Arc<RwLock<String>>,

    #[id = "vocals"]
    pub vocals: FloatParam,
    #[id = "vocals-solo"]
    pub vocals_solo: BoolParam,
    #[id = "vocals-mute"]
    pub vocals_mute: BoolParam,

    #[id = "accompaniment"]
    pub accompaniment: FloatParam,
    #[id = "accompaniment-solo"]
    pub accompaniment_solo: BoolParam,
    #[id = "accompaniment-mute"]
    pub accompaniment_mute: BoolParam,

    /// Dry/wet: 0 % is the (latency-compensated) input, 100 % the remix of the stems.
    #[id = "mix"]
    pub mix: FloatParam,
    /// The host's bypass: fades to the latency-compensated input, so bypassing keeps time.
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// Quality: 1 s windows with 1.5 s of context (1.5 s of latency). Live: the streaming
    /// separator on its worker (83 ms at 48 kHz, 91 ms at 44.1 kHz), to sing or play along.
    /// Switching re-reports the latency to the host.
    #[id = "latency"]
    pub latency: EnumParam<LatencyMode>,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyMode {
    #[name = "Quality (1.5 s)"]
    Quality,
    #[name = "Live (under 100 ms)"]
    Live,
}

/// A stem gain in dB whose bottom reads "-inf" (silence). Smoothing happens on the effective
/// linear gain in the plugin (after solo/mute), so no parameter smoother here.
fn gain_param(name: &str) -> FloatParam {
    FloatParam::new(name, 0.0, FloatRange::Linear { min: MIN_DB, max: MAX_DB })
        .with_step_size(0.1)
        .with_unit(" dB")
        .with_value_to_string(Arc::new(|db| if db <= MIN_DB { "-inf".into() } else { format!("{db:.1}") }))
        .with_string_to_value(Arc::new(|s| {
            let s = s.trim().trim_end_matches(['d', 'D', 'b', 'B']).trim();
            if s.eq_ignore_ascii_case("-inf") { Some(MIN_DB) } else { s.parse().ok() }
        }))
}

impl Default for SvsParams {
    fn default() -> Self {
        Self {
            model_path: Arc::new(RwLock::new(String::new())),
            vocals: gain_param("Vocals"),
            vocals_solo: BoolParam::new("Vocals Solo", false),
            vocals_mute: BoolParam::new("Vocals Mute", false),
            accompaniment: gain_param("Accompaniment"),
            accompaniment_solo: BoolParam::new("Accompaniment Solo", false),
            accompaniment_mute: BoolParam::new("Accompaniment Mute", false),
            mix: FloatParam::new("Mix", 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit("%")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            // Every change restarts the host's processing (a new latency): not for automation.
            latency: EnumParam::new("Latency", LatencyMode::Quality).non_automatable(),
        }
    }
}

impl SvsParams {
    pub fn vocals_control(&self) -> StemControl {
        StemControl {
            gain: slider_gain(self.vocals.value()),
            solo: self.vocals_solo.value(),
            mute: self.vocals_mute.value(),
        }
    }
    pub fn accompaniment_control(&self) -> StemControl {
        StemControl {
            gain: slider_gain(self.accompaniment.value()),
            solo: self.accompaniment_solo.value(),
            mute: self.accompaniment_mute.value(),
        }
    }
    /// The wet amount the output ramps to.
    pub fn wet(&self) -> f32 {
        if self.bypass.value() { 0.0 } else { self.mix.value() }
    }
}
