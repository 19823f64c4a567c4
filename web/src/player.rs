//! Playback while the separation runs: the page's side of the player worklet (`www/player.js`),
//! which holds the original and the stems as they arrive and mixes them at the mixer's gains on
//! the browser's audio thread, waiting at the edge of what is separated.
//!
//! The audio context runs at the song's own rate, so the worklet plays the samples as decoded
//! (no resampling between the stems and the original).

use crate::decode::Decoded;
use crate::js;
use crate::worker_client::Block;
use js_sys::{Array, Float32Array};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioContext, AudioContextOptions, AudioWorkletNode, AudioWorkletNodeOptions, MessageEvent};

/// What the worklet last reported.
#[derive(Default)]
struct Reported {
    /// The number of the last message sent to the worklet.
    sent: Cell<u32>,
    frame: Cell<f64>,
    playing: Cell<bool>,
    waiting: Cell<bool>,
    /// `None` when the last report had no sound played (paused or waiting).
    level: Cell<Option<f64>>,
    ended: Cell<bool>,
}

pub struct Player {
    context: AudioContext,
    node: AudioWorkletNode,
    rate: f64,
    frames: u32,
    reported: Rc<Reported>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Player {
    fn drop(&mut self) {
        self.node.port().map(|p| p.set_onmessage(None)).ok();
        let _ = self.context.close();
    }
}

fn words(what: &str) -> impl Fn(JsValue) -> String + '_ {
    move |e| format!("The player could not {what}: {}", js::error_text(&e))
}

impl Player {
    /// A player for `song`, silent until [`Self::play`]. `on_sounding` runs when the first audible
    /// sample after a play leaves the worklet (the time-to-first-sound measurement).
    pub fn new<F: Fn() + 'static>(
        song: &Decoded,
        on_sounding: F,
    ) -> impl Future<Output = Result<Player, String>> + use<F> {
        // What the player needs of the song, taken now: the future outlives the borrow.
        let (rate, channels, frames, samples) = (song.sample_rate, song.channels, song.frames, song.planar_copy());
        Self::start(rate, channels, frames, samples, on_sounding)
    }

    async fn start(
        rate: u32,
        channels: u32,
        frames: u32,
        samples: Vec<Float32Array>,
        on_sounding: impl Fn() + 'static,
    ) -> Result<Player, String> {
        let options = AudioContextOptions::new();
        options.set_sample_rate(rate as f32);
        let context = AudioContext::new_with_context_options(&options).map_err(words("start"))?;
        let worklet = context.audio_worklet().map_err(words("start"))?;
        JsFuture::from(worklet.add_module("./player.js").map_err(words("start"))?).await.map_err(words("start"))?;
        let node_options = AudioWorkletNodeOptions::new();
        node_options.set_number_of_inputs(0);
        node_options.set_output_channel_count(&Array::of1(&channels.into()));
        let node = AudioWorkletNode::new_with_options(&context, "svs-player", &node_options).map_err(words("start"))?;
        node.connect_with_audio_node(&context.destination()).map_err(words("start"))?;

        let reported = Rc::new(Reported::default());
        let on_message = {
            let reported = reported.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                match js::get_str(&data, "type").as_deref() {
                    Some("state") => {
                        reported.level.set(js::get_f64(&data, "level"));
                        // A report sent before the worklet saw the latest play, pause or seek
                        // would undo it here.
                        if js::get_f64(&data, "acked") != Some(reported.sent.get() as f64) {
                            return;
                        }
                        reported.frame.set(js::get_f64(&data, "frame").unwrap_or(0.0));
                        reported.playing.set(js::get(&data, "playing").as_bool() == Some(true));
                        reported.waiting.set(js::get(&data, "waiting").as_bool() == Some(true));
                    }
                    Some("sounding") => on_sounding(),
                    Some("ended") => reported.ended.set(true),
                    _ => {}
                }
            })
        };
        let port = node.port().map_err(words("start"))?;
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let player = Player { context, node, rate: rate as f64, frames, reported, _on_message: on_message };
        let message = worklet_message("song");
        let transfer = Array::new();
        js::set(&message, "channels", &js::channels_array(&samples, &transfer));
        player.send(&message, Some(&transfer))?;
        Ok(player)
    }

    fn send(&self, message: &js_sys::Object, transfer: Option<&Array>) -> Result<(), String> {
        let id = self.reported.sent.get() + 1;
        self.reported.sent.set(id);
        js::set(message, "id", &id.into());
        let port = self.node.port().map_err(words("play"))?;
        match transfer {
            Some(transfer) => port.post_message_with_transferable(message, transfer),
            None => port.post_message(message),
        }
        .map_err(words("play"))
    }

    /// Separated samples from frame `start` (transferred to the worklet).
    pub fn add_block(&self, block: &Block) -> Result<(), String> {
        let message = worklet_message("block");
        let transfer = Array::new();
        js::set(&message, "start", &block.start.into());
        js::set(&message, "vocals", &js::channels_array(&block.vocals, &transfer));
        js::set(&message, "accompaniment", &js::channels_array(&block.accompaniment, &transfer));
        self.send(&message, Some(&transfer))
    }

    /// Forgets the stems (a new separation starts).
    pub fn clear_stems(&self) -> Result<(), String> {
        self.send(&worklet_message("clear"), None)
    }

    /// Plays from `from` seconds.
    pub fn play(&self, from: f64) -> Result<(), String> {
        // Browsers start a context suspended until a click; Play is that click.
        let _ = self.context.resume();
        let frame = self.frame_of(from);
        let message = worklet_message("play");
        js::set(&message, "frame", &frame.into());
        self.reported.frame.set(frame);
        self.reported.playing.set(true);
        self.reported.ended.set(false);
        self.send(&message, None)
    }

    pub fn pause(&self) -> Result<(), String> {
        self.reported.playing.set(false);
        self.send(&worklet_message("pause"), None)
    }

    /// Moves to `to` seconds, playing on if playing.
    pub fn seek(&self, to: f64) -> Result<(), String> {
        let frame = self.frame_of(to);
        let message = worklet_message("seek");
        js::set(&message, "frame", &frame.into());
        self.reported.frame.set(frame);
        self.send(&message, None)
    }

    /// Gains of (original, vocals, accompaniment).
    pub fn set_gains(&self, gains: [f32; 3]) -> Result<(), String> {
        let message = worklet_message("gains");
        js::set(&message, "gains", &gains.iter().map(|&g| JsValue::from(g)).collect::<Array>());
        self.send(&message, None)
    }

    fn frame_of(&self, seconds: f64) -> f64 {
        (seconds * self.rate).clamp(0.0, self.frames as f64).floor()
    }

    /// The playing position in seconds.
    pub fn position(&self) -> f64 {
        self.reported.frame.get() / self.rate
    }

    pub fn is_playing(&self) -> bool {
        self.reported.playing.get() && !self.reported.ended.get()
    }

    /// Playing, but held at the edge of what is separated.
    pub fn is_waiting(&self) -> bool {
        self.is_playing() && self.reported.waiting.get()
    }

    /// Whether playback reached the end (cleared by the next play).
    pub fn has_ended(&self) -> bool {
        self.reported.ended.get()
    }

    /// RMS of the output over the last report (for the tests: what is heard); `None` when
    /// nothing was played in it.
    pub fn level(&self) -> Option<f64> {
        self.reported.level.get()
    }
}

fn worklet_message(kind: &str) -> js_sys::Object {
    let message = js_sys::Object::new();
    js::set(&message, "type", &kind.into());
    message
}
