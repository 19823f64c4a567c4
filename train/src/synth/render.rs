//! Renders arrangement parts through a General MIDI SoundFont with `rustysynth`. Each stem
//! gets its own synthesizer (and its own reverb), so stems are exact and sum to the mix.

use std::sync::Arc;

use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use super::SynthError;
use super::arrangement::Part;

/// MIDI status bytes used here.
const NOTE_OFF: i32 = 0x80;
const NOTE_ON: i32 = 0x90;
const CONTROL_CHANGE: i32 = 0xB0;
const PROGRAM_CHANGE: i32 = 0xC0;
const CC_VOLUME: i32 = 7;
const CC_PAN: i32 = 10;
const CC_EXPRESSION: i32 = 11;
const CC_REVERB: i32 = 91;
const CC_CHORUS: i32 = 93;

/// Builds a synthesizer; also used up front to validate the settings once, so rendering a
/// song cannot fail later.
pub fn synthesizer(font: &Arc<SoundFont>, sample_rate: u32, effects: bool) -> Result<Synthesizer, SynthError> {
    let rate = i32::try_from(sample_rate)
        .map_err(|_| SynthError::InvalidConfig(format!("sample rate {sample_rate} too large")))?;
    let mut settings = SynthesizerSettings::new(rate);
    settings.enable_reverb_and_chorus = effects;
    // Pads, arpeggios and sustained chords on four channels need more than the default 64.
    settings.maximum_polyphony = 128;
    Synthesizer::new(font, &settings).map_err(|e| SynthError::Synthesizer(e.to_string()))
}

/// One scheduled MIDI event, ordered by time; note-offs sort before note-ons at the same
/// sample so a repeated key is released before it is struck again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    sample: usize,
    is_on: bool,
    channel: u8,
    key: u8,
    velocity: u8,
}

fn schedule(parts: &[&Part], sample_rate: u32) -> Vec<Event> {
    let fs = sample_rate as f64;
    let mut events = Vec::new();
    for part in parts {
        for n in &part.notes {
            if !(n.start_s.is_finite() && n.duration_s.is_finite()) || n.start_s < 0.0 || n.duration_s <= 0.0 {
                continue;
            }
            let on = (n.start_s * fs).round() as usize;
            let off = ((n.start_s + n.duration_s) * fs).round() as usize;
            let (channel, key) = (part.channel.min(15), n.key.min(127));
            events.push(Event { sample: on, is_on: true, channel, key, velocity: n.velocity.clamp(1, 127) });
            events.push(Event { sample: off.max(on + 1), is_on: false, channel, key, velocity: 0 });
        }
    }
    events.sort();
    events
}

/// Renders `parts` (each on its own channel) into a mono buffer of `num_samples` samples.
pub fn render_parts(
    font: &Arc<SoundFont>,
    parts: &[&Part],
    sample_rate: u32,
    num_samples: usize,
    effects: bool,
) -> Result<Vec<f32>, SynthError> {
    let mut synth = synthesizer(font, sample_rate, effects)?;
    for part in parts {
        let channel = part.channel.min(15) as i32;
        synth.process_midi_message(channel, PROGRAM_CHANGE, part.program.min(127) as i32, 0);
        synth.process_midi_message(channel, CONTROL_CHANGE, CC_VOLUME, part.volume.min(127) as i32);
        synth.process_midi_message(channel, CONTROL_CHANGE, CC_EXPRESSION, 127);
        synth.process_midi_message(channel, CONTROL_CHANGE, CC_PAN, 64);
        synth.process_midi_message(channel, CONTROL_CHANGE, CC_REVERB, part.reverb_send.min(127) as i32);
        synth.process_midi_message(channel, CONTROL_CHANGE, CC_CHORUS, 0);
    }
    let mut left = vec![0.0f32; num_samples];
    let mut right = vec![0.0f32; num_samples];
    let mut position = 0;
    for event in schedule(parts, sample_rate) {
        if event.sample >= num_samples {
            break;
        }
        if event.sample > position {
            synth.render(&mut left[position..event.sample], &mut right[position..event.sample]);
            position = event.sample;
        }
        let (channel, key) = (event.channel as i32, event.key as i32);
        if event.is_on {
            synth.process_midi_message(channel, NOTE_ON, key, event.velocity as i32);
        } else {
            synth.process_midi_message(channel, NOTE_OFF, key, 0);
        }
    }
    if position < num_samples {
        synth.render(&mut left[position..], &mut right[position..]);
    }
    // Mono downmix: the average keeps centre-panned material at its level.
    Ok(left.iter().zip(&right).map(|(l, r)| 0.5 * (l + r)).collect())
}
