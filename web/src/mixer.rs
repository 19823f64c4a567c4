//! Playback of the original and the two stems, sample-locked: three buffer sources started at
//! the same context time from the same offset, each through its own gain node (the karaoke
//! mixer's levels). Web Audio has no "seek" on a source, so seeking restarts all three.

use crate::js;
use js_sys::Float32Array;
use web_sys::{
    AudioBuffer, AudioBufferOptions, AudioBufferSourceNode, AudioContext, AudioScheduledSourceNode, GainNode,
};

pub struct Mixer {
    context: AudioContext,
    /// Original, vocals, accompaniment.
    tracks: [AudioBuffer; 3],
    gains: [GainNode; 3],
    sources: Vec<AudioBufferSourceNode>,
    /// Context time at which position 0 played, while playing.
    started_at: Option<f64>,
    /// Position when paused, in seconds.
    paused_at: f64,
}

impl Drop for Mixer {
    fn drop(&mut self) {
        self.stop_sources();
        let _ = self.context.close();
    }
}

fn words(what: &str) -> impl Fn(wasm_bindgen::JsValue) -> String + '_ {
    move |e| format!("The player could not {what}: {}", js::error_text(&e))
}

impl Mixer {
    pub fn new(
        original: &AudioBuffer,
        vocals: &[Float32Array],
        accompaniment: &[Float32Array],
    ) -> Result<Self, String> {
        let context = AudioContext::new().map_err(words("start"))?;
        let stem = |channels: &[Float32Array]| -> Result<AudioBuffer, String> {
            let options = AudioBufferOptions::new(original.length(), original.sample_rate());
            options.set_number_of_channels(channels.len() as u32);
            let buffer = AudioBuffer::new(&options).map_err(words("hold the stems"))?;
            for (c, samples) in channels.iter().enumerate() {
                buffer.copy_to_channel_with_f32_array(samples, c as i32).map_err(words("hold the stems"))?;
            }
            Ok(buffer)
        };
        let tracks = [original.clone(), stem(vocals)?, stem(accompaniment)?];
        let gain = || -> Result<GainNode, String> {
            let node = context.create_gain().map_err(words("start"))?;
            node.connect_with_audio_node(&context.destination()).map_err(words("start"))?;
            Ok(node)
        };
        let gains = [gain()?, gain()?, gain()?];
        Ok(Self { context, tracks, gains, sources: Vec::new(), started_at: None, paused_at: 0.0 })
    }

    pub fn duration(&self) -> f64 {
        self.tracks[0].duration()
    }

    pub fn is_playing(&self) -> bool {
        self.started_at.is_some()
    }

    /// The playing position in seconds.
    pub fn position(&self) -> f64 {
        match self.started_at {
            Some(start) => (self.context.current_time() - start).clamp(0.0, self.duration()),
            None => self.paused_at,
        }
    }

    /// Starts (or restarts) all three tracks together at `from` seconds.
    pub fn play(&mut self, from: f64) -> Result<(), String> {
        self.stop_sources();
        // Browsers start a context suspended until a click; Play is that click.
        let _ = self.context.resume();
        let from = from.clamp(0.0, self.duration());
        // A short delay so all three are scheduled before the first one sounds.
        let at = self.context.current_time() + 0.05;
        for (track, gain) in self.tracks.iter().zip(&self.gains) {
            let source = self.context.create_buffer_source().map_err(words("play"))?;
            source.set_buffer(Some(track));
            source.connect_with_audio_node(gain).map_err(words("play"))?;
            source.start_with_when_and_grain_offset(at, from).map_err(words("play"))?;
            self.sources.push(source);
        }
        self.started_at = Some(at - from);
        Ok(())
    }

    pub fn pause(&mut self) {
        self.paused_at = self.position();
        self.stop_sources();
    }

    /// Moves to `to` seconds, playing on if playing.
    pub fn seek(&mut self, to: f64) -> Result<(), String> {
        if self.is_playing() {
            self.play(to)
        } else {
            self.paused_at = to.clamp(0.0, self.duration());
            Ok(())
        }
    }

    /// Gains of (original, vocals, accompaniment), applied at once.
    pub fn set_gains(&self, gains: [f32; 3]) {
        for (node, gain) in self.gains.iter().zip(gains) {
            node.gain().set_value(gain);
        }
    }

    fn stop_sources(&mut self) {
        for source in self.sources.drain(..) {
            let _ = AsRef::<AudioScheduledSourceNode>::as_ref(&source).stop();
            source.disconnect().ok();
        }
        self.started_at = None;
    }
}
