//! Tests that each transform does what it says, and that the augmenter composes them as
//! promised (lengths, exact sums, pairing, determinism).

use std::f64::consts::PI;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use realfft::RealFftPlanner;

use super::*;

const SR: u32 = 16_000;

fn tone(freq: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(SR)) as usize;
    (0..n).map(|i| (0.5 * (2.0 * PI * freq * i as f64 / f64::from(SR)).sin()) as f32).collect()
}

fn rms(s: &[f32]) -> f64 {
    (s.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
}

/// Level change in dB between the middle halves (away from filter start-up and edges).
fn level_change_db(before: &[f32], after: &[f32]) -> f64 {
    let mid = |s: &[f32]| s[s.len() / 4..s.len() * 3 / 4].to_vec();
    20.0 * (rms(&mid(after)) / rms(&mid(before))).log10()
}

/// Frequency of the strongest spectral peak of the middle of `signal`: Hann window, 16x zero
/// padding, parabolic interpolation of the log magnitude (sub-Hz accuracy for a clean tone).
fn peak_frequency(signal: &[f32]) -> f64 {
    let mid = &signal[signal.len() / 4..signal.len() * 3 / 4];
    let n = (mid.len() * 16).next_power_of_two();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input = fft.make_input_vec();
    for (i, x) in mid.iter().enumerate() {
        input[i] = f64::from(*x) * (0.5 - 0.5 * (2.0 * PI * i as f64 / mid.len() as f64).cos());
    }
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).unwrap();
    let mag: Vec<f64> = spectrum.iter().map(|c| c.norm().max(1e-30).ln()).collect();
    let k = (1..mag.len() - 1).max_by(|&a, &b| mag[a].total_cmp(&mag[b])).unwrap();
    let (a, b, c) = (mag[k - 1], mag[k], mag[k + 1]);
    let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + offset) * f64::from(SR) / n as f64
}

// ---------- pitch ----------

#[test]
fn octave_up_doubles_the_frequency_and_keeps_the_length() {
    let x = tone(440.0, 2.0);
    let y = pitch_shift(&x, 12.0, SR);
    assert_eq!(y.len(), x.len());
    let f = peak_frequency(&y);
    assert!((f / 880.0 - 1.0).abs() < 0.01, "peak at {f} Hz");
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn shifts_move_by_the_equal_tempered_ratio() {
    let x = tone(440.0, 2.0);
    for semitones in [-5.0, -2.0, -0.5, 1.0, 2.0, 7.0] {
        let y = pitch_shift(&x, semitones, SR);
        assert_eq!(y.len(), x.len());
        let expected = 440.0 * 2f64.powf(semitones / 12.0);
        let f = peak_frequency(&y);
        assert!((f / expected - 1.0).abs() < 0.01, "{semitones} st: peak at {f} Hz, expected {expected}");
    }
}

#[test]
fn pitch_shift_keeps_the_level_of_a_tone() {
    let x = tone(300.0, 2.0);
    for semitones in [-2.0, 2.0] {
        let change = level_change_db(&x, &pitch_shift(&x, semitones, SR));
        assert!(change.abs() < 1.0, "{semitones} st: level changed by {change} dB");
    }
}

#[test]
fn pitch_shift_keeps_events_in_place() {
    // A tone burst from 1.0 s to 1.5 s must still start around 1.0 s after the shift, or a
    // shifted source would drift against the other one.
    let mut x = vec![0.0f32; 2 * SR as usize];
    let burst = tone(500.0, 0.5);
    x[SR as usize..SR as usize + burst.len()].copy_from_slice(&burst);
    for semitones in [-2.0, 2.0] {
        let y = pitch_shift(&x, semitones, SR);
        let onset = y.iter().position(|v| v.abs() > 0.25).unwrap();
        let offset = y.len() - y.iter().rev().position(|v| v.abs() > 0.25).unwrap();
        let ms = |samples: usize| samples as f64 * 1000.0 / f64::from(SR);
        assert!((ms(onset) - 1000.0).abs() < 40.0, "{semitones} st: onset at {} ms", ms(onset));
        assert!((ms(offset) - 1500.0).abs() < 40.0, "{semitones} st: offset at {} ms", ms(offset));
    }
}

#[test]
fn pitch_shift_handles_short_empty_and_zero_shift() {
    assert!(pitch_shift(&[], 3.0, SR).is_empty());
    for len in [1, 7, 100, 1023, 1025] {
        let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.1).sin()).collect();
        let y = pitch_shift(&x, 2.5, SR);
        assert_eq!(y.len(), len);
        assert!(y.iter().all(|v| v.is_finite()));
    }
    let x = tone(440.0, 0.1);
    assert_eq!(pitch_shift(&x, 0.0, SR), x);
}

#[test]
fn time_stretch_changes_length_not_pitch() {
    let x = tone(440.0, 1.0);
    let params = VocoderParams::for_sample_rate(SR);
    assert_eq!(params, VocoderParams { fft_size: 1024, hop: 256 });
    for ratio in [0.8, 1.25, 2.0] {
        let y = time_stretch(&x, ratio, params);
        assert_eq!(y.len(), (x.len() as f64 * ratio).round() as usize);
        let f = peak_frequency(&y);
        assert!((f / 440.0 - 1.0).abs() < 0.01, "ratio {ratio}: peak at {f} Hz");
    }
}

// ---------- filters ----------

#[test]
fn lowpass_cuts_an_octave_above_and_passes_an_octave_below() {
    for cutoff in [500.0, 1000.0, 2000.0, 3000.0, 3900.0] {
        let order = LowpassConfig::default().order;
        let above = tone(2.0 * cutoff, 1.0);
        let below = tone(cutoff / 2.0, 1.0);
        let cut = level_change_db(&above, &lowpass(&above, cutoff, order, SR));
        let pass = level_change_db(&below, &lowpass(&below, cutoff, order, SR));
        assert!(cut <= -12.0, "cutoff {cutoff}: octave above only {cut} dB");
        assert!(pass.abs() <= 1.0, "cutoff {cutoff}: octave below changed by {pass} dB");
    }
    // Even a second-order section does the octave-above part (12 dB/octave, just).
    let above = tone(4000.0, 1.0);
    assert!(level_change_db(&above, &lowpass(&above, 2000.0, 2, SR)) <= -12.0);
}

#[test]
fn peaking_eq_sets_the_gain_at_its_centre() {
    for (freq, gain_db, q) in [(1000.0, 6.0, 1.0), (250.0, -6.0, 0.7), (3000.0, 3.0, 2.0)] {
        let x = tone(freq, 1.0);
        let band = EqBand { kind: EqKind::Peaking, freq_hz: freq, gain_db, q };
        let change = level_change_db(&x, &eq(&x, &[band], SR));
        assert!((change - gain_db).abs() <= 0.5, "{freq} Hz: {change} dB instead of {gain_db}");
        // Two octaves away the band has little effect (< a third of its gain at Q >= 0.7).
        let far = tone(freq / 4.0, 1.0);
        let off = level_change_db(&far, &eq(&far, &[band], SR));
        assert!(off.abs() < gain_db.abs() / 3.0, "{freq} Hz band: {off} dB two octaves below");
    }
}

#[test]
fn shelves_boost_their_side_only() {
    let low = EqBand { kind: EqKind::LowShelf, freq_hz: 500.0, gain_db: 6.0, q: 1.0 };
    let high = EqBand { kind: EqKind::HighShelf, freq_hz: 2000.0, gain_db: -6.0, q: 1.0 };
    let bass = tone(60.0, 1.0);
    let treble = tone(6000.0, 1.0);
    assert!((level_change_db(&bass, &eq(&bass, &[low], SR)) - 6.0).abs() < 0.5);
    assert!(level_change_db(&treble, &eq(&treble, &[low], SR)).abs() < 0.5);
    assert!((level_change_db(&treble, &eq(&treble, &[high], SR)) + 6.0).abs() < 0.5);
    assert!(level_change_db(&bass, &eq(&bass, &[high], SR)).abs() < 0.5);
}

// ---------- the augmenter ----------

/// Segments grouped into songs, each source a distinct tone so tests can tell them apart.
struct Corpus {
    segments: Vec<(Vec<f32>, Vec<f32>)>,
    songs: Vec<usize>,
}

impl Corpus {
    fn new(songs: &[usize], seconds: f64) -> Self {
        let segments = songs
            .iter()
            .enumerate()
            .map(|(i, _)| (tone(200.0 + 10.0 * i as f64, seconds), tone(1000.0 + 10.0 * i as f64, seconds)))
            .collect();
        Self { segments, songs: songs.to_vec() }
    }
}

impl SegmentSource for Corpus {
    fn len(&self) -> usize {
        self.segments.len()
    }
    fn segment(&self, index: usize) -> SourcePair<'_> {
        let (v, a) = &self.segments[index];
        SourcePair { vocals: v, accompaniment: a }
    }
    fn song_of(&self, index: usize) -> usize {
        self.songs[index]
    }
}

/// A config with every transform always on, for exercising all code paths.
fn everything_on(window_seconds: f64) -> AugmentConfig {
    let mut c = AugmentConfig { window_seconds, ..AugmentConfig::default() };
    c.pitch.probability = 1.0;
    c.lowpass.probability = 1.0;
    c.eq.probability = 1.0;
    c
}

#[test]
fn examples_have_the_window_length_and_sum_exactly() {
    let corpus = Corpus::new(&[0, 0, 1, 2], 30.0);
    let augmenter = Augmenter::new(everything_on(10.0), SR).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..3 {
        let ex = augmenter.example(&corpus, &mut rng);
        for s in [&ex.mixture, &ex.vocals, &ex.accompaniment] {
            assert_eq!(s.len(), 10 * SR as usize);
            assert!(s.iter().all(|v| v.is_finite()));
        }
        for i in 0..ex.mixture.len() {
            assert_eq!(ex.mixture[i], ex.vocals[i] + ex.accompaniment[i]);
        }
        let peak = ex.mixture.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= 1.0 + 1e-6, "peak {peak}");
    }
}

#[test]
fn random_mixing_with_p1_always_pairs_different_songs() {
    let corpus = Corpus::new(&[0, 0, 0, 1, 1, 2], 3.0);
    let augmenter = Augmenter::new(AugmentConfig { window_seconds: 1.0, ..AugmentConfig::default() }, SR).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut pairs = std::collections::HashSet::new();
    for _ in 0..500 {
        let plan = augmenter.plan(&corpus, &mut rng).unwrap();
        assert_ne!(corpus.song_of(plan.pair.vocals), corpus.song_of(plan.pair.accompaniment), "{:?}", plan.pair);
        pairs.insert((plan.pair.vocals, plan.pair.accompaniment));
    }
    // 6 vocals x (segments of other songs) = 3*3 + 2*4 + 1*5 = 22 possible pairs; all appear.
    assert_eq!(pairs.len(), 22);
}

#[test]
fn random_mixing_with_p0_or_disabled_uses_one_segment() {
    let corpus = Corpus::new(&[0, 1, 2, 3], 3.0);
    let mut config = AugmentConfig { window_seconds: 1.0, ..AugmentConfig::default() };
    config.random_mix.probability = 0.0;
    let mut disabled = config.clone();
    disabled.random_mix.probability = 1.0;
    disabled.random_mix.enabled = false;
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for c in [config, disabled] {
        let augmenter = Augmenter::new(c, SR).unwrap();
        for _ in 0..200 {
            let plan = augmenter.plan(&corpus, &mut rng).unwrap();
            assert_eq!(plan.pair.vocals, plan.pair.accompaniment);
            assert_eq!(plan.vocals_start, plan.accompaniment_start, "one segment, one window");
        }
    }
}

#[test]
fn unmixed_examples_are_the_aligned_window_of_one_segment() {
    // With every random transform off, an unmixed example is exactly a crop of the segment.
    let corpus = Corpus::new(&[0, 1], 3.0);
    let mut config = AugmentConfig { window_seconds: 1.0, ..AugmentConfig::default() };
    config.random_mix.enabled = false;
    config.gain.enabled = false;
    config.pitch.enabled = false;
    config.lowpass.enabled = false;
    config.eq.enabled = false;
    let augmenter = Augmenter::new(config, SR).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let plan = augmenter.plan(&corpus, &mut rng).unwrap();
    let ex = augmenter.render(&corpus, &plan);
    let seg = corpus.segment(plan.pair.vocals);
    let w = SR as usize;
    assert_eq!(ex.vocals, seg.vocals[plan.vocals_start..plan.vocals_start + w]);
    assert_eq!(ex.accompaniment, seg.accompaniment[plan.vocals_start..plan.vocals_start + w]);
}

#[test]
fn the_same_seed_gives_the_same_example() {
    let corpus = Corpus::new(&[0, 1, 1, 2], 4.0);
    let augmenter = Augmenter::new(everything_on(2.5), SR).unwrap();
    let draw = |seed| augmenter.example(&corpus, &mut ChaCha8Rng::seed_from_u64(seed));
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
    // A stream of examples is reproducible too.
    let stream = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..4).map(|_| augmenter.example(&corpus, &mut rng)).collect::<Vec<_>>()
    };
    assert_eq!(stream(5), stream(5));
}

#[test]
fn effects_are_drawn_within_their_ranges() {
    let config = everything_on(1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for _ in 0..500 {
        let fx = draw_effects(&config, &mut rng);
        let st = fx.pitch_semitones.unwrap();
        assert!((config.pitch.min_semitones..=config.pitch.max_semitones).contains(&st));
        let fc = fx.lowpass_cutoff_hz.unwrap();
        assert!((config.lowpass.min_cutoff_hz..=config.lowpass.max_cutoff_hz).contains(&fc));
        assert!((1..=config.eq.max_bands).contains(&fx.eq.len()));
        for band in &fx.eq {
            assert!(band.gain_db.abs() <= config.eq.max_gain_db);
            assert!((config.eq.min_freq_hz..=config.eq.max_freq_hz).contains(&band.freq_hz));
            assert!((config.eq.min_q..=config.eq.max_q).contains(&band.q));
        }
        let g = fx.gain_db.unwrap();
        assert!((config.gain.min_db..=config.gain.max_db).contains(&g));
    }
    // Default probabilities: pitch 0.3, so roughly 30% of sources are shifted.
    let defaults = AugmentConfig::default();
    let shifted = (0..4000).filter(|_| draw_effects(&defaults, &mut rng).pitch_semitones.is_some()).count();
    assert!((shifted as f64 / 4000.0 - 0.3).abs() < 0.03, "{shifted}");
}

#[test]
fn short_segments_are_padded_and_empty_sources_are_an_error() {
    let corpus = Corpus::new(&[0, 1], 0.5);
    let augmenter = Augmenter::new(everything_on(1.0), SR).unwrap();
    let ex = augmenter.example(&corpus, &mut ChaCha8Rng::seed_from_u64(15));
    assert_eq!(ex.mixture.len(), SR as usize);
    let empty = Corpus { segments: Vec::new(), songs: Vec::new() };
    let err = augmenter.try_example(&empty, &mut ChaCha8Rng::seed_from_u64(15)).unwrap_err();
    assert!(matches!(err, AugmentError::EmptySource));
}

#[test]
fn headroom_scales_both_sources_together() {
    let mut v = vec![0.9f32, -0.2];
    let mut a = vec![0.9f32, 0.1];
    fit_headroom(&mut v, &mut a, 1.0);
    assert!((v[0] + a[0] - 1.0).abs() < 1e-6);
    assert!((v[0] / a[0] - 1.0).abs() < 1e-6 && (v[1] / a[1] + 2.0).abs() < 1e-5);
    let mut quiet = vec![0.1f32];
    fit_headroom(&mut quiet, &mut [0.1], 1.0);
    assert_eq!(quiet, vec![0.1]);
}

#[test]
fn config_errors_reach_the_augmenter() {
    let mut config = AugmentConfig::default();
    config.eq.max_freq_hz = 9000.0;
    let err = Augmenter::new(config, SR).unwrap_err().to_string();
    assert!(err.contains("eq.max_freq_hz"), "{err}");
    let err = AugmentConfig::from_toml_str("[gain]\nmax_gain = 3.0\n").unwrap_err().to_string();
    assert!(err.contains("max_gain"), "{err}");
}

/// Throughput of 10-second examples with the default config; run with
/// `cargo test -p svs-train --lib augment::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing, not a check"]
fn throughput() {
    let corpus = Corpus::new(&[0, 1, 2, 3, 4, 5, 6, 7], 30.0);
    for (name, config) in [("default", AugmentConfig::default()), ("everything on", everything_on(10.0))] {
        let augmenter = Augmenter::new(config, SR).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let count = 100;
        let start = std::time::Instant::now();
        for _ in 0..count {
            std::hint::black_box(augmenter.example(&corpus, &mut rng));
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name}: {:.1} examples/s ({:.2} ms each, one thread)",
            count as f64 / secs,
            1000.0 * secs / count as f64
        );
    }
}
