//! Self-training end to end on tiny models and a tiny synthetic corpus: the detectors resume
//! bit-exactly, `svs label` shards and resumes, and `svs self-train` runs every stage, writes
//! its report, and skips finished stages when run again.

mod common;

use common::make_cache;
use std::path::{Path, PathBuf};
use std::process::Command;
use svs_core::ModelFile;
use svs_train::config_file::ConfigFile;
use svs_train::data::Split;
use svs_train::training::TrainOptions;
use svs_train::vad::trainer::DetectedSource;
use svs_train::vad::{VadTrainConfig, train_detectors};

fn svs(cwd: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_svs")).current_dir(cwd).args(args).output().unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn vad_config(root: &Path, out: &str) -> VadTrainConfig {
    let text = format!(
        r#"
[detector]
channels = [4, 4]
hidden = 4
[data]
train = [{{ cache = "{cache}" }}]
validation = "{cache}"
validation_splits = ["valid"]
validation_seconds = 2
[augment]
window_seconds = 1.0
[training]
batch_size = 2
iterations = 6
seed = 3
validate_every = 3
checkpoint_every = 2
log_every = 1
output_dir = "{out}"
"#,
        cache = root.join("cache").display(),
        out = root.join(out).display()
    );
    VadTrainConfig::from_toml(&text, Path::new("vad.toml")).unwrap()
}

fn detector_outputs(path: &Path) -> Vec<f32> {
    let device = burn::tensor::Device::flex();
    let (vad, _) = ModelFile::read(path).unwrap().vad(&device).unwrap();
    let probe: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.2).collect();
    vad.frame_ratios(&probe, &device)
}

#[test]
fn detectors_train_export_and_resume_exactly() {
    let _training = common::one_training_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    make_cache(&dir.path().join("cache"), 4, Split::Train);
    make_cache(&dir.path().join("cache"), 1, Split::Valid);
    let options = TrainOptions {
        backend: svs_core::BackendKind::Cpu,
        devices: vec![0],
        resume: false,
        init: None,
        stop_after: None,
    };
    let straight = vad_config(dir.path(), "straight");
    let results = train_detectors(&straight, &options).unwrap();
    assert_eq!(results.len(), 2);
    for (source, (path, v)) in DetectedSource::BOTH.iter().zip(&results) {
        assert_eq!(path, &source.model_path(&dir.path().join("straight")));
        assert_eq!(ModelFile::read(path).unwrap().kind, source.kind());
        assert!(v.loss.is_finite() && (0.0..=1.0).contains(&v.accuracy), "{v:?}");
        assert!(path.parent().unwrap().join(source.name()).join("loss.svg").exists());
    }

    // Killed after 4 of 6 steps of the first detector, then resumed.
    let killed = vad_config(dir.path(), "killed");
    let stopped = train_detectors(&killed, &TrainOptions { stop_after: Some(4), ..options.clone() });
    assert!(stopped.is_err(), "a stopped run is not finished");
    train_detectors(&killed, &TrainOptions { resume: true, ..options }).unwrap();
    for source in DetectedSource::BOTH {
        let a = detector_outputs(&source.model_path(&dir.path().join("straight")));
        let b = detector_outputs(&source.model_path(&dir.path().join("killed")));
        assert_eq!(a, b, "{} detector differs after resume", source.name());
    }
}

/// A synthetic corpus; DAMP-like ones carry the truth, so the filter is checked against it.
fn synth(cwd: &Path, out: &str, kind: &str, songs: &str, test_songs: &str, seed: &str) {
    let mut args = vec![
        "synth",
        "--out",
        out,
        "--kind",
        kind,
        "--songs",
        songs,
        "--test-songs",
        test_songs,
        "--seconds",
        "6",
        "--seed",
        seed,
    ];
    if kind == "damp" {
        args.push("--truth");
    }
    let (ok, text) = svs(cwd, &args);
    assert!(ok, "{text}");
}

fn pipeline_config(cwd: &Path) -> PathBuf {
    let text = r#"
output_dir = "run"
rounds = 1
[[labeled]]
dataset = "musdb18hq"
root = "labeled"
splits = ["train"]
[validation]
dataset = "musdb18hq"
root = "valid"
splits = ["train"]
seconds = 4
[unlabeled]
dataset = "damp-vsep"
root = "damp"
[test]
dataset = "musdb18hq"
root = "labeled"
splits = ["test"]
[teacher]
model = { preset = "small", levels = 1, base_channels = 4, max_channels = 4 }
augment = { window_seconds = 1.0 }
[teacher.training]
batch_size = 1
iterations = 3
validate_every = 3
checkpoint_every = 3
[vad]
detector = { channels = [4], hidden = 4 }
augment = { window_seconds = 1.0 }
[vad.training]
batch_size = 2
iterations = 2
validate_every = 2
checkpoint_every = 2
[filter]
threshold = 0.5
keep_top = 0.5
[student]
model = { preset = "small", levels = 1, base_channels = 4, max_channels = 8 }
augment = { window_seconds = 1.0 }
[student.training]
batch_size = 1
iterations = 3
validate_every = 3
checkpoint_every = 3
"#;
    let path = cwd.join("self-train.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `svs self-train --seed N --output-dir D`: the same seed in another folder gives the same
/// test SDRs, another seed other ones (its stages trained differently), on the same corpora.
#[test]
fn self_train_seed_and_output_dir_override_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    synth(cwd, "labeled", "labeled", "3", "2", "1");
    synth(cwd, "valid", "labeled", "2", "0", "2");
    synth(cwd, "damp", "damp", "3", "0", "3");
    let config = pipeline_config(cwd);
    let run = |seed: &str, out: &str| -> serde_json::Value {
        let args = ["self-train", "--config", config.to_str().unwrap(), "--seed", seed, "--output-dir", out];
        let (ok, text) = svs(cwd, &args);
        assert!(ok, "{text}");
        serde_json::from_str(&std::fs::read_to_string(cwd.join(out).join("report.json")).unwrap()).unwrap()
    };
    // Each model's validation and test scores (the rows also name the run's own folder).
    let scores = |report: &serde_json::Value| -> Vec<String> {
        let rows = report["models"].as_array().expect("the report's models");
        assert!(!rows.is_empty());
        rows.iter().map(|r| format!("{} {} {}", r["name"], r["validation_mean_sdr"], r["test"])).collect()
    };
    let first = run("5", "seed-5");
    let again = run("5", "seed-5-again");
    let other = run("6", "seed-6");
    assert_eq!(scores(&first), scores(&again), "the same seed trained differently");
    assert_ne!(scores(&first), scores(&other), "--seed changed nothing");
    assert!(!cwd.join("run").exists(), "the configuration's own output folder was written");
}

#[test]
fn label_filter_and_the_whole_pipeline_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    synth(cwd, "labeled", "labeled", "4", "2", "1");
    synth(cwd, "valid", "labeled", "2", "0", "2");
    synth(cwd, "damp", "damp", "4", "0", "3");
    let config = pipeline_config(cwd);

    let (ok, text) = svs(cwd, &["self-train", "--config", config.to_str().unwrap(), "--jobs", "2"]);
    assert!(ok, "{text}");
    let run = cwd.join("run");
    for file in [
        "teacher/best.safetensors",
        "teacher/DONE.json",
        "vad/vad-vocals.safetensors",
        "vad/vad-accompaniment.safetensors",
        "round-1/filter/ranking.csv",
        "round-1/filter/figure2.svg",
        "round-1/filter/figure2.png",
        "round-1/filter/diagnosis.json",
        "round-1/student/DONE.json",
        "report.md",
        "report.json",
        "final.safetensors",
    ] {
        assert!(run.join(file).exists(), "missing {file}\n{text}");
    }
    let ranking = std::fs::read_to_string(run.join("round-1/filter/ranking.csv")).unwrap();
    assert_eq!(ranking.lines().count(), 5, "{ranking}");
    assert_eq!(ranking.lines().filter(|l| l.ends_with(",true")).count(), 2, "{ranking}");
    assert_eq!(std::fs::read_dir(run.join("round-1/filter/kept")).unwrap().count(), 2);
    let figure = std::fs::read_to_string(run.join("round-1/filter/figure2.svg")).unwrap();
    for series in ["raw (4 songs)", "self-labeled (4 songs)", "labeled (4 songs)"] {
        assert!(figure.contains(series), "{series} missing from Figure 2");
    }
    let diagnosis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("round-1/filter/diagnosis.json")).unwrap()).unwrap();
    assert_eq!(diagnosis["songs"].as_array().unwrap().len(), 4, "{diagnosis}");
    assert!(diagnosis["songs"][0]["sdr_vocals"].as_f64().is_some_and(f64::is_finite), "{diagnosis}");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("The filter against the truth"), "{report}");
    assert!(report.contains("| teacher | small |") && report.contains("| student (round 1) | small |"), "{report}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["models"].as_array().unwrap().len(), 2);
    assert_eq!(json["models"][1]["keep_top"], 0.5);
    // The student against the teacher, one seed, paired over the 2 test songs.
    assert!(
        report.contains("## Paired differences") && report.contains("| student (round 1) | teacher | 1 | 2 |"),
        "{report}"
    );
    assert_eq!(json["comparisons"][0]["vocals"]["cells"], 2, "{json}");
    assert_eq!(json["models"][0]["tracks"].as_array().unwrap().len(), 2, "{json}");
    let final_model = ModelFile::read(&run.join("final.safetensors")).unwrap();
    assert!(final_model.metadata.sdr_vocals.is_some() && final_model.metadata.test_set.contains("2 songs"));

    // Run again: every stage is found finished and nothing is retrained.
    let teacher_time = std::fs::metadata(run.join("teacher/best.safetensors")).unwrap().modified().unwrap();
    let (ok, text) = svs(cwd, &["self-train", "--config", config.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.matches("already trained").count() >= 3, "{text}");
    assert_eq!(std::fs::metadata(run.join("teacher/best.safetensors")).unwrap().modified().unwrap(), teacher_time);

    // `svs label` in two shards covers every song once; a song whose record is missing (a
    // killed run) is labeled again, the others are skipped.
    let teacher = run.join("teacher/best.safetensors");
    let label = |shard: &str| {
        svs(
            cwd,
            &["label", "--teacher", teacher.to_str().unwrap(), "--corpus", "damp", "--out", "labels", "--shard", shard],
        )
    };
    let (ok, a) = label("0/2");
    assert!(ok && a.contains("2 songs labeled"), "{a}");
    let (ok, b) = label("1/2");
    assert!(ok && b.contains("2 songs labeled"), "{b}");
    let songs: Vec<PathBuf> = std::fs::read_dir(cwd.join("labels")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(songs.len(), 4);
    std::fs::remove_file(songs[0].join("label.json")).unwrap();
    let (ok, c) = label("0/1");
    assert!(ok && c.contains("1 songs labeled, 3 already done"), "{c}");
    let (ok, bad) = label("2/2");
    assert!(!ok && bad.contains("not a shard"), "{bad}");

    // `svs filter` on those labels, with the wrong detector in a slot: a clear error.
    let (ok, text) = svs(
        cwd,
        &[
            "filter",
            "--vad-vocal",
            "run/vad/vad-accompaniment.safetensors",
            "--vad-accomp",
            "run/vad/vad-accompaniment.safetensors",
            "--labels",
            "labels",
            "--out",
            "filtered",
        ],
    );
    assert!(!ok && text.contains("vad-accompaniment.safetensors") && text.contains("vad-vocals"), "{text}");
    let (ok, text) = svs(
        cwd,
        &[
            "filter",
            "--vad-vocal",
            "run/vad/vad-vocals.safetensors",
            "--vad-accomp",
            "run/vad/vad-accompaniment.safetensors",
            "--labels",
            "labels",
            "--out",
            "filtered",
            "--keep-top",
            "0.25",
        ],
    );
    assert!(ok && text.contains("kept 1 of 4 songs"), "{text}");
}
