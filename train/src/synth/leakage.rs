//! DAMP-style karaoke recordings: a phone/karaoke app records the singer with the backing
//! track audible in the room, so the "vocal" track contains the accompaniment (coloured by
//! the speaker and the room) plus mic noise, and the "background" track contains some voice.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dsp::{OnePole, energy, peak};
use super::{SynthError, SynthSong};
use crate::dsp::biquad::{filter_in_place, highpass_coeffs};
use crate::dsp::convolve;
use crate::random::uniform_in;
use svs_core::dsp::db_to_gain;

/// Level ranges of the leakage model.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakageConfig {
    /// Accompaniment in the vocal track, relative to the vocal's energy (dB).
    pub accompaniment_leak_db: (f32, f32),
    /// Voice in the background track, relative to the accompaniment's energy (dB).
    pub voice_leak_db: (f32, f32),
    /// Length of the synthetic room responses (s).
    pub room_length_s: (f32, f32),
    /// Microphone noise relative to the vocal's energy (dB).
    pub mic_noise_db: (f32, f32),
    /// Largest allowed sample magnitude of either track; louder tracks are scaled down.
    pub max_peak: f32,
}

impl Default for LeakageConfig {
    fn default() -> Self {
        Self {
            accompaniment_leak_db: (-25.0, -10.0),
            voice_leak_db: (-30.0, -15.0),
            room_length_s: (0.1, 0.4),
            mic_noise_db: (-60.0, -45.0),
            max_peak: 0.99,
        }
    }
}

impl LeakageConfig {
    pub fn validate(&self) -> Result<(), SynthError> {
        let ranges = [self.accompaniment_leak_db, self.voice_leak_db, self.room_length_s, self.mic_noise_db];
        if ranges.iter().any(|(a, b)| !a.is_finite() || !b.is_finite() || a > b) {
            return Err(SynthError::InvalidConfig("leakage: every range must be finite with low <= high".into()));
        }
        if self.room_length_s.0 <= 0.0 || self.room_length_s.1 > 5.0 {
            return Err(SynthError::InvalidConfig("leakage: room length must be within (0, 5] s".into()));
        }
        if !(self.max_peak > 0.0 && self.max_peak <= 1.0) {
            return Err(SynthError::InvalidConfig("leakage: max_peak must be within (0, 1]".into()));
        }
        Ok(())
    }
}

/// The two recordings of a karaoke performance and the levels used to make them.
#[derive(Clone, Debug, PartialEq)]
pub struct DampPair {
    /// vocals + leaked accompaniment + mic noise, times `vocal_track_gain`.
    pub vocal_track: Vec<f32>,
    /// accompaniment + leaked voice, times `background_track_gain`.
    pub background_track: Vec<f32>,
    /// Energy of the leaked accompaniment relative to the vocal's (dB).
    pub accompaniment_leak_db: f32,
    /// Energy of the leaked voice relative to the accompaniment's (dB).
    pub voice_leak_db: f32,
    /// Energy of the mic noise relative to the vocal's (dB).
    pub mic_noise_db: f32,
    /// Peak-safety gains applied to the tracks (1.0 unless a track would have clipped).
    pub vocal_track_gain: f32,
    pub background_track_gain: f32,
}

/// The DAMP-like pair of a synthetic song, with the default [`LeakageConfig`].
pub fn damp_pair(song: &SynthSong, seed: u64) -> DampPair {
    let accompaniment = song.accompaniment();
    // The stems of a SynthSong always have equal lengths and the default config is valid, so
    // this cannot fail; fall back to the clean stems rather than panic all the same.
    damp_pair_from_stems(&song.vocals, &accompaniment, song.sample_rate, seed, &LeakageConfig::default())
        .unwrap_or_else(|_| DampPair {
            vocal_track: song.vocals.clone(),
            background_track: accompaniment,
            accompaniment_leak_db: f32::NEG_INFINITY,
            voice_leak_db: f32::NEG_INFINITY,
            mic_noise_db: f32::NEG_INFINITY,
            vocal_track_gain: 1.0,
            background_track_gain: 1.0,
        })
}

/// The DAMP-like pair from any vocal and accompaniment of equal length. Leak levels are
/// energies over the whole tracks; when the reference signal is silent the other one is used
/// as the reference instead.
pub fn damp_pair_from_stems(
    vocals: &[f32],
    accompaniment: &[f32],
    sample_rate: u32,
    seed: u64,
    config: &LeakageConfig,
) -> Result<DampPair, SynthError> {
    config.validate()?;
    if vocals.len() != accompaniment.len() {
        return Err(SynthError::InvalidInput(format!(
            "vocals ({}) and accompaniment ({}) differ in length",
            vocals.len(),
            accompaniment.len()
        )));
    }
    if !(8_000..=192_000).contains(&sample_rate) {
        return Err(SynthError::InvalidInput(format!("sample rate {sample_rate} outside 8000..=192000")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fs = sample_rate as f32;
    let accompaniment_leak_db = uniform_in(&mut rng, config.accompaniment_leak_db);
    let voice_leak_db = uniform_in(&mut rng, config.voice_leak_db);
    let mic_noise_db = uniform_in(&mut rng, config.mic_noise_db);
    let vocal_energy = energy(vocals);
    let accompaniment_energy = energy(accompaniment);
    let vocal_reference = if vocal_energy > 0.0 { vocal_energy } else { accompaniment_energy };
    let accompaniment_reference = if accompaniment_energy > 0.0 { accompaniment_energy } else { vocal_energy };

    // Backing track from a small loudspeaker (no deep bass) through the room into the mic.
    let room = room_impulse_response(sample_rate, uniform_in(&mut rng, config.room_length_s), &mut rng);
    let mut leaked_accompaniment = convolve(accompaniment, &room);
    let speaker = highpass_coeffs(f64::from(rng.random_range(120.0..300.0f32)), 0.707, sample_rate);
    filter_in_place(&mut leaked_accompaniment, &speaker);
    scale_to_energy(&mut leaked_accompaniment, vocal_reference, accompaniment_leak_db);

    // Mic self-noise: slightly low-passed white noise.
    let mut noise_filter = OnePole::lowpass(rng.random_range(3000.0..7000.0f32).min(0.45 * fs), fs);
    let mut noise: Vec<f32> = (0..vocals.len()).map(|_| noise_filter.process(rng.random_range(-1.0..1.0f32))).collect();
    scale_to_energy(&mut noise, vocal_reference, mic_noise_db);

    // The singer's voice reaching the recording of the backing track through another path.
    let voice_room = room_impulse_response(sample_rate, uniform_in(&mut rng, config.room_length_s), &mut rng);
    let mut leaked_voice = convolve(vocals, &voice_room);
    scale_to_energy(&mut leaked_voice, accompaniment_reference, voice_leak_db);

    let mut vocal_track: Vec<f32> =
        vocals.iter().zip(&leaked_accompaniment).zip(&noise).map(|((v, a), n)| v + a + n).collect();
    let mut background_track: Vec<f32> = accompaniment.iter().zip(&leaked_voice).map(|(a, v)| a + v).collect();
    let vocal_track_gain = limit_peak(&mut vocal_track, config.max_peak);
    let background_track_gain = limit_peak(&mut background_track, config.max_peak);
    Ok(DampPair {
        vocal_track,
        background_track,
        accompaniment_leak_db,
        voice_leak_db,
        mic_noise_db,
        vocal_track_gain,
        background_track_gain,
    })
}

/// Scales `signal` so its energy is `level_db` relative to `reference_energy`.
fn scale_to_energy(signal: &mut [f32], reference_energy: f64, level_db: f32) {
    let current = energy(signal);
    let gain = if current > 0.0 {
        (reference_energy * 10f64.powf(level_db as f64 / 10.0) / current).sqrt() as f32
    } else {
        0.0
    };
    signal.iter_mut().for_each(|x| *x *= gain);
}

/// Scales `signal` down to `max_peak` if it exceeds it; returns the gain applied.
fn limit_peak(signal: &mut [f32], max_peak: f32) -> f32 {
    let p = peak(signal);
    if p > max_peak {
        let gain = max_peak / p;
        signal.iter_mut().for_each(|x| *x *= gain);
        gain
    } else {
        1.0
    }
}

/// Diffuse reverberation tail: noise with an exponential decay reaching -60 dB at
/// `length_s`, darkening as it decays (air and wall absorption eat the highs first), starting
/// after a few milliseconds of pre-delay. Unnormalised.
pub fn reverb_tail(sample_rate: u32, length_s: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let fs = sample_rate as f32;
    let len = ((length_s.max(0.01)) * fs) as usize;
    let predelay = (rng.random_range(0.004..0.015) * fs) as usize;
    let decay = 6.9 / len.max(1) as f32; // ln(1000): 60 dB over the length
    let mut bright = OnePole::lowpass(rng.random_range(4000.0..7000.0f32).min(0.45 * fs), fs);
    let mut dark = OnePole::lowpass(rng.random_range(1000.0..2500.0f32), fs);
    (0..len)
        .map(|i| {
            if i < predelay {
                return 0.0;
            }
            let noise = rng.random_range(-1.0..1.0f32);
            let mix = i as f32 / len as f32;
            let coloured = (1.0 - mix) * bright.process(noise) + mix * dark.process(noise);
            coloured * (-decay * i as f32).exp()
        })
        .collect()
}

/// A short synthetic room: the direct path, a few early reflections and a diffuse tail of
/// `length_s` (100-400 ms rooms sound like a living room). The tail's energy is drawn
/// between 8 dB below and 2 dB above the direct sound's.
pub fn room_impulse_response(sample_rate: u32, length_s: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let fs = sample_rate as f32;
    let mut ir = reverb_tail(sample_rate, length_s, rng);
    if ir.is_empty() {
        return vec![1.0];
    }
    let tail_db = rng.random_range(-8.0..2.0f32);
    let tail_energy = energy(&ir);
    if tail_energy > 0.0 {
        let gain = db_to_gain(tail_db) / (tail_energy.sqrt() as f32);
        ir.iter_mut().for_each(|x| *x *= gain);
    }
    ir[0] += 1.0;
    for _ in 0..rng.random_range(3..8) {
        let delay = (rng.random_range(0.002..0.03f32) * fs) as usize;
        if delay < ir.len() {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            ir[delay] += sign * rng.random_range(0.1..0.5f32);
        }
    }
    ir
}
