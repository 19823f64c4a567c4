//! Tests of the song generator. Everything but the SoundFont rendering runs without a
//! SoundFont; the song-level tests skip (with a message) when none is installed.

use std::path::PathBuf;
use std::sync::OnceLock;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::arrangement::{self, ArrangementConfig, SectionKind};
use super::dsp::{self, energy, energy_ratio_db, midi_to_hz, peak};
use super::leakage::{LeakageConfig, damp_pair_from_stems, room_impulse_response};
use super::voice::{Consonant, SungNote, Syllable, VoiceConfig, VoiceType, Vowel, sing};
use super::*;

const SR: u32 = 16_000;

// ---------------------------------------------------------------- helpers

fn note(start_s: f64, duration_s: f64, midi: f32, vowel: Vowel, onset: Option<Consonant>) -> SungNote {
    SungNote { start_s, duration_s, midi, velocity: 0.8, syllable: Syllable { onset, vowel, coda: None }, slur: false }
}

fn straight_voice(voice: VoiceType) -> VoiceConfig {
    VoiceConfig { vibrato_depth_cents: 0.0, jitter_cents: 0.0, scoop_cents: 0.0, ..VoiceConfig::new(voice, SR) }
}

fn slice(x: &[f32], from_s: f64, to_s: f64) -> &[f32] {
    let a = ((from_s * SR as f64) as usize).min(x.len());
    let b = ((to_s * SR as f64) as usize).min(x.len()).max(a);
    &x[a..b]
}

/// Fundamental frequency by normalised autocorrelation: the shortest lag whose correlation is
/// within 10 % of the best one (avoids picking a multiple of the period), refined by a
/// parabola through its neighbours.
fn estimate_f0(x: &[f32], fmin: f32, fmax: f32) -> Option<f32> {
    let fs = SR as f32;
    let (min_lag, max_lag) = ((fs / fmax).floor() as usize, (fs / fmin).ceil() as usize);
    if x.len() < 2 * max_lag + 2 {
        return None;
    }
    let n = x.len() - max_lag - 1;
    let r = |lag: usize| -> f64 {
        let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let (a, b) = (x[i] as f64, x[i + lag] as f64);
            xy += a * b;
            xx += a * a;
            yy += b * b;
        }
        if xx > 0.0 && yy > 0.0 { xy / (xx * yy).sqrt() } else { 0.0 }
    };
    let values: Vec<f64> = (min_lag - 1..=max_lag + 1).map(r).collect();
    let best = values[1..values.len() - 1].iter().cloned().fold(f64::MIN, f64::max);
    if best < 0.3 {
        return None;
    }
    let k = (1..values.len() - 1)
        .find(|&k| values[k] >= 0.9 * best && values[k] >= values[k - 1] && values[k] >= values[k + 1])?;
    let (a, b, c) = (values[k - 1], values[k], values[k + 1]);
    let denominator = a - 2.0 * b + c;
    let shift = if denominator.abs() > 1e-12 { 0.5 * (a - c) / denominator } else { 0.0 };
    Some(fs / ((min_lag - 1 + k) as f64 + shift) as f32)
}

fn relative_error(estimate: f32, expected: f32) -> f32 {
    (estimate - expected).abs() / expected
}

/// Hann-windowed power spectrum of the first 8192 samples (zero-padded).
fn power_spectrum(x: &[f32]) -> Vec<f64> {
    let n = 8192;
    let fft = realfft::RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut time = fft.make_input_vec();
    let len = x.len().min(n);
    for i in 0..len {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / len as f64).cos();
        time[i] = x[i] as f64 * w;
    }
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut time, &mut spectrum).unwrap();
    spectrum[..n / 2].iter().map(|c| c.norm_sqr()).collect()
}

fn band_energy(spectrum: &[f64], low_hz: f32, high_hz: f32) -> f64 {
    let bin = SR as f32 / 8192.0;
    spectrum
        .iter()
        .enumerate()
        .filter(|(k, _)| (*k as f32 * bin) >= low_hz && (*k as f32 * bin) < high_hz)
        .map(|(_, p)| p)
        .sum()
}

fn frame_rms(x: &[f32], frame: usize) -> Vec<f32> {
    x.chunks(frame).map(|c| (energy(c) / c.len() as f64).sqrt() as f32).collect()
}

// ---------------------------------------------------------------- DSP

#[test]
fn reverb_tail_decays() {
    let mut reverb = dsp::Reverb::new(SR, 1.0, 1.0, 5000.0);
    let mut impulse = vec![0.0f32; 2 * SR as usize];
    impulse[0] = 1.0;
    let wet = dsp::reverberate(&impulse, &mut reverb);
    assert!(wet.iter().all(|x| x.is_finite()));
    let early = energy(slice(&wet, 0.0, 0.2));
    let late = energy(slice(&wet, 1.0, 1.2));
    // RT60 of 1 s: 60 dB down after one second, give or take the estimate of a noisy tail.
    let drop = energy_ratio_db(early, late);
    assert!((40.0..80.0).contains(&drop), "decay over 1 s: {drop} dB");
}

// ---------------------------------------------------------------- singing synthesizer

#[test]
fn voice_is_deterministic_finite_and_seed_dependent() {
    let notes =
        [note(0.2, 0.6, 57.0, Vowel::A, Some(Consonant::S)), note(0.8, 0.7, 60.0, Vowel::O, Some(Consonant::M))];
    let config = VoiceConfig::new(VoiceType::Male, SR);
    let a = sing(&notes, SR as usize * 2, &config, 1).unwrap();
    let b = sing(&notes, SR as usize * 2, &config, 1).unwrap();
    let c = sing(&notes, SR as usize * 2, &config, 2).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), 2 * SR as usize);
    assert!(a.iter().all(|x| x.is_finite()));
    assert!(peak(&a) > 0.05 && peak(&a) < 1.0, "peak {}", peak(&a));
}

#[test]
fn sustained_note_has_the_intended_fundamental() {
    for (voice, midi) in
        [(VoiceType::Male, 45.0), (VoiceType::Male, 57.0), (VoiceType::Female, 67.0), (VoiceType::Female, 77.0)]
    {
        let expected = midi_to_hz(midi);
        // Without vibrato: a short window right in the note.
        let straight =
            sing(&[note(0.1, 1.5, midi, Vowel::A, None)], 2 * SR as usize, &straight_voice(voice), 3).unwrap();
        let f0 = estimate_f0(slice(&straight, 0.6, 0.8), 60.0, 1200.0).expect("voiced");
        assert!(relative_error(f0, expected) < 0.02, "{voice:?} midi {midi}: {f0} Hz vs {expected} Hz");
        // With vibrato and jitter: a window spanning several vibrato cycles averages them out.
        let natural =
            sing(&[note(0.1, 1.5, midi, Vowel::E, None)], 2 * SR as usize, &VoiceConfig::new(voice, SR), 4).unwrap();
        let f0 = estimate_f0(slice(&natural, 0.7, 1.5), 60.0, 1200.0).expect("voiced");
        assert!(relative_error(f0, expected) < 0.02, "{voice:?} midi {midi} with vibrato: {f0} Hz vs {expected} Hz");
    }
}

#[test]
fn legato_melody_follows_its_notes() {
    let pitches = [52.0, 55.0, 59.0, 57.0, 50.0];
    let notes: Vec<SungNote> = pitches
        .iter()
        .enumerate()
        .map(|(i, &m)| note(0.2 + 0.5 * i as f64, 0.5, m, Vowel::ALL[i % 7], Some(Consonant::L)))
        .collect();
    let out = sing(&notes, 4 * SR as usize, &straight_voice(VoiceType::Male), 5).unwrap();
    for n in &notes {
        // Skip the consonant and the portamento at the start of each note.
        let f0 = estimate_f0(slice(&out, n.start_s + 0.2, n.end_s() - 0.05), 60.0, 1000.0).expect("voiced");
        let expected = midi_to_hz(n.midi);
        assert!(relative_error(f0, expected) < 0.02, "note {}: {f0} Hz vs {expected} Hz", n.midi);
    }
}

#[test]
fn vibrato_starts_late_and_runs_at_its_rate() {
    let config = VoiceConfig { jitter_cents: 0.0, scoop_cents: 0.0, ..VoiceConfig::new(VoiceType::Male, SR) };
    let midi = 45.0;
    let out = sing(&[note(0.0, 2.2, midi, Vowel::A, None)], 3 * SR as usize, &config, 6).unwrap();
    let expected = midi_to_hz(midi);
    let frame = (0.04 * SR as f64) as usize;
    let hop = (0.005 * SR as f64) as usize;
    let cents = |from_s: f64, to_s: f64| -> Vec<f32> {
        let (a, b) = ((from_s * SR as f64) as usize, (to_s * SR as f64) as usize);
        (a..b - frame)
            .step_by(hop)
            .map(|i| 1200.0 * (estimate_f0(&out[i..i + frame], 60.0, 400.0).expect("voiced") / expected).log2())
            .collect()
    };
    let before = cents(0.06, 0.22);
    let spread = |v: &[f32]| v.iter().cloned().fold(f32::MIN, f32::max) - v.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread(&before) < 25.0, "pitch moves {} cents before the vibrato onset", spread(&before));
    let during = cents(0.9, 2.0);
    assert!(spread(&during) > config.vibrato_depth_cents, "vibrato only {} cents peak to peak", spread(&during));
    let mean = during.iter().sum::<f32>() / during.len() as f32;
    let crossings = during.windows(2).filter(|w| (w[0] - mean) * (w[1] - mean) < 0.0).count();
    let rate = crossings as f32 / 2.0 / (during.len() as f32 * 0.005);
    assert!((rate - config.vibrato_rate_hz).abs() < 1.0, "vibrato rate {rate} Hz");
}

#[test]
fn vowels_have_harmonics_and_distinct_formants() {
    let config = straight_voice(VoiceType::Male);
    let midi = 48.0;
    let f0 = midi_to_hz(midi) as f64;
    let sing_vowel = |vowel| sing(&[note(0.0, 1.2, midi, vowel, None)], SR as usize * 2, &config, 7).unwrap();
    let a = power_spectrum(slice(&sing_vowel(Vowel::A), 0.3, 0.9));
    let i = power_spectrum(slice(&sing_vowel(Vowel::I), 0.3, 0.9));
    // Harmonic: most energy below 3 kHz sits within 20 Hz of a multiple of f0.
    let bin = SR as f64 / 8192.0;
    let near_harmonic: f64 = a
        .iter()
        .enumerate()
        .filter(|(k, _)| {
            let f = *k as f64 * bin;
            let h = (f / f0).round();
            f < 3000.0 && h >= 1.0 && (f - h * f0).abs() < 20.0
        })
        .map(|(_, p)| p)
        .sum();
    let share = near_harmonic / band_energy(&a, 0.0, 3000.0);
    assert!(share > 0.9, "only {share:.3} of the energy is harmonic");
    // Broadband: harmonics continue above 4 kHz (no cliff at the last formant).
    let high = energy_ratio_db(band_energy(&a, 4000.0, 7000.0), band_energy(&a, 0.0, 4000.0));
    assert!(high > -55.0, "4-7 kHz is {high} dB below the rest");
    // Formants: /a/ has F1 high and F2 low, /i/ the opposite.
    let tilt = |s: &[f64]| energy_ratio_db(band_energy(s, 1900.0, 2700.0), band_energy(s, 550.0, 1000.0));
    assert!(tilt(&i) - tilt(&a) > 10.0, "/i/ vs /a/ F2-band to F1-band difference {} dB", tilt(&i) - tilt(&a));
}

#[test]
fn consonants_add_unvoiced_noise_at_onsets() {
    let config = straight_voice(VoiceType::Female);
    let with_s = sing(&[note(0.3, 0.8, 67.0, Vowel::A, Some(Consonant::S))], SR as usize * 2, &config, 8).unwrap();
    let without = sing(&[note(0.3, 0.8, 67.0, Vowel::A, None)], SR as usize * 2, &config, 8).unwrap();
    // The /s/ sits just before and at the onset, in the 4-8 kHz band.
    let hiss = |x: &[f32]| band_energy(&power_spectrum(slice(x, 0.22, 0.34)), 4500.0, 7800.0);
    let gain = energy_ratio_db(hiss(&with_s), hiss(&without));
    assert!(gain > 10.0, "/s/ adds only {gain} dB of hiss");
}

#[test]
fn voice_is_silent_between_separated_phrases() {
    let notes = [note(0.2, 0.8, 57.0, Vowel::A, None), note(2.5, 0.8, 59.0, Vowel::O, Some(Consonant::T))];
    let out = sing(&notes, 4 * SR as usize, &VoiceConfig::new(VoiceType::Male, SR), 9).unwrap();
    // Phrase decay (0.25 s) and the next phrase's breath (<= 0.51 s before it) leave a gap.
    assert!(slice(&out, 1.35, 1.9).iter().all(|&x| x == 0.0));
    assert!(energy(slice(&out, 0.4, 0.9)) > 0.0 && energy(slice(&out, 2.7, 3.2)) > 0.0);
}

#[test]
fn bad_voice_input_is_rejected_or_skipped() {
    let bad = VoiceConfig { sample_rate: 100, ..VoiceConfig::new(VoiceType::Male, SR) };
    assert!(matches!(sing(&[], 100, &bad, 0), Err(SynthError::InvalidConfig(_))));
    let nan = VoiceConfig { vibrato_rate_hz: f32::NAN, ..VoiceConfig::new(VoiceType::Male, SR) };
    assert!(nan.validate().is_err());
    let junk = [
        note(f64::NAN, 1.0, 60.0, Vowel::A, None),
        note(0.1, -1.0, 60.0, Vowel::A, None),
        note(0.1, 1.0, 500.0, Vowel::A, None),
        note(1e9, 1.0, 60.0, Vowel::A, None),
    ];
    let out = sing(&junk, SR as usize, &VoiceConfig::new(VoiceType::Male, SR), 0).unwrap();
    assert!(out.iter().all(|&x| x == 0.0));
    assert!(
        sing(&[note(0.0, 1.0, 60.0, Vowel::A, None)], 0, &VoiceConfig::new(VoiceType::Male, SR), 0).unwrap().is_empty()
    );
}

// ---------------------------------------------------------------- arrangement

#[test]
fn arrangements_are_musical() {
    let config = ArrangementConfig::default();
    let mut vocal_sections = 0;
    let mut silent_sections = 0;
    for seed in 0..60 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let arr = arrangement::generate(&mut rng, 30.0, &config);
        assert!((70.0..=150.0).contains(&arr.tempo_bpm), "tempo {}", arr.tempo_bpm);
        assert!(arr.sections.last().unwrap().end_s >= 30.0 - 1e-6);
        assert!(arr.sections.windows(2).all(|w| w[0].start_bar + w[0].bars == w[1].start_bar));
        assert!(arr.sections.iter().filter(|s| s.kind == SectionKind::Intro).all(|s| !s.vocals));
        vocal_sections += arr.sections.iter().filter(|s| s.vocals).count();
        silent_sections += arr.sections.iter().filter(|s| !s.vocals).count();
        let (low, high) = arr.voice_type.range();
        let seconds_per_beat = 60.0 / arr.tempo_bpm as f64;
        for n in &arr.melody {
            let midi = n.midi as i32;
            assert!(arr.key.contains(midi), "seed {seed}: melody note {midi} outside {}", arr.key.name());
            assert!((low..=high).contains(&midi), "seed {seed}: {midi} outside the {:?} range", arr.voice_type);
            assert!(n.start_s >= 0.0 && n.end_s() <= 30.0 + 1e-9);
            // A note that starts with a chord change is one of its chord tones.
            if let Some(span) = arr.chords.iter().find(|c| (c.start_beat * seconds_per_beat - n.start_s).abs() < 0.02) {
                assert!(span.chord.contains(midi), "seed {seed}: {midi} over chord {:?}", span.chord);
            }
        }
        assert_eq!(arr.drums.channel, 9);
        assert!(arr.bass.notes.iter().all(|n| (28..=52).contains(&n.key)));
        assert!(!arr.other.is_empty());
        for part in std::iter::once(&arr.drums).chain(std::iter::once(&arr.bass)).chain(&arr.other) {
            assert!(part.notes.iter().all(|n| n.start_s >= 0.0 && n.start_s < 30.0 && n.duration_s > 0.0));
            // Voice-like GM programs never play in the accompaniment.
            if part.channel != 9 {
                assert!(![52, 53, 54, 85, 91].contains(&part.program), "program {}", part.program);
            }
        }
    }
    assert!(vocal_sections > 0 && silent_sections > 0);
}

#[test]
fn arrangement_respects_tempo_limits_and_odd_durations() {
    let config = ArrangementConfig { tempo_range_bpm: (100.0, 104.0), ..ArrangementConfig::default() };
    for seed in 0..20 {
        for duration in [0.3, 5.0, 400.0] {
            let arr = arrangement::generate(&mut ChaCha8Rng::seed_from_u64(seed), duration, &config);
            assert!((100.0..=104.0).contains(&arr.tempo_bpm));
            assert!(arr.sections.last().unwrap().end_s >= duration - 1e-6);
        }
    }
}

// ---------------------------------------------------------------- leakage

fn test_stems(seconds: f64) -> (Vec<f32>, Vec<f32>) {
    let n = (seconds * SR as f64) as usize;
    let notes: Vec<SungNote> = (0..6)
        .map(|i| note(0.3 + i as f64 * 1.2, 0.9, 55.0 + (i % 3) as f32 * 2.0, Vowel::ALL[i % 7], Some(Consonant::D)))
        .collect();
    let vocals = sing(&notes, n, &VoiceConfig::new(VoiceType::Female, SR), 11).unwrap();
    let accompaniment: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / SR as f32;
            0.1 * (2.0 * std::f32::consts::PI * 110.0 * t).sin()
                + 0.05 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.03 * (((i * 2_654_435_761) % 1000) as f32 / 500.0 - 1.0)
        })
        .collect();
    (vocals, accompaniment)
}

#[test]
fn damp_leakage_levels_are_in_range_and_measured_correctly() {
    let (vocals, accompaniment) = test_stems(8.0);
    let config = LeakageConfig::default();
    for seed in 0..8 {
        let pair = damp_pair_from_stems(&vocals, &accompaniment, SR, seed, &config).unwrap();
        assert!((-25.0..=-10.0).contains(&pair.accompaniment_leak_db));
        assert!((-30.0..=-15.0).contains(&pair.voice_leak_db));
        assert!(peak(&pair.vocal_track) <= 0.99 && peak(&pair.background_track) <= 0.99);
        // The leaked component (plus the much quieter mic noise) relative to the clean vocal.
        let leak: Vec<f32> = pair.vocal_track.iter().zip(&vocals).map(|(t, v)| t / pair.vocal_track_gain - v).collect();
        let measured = energy_ratio_db(energy(&leak), energy(&vocals));
        assert!(
            (measured - pair.accompaniment_leak_db).abs() < 0.3,
            "accompaniment leak {measured} vs {}",
            pair.accompaniment_leak_db
        );
        let bleed: Vec<f32> =
            pair.background_track.iter().zip(&accompaniment).map(|(t, a)| t / pair.background_track_gain - a).collect();
        let measured = energy_ratio_db(energy(&bleed), energy(&accompaniment));
        assert!((measured - pair.voice_leak_db).abs() < 0.1, "voice leak {measured} vs {}", pair.voice_leak_db);
        // The leak is the accompaniment's sound, not noise: its 440 Hz line stands out.
        let spectrum = power_spectrum(slice(&leak, 2.0, 2.5));
        let line = energy_ratio_db(band_energy(&spectrum, 430.0, 450.0), band_energy(&spectrum, 600.0, 620.0));
        assert!(line > 10.0, "440 Hz line only {line} dB above its surroundings");
    }
    let again = damp_pair_from_stems(&vocals, &accompaniment, SR, 3, &config).unwrap();
    assert_eq!(again, damp_pair_from_stems(&vocals, &accompaniment, SR, 3, &config).unwrap());
    assert_ne!(again.vocal_track, damp_pair_from_stems(&vocals, &accompaniment, SR, 4, &config).unwrap().vocal_track);
}

#[test]
fn damp_rejects_bad_input() {
    let (vocals, accompaniment) = test_stems(1.0);
    assert!(matches!(
        damp_pair_from_stems(&vocals[1..], &accompaniment, SR, 0, &LeakageConfig::default()),
        Err(SynthError::InvalidInput(_))
    ));
    let backwards = LeakageConfig { accompaniment_leak_db: (-10.0, -25.0), ..LeakageConfig::default() };
    assert!(matches!(
        damp_pair_from_stems(&vocals, &accompaniment, SR, 0, &backwards),
        Err(SynthError::InvalidConfig(_))
    ));
    // Silent vocals: nothing to be relative to, so the accompaniment is the reference.
    // Silent accompaniment: the vocal track only gains mic noise.
    let quiet = damp_pair_from_stems(&vocals, &vec![0.0; vocals.len()], SR, 0, &LeakageConfig::default()).unwrap();
    let residual: Vec<f32> =
        quiet.vocal_track.iter().zip(&vocals).map(|(t, v)| t / quiet.vocal_track_gain - v).collect();
    assert!(energy_ratio_db(energy(&residual), energy(&vocals)) < -44.0);
    let silent = vec![0.0f32; accompaniment.len()];
    let pair = damp_pair_from_stems(&silent, &accompaniment, SR, 0, &LeakageConfig::default()).unwrap();
    assert!(pair.vocal_track.iter().all(|x| x.is_finite()) && energy(&pair.vocal_track) > 0.0);
}

#[test]
fn room_impulse_response_has_a_direct_path_and_decays() {
    for seed in 0..5 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let length = 0.1 + 0.075 * seed as f32;
        let ir = room_impulse_response(SR, length, &mut rng);
        assert_eq!(ir.len(), (length * SR as f32) as usize);
        assert!(ir[0] >= 0.99 && ir.iter().skip(1).all(|x| x.abs() < ir[0]));
        let quarter = ir.len() / 4;
        assert!(energy_ratio_db(energy(&ir[quarter..2 * quarter]), energy(&ir[3 * quarter..])) > 20.0);
    }
}

// ---------------------------------------------------------------- configuration and errors

#[test]
fn missing_or_invalid_soundfont_is_a_typed_error_naming_the_path() {
    let missing = PathBuf::from("/nonexistent/dir/NoSuchFont.sf2");
    let err = SongSynthesizer::new(&missing, SynthConfig::default()).unwrap_err();
    assert!(matches!(err, SynthError::SoundFontMissing { .. }));
    assert!(err.to_string().contains("NoSuchFont.sf2"), "{err}");

    let junk = std::env::temp_dir().join(format!("svs-synth-junk-{}.sf2", std::process::id()));
    std::fs::write(&junk, b"definitely not a RIFF file").unwrap();
    let err = SongSynthesizer::new(&junk, SynthConfig::default()).unwrap_err();
    let _ = std::fs::remove_file(&junk);
    assert!(matches!(err, SynthError::SoundFontInvalid { .. }), "{err}");
    assert!(err.to_string().contains("svs-synth-junk"), "{err}");
}

#[test]
fn invalid_configs_are_rejected() {
    let base = SynthConfig::default();
    assert!(base.validate().is_ok());
    for bad in [
        SynthConfig { sample_rate: 8_000, ..base.clone() },
        SynthConfig { duration_seconds: 0.0, ..base.clone() },
        SynthConfig { duration_seconds: f32::NAN, ..base.clone() },
        SynthConfig { tempo_range_bpm: (150.0, 70.0), ..base.clone() },
        SynthConfig { target_peak: 1.5, ..base.clone() },
        SynthConfig { choir_double_probability: 2.0, ..base.clone() },
    ] {
        assert!(matches!(bad.validate(), Err(SynthError::InvalidConfig(_))), "{bad:?}");
        // Checked before the SoundFont is even looked at.
        assert!(matches!(
            SongSynthesizer::new(&PathBuf::from("/nonexistent.sf2"), bad),
            Err(SynthError::InvalidConfig(_))
        ));
    }
}

#[test]
fn synthesizer_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SongSynthesizer>();
    assert_send_sync::<SynthSong>();
    assert_send_sync::<SynthError>();
}

// ---------------------------------------------------------------- whole songs (SoundFont)

const SONG_SEEDS: std::ops::Range<u64> = 0..6;

/// Songs shared by the song-level tests (rendering is the expensive part), or `None` with a
/// printed notice when no SoundFont is installed.
fn songs() -> Option<&'static (SongSynthesizer, Vec<SynthSong>)> {
    static SONGS: OnceLock<Option<(SongSynthesizer, Vec<SynthSong>)>> = OnceLock::new();
    let cached = SONGS.get_or_init(|| {
        let path = default_soundfont_path().filter(|p| p.is_file())?;
        let synth = SongSynthesizer::new(&path, SynthConfig::default()).expect("SoundFont loads");
        let songs = SONG_SEEDS.map(|seed| synth.song(seed)).collect();
        Some((synth, songs))
    });
    if cached.is_none() {
        eprintln!(
            "SKIPPED: no General MIDI SoundFont found (apt-get install timgm6mb-soundfont, or set SVS_SOUNDFONT)"
        );
    }
    cached.as_ref()
}

#[test]
fn songs_are_deterministic_and_seed_dependent() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.song(SONG_SEEDS.start), songs[0]);
    assert_ne!(songs[0].vocals, songs[1].vocals);
    assert_ne!(songs[0].drums, songs[1].drums);
    assert_ne!(songs[0].name, songs[1].name);
}

/// `changed` is `original` times one gain (the final peak scaling): e.g. the drums of a song
/// whose voice alone changed.
fn assert_rescaled(changed: &[f32], original: &[f32], seed: u64) {
    let scale = peak(changed) / peak(original);
    let drift = changed.iter().zip(original).map(|(a, b)| (a - b * scale).abs()).fold(0.0f32, f32::max);
    assert!(drift < 1e-4, "seed {seed}: changed by {drift} beyond a gain");
}

/// `changed` is not `original` times one gain: something was added to it (`what` names it).
fn assert_changed_beyond_a_gain(changed: &[f32], original: &[f32], seed: u64, what: &str) {
    let scale = peak(changed) / peak(original);
    let drift = changed.iter().zip(original).map(|(a, b)| (a - b * scale).abs()).fold(0.0f32, f32::max);
    assert!(drift > 0.01 * peak(changed), "seed {seed}: `other` holds no {what} (drift {drift})");
}

#[test]
fn recorded_voices_replace_the_singer_only_in_the_songs_that_draw_them() {
    let Some((synth, songs)) = songs() else { return };
    // Two "clips": vowel-like tone bursts, long enough to be kept.
    let clip = |hz: f32| {
        (0..SR as usize / 2).map(|i| 0.2 * (i as f32 * hz / SR as f32 * std::f32::consts::TAU).sin()).collect()
    };
    let clips = std::sync::Arc::new(
        recorded::ClipLibrary::from_samples(SR, vec![("low".into(), clip(180.0)), ("high".into(), clip(330.0))])
            .unwrap(),
    );
    let with = |p: f32| {
        let config = SynthConfig { recorded_voice_probability: p, ..synth.config().clone() };
        SongSynthesizer { config, ..synth.clone() }.with_voice_clips(clips.clone()).unwrap()
    };
    // Probability 0: clips given but never drawn, and every song is exactly what it was.
    let never = with(0.0);
    for (seed, song) in SONG_SEEDS.zip(songs) {
        assert_eq!(&never.song(seed), song);
    }
    // Probability 1: every sung song's voice is clips; the accompaniment is untouched (up to
    // the final peak scaling, which the new voice changes).
    let always = with(1.0);
    let mut recorded = 0;
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let other = always.song(seed);
        if song.melody.is_empty() {
            continue;
        }
        assert!(!other.recorded_voice.is_empty(), "seed {seed}: no clip used");
        assert!(other.recorded_voice.iter().all(|c| c == "low" || c == "high"));
        assert_ne!(other.vocals, song.vocals);
        assert_rescaled(&other.drums, &song.drums, seed);
        recorded += 1;
    }
    assert!(recorded > 0, "no song has a melody: the test checks nothing");
    // Clips at another sample rate are refused.
    let wrong = recorded::ClipLibrary::from_samples(44_100, vec![("x".into(), vec![0.5; 44_100])]).unwrap();
    assert!(synth.clone().with_voice_clips(std::sync::Arc::new(wrong)).is_err());
}

#[test]
fn each_song_draws_one_of_several_soundfonts_without_changing_anything_else() {
    let Some((synth, songs)) = songs() else { return };
    assert!(songs.iter().all(|s| s.soundfont == 0));
    // The same font twice: a song drawing either is the one-font song exactly, and over the
    // seeds both get drawn.
    let path = default_soundfont_path().expect("songs() found it");
    let two = synth.clone().with_soundfonts(std::slice::from_ref(&path)).unwrap();
    let mut drawn = [0; 2];
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let other = two.song(seed);
        drawn[other.soundfont] += 1;
        assert_eq!(SynthSong { soundfont: 0, ..other }, *song, "seed {seed}");
    }
    assert!(drawn.iter().all(|&d| d > 0), "{drawn:?}");
    // A missing one is refused by name.
    let err = synth.clone().with_soundfonts(&[PathBuf::from("/nonexistent/extra.sf2")]).unwrap_err();
    assert!(err.to_string().contains("extra.sf2"), "{err}");
    // A drum kit: the song's own kit or the extra one, drawn per song; only the drums change,
    // and the same font as a kit plays the same drums.
    let kits = synth.clone().with_drum_soundfonts(std::slice::from_ref(&path)).unwrap();
    let mut drawn = [0; 2];
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let other = kits.song(seed);
        drawn[other.drum_soundfont.map_or(0, |k| k + 1)] += 1;
        assert_eq!(SynthSong { drum_soundfont: None, ..other }, *song, "seed {seed}");
    }
    assert!(drawn.iter().all(|&d| d > 0), "{drawn:?}");
    assert!(synth.clone().with_drum_soundfonts(&[PathBuf::from("/nonexistent/kit.sf2")]).is_err());
}

#[test]
fn sampled_voices_sing_the_melody_only_in_the_songs_that_draw_them() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().sampled_voice_probability, 0.0);
    assert!(songs.iter().all(|s| s.sampled_voice.is_none()));
    let with = |p: f32| SongSynthesizer {
        config: SynthConfig { sampled_voice_probability: p, ..synth.config().clone() },
        ..synth.clone()
    };
    let always = with(1.0);
    let mut sampled = 0;
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let other = always.song(seed);
        if song.melody.is_empty() {
            continue;
        }
        let program = other.sampled_voice.unwrap_or_else(|| panic!("seed {seed}: no sampled voice"));
        assert!([arrangement::CHOIR_AAHS, arrangement::VOICE_OOHS].contains(&program), "seed {seed}: {program}");
        // The SoundFont's voice sings where the melody is and stays quiet elsewhere: most of
        // the vocal energy lies within the notes (plus their release and the reverb's tail).
        let sung = sung_mask(&other.melody, SR, other.vocals.len());
        let inside: f64 = other.vocals.iter().zip(&sung).filter(|(_, m)| **m).map(|(v, _)| (*v as f64).powi(2)).sum();
        assert!(inside > 0.6 * energy(&other.vocals), "seed {seed}: {inside} of {}", energy(&other.vocals));
        assert_ne!(other.vocals, song.vocals);
        assert_eq!(other.melody, song.melody);
        assert_rescaled(&other.drums, &song.drums, seed);
        sampled += 1;
    }
    assert!(sampled > 0, "no song has a melody: the test checks nothing");
    // Recorded clips, when drawn, come first: a song has one voice.
    let clips = std::sync::Arc::new(
        recorded::ClipLibrary::from_samples(
            SR,
            vec![("tone".into(), (0..SR as usize / 2).map(|i| (i as f32 * 0.05).sin()).collect())],
        )
        .unwrap(),
    );
    let both = SongSynthesizer {
        config: SynthConfig {
            recorded_voice_probability: 1.0,
            sampled_voice_probability: 1.0,
            ..synth.config().clone()
        },
        ..synth.clone()
    }
    .with_voice_clips(clips)
    .unwrap();
    for (seed, _) in SONG_SEEDS.zip(songs).filter(|(_, s)| !s.melody.is_empty()) {
        let other = both.song(seed);
        assert!(!other.recorded_voice.is_empty() && other.sampled_voice.is_none(), "seed {seed}");
    }
}

#[test]
fn a_music_layer_joins_only_the_other_stem_of_the_songs_that_draw_it() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().music_layer_probability, 0.0);
    assert!(songs.iter().all(|s| s.music_layer.is_none()));
    // One "recording", longer than a song: a chord of three steady tones.
    let n = songs[0].other.len() + SR as usize;
    let chord: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / SR as f32;
            [220.0f32, 277.2, 329.6].iter().map(|hz| 0.1 * (t * hz * std::f32::consts::TAU).sin()).sum()
        })
        .collect();
    let clips =
        std::sync::Arc::new(recorded::ClipLibrary::from_samples(SR, vec![("chord.wav".into(), chord)]).unwrap());
    let with = |probability: f32| {
        let config = SynthConfig { music_layer_probability: probability, ..synth.config().clone() };
        SongSynthesizer { config, ..synth.clone() }.with_music_clips(clips.clone()).unwrap()
    };
    // Probability 0: clips given but never drawn, and every song is exactly what it was.
    let never = with(0.0);
    for (seed, song) in SONG_SEEDS.zip(songs) {
        assert_eq!(never.song(seed), *song, "seed {seed}");
    }
    // Probability 1: every song has the layer, in its `other` stem only: the other stems (and
    // the voice, set against the accompaniment) change by one gain at most.
    let always = with(1.0);
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let layered = always.song(seed);
        assert_eq!(layered.music_layer.as_deref(), Some("chord.wav"), "seed {seed}");
        assert_rescaled(&layered.drums, &song.drums, seed);
        assert_rescaled(&layered.bass, &song.bass, seed);
        assert_rescaled(&layered.vocals, &song.vocals, seed);
        assert_changed_beyond_a_gain(&layered.other, &song.other, seed, "layer");
    }
    // Clips at another rate than the songs' are refused.
    let wrong = recorded::ClipLibrary::from_samples(44_100, vec![("x".into(), vec![0.5; 44_100])]).unwrap();
    assert!(synth.clone().with_music_clips(std::sync::Arc::new(wrong)).is_err());
}

#[test]
fn a_wide_palette_changes_only_the_instruments_of_the_other_stem() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().wide_palette_probability, 0.0);
    let always = SongSynthesizer {
        config: SynthConfig { wide_palette_probability: 1.0, ..synth.config().clone() },
        ..synth.clone()
    };
    let mut moved = 0;
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let wide = always.song(seed);
        // The parts and their roles are the song's; only their programs are drawn anew, never a
        // voice-like one, and the drums, bass and voice are the same but for a gain.
        let roles = |s: &SynthSong| s.programs.other.iter().map(|(role, _)| *role).collect::<Vec<_>>();
        assert_eq!(roles(&wide), roles(song), "seed {seed}");
        for (_, program) in &wide.programs.other {
            assert!(arrangement::is_melodic_accompaniment(*program), "seed {seed}: program {program}");
        }
        assert_eq!((wide.programs.bass, wide.programs.drum_kit), (song.programs.bass, song.programs.drum_kit));
        moved += wide.programs.other.iter().zip(&song.programs.other).filter(|(a, b)| a.1 != b.1).count();
        assert_rescaled(&wide.drums, &song.drums, seed);
        assert_rescaled(&wide.bass, &song.bass, seed);
        assert_rescaled(&wide.vocals, &song.vocals, seed);
        assert_eq!(wide.melody, song.melody, "seed {seed}");
    }
    assert!(moved > 0, "no part changed instrument");
    // A probability outside 0..=1 is refused.
    assert!(SynthConfig { wide_palette_probability: 1.5, ..SynthConfig::default() }.validate().is_err());
}

#[test]
fn an_instrument_line_plays_while_the_voice_sings_as_accompaniment() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().instrument_line_probability, 0.0);
    assert!(songs.iter().all(|s| s.instrument_line.is_none()));
    let always = SongSynthesizer {
        config: SynthConfig { instrument_line_probability: 1.0, ..synth.config().clone() },
        ..synth.clone()
    };
    let mut kinds = Vec::new();
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let lined = always.song(seed);
        let kind = lined.instrument_line.expect("every song gets a line");
        kinds.push(kind);
        // One more `other` part, a melodic non-voice program; the song's own parts unchanged.
        assert_eq!(lined.programs.other.len(), song.programs.other.len() + 1, "seed {seed}");
        assert_eq!(lined.programs.other[..song.programs.other.len()], song.programs.other[..]);
        let (_, program) = *lined.programs.other.last().unwrap();
        assert!(arrangement::is_melodic_accompaniment(program), "seed {seed}: program {program}");
        // Only `other` changes: drums, bass and voice by one gain at most, `other` by more.
        assert_rescaled(&lined.drums, &song.drums, seed);
        assert_rescaled(&lined.bass, &song.bass, seed);
        assert_rescaled(&lined.vocals, &song.vocals, seed);
        assert_changed_beyond_a_gain(&lined.other, &song.other, seed, kind.name());
    }
    assert!(kinds.len() < 3 || kinds.iter().any(|k| *k != kinds[0]), "one kind only: {kinds:?}");
    assert!(SynthConfig { instrument_line_probability: -0.1, ..SynthConfig::default() }.validate().is_err());
}

#[test]
fn an_instrumental_plays_the_melody_on_an_instrument_and_leaves_the_vocals_silent() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().instrumental_probability, 0.0);
    assert!(songs.iter().all(|s| !s.instrumental));
    let always = SongSynthesizer {
        config: SynthConfig { instrumental_probability: 1.0, ..synth.config().clone() },
        ..synth.clone()
    };
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let instrumental = always.song(seed);
        assert!(instrumental.instrumental, "seed {seed}");
        assert!(instrumental.vocals.iter().all(|&v| v == 0.0), "seed {seed}: the vocals sound");
        assert_eq!(instrumental.melody, song.melody, "seed {seed}: another melody");
        assert!(!instrumental.programs.choir_double && instrumental.harmony.is_empty(), "seed {seed}");
        // The melody is the last `other` part, on a melodic non-voice program (its notes are checked
        // in `an_instrumental_thins_the_band_down_to_a_lone_melody_in_some_songs`).
        let (role, program) = *instrumental.programs.other.last().unwrap();
        assert_eq!(role, PartRole::Lead, "seed {seed}");
        assert!(arrangement::is_melodic_accompaniment(program), "seed {seed}: program {program}");
        // The mixture is still normalised: the accompaniment alone reaches the target peak.
        let mixture_peak = peak(&instrumental.mixture());
        assert!((mixture_peak - always.config().target_peak).abs() < 1e-3, "seed {seed}: peak {mixture_peak}");
    }
    assert!(SynthConfig { instrumental_probability: 2.0, ..SynthConfig::default() }.validate().is_err());
}

#[test]
fn an_instrumental_thins_the_band_down_to_a_lone_melody_in_some_songs() {
    let config = ArrangementConfig::default();
    let (mut without_drums, mut with_drums, mut lone) = (0, 0, 0);
    for seed in 0..64 {
        let mut arr = arrangement::generate(&mut ChaCha8Rng::seed_from_u64(seed), 30.0, &config);
        let original = arr.clone();
        arrangement::make_instrumental(&mut arr, &mut ChaCha8Rng::seed_from_u64(1000 + seed));
        assert!(arr.choir.is_none());
        assert_eq!(arr.melody, original.melody);
        // The kept parts are the song's own, in order; the melody comes last, on its own channel.
        let (melody, kept) = arr.other.split_last().unwrap();
        let mut remaining = original.other.iter();
        assert!(kept.iter().all(|part| remaining.any(|o| o == part)), "seed {seed}: a part changed");
        assert_eq!(melody.channel, 5);
        assert!(kept.iter().all(|p| p.channel != melody.channel));
        let keys: Vec<u8> = original.melody.iter().map(|n| n.midi.round() as u8).collect();
        assert!(melody.notes.iter().all(|n| keys.contains(&n.key)), "seed {seed}: a note off the melody");
        assert!(original.melody.is_empty() || !melody.notes.is_empty());
        for (part, before) in [(&arr.drums, &original.drums), (&arr.bass, &original.bass)] {
            assert!(part.notes.is_empty() || part == before, "seed {seed}: the {} changed", part.role.name());
        }
        if arr.drums.notes.is_empty() {
            without_drums += 1;
        } else {
            with_drums += 1;
        }
        if arr.drums.notes.is_empty() && arr.bass.notes.is_empty() && kept.is_empty() {
            lone += 1;
        }
    }
    assert!(without_drums > 16 && with_drums > 16, "drums kept in {with_drums} of 64");
    assert!(lone > 0, "never a lone melody in 64 songs");
}

#[test]
fn every_kind_of_instrument_line_sounds_with_the_voice() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let config = ArrangementConfig::default();
    let mut seen = std::collections::HashSet::new();
    for seed in 0..40 {
        let arr = arrangement::generate(&mut ChaCha8Rng::seed_from_u64(seed), 30.0, &config);
        let (kind, part) = arrangement::instrument_line(&arr, &mut rng, 30.0);
        seen.insert(kind);
        // Seconds in which the line and the voice sound together.
        let sung = |t: f64| arr.melody.iter().any(|n| n.start_s <= t && t < n.start_s + n.duration_s);
        let together = part
            .notes
            .iter()
            .map(|n| (0..20).map(|i| n.start_s + n.duration_s * i as f64 / 20.0).filter(|&t| sung(t)).count())
            .sum::<usize>();
        assert!(arr.melody.is_empty() || together > 0, "seed {seed}: the {} never meets the voice", kind.name());
        assert!(part.notes.iter().all(|n| n.start_s >= 0.0 && n.duration_s > 0.0 && n.start_s < 30.0));
        assert_eq!(part.channel, 4);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn a_harmony_singer_sings_thirds_in_the_choruses_as_part_of_the_vocals() {
    let Some((synth, songs)) = songs() else { return };
    assert_eq!(synth.config().harmony_probability, 0.0);
    assert!(songs.iter().all(|s| s.harmony.is_empty()));
    let always =
        SongSynthesizer { config: SynthConfig { harmony_probability: 1.0, ..synth.config().clone() }, ..synth.clone() };
    let mut harmonised = 0;
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let other = always.song(seed);
        let chorus =
            |t: f64| song.sections.iter().any(|s| s.kind == SectionKind::Chorus && s.start_s <= t && t < s.end_s);
        let chorus_melody: Vec<&SungNote> = song.melody.iter().filter(|n| chorus(n.start_s)).collect();
        assert_eq!(other.harmony.len(), chorus_melody.len(), "seed {seed}");
        if chorus_melody.is_empty() {
            continue;
        }
        // Every harmony note is its melody note moved by a third (3 or 4 semitones), all in the
        // same direction, with the same timing.
        let moves: Vec<f32> = other.harmony.iter().zip(&chorus_melody).map(|(h, m)| h.midi - m.midi).collect();
        assert!(
            other
                .harmony
                .iter()
                .zip(&chorus_melody)
                .all(|(h, m)| h.start_s == m.start_s && h.duration_s == m.duration_s)
        );
        assert!(
            moves.iter().all(|d| (3.0..=4.0).contains(&d.abs()) && d.signum() == moves[0].signum()),
            "seed {seed}: {moves:?}"
        );
        // Part of the vocals: the accompaniment is untouched up to the song's final scaling.
        assert_ne!(other.vocals, song.vocals);
        assert_rescaled(&other.drums, &song.drums, seed);
        harmonised += 1;
    }
    assert!(harmonised > 0, "no song has a sung chorus: the test checks nothing");
}

#[test]
fn the_mix_bus_compresses_the_song_and_keeps_its_stems_adding_up() {
    let Some((synth, songs)) = songs() else { return };
    let with = |p: f32| SongSynthesizer {
        config: SynthConfig { bus_probability: p, ..synth.config().clone() },
        ..synth.clone()
    };
    // Probability 0 is the default: nothing changes.
    assert_eq!(synth.config().bus_probability, 0.0);
    assert!(songs.iter().all(|s| s.bus.is_none()));
    let always = with(1.0);
    for (seed, song) in SONG_SEEDS.zip(songs) {
        let bused = always.song(seed);
        let settings = bused.bus.expect("probability 1");
        // The same gain on every stem: the stems still add up to the mixture, and each stem is
        // the original times one common gain curve (read off the drums, checked on the bass).
        let mixture = bused.mixture();
        let summed: Vec<f32> =
            (0..mixture.len()).map(|i| bused.vocals[i] + bused.drums[i] + bused.bass[i] + bused.other[i]).collect();
        assert!(mixture.iter().zip(&summed).all(|(m, s)| (m - s).abs() < 1e-6));
        let mut checked = 0;
        for i in (0..mixture.len()).step_by(13) {
            if song.drums[i].abs() > 0.01 && song.bass[i].abs() > 0.01 {
                let gain = bused.drums[i] / song.drums[i];
                assert!(
                    (bused.bass[i] / song.bass[i] - gain).abs() < 1e-3 * gain.abs().max(1.0),
                    "seed {seed} sample {i}"
                );
                checked += 1;
            }
        }
        assert!(checked > 10, "seed {seed}: too few samples to compare ({checked})");
        // Compressed and limited, then normalised to the same peak: the crest factor falls.
        let crest = |x: &[f32]| peak(x) as f64 / (energy(x) / x.len() as f64).sqrt();
        let (before, after) = (crest(&song.mixture()), crest(&mixture));
        assert!(after < before * 0.97, "seed {seed}: crest factor {before:.2} -> {after:.2} ({settings:?})");
        assert!((peak(&mixture) - synth.config().target_peak).abs() < 1e-4);
    }
}

#[test]
fn songs_have_the_right_shape_and_sane_levels() {
    let Some((synth, songs)) = songs() else { return };
    let n = (synth.config().duration_seconds * synth.config().sample_rate as f32).round() as usize;
    for song in songs {
        assert_eq!(song.sample_rate, 16_000);
        for (name, stem) in
            [("vocals", &song.vocals), ("drums", &song.drums), ("bass", &song.bass), ("other", &song.other)]
        {
            assert_eq!(stem.len(), n, "{} {name}", song.name);
            assert!(stem.iter().all(|x| x.is_finite()), "{} {name} has NaN/inf", song.name);
            let rms = (energy(stem) / n as f64).sqrt();
            assert!(rms > 1e-3, "{} {name} is silent (rms {rms})", song.name);
        }
        let mixture = song.mixture();
        let summed: Vec<f32> = (0..n).map(|i| song.vocals[i] + song.drums[i] + song.bass[i] + song.other[i]).collect();
        assert!(mixture.iter().zip(&summed).all(|(m, s)| (m - s).abs() < 1e-6));
        let accompaniment = song.accompaniment();
        assert!(accompaniment.iter().zip(&song.vocals).zip(&mixture).all(|((a, v), m)| (a + v - m).abs() < 1e-6));
        let p = peak(&mixture);
        assert!(p < 1.0 && p > 0.5, "{} mixture peak {p}", song.name);
        assert!((-6.0..=3.0).contains(&song.vocal_to_accompaniment_db));
        // The ratio holds where the melody is sung.
        let mut mask = vec![false; n];
        for note in &song.melody {
            let (a, b) = ((note.start_s * 16_000.0) as usize, ((note.end_s() * 16_000.0) as usize).min(n));
            mask[a..b].iter_mut().for_each(|m| *m = true);
        }
        let masked =
            |x: &[f32]| x.iter().zip(&mask).filter(|(_, m)| **m).map(|(v, _)| (*v as f64).powi(2)).sum::<f64>();
        let measured = energy_ratio_db(masked(&song.vocals), masked(&accompaniment));
        assert!((measured - song.vocal_to_accompaniment_db).abs() < 0.05, "{}: {measured} dB", song.name);
    }
}

#[test]
fn vocals_are_silent_in_some_frames_and_active_in_others() {
    let Some((_, songs)) = songs() else { return };
    let mut total_silent = 0.0;
    for song in songs {
        let rms = frame_rms(&song.vocals, 320);
        let loudest = rms.iter().cloned().fold(0.0f32, f32::max);
        // Below -40 dB of the loudest frame. Reverb tails fill short rests, so a window of
        // verse and chorus alone has few such frames; intros, breaks and lead-ins have many.
        let silent = rms.iter().filter(|&&r| r < loudest * 1e-2).count() as f32 / rms.len() as f32;
        let active = rms.iter().filter(|&&r| r > loudest * 0.1).count() as f32 / rms.len() as f32;
        assert!(silent > 0.02, "{}: only {silent:.3} of the frames are silent", song.name);
        assert!(active > 0.3, "{}: only {active:.3} of the frames are sung", song.name);
        assert!(song.melody.len() > 5);
        total_silent += silent;
    }
    let mean = total_silent / songs.len() as f32;
    assert!(mean > 0.08, "on average only {mean:.3} of the frames are silent");
}

#[test]
fn song_vocals_follow_the_melody() {
    let Some((_, songs)) = songs() else { return };
    let (mut checked, mut matched) = (0, 0);
    for song in songs {
        for n in song.melody.iter().filter(|n| n.duration_s >= 0.6) {
            let expected = midi_to_hz(n.midi);
            // The middle of the note: past the consonant and glide, before the next onset.
            if let Some(f0) = estimate_f0(slice(&song.vocals, n.start_s + 0.25, n.end_s() - 0.1), 60.0, 1200.0) {
                checked += 1;
                if relative_error(f0, expected) < 0.02 {
                    matched += 1;
                } else {
                    eprintln!("{} note {} at {:.2}s: {f0} Hz vs {expected} Hz", song.name, n.midi, n.start_s);
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} long notes");
    assert!(matched as f32 >= 0.95 * checked as f32, "{matched} of {checked} notes at the intended pitch");
}

#[test]
fn damp_pair_of_a_song_has_levels_in_range() {
    let Some((_, songs)) = songs() else { return };
    for (seed, song) in songs.iter().enumerate() {
        let pair = damp_pair(song, seed as u64);
        assert!((-25.0..=-10.0).contains(&pair.accompaniment_leak_db));
        assert!((-30.0..=-15.0).contains(&pair.voice_leak_db));
        assert_eq!(pair.vocal_track.len(), song.vocals.len());
        assert_eq!(pair.background_track.len(), song.vocals.len());
        assert!(peak(&pair.vocal_track) < 1.0 && peak(&pair.background_track) < 1.0);
        let leak: Vec<f32> =
            pair.vocal_track.iter().zip(&song.vocals).map(|(t, v)| t / pair.vocal_track_gain - v).collect();
        let measured = energy_ratio_db(energy(&leak), energy(&song.vocals));
        assert!((measured - pair.accompaniment_leak_db).abs() < 0.3, "{}: {measured} dB", song.name);
    }
}

/// Speed check, not run by default: `cargo test --release -- --ignored --nocapture song_rate`.
#[test]
#[ignore]
fn song_rate() {
    let Some(path) = default_soundfont_path().filter(|p| p.is_file()) else {
        eprintln!("SKIPPED: no SoundFont");
        return;
    };
    let synth = SongSynthesizer::new(&path, SynthConfig::default()).unwrap();
    let start = std::time::Instant::now();
    let count = 20;
    for seed in 0..count {
        std::hint::black_box(synth.song(1000 + seed));
    }
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("{count} songs of 30 s in {seconds:.2} s: {:.2} songs/s (one thread)", count as f64 / seconds);
}
