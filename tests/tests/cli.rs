//! The `svs` command line on real files, as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use svs_core::audio::{AudioBuffer, BitDepth, read_audio, wav_bytes};
use svs_core::model::PoCoNetConfig;
use svs_core::model_file::{ModelMetadata, save_separator};
use svs_tests::weights_checksum;

/// The `svs` binary built next to this test (cargo builds every workspace binary for tests).
fn svs() -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("svs");
    assert!(bin.exists(), "{} not built (run `cargo test --workspace`)", bin.display());
    Command::new(bin)
}

fn tiny_model(dir: &Path) -> PathBuf {
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let config = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8);
    let path = dir.join("tiny.safetensors");
    let meta = ModelMetadata { trained_on: "nothing (random weights)".into(), ..Default::default() };
    save_separator(&path, &config.init(&device), &config, &meta).unwrap();
    path
}

fn write(path: &Path, audio: &AudioBuffer) {
    std::fs::write(path, wav_bytes(audio, BitDepth::Float32).unwrap()).unwrap();
}

/// The largest difference between vocals + accompaniment and the input they were separated from.
fn resum_error(vocals: &AudioBuffer, accompaniment: &AudioBuffer, input: &AudioBuffer) -> f32 {
    let mut err = 0.0f32;
    for c in 0..input.n_channels() {
        for i in 0..input.n_frames() {
            err = err.max((vocals.channels[c][i] + accompaniment.channels[c][i] - input.channels[c][i]).abs());
        }
    }
    err
}

fn tone(rate: u32, seconds: f32, channels: usize) -> AudioBuffer {
    let n = (rate as f32 * seconds) as usize;
    AudioBuffer::new(
        rate,
        (0..channels)
            .map(|c| {
                (0..n)
                    .map(|i| 0.4 * (i as f32 * (0.03 + 0.01 * c as f32)).sin() + 0.05 * (i as f32 * 0.7).sin())
                    .collect()
            })
            .collect(),
    )
}

#[test]
fn separate_keeps_format_sums_to_input_and_reports_bad_files_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let stereo = tone(44100, 3.2, 2);
    let quad = tone(22050, 2.0, 4);
    write(&inputs.join("stereo song.wav"), &stereo);
    write(&inputs.join("quad.wav"), &quad);
    std::fs::write(inputs.join("notes.wav"), b"definitely not a wav file").unwrap();
    let out = tmp.path().join("out");
    let result = svs()
        .args(["separate", "--bit-depth", "32f", "--chunk-seconds", "1.5", "--model"])
        .arg(&model)
        .arg("--out-dir")
        .arg(&out)
        .arg(&inputs)
        .arg(tmp.path().join("missing.mp3"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "a bad input must make the exit code non-zero");
    assert!(stderr.contains("notes.wav"), "{stderr}");
    assert!(stderr.contains("missing.mp3"), "{stderr}");
    for (name, input) in [("stereo song", &stereo), ("quad", &quad)] {
        let vocals = read_audio(&out.join(name).join("vocals.wav")).unwrap();
        let accompaniment = read_audio(&out.join(name).join("accompaniment.wav")).unwrap();
        assert_eq!(vocals.sample_rate, input.sample_rate);
        assert_eq!(vocals.n_channels(), input.n_channels());
        assert_eq!(vocals.n_frames(), input.n_frames());
        let err = resum_error(&vocals, &accompaniment, input);
        assert!(err < 1e-5, "{name}: stems differ from the input by {err}");
    }
    assert!(!out.join("notes").join("vocals.wav").exists());
    // No partial files are left behind.
    let leftovers: Vec<_> = walk(&out).into_iter().filter(|p| p.to_string_lossy().contains("partial")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn separate_writes_flac_stems_that_sum_to_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let song = tone(44100, 2.5, 2);
    let input = tmp.path().join("song.wav");
    write(&input, &song);
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        svs()
            .args(["separate", "--format", "flac"])
            .args(extra)
            .arg("--model")
            .arg(&model)
            .arg("--out-dir")
            .arg(&out)
            .arg(&input)
            .output()
            .unwrap()
    };
    let refused = run(&["--bit-depth", "32f"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--bit-depth 16 or 24"), "{stderr}");

    let result = run(&["--bit-depth", "24"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let vocals = read_audio(&out.join("song").join("vocals.flac")).unwrap();
    let accompaniment = read_audio(&out.join("song").join("accompaniment.flac")).unwrap();
    assert_eq!((vocals.sample_rate, vocals.n_channels(), vocals.n_frames()), (44100, 2, song.n_frames()));
    let err = resum_error(&vocals, &accompaniment, &song);
    // 24-bit quantization of each stem is below 1e-7.
    assert!(err < 1e-5, "FLAC stems differ from the input by {err}");
    assert!(!out.join("song").join("vocals.wav").exists());
}

/// `svs separate --live`: the live path with the latency removed, stems at the input's rate,
/// channels and length that re-sum to it, and not the windowed path's stems; window settings
/// and a GPU backend are refused with it.
#[test]
fn separate_live_writes_aligned_stems_that_sum_to_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let song = tone(48000, 2.0, 2);
    let input = tmp.path().join("song.wav");
    write(&input, &song);
    let run = |out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let result = svs()
            .args(["separate", "--bit-depth", "32f"])
            .args(extra)
            .arg("--model")
            .arg(&model)
            .arg("--out-dir")
            .arg(&out)
            .arg(&input)
            .output()
            .unwrap();
        (result, out.join("song"))
    };
    let (result, live) = run("live", &["--live"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let vocals = read_audio(&live.join("vocals.wav")).unwrap();
    let accompaniment = read_audio(&live.join("accompaniment.wav")).unwrap();
    assert_eq!((vocals.sample_rate, vocals.n_channels(), vocals.n_frames()), (48000, 2, song.n_frames()));
    let err = resum_error(&vocals, &accompaniment, &song);
    assert!(err < 1e-5, "live stems differ from the input by {err}");
    let (result, windowed) = run("windowed", &[]);
    assert!(result.status.success());
    let other = read_audio(&windowed.join("vocals.wav")).unwrap();
    let differ = vocals.channels[0].iter().zip(&other.channels[0]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(differ > 1e-4, "--live gave the windowed separator's stems");
    for extra in [&["--live", "--chunk-seconds", "2"][..], &["--live", "--backend", "wgpu"]] {
        let (result, _) = run("refused", extra);
        assert!(!result.status.success(), "{extra:?} was accepted");
    }
}

#[test]
fn separate_with_either_mask() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let song = tone(44100, 2.0, 2);
    let input = tmp.path().join("song.wav");
    write(&input, &song);
    let run = |mask: &[&str], out: &Path| {
        svs()
            .args(["separate", "--bit-depth", "32f", "--model"])
            .arg(&model)
            .args(mask)
            .arg("--out-dir")
            .arg(out)
            .arg(&input)
            .output()
            .unwrap()
    };
    let (ratio, complex) = (tmp.path().join("ratio"), tmp.path().join("complex"));
    for (mask, out) in [(&[][..], &ratio), (&["--mask", "complex"][..], &complex)] {
        let result = run(mask, out);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let vocals = read_audio(&out.join("song").join("vocals.wav")).unwrap();
        let accompaniment = read_audio(&out.join("song").join("accompaniment.wav")).unwrap();
        let err = resum_error(&vocals, &accompaniment, &song);
        assert!(err < 1e-5, "{mask:?}: stems differ from the input by {err}");
    }
    // An untrained model's masks are complex: the two ways of applying them differ.
    let a = read_audio(&ratio.join("song").join("vocals.wav")).unwrap();
    let b = read_audio(&complex.join("song").join("vocals.wav")).unwrap();
    let diff = (0..song.n_frames()).map(|i| (a.channels[0][i] - b.channels[0][i]).abs()).fold(0.0, f32::max);
    assert!(diff > 1e-4, "--mask complex changed nothing");
    let refused = run(&["--mask", "wiener"], &tmp.path().join("bad"));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("magnitude-ratio"), "the error lists the masks");
}

#[test]
fn separate_with_context_before_each_window() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let song = tone(48000, 3.5, 2);
    let input = tmp.path().join("song.wav");
    write(&input, &song);
    let run = |context: &str, out: &Path| {
        svs()
            .args(["separate", "--bit-depth", "32f", "--chunk-seconds", "1", "--context-seconds", context, "--model"])
            .arg(&model)
            .arg("--out-dir")
            .arg(out)
            .arg(&input)
            .output()
            .unwrap()
    };
    let (with, without) = (tmp.path().join("with"), tmp.path().join("without"));
    for (context, out) in [("1.5", &with), ("0", &without)] {
        let result = run(context, out);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    }
    let vocals = read_audio(&with.join("song").join("vocals.wav")).unwrap();
    let accompaniment = read_audio(&with.join("song").join("accompaniment.wav")).unwrap();
    assert_eq!(vocals.n_frames(), song.n_frames());
    let err = resum_error(&vocals, &accompaniment, &song);
    assert!(err < 1e-5, "stems differ from the input by {err}");
    // The context reaches the model: the vocals differ from those without it.
    let plain = read_audio(&without.join("song").join("vocals.wav")).unwrap();
    let diff = (0..song.n_frames()).map(|i| (plain.channels[0][i] - vocals.channels[0][i]).abs()).fold(0.0, f32::max);
    assert!(diff > 1e-6, "--context-seconds changed nothing");

    let refused = run("100", &tmp.path().join("bad"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("context 100 s is outside 0..60 s"), "{stderr}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn info_describes_files_and_presets_and_rejects_bad_models() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let out = svs().arg("info").arg(&model).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("parameters:") && text.contains("nothing (random weights)"), "{text}");
    let out = svs().args(["info", "--preset", "large"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("15.35 M"));
    let bad = tmp.path().join("bad.safetensors");
    std::fs::write(&bad, b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage").unwrap();
    let out = svs().arg("info").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.safetensors"));
}

/// References (tones) for `tracks` and estimates = references + white noise `snr_db` below
/// them, so each track's SDR is about `snr_db`.
fn noisy_estimates(refs: &Path, ests: &Path, tracks: &[&str], snr_db: f32, seed: u32) {
    let mut state = seed;
    let mut noise = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    for track in tracks {
        for dir in [refs, ests] {
            std::fs::create_dir_all(dir.join(track)).unwrap();
        }
        for stem in ["vocals", "accompaniment"] {
            let clean = tone(16000, 4.0, 1);
            let power: f32 = clean.channels[0].iter().map(|x| x * x).sum::<f32>() / clean.n_frames() as f32;
            // Uniform noise in [-0.5, 0.5] has power 1/12.
            let scale = (power / 10f32.powf(snr_db / 10.0) * 12.0).sqrt();
            let noisy: Vec<f32> = clean.channels[0].iter().map(|x| x + scale * noise()).collect();
            write(&refs.join(track).join(format!("{stem}.wav")), &clean);
            write(&ests.join(track).join(format!("{stem}.wav")), &AudioBuffer::new(16000, vec![noisy]));
        }
    }
}

/// `svs eval --references REFS --estimates ESTS --json JSON`.
fn eval_to_json(refs: &Path, ests: &Path, json: &Path) -> std::process::Output {
    svs()
        .args(["eval", "--references"])
        .arg(refs)
        .arg("--estimates")
        .arg(ests)
        .arg("--json")
        .arg(json)
        .output()
        .unwrap()
}

#[test]
fn eval_reports_known_sdr_and_names_broken_tracks() {
    let tmp = tempfile::tempdir().unwrap();
    let (refs, ests) = (tmp.path().join("refs"), tmp.path().join("ests"));
    noisy_estimates(&refs, &ests, &["a", "b"], 10.0, 1);
    let json = tmp.path().join("eval.json");
    let out = eval_to_json(&refs, &ests, &json);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let sdr = report["summary"]["sdr_vocals"].as_f64().unwrap();
    assert!((sdr - 10.0).abs() < 0.5, "SDR {sdr} dB, expected about 10");
    assert_eq!(report["tracks"].as_array().unwrap().len(), 2);
    for source in ["vocals", "accompaniment"] {
        assert_eq!(report["tracks"][0]["framewise"][source]["sdr"].as_array().unwrap().len(), 4, "{source}");
    }

    // museval's layout: one file per track, frames named by metric.
    let museval = tmp.path().join("museval");
    let out = svs()
        .args(["eval", "--references"])
        .arg(&refs)
        .arg("--estimates")
        .arg(&ests)
        .arg("--json")
        .arg(&museval)
        .args(["--format", "museval"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let track: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(museval.join("a.json")).unwrap()).unwrap();
    assert_eq!(track["targets"][0]["name"], "vocals");
    let frames = track["targets"][0]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 4);
    let frame_sdr = frames[1]["metrics"]["SDR"].as_f64().unwrap();
    assert!((frame_sdr - 10.0).abs() < 1.0, "frame SDR {frame_sdr}");

    // A missing estimate: named, the other track still evaluated, exit code non-zero.
    std::fs::remove_file(ests.join("b").join("vocals.wav")).unwrap();
    let out = svs().args(["eval", "--references"]).arg(&refs).arg("--estimates").arg(&ests).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vocals.wav") && stderr.contains('b'), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 tracks"));
}

/// `svs compare` on real `svs eval --json` files: estimates with noise 20 dB down against the
/// same songs with noise 10 dB down, two "seeds" each, differ by about 10 dB on every song.
#[test]
fn compare_pairs_evaluations_song_by_song_and_seed_by_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let tracks = ["a", "b", "c"];
    let mut evaluations = std::collections::BTreeMap::new();
    for (name, snr_db) in [("better", 20.0), ("worse", 10.0)] {
        for seed in [1u32, 2] {
            let (refs, ests) = (tmp.path().join("refs"), tmp.path().join(format!("{name}-{seed}")));
            noisy_estimates(&refs, &ests, &tracks, snr_db, seed * 7 + snr_db as u32);
            let json = tmp.path().join(format!("{name}-{seed}.json"));
            let out = eval_to_json(&refs, &ests, &json);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            evaluations.entry(name).or_insert_with(Vec::new).push(json.display().to_string());
        }
    }
    let comparison = tmp.path().join("comparison.json");
    let out = svs()
        .args(["compare", "--model-name", "better", "--baseline-name", "worse", "--model"])
        .arg(evaluations["better"].join(","))
        .arg("--baseline")
        .arg(evaluations["worse"].join(","))
        .arg("--json")
        .arg(&comparison)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("| better | worse | 2 | 3 |"), "{text}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&comparison).unwrap()).unwrap();
    for source in ["vocals", "accompaniment"] {
        let d = &report[source];
        let (mean, low, high) = (d["mean"].as_f64().unwrap(), d["low"].as_f64().unwrap(), d["high"].as_f64().unwrap());
        assert!((mean - 10.0).abs() < 1.0 && low > 8.5 && high < 11.5 && low <= mean && mean <= high, "{source}: {d}");
        assert_eq!(d["cells"], 6, "{source}");
    }

    // By group: the songs are their own groups here ("a", "b", "c"), each with its medians.
    let grouped = tmp.path().join("grouped.json");
    let out = svs()
        .args(["compare", "--by-group", "--model"])
        .arg(evaluations["better"].join(","))
        .arg("--baseline")
        .arg(evaluations["worse"].join(","))
        .arg("--json")
        .arg(&grouped)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("| b | 1 |"), "{text}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&grouped).unwrap()).unwrap();
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(report["overall"]["songs"], 3);
    for group in groups {
        let (model, baseline) =
            (group["model_median"][0].as_f64().unwrap(), group["baseline_median"][0].as_f64().unwrap());
        assert!((model - baseline - 10.0).abs() < 1.5, "{group}");
    }

    // `svs report` over the same files: both seeds per model, the same paired difference.
    let quoted = |name: &str| evaluations[name].iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ");
    let config = tmp.path().join("study.toml");
    std::fs::write(
        &config,
        format!(
            "title = \"A study\"\nseeds = [1, 2]\n[[model]]\nname = \"better\"\nruns = [{}]\n\
             [[model]]\nname = \"worse\"\nruns = [{}]\n\
             [[comparison]]\ntable = \"Better against worse\"\nmodel = \"better\"\nbaseline = \"worse\"\n",
            quoted("better"),
            quoted("worse")
        ),
    )
    .unwrap();
    let report_md = tmp.path().join("report/study.md");
    let out = svs().args(["report", "--config"]).arg(&config).arg("--out").arg(&report_md).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(&report_md).unwrap();
    assert!(md.contains("## Better against worse") && md.contains("| better | worse | 2 | 3 |"), "{md}");
    assert!(tmp.path().join("report/study.json").exists());
    // A configuration naming a model that is not listed: the file and the key are named.
    std::fs::write(
        &config,
        "title = \"t\"\nseeds = [1]\nmodel = []\n[[comparison]]\ntable = \"T\"\nmodel = \"a\"\nbaseline = \"b\"\n",
    )
    .unwrap();
    let out = svs().args(["report", "--config"]).arg(&config).arg("--out").arg(&report_md).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("study.toml") && stderr.contains("comparison[0].model"), "{stderr}");

    // One seed against two: refused in words, nothing written.
    let out = svs()
        .args(["compare", "--model"])
        .arg(&evaluations["better"][0])
        .arg("--baseline")
        .arg(evaluations["worse"].join(","))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 runs") && stderr.contains("baseline 2"), "{stderr}");
    // A file that is not an evaluation is named.
    let out = svs()
        .args(["compare", "--model"])
        .arg(&comparison)
        .arg("--baseline")
        .arg(&evaluations["worse"][0])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("comparison.json"));
}

/// The repository's `scripts/svs`, as the README tells a new user to run it.
/// `svs train --seed N --output-dir D` override the configuration's seed and folder: the same
/// seed in another folder repeats the run's weights exactly, another seed does not, and the
/// configuration's own folder is left alone.
#[test]
fn train_seed_and_output_dir_override_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let corpus = root.join("corpus");
    for song in 0..3 {
        for stem in ["vocals", "drums", "bass", "other"] {
            let dir = corpus.join(format!("train/song {song}"));
            std::fs::create_dir_all(&dir).unwrap();
            write(&dir.join(format!("{stem}.wav")), &tone(16_000, 3.0, 1));
        }
    }
    let cache = root.join("cache");
    let out = svs()
        .args(["prepare", "--dataset", "musdb18hq", "--root"])
        .arg(&corpus)
        .arg("--out")
        .arg(&cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "prepare: {}", String::from_utf8_lossy(&out.stderr));
    let config = root.join("train.toml");
    std::fs::write(
        &config,
        format!(
            "[model]\npreset = \"small\"\nlevels = 1\nbase_channels = 4\nmax_channels = 8\n\
             [data]\ntrain = [{{ cache = \"{cache}\" }}]\nvalidation = \"{cache}\"\nvalidation_splits = [\"train\"]\n\
             validation_songs = 1\nvalidation_seconds = 2\n[augment]\nwindow_seconds = 1.0\n\
             [training]\nbatch_size = 1\niterations = 2\nseed = 3\nvalidate_every = 2\ncheckpoint_every = 2\n\
             output_dir = \"{out}\"\n",
            cache = cache.display(),
            out = root.join("from-config").display()
        ),
    )
    .unwrap();
    let train = |extra: &[&str]| {
        let out = svs().arg("train").arg("--config").arg(&config).args(extra).output().unwrap();
        assert!(out.status.success(), "train {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    train(&[]);
    let from_config = weights_checksum(&root.join("from-config/best.safetensors"));
    let same = root.join("same-seed");
    let other = root.join("other-seed");
    train(&["--seed", "3", "--output-dir", same.to_str().unwrap()]);
    train(&["--seed", "4", "--output-dir", other.to_str().unwrap()]);
    assert_eq!(weights_checksum(&same.join("best.safetensors")), from_config, "the same seed trained differently");
    assert_ne!(weights_checksum(&other.join("best.safetensors")), from_config, "--seed changed nothing");
    let runs = std::fs::read_dir(root.join("from-config/checkpoints")).unwrap().count();
    assert_eq!(runs, 2, "the overriding runs wrote into the configuration's folder (a checkpoint and LATEST expected)");
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("scripts").join("svs")
}

#[test]
fn scripts_svs_runs_from_the_callers_directory_with_relative_paths() {
    // The script builds with cargo, then runs the binary: a stand-in `cargo` on PATH records
    // where and how it was called (building for real inside a test would take the build lock
    // the test runner holds), and the target folder it is given holds the binary this test uses.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let target = tmp.path().join("target");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(target.join("debug")).unwrap();
    let calls = tmp.path().join("cargo-calls");
    let fake_cargo = bin.join("cargo");
    std::fs::write(&fake_cargo, format!("#!/bin/sh\necho \"$PWD $*\" >> '{}'\n", calls.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake_cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(svs().get_program(), target.join("debug").join("svs")).unwrap();

    let music = tmp.path().join("my music");
    std::fs::create_dir(&music).unwrap();
    tiny_model(&music);
    write(&music.join("song.wav"), &tone(16000, 1.5, 1));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let result = Command::new("bash")
        .arg(script())
        .args(["separate", "--model", "tiny.safetensors", "song.wav"])
        .current_dir(&music)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert!(music.join("separated").join("song").join("vocals.wav").exists());
    assert!(music.join("separated").join("song").join("accompaniment.wav").exists());
    let calls = std::fs::read_to_string(&calls).unwrap();
    let manifest = script().parent().unwrap().parent().unwrap().join("Cargo.toml");
    assert!(calls.contains(&format!("--manifest-path {}", manifest.canonicalize().unwrap().display())), "{calls}");
    assert!(calls.starts_with(&format!("{} ", music.display())), "cargo ran elsewhere: {calls}");
}

#[test]
fn a_missing_file_is_named_with_its_os_error_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let missing = tmp.path().join("missing.wav");
    let result = svs()
        .args(["separate", "--model"])
        .arg(&model)
        .arg("--out-dir")
        .arg(tmp.path().join("out"))
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    let os_error = std::fs::File::open(&missing).map(drop).unwrap_err().to_string();
    let error_line = stderr.lines().find(|l| l.contains("cannot open")).unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(error_line.matches(&os_error).count(), 1, "{error_line}");
    assert_eq!(error_line.matches(&*missing.to_string_lossy()).count(), 1, "{error_line}");
    // The model loader says the same once.
    let result = svs().arg("info").arg(tmp.path().join("nothing.safetensors")).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert_eq!(stderr.matches(&os_error).count(), 1, "{stderr}");
}

#[test]
fn a_truncated_wav_is_separated_with_a_warning_saying_how_much_was_read() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let bytes = wav_bytes(&tone(16000, 1.5, 1), BitDepth::Int16).unwrap();
    let input = tmp.path().join("cut.wav");
    std::fs::write(&input, &bytes[..bytes.len() / 2]).unwrap();
    let result = svs()
        .args(["separate", "--model"])
        .arg(&model)
        .arg("--out-dir")
        .arg(tmp.path().join("out"))
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let warning = stderr.lines().find(|l| l.contains("truncated")).unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(warning.contains("WARN") && warning.contains(&*input.to_string_lossy()), "{warning}");
    let read = read_audio(&tmp.path().join("out").join("cut").join("vocals.wav")).unwrap().n_frames();
    assert!(read < 24_000);
    assert!(warning.contains(&format!("{read} of the 24000 samples")), "{warning}");
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_no_stem_under_a_finished_name() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let input = tmp.path().join("song.wav");
    write(&input, &tone(16000, 3.0, 2));
    let out = tmp.path().join("out");
    // A file-size limit of 16 kB makes the stem writes fail part-way as a full disk does
    // (EFBIG rather than ENOSPC; SIGXFSZ is ignored so the write returns the error). The model
    // and input were written above, outside the limit.
    let command = format!(
        "trap '' XFSZ; ulimit -f 32; exec \"$0\" separate --model '{}' --out-dir '{}' '{}'",
        model.display(),
        out.display(),
        input.display()
    );
    let result = Command::new("sh").arg("-c").arg(command).arg(svs().get_program()).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    let reason = std::io::Error::from_raw_os_error(27).to_string(); // EFBIG
    assert!(stderr.contains(&reason) && stderr.contains("vocals.wav"), "{stderr}");
    let left: Vec<_> = walk(&out);
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn a_read_only_output_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let input = tmp.path().join("song.wav");
    write(&input, &tone(16000, 1.0, 1));
    let out = tmp.path().join("read-only");
    std::fs::create_dir(&out).unwrap();
    // Root ignores permission bits, so as root the folder is a read-only mount; elsewhere a
    // folder without write permission.
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"]).arg(&out).status();
    let mounted = mounted.is_ok_and(|s| s.success());
    if !mounted {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::File::create(out.join("probe")).is_ok() {
            eprintln!("skipped: running as root without permission to mount, so no folder here is read-only");
            return;
        }
    }
    let result =
        svs().args(["separate", "--model"]).arg(&model).arg("--out-dir").arg(&out).arg(&input).output().unwrap();
    if mounted {
        let _ = Command::new("umount").arg(&out).status();
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("ERROR")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(&*out.join("song").to_string_lossy()), "the error names the folder: {line}");
    assert!(line.contains("Read-only file system") || line.contains("Permission denied"), "{line}");
}

/// `svs bench live` and `svs bench train` size a preset by its channels and its levels.
#[test]
fn bench_sizes_a_preset_by_channels_and_levels() {
    let live = svs()
        .args(["bench", "live", "--preset", "small", "--base-channels", "4", "--max-channels", "8", "--levels", "3"])
        .args(["--seconds", "0.5", "--rate", "16000", "--channels", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&live.stdout);
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    assert!(stdout.contains("base=4 max=8 levels=3"), "{stdout}");
    let train = svs()
        .args(["bench", "train", "--preset", "small", "--base-channels", "4", "--max-channels", "8", "--levels", "3"])
        .args(["--window-seconds", "0.5", "--batch", "1", "--steps", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    assert!(stdout.contains("base=4 max=8 levels=3"), "{stdout}");
}
