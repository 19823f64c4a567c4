//! Agreement with museval 0.4.1 on the committed fixture, and hand-checkable cases.
//!
//! The fixture (`tests/fixtures/museval/cases.json`, written by `scripts/museval_fixture.py`)
//! stores each signal as an integer recipe plus a checksum, and museval's framewise metrics;
//! see the script's header for the recipe language.

use serde_json::Value;

use super::*;

/// Largest accepted difference from museval per frame, in dB.
const SDR_TOLERANCE: f64 = 0.01;
const OTHER_TOLERANCE: f64 = 0.1;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/museval/cases.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// SplitMix64 output `i` of the stream `seed` (the script's `splitmix64(seed, count)[i]`).
fn splitmix64(seed: u64, i: usize) -> u64 {
    let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn int(expr: &Value, key: &str) -> i64 {
    expr[key].as_i64().unwrap_or_else(|| panic!("{key} missing in {expr}"))
}

/// Evaluates one recipe expression to `n` integer samples (see the script for the ops).
fn evaluate_recipe(expr: &Value, n: usize, references: &[Vec<Vec<i64>>]) -> Vec<i64> {
    let input = |key: &str| evaluate_recipe(&expr[key], n, references);
    match expr["op"].as_str().expect("op") {
        "noise" => {
            let seed = int(expr, "seed") as u64;
            (0..n).map(|i| (splitmix64(seed, i) >> 48) as i64 - 32768).collect()
        }
        "saw" => {
            let (period, amp) = (int(expr, "period"), int(expr, "amp"));
            (0..n as i64).map(|i| ((i % period) * 2 * amp).div_euclid(period) - amp).collect()
        }
        "fir" => {
            let x = input("input");
            let taps: Vec<i64> =
                expr["taps"].as_array().expect("taps").iter().map(|t| t.as_i64().expect("tap")).collect();
            let shift = int(expr, "shift");
            (0..n)
                .map(|i| {
                    let acc: i64 = taps.iter().enumerate().filter(|(k, _)| *k <= i).map(|(k, t)| t * x[i - k]).sum();
                    acc >> shift
                })
                .collect()
        }
        "gain" => {
            let (num, shift) = (int(expr, "num"), int(expr, "shift"));
            input("input").into_iter().map(|v| (v * num) >> shift).collect()
        }
        "envelope" => {
            let (seed, segment) = (int(expr, "seed") as u64, int(expr, "segment") as usize);
            let x = input("input");
            (0..n).map(|i| (x[i] * (splitmix64(seed, i / segment) >> 56) as i64) >> 8).collect()
        }
        "sum" => {
            let mut out = vec![0i64; n];
            for e in expr["inputs"].as_array().expect("inputs") {
                for (o, v) in out.iter_mut().zip(evaluate_recipe(e, n, references)) {
                    *o += v;
                }
            }
            out
        }
        "mute" => {
            let mut x = input("input");
            let start = (int(expr, "start") as usize).min(n);
            let end = (int(expr, "end") as usize).min(n);
            x[start..end.max(start)].fill(0);
            x
        }
        "reference" => references[int(expr, "source") as usize][int(expr, "channel") as usize].clone(),
        other => panic!("unknown recipe op {other}"),
    }
}

fn build(sources: &Value, n: usize, references: &[Vec<Vec<i64>>]) -> Vec<Vec<Vec<i64>>> {
    sources
        .as_array()
        .expect("sources")
        .iter()
        .map(|channels| {
            channels
                .as_array()
                .expect("channels")
                .iter()
                .map(|e| evaluate_recipe(e, n, references).into_iter().map(|v| v.clamp(-32768, 32767)).collect())
                .collect()
        })
        .collect()
}

fn checksum(x: &[i64]) -> String {
    x.iter()
        .enumerate()
        .fold(0u64, |acc, (i, &v)| acc.wrapping_add((v as u64).wrapping_mul(splitmix64(0, i))))
        .to_string()
}

fn to_float(sources: &[Vec<Vec<i64>>]) -> Vec<Vec<Vec<f64>>> {
    sources.iter().map(|chs| chs.iter().map(|c| c.iter().map(|&v| v as f64 / 32768.0).collect()).collect()).collect()
}

/// null -> NaN, "inf"/"-inf" -> infinities.
fn decode(rows: &Value) -> Vec<Vec<f64>> {
    let value = |v: &Value| match v {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => other.as_f64().unwrap_or_else(|| panic!("bad metric {other}")),
    };
    rows.as_array().expect("rows").iter().map(|r| r.as_array().expect("row").iter().map(value).collect()).collect()
}

/// Largest |ours - museval| over finite frames; panics on NaN/inf disagreement or excess.
fn compare(case: &str, metric: &str, ours: &[Vec<f64>], theirs: &[Vec<f64>], tolerance: f64) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "{case} {metric}: source count");
    let mut worst = 0.0f64;
    for (j, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(a.len(), b.len(), "{case} {metric}: frame count of source {j}");
        for (t, (&x, &y)) in a.iter().zip(b).enumerate() {
            if y.is_nan() {
                assert!(x.is_nan(), "{case} {metric}[{j}][{t}]: ours {x}, museval NaN");
                continue;
            }
            if y.is_infinite() {
                assert_eq!(x, y, "{case} {metric}[{j}][{t}]");
                continue;
            }
            let diff = (x - y).abs();
            assert!(diff <= tolerance, "{case} {metric}[{j}][{t}]: ours {x}, museval {y}");
            worst = worst.max(diff);
        }
    }
    worst
}

#[test]
fn matches_museval_fixture() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 8);
    let mut worst = [0.0f64; 4];
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let n = case["n_samples"].as_u64().expect("n_samples") as usize;
        let references = build(&case["references"], n, &[]);
        let estimates = build(&case["estimates"], n, &references);
        for (kind, signals) in [("references", &references), ("estimates", &estimates)] {
            let sums: Vec<Vec<String>> = signals.iter().map(|s| s.iter().map(|c| checksum(c)).collect()).collect();
            let want: Vec<Vec<String>> = serde_json::from_value(case["checksums"][kind].clone()).expect("checksums");
            assert_eq!(sums, want, "{name}: rebuilt {kind} differ from the ones museval scored");
        }
        let config = BssEvalConfig {
            window: case["window"].as_u64().expect("window") as usize,
            hop: case["hop"].as_u64().expect("hop") as usize,
            filter_len: case["filter_len"].as_u64().expect("filter_len") as usize,
        };
        let (references, estimates) = (to_float(&references), to_float(&estimates));
        let ours = if references[0].len() == 1 {
            let mono = |s: &[Vec<Vec<f64>>]| s.iter().map(|chs| chs[0].clone()).collect::<Vec<_>>();
            bss_eval_v4(&mono(&references), &mono(&estimates), &config)
        } else {
            bss_eval_v4_multichannel(&references, &estimates, &config)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = &case["museval"];
        let diffs = [
            compare(name, "sdr", &ours.sdr, &decode(&theirs["sdr"]), SDR_TOLERANCE),
            compare(name, "isr", &ours.isr, &decode(&theirs["isr"]), OTHER_TOLERANCE),
            compare(name, "sir", &ours.sir, &decode(&theirs["sir"]), OTHER_TOLERANCE),
            compare(name, "sar", &ours.sar, &decode(&theirs["sar"]), OTHER_TOLERANCE),
        ];
        eprintln!(
            "{name}: max |ours - museval| dB: sdr {:.2e} isr {:.2e} sir {:.2e} sar {:.2e}",
            diffs[0], diffs[1], diffs[2], diffs[3]
        );
        for (w, d) in worst.iter_mut().zip(diffs) {
            *w = w.max(d);
        }
    }
    eprintln!(
        "all cases: max |ours - museval| dB: sdr {:.2e} isr {:.2e} sir {:.2e} sar {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
}

/// Deterministic white noise in [-0.5, 0.5) (also for the unit tests of the eval modules).
pub(super) fn noise(len: usize, seed: u64) -> Vec<f64> {
    (0..len).map(|i| (splitmix64(seed, i) >> 11) as f64 / (1u64 << 53) as f64 - 0.5).collect()
}

fn energy(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

#[test]
fn perfect_estimate_has_unbounded_sdr() {
    let refs = vec![noise(40_000, 1), noise(40_000, 2)];
    let metrics = bss_eval_v4(&refs, &refs, &BssEvalConfig::one_second_at_16khz()).unwrap();
    assert_eq!(metrics.n_frames(), 2);
    for j in 0..2 {
        for t in 0..2 {
            assert_eq!(metrics.sdr[j][t], f64::INFINITY);
            assert!(metrics.isr[j][t] > 100.0 && metrics.sir[j][t] > 100.0 && metrics.sar[j][t] > 100.0);
        }
    }
}

#[test]
fn additive_white_noise_gives_its_snr() {
    // estimate = reference + noise scaled to 10 dB below it in every frame.
    let len = 48_000;
    let refs = vec![noise(len, 3), noise(len, 4)];
    let mut ests = Vec::new();
    for (j, r) in refs.iter().enumerate() {
        let raw = noise(len, 10 + j as u64);
        let mut e = r.clone();
        for t in 0..3 {
            let frame = t * 16_000..(t + 1) * 16_000;
            let scale = (energy(&r[frame.clone()]) / energy(&raw[frame.clone()]) / 10.0).sqrt();
            for n in frame {
                e[n] += scale * raw[n];
            }
        }
        ests.push(e);
    }
    let metrics = bss_eval_v4(&refs, &ests, &BssEvalConfig::one_second_at_16khz()).unwrap();
    for j in 0..2 {
        for t in 0..3 {
            // SDR is exactly the frame's signal-to-error ratio.
            assert!((metrics.sdr[j][t] - 10.0).abs() < 1e-9, "sdr {}", metrics.sdr[j][t]);
            // Independent white noise is nearly all artifact.
            assert!((metrics.sar[j][t] - 10.0).abs() < 0.3, "sar {}", metrics.sar[j][t]);
            assert!(metrics.sir[j][t] > 25.0 && metrics.isr[j][t] > 25.0);
        }
    }
}

#[test]
fn frames_follow_museval_framing() {
    let refs = vec![noise(16_000 * 3 + 5_000, 5), noise(16_000 * 3 + 5_000, 6)];
    let ests = vec![noise(16_000 * 3 + 5_000, 7), noise(16_000 * 3 + 5_000, 8)];
    let config = BssEvalConfig::one_second_at_16khz();
    // The trailing 5000 samples do not make a frame.
    assert_eq!(bss_eval_v4(&refs, &ests, &config).unwrap().n_frames(), 3);
    let half = BssEvalConfig { hop: 8_000, ..config };
    // floor((53000 - 16000 + 8000) / 8000) = 5 frames.
    assert_eq!(bss_eval_v4(&refs, &ests, &half).unwrap().n_frames(), 5);
    let long = BssEvalConfig { window: 100_000, ..config };
    assert_eq!(bss_eval_v4(&refs, &ests, &long).unwrap().n_frames(), 1);
}

#[test]
fn silent_frames_are_nan_for_every_source() {
    let len = 48_000;
    let refs = vec![noise(len, 11), noise(len, 12)];
    let mut ests = vec![noise(len, 13), noise(len, 14)];
    ests[1][16_000..32_000].fill(0.0);
    let metrics = bss_eval_v4(&refs, &ests, &BssEvalConfig::one_second_at_16khz()).unwrap();
    for j in 0..2 {
        assert!(metrics.sdr[j][1].is_nan() && metrics.isr[j][1].is_nan());
        assert!(metrics.sir[j][1].is_nan() && metrics.sar[j][1].is_nan());
        assert!(metrics.sdr[j][0].is_finite() && metrics.sdr[j][2].is_finite());
    }
}

#[test]
fn rejects_bad_input() {
    let config = BssEvalConfig::one_second_at_16khz();
    let good = vec![noise(20_000, 1), noise(20_000, 2)];
    let run = |refs: &[Vec<f64>], ests: &[Vec<f64>]| bss_eval_v4(refs, ests, &config);

    assert!(matches!(run(&[], &[]), Err(EvalError::NoSources)));
    assert!(matches!(run(&good, &good[..1]), Err(EvalError::SourceCountMismatch { .. })));
    let short = vec![noise(20_000, 1), noise(19_999, 2)];
    assert!(matches!(run(&good, &short), Err(EvalError::LengthMismatch { .. })));
    assert!(matches!(run(&[vec![], vec![]], &[vec![], vec![]]), Err(EvalError::ZeroLength)));
    let mut nan = good.clone();
    nan[1][123] = f64::NAN;
    assert!(matches!(
        run(&good, &nan),
        Err(EvalError::NonFinite { kind: SignalKind::Estimate, source_index: 1, sample: 123, .. })
    ));
    let all_nan = vec![good[0].clone(), vec![f64::NAN; 20_000]];
    assert!(matches!(run(&good, &all_nan), Err(EvalError::NonFinite { .. })));
    let silent = vec![good[0].clone(), vec![0.0; 20_000]];
    assert!(matches!(
        run(&silent, &good),
        Err(EvalError::SilentSource { kind: SignalKind::Reference, source_index: 1 })
    ));
    assert!(matches!(run(&good, &silent), Err(EvalError::SilentSource { kind: SignalKind::Estimate, .. })));
    for bad in [
        BssEvalConfig { window: 0, ..config },
        BssEvalConfig { hop: 0, ..config },
        BssEvalConfig { filter_len: 0, ..config },
    ] {
        assert!(matches!(bss_eval_v4(&good, &good, &bad), Err(EvalError::InvalidConfig(_))));
    }
    let mono = vec![vec![good[0].clone()], vec![good[1].clone()]];
    let stereo = vec![vec![good[0].clone(), good[1].clone()], vec![good[1].clone(), good[0].clone()]];
    assert!(matches!(bss_eval_v4_multichannel(&mono, &stereo, &config), Err(EvalError::ChannelCountMismatch { .. })));
}

#[test]
fn nan_median_skips_nan() {
    assert!(nan_median(&[]).is_nan());
    assert!(nan_median(&[f64::NAN, f64::NAN]).is_nan());
    assert_eq!(nan_median(&[3.0]), 3.0);
    assert_eq!(nan_median(&[5.0, f64::NAN, 1.0, 3.0]), 3.0);
    assert_eq!(nan_median(&[4.0, 1.0, f64::NAN, 2.0, 3.0]), 2.5);
    assert_eq!(nan_median(&[1.0, f64::INFINITY]), f64::INFINITY);
    assert!(nan_median(&[f64::NEG_INFINITY, f64::INFINITY]).is_nan());
    assert_eq!(nan_median(&[-2.0, -1.0, f64::NAN]), -1.5);
}

#[test]
fn track_score_ignores_infinities_like_museval() {
    assert_eq!(track_score(&[1.0, f64::INFINITY, 2.0, f64::NAN, 3.0]), 2.0);
    assert!(track_score(&[f64::INFINITY, f64::NAN]).is_nan());
}

#[test]
fn metrics_round_trip_through_json_with_null_for_nan() {
    let metrics = FramewiseMetrics {
        sdr: vec![vec![1.5, f64::NAN]],
        isr: vec![vec![2.0, f64::NAN]],
        sir: vec![vec![f64::INFINITY, 3.0]],
        sar: vec![vec![-4.25, 0.0]],
    };
    let json = serde_json::to_string(&metrics).unwrap();
    assert_eq!(json, r#"{"sdr":[[1.5,null]],"isr":[[2.0,null]],"sir":[[null,3.0]],"sar":[[-4.25,0.0]]}"#);
    let back: FramewiseMetrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back.sdr[0][0], 1.5);
    assert!(back.sdr[0][1].is_nan() && back.sir[0][0].is_nan());
    assert_eq!(back.sar, metrics.sar);
}
