//! Killed runs lose nothing: each long stage is killed with SIGKILL at several moments, resumed,
//! and must end with outputs identical, byte for byte, to an uninterrupted run's; after every
//! kill, each file under a finished name must already be identical to the uninterrupted run's
//! (so no partial file is ever taken for a finished one). Files whose names say they are
//! partial (`*.partial`, `*.partial.*`) are the only ones a kill may leave behind.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use svs_core::audio::{AudioBuffer, BitDepth, wav_bytes};
use svs_core::model::{PoCoNetConfig, VadConfig};
use svs_core::model_file::{ModelKind, ModelMetadata, save_separator, save_vad};
use svs_tests::weights_checksum;

fn svs() -> Command {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("svs");
    assert!(bin.exists(), "{} not built (run `cargo test --workspace`)", bin.display());
    Command::new(bin)
}

fn is_partial(path: &Path) -> bool {
    path.to_string_lossy().contains(".partial")
}

/// Every file under `dir` that is not partial, by relative path, with its bytes (links are
/// read through, as a user's tools would).
fn finished_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if is_partial(&path) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(path.strip_prefix(dir).unwrap().to_owned(), bytes);
            }
        }
    }
    out
}

/// `bytes` with the output folder `from` written as `to`: a file may legitimately name its own
/// output folder (filter.json names its `kept/`), which differs between the two runs.
fn with_folder(bytes: &[u8], from: &Path, to: &Path) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.replace(&*from.to_string_lossy(), &to.to_string_lossy()).into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

/// When to kill each resumed run, as fractions of the uninterrupted run's time: 8% to 25%
/// (from a fixed-seed generator, so a failure can be replayed), so that each run gets a little
/// further than the last and the kills fall across the whole job.
fn kill_moments(n: usize, seed: u32) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            0.08 + 0.17 * (state >> 8) as f64 / (1u32 << 24) as f64
        })
        .collect()
}

/// Runs `args` + `--out OUT` uninterrupted, then killed at `points` moments and resumed, and
/// checks the guarantees. Returns how many kills landed while the stage was running.
fn kill_and_resume(stage: &str, args: &[OsString], out_flag: &str, root: &Path, points: usize) -> usize {
    let reference = root.join(format!("{stage}-reference"));
    let started = Instant::now();
    let result = svs().args(args).arg(out_flag).arg(&reference).output().unwrap();
    let full = started.elapsed();
    assert!(result.status.success(), "{stage}: {}", String::from_utf8_lossy(&result.stderr));
    let expected = finished_files(&reference);
    assert!(!expected.is_empty(), "{stage} wrote nothing");

    let out = root.join(format!("{stage}-killed"));
    let mut interrupted = 0;
    for (k, fraction) in kill_moments(points, stage.len() as u32).into_iter().enumerate() {
        let mut child = svs().args(args).arg(out_flag).arg(&out).stderr(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        let was_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if was_running {
            use std::os::unix::process::ExitStatusExt;
            interrupted += usize::from(status.signal() == Some(9));
        }
        for (path, bytes) in finished_files(&out) {
            let bytes = with_folder(&bytes, &out, &reference);
            match expected.get(&path) {
                Some(want) => assert!(
                    *want == bytes,
                    "{stage}, kill {k} at {fraction:.2} of {full:?}: {} is under its finished name but differs \
                     from the uninterrupted run's",
                    path.display()
                ),
                None => panic!("{stage}, kill {k}: {} is not a file the uninterrupted run writes", path.display()),
            }
        }
    }
    let result = svs().args(args).arg(out_flag).arg(&out).output().unwrap();
    assert!(result.status.success(), "{stage} resumed: {}", String::from_utf8_lossy(&result.stderr));
    let got: BTreeMap<PathBuf, Vec<u8>> =
        finished_files(&out).into_iter().map(|(p, b)| (p, with_folder(&b, &out, &reference))).collect();
    let missing: Vec<_> = expected.keys().filter(|p| !got.contains_key(*p)).collect();
    let differ: Vec<_> =
        expected.iter().filter(|(p, b)| got.get(*p).is_some_and(|g| g != *b)).map(|(p, _)| p).collect();
    assert!(missing.is_empty() && differ.is_empty(), "{stage}: missing {missing:?}, differ {differ:?}");
    assert_eq!(got.len(), expected.len(), "{stage}: extra files");
    eprintln!("{stage}: {interrupted} of {points} kills landed mid-run (uninterrupted run {full:?})");
    interrupted
}

fn tone_wav(path: &Path, rate: u32, seconds: f32, f: f32) {
    let n = (rate as f32 * seconds) as usize;
    let samples = (0..n).map(|i| 0.3 * (i as f32 * f).sin() + 0.05 * (i as f32 * 0.37 * f).sin()).collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, wav_bytes(&AudioBuffer::new(rate, vec![samples]), BitDepth::Int16).unwrap()).unwrap();
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_owned()).collect()
}

#[test]
fn prepare_label_and_filter_resume_after_sigkill_with_identical_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // A MUSDB18-HQ-shaped corpus: resampling 44.1 kHz stems is prepare's work.
    let corpus = root.join("corpus");
    for song in 0..12 {
        for (s, stem) in ["vocals", "drums", "bass", "other"].iter().enumerate() {
            let f = 0.01 + 0.003 * song as f32 + 0.001 * s as f32;
            tone_wav(&corpus.join(format!("train/song {song:02}/{stem}.wav")), 44_100, 12.0, f);
        }
    }
    let prepare = os(&[&"prepare", &"--dataset", &"musdb18hq", &"--root", &corpus, &"--jobs", &"1"]);
    let prepared = kill_and_resume("prepare", &prepare, "--out", root, 5);

    // Mixtures to pseudo-label with a (random) teacher, then rank with (random) detectors.
    let mixtures = root.join("mixtures");
    for song in 0..10 {
        tone_wav(&mixtures.join(format!("mix {song:02}.wav")), 16_000, 8.0, 0.02 + 0.004 * song as f32);
    }
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let teacher = root.join("teacher.safetensors");
    let config = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8);
    save_separator(&teacher, &config.init(&device), &config, &ModelMetadata::default()).unwrap();
    let label =
        os(&[&"label", &"--teacher", &teacher, &"--dataset", &"mixtures", &"--corpus", &mixtures, &"--jobs", &"1"]);
    let labeled = kill_and_resume("label", &label, "--out", root, 5);

    let vad = VadConfig::new().with_channels(vec![4, 4]).with_hidden(6);
    let (vad_vocal, vad_accomp) = (root.join("vad-vocal.safetensors"), root.join("vad-accomp.safetensors"));
    save_vad(&vad_vocal, &vad.init(&device), &vad, ModelKind::VadVocals, &ModelMetadata::default()).unwrap();
    save_vad(&vad_accomp, &vad.init(&device), &vad, ModelKind::VadAccompaniment, &ModelMetadata::default()).unwrap();
    let labels = root.join("label-reference");
    let filter = os(&[
        &"filter",
        &"--vad-vocal",
        &vad_vocal,
        &"--vad-accomp",
        &vad_accomp,
        &"--labels",
        &labels,
        &"--keep-top",
        &"0.5",
        // Figure 2 needs songs with separate vocal and accompaniment parts: the MUSDB-shaped corpus.
        &"--labeled-corpus",
        &corpus,
        &"--labeled-dataset",
        &"musdb18hq",
    ]);
    let filtered = kill_and_resume("filter", &filter, "--out", root, 5);
    // Most kills must land mid-run, or the test checked little.
    for (stage, count) in [("prepare", prepared), ("label", labeled), ("filter", filtered)] {
        assert!(count >= 3, "{stage}: only {count} of 5 kills landed while it ran");
    }
}

/// The model files a training run leaves (relative to its output folder) with their weights'
/// checksums, and the latest checkpoint's model under the name `LATEST`.
fn trained_models(out: &Path) -> BTreeMap<PathBuf, String> {
    let mut models = BTreeMap::new();
    for (path, _) in finished_files(out) {
        let in_checkpoint = path.components().any(|c| c.as_os_str() == "checkpoints");
        if path.extension().is_some_and(|e| e == "safetensors") && !in_checkpoint {
            models.insert(path.clone(), weights_checksum(&out.join(&path)));
        }
    }
    for run in ["", "vocals", "accompaniment", "teacher", "vad/vocals", "vad/accompaniment", "round-1/student"] {
        let latest = out.join(run).join("checkpoints/LATEST");
        if let Ok(name) = std::fs::read_to_string(&latest) {
            let dir = latest.parent().unwrap().join(name.trim());
            let state: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
            assert!(state["iteration"].is_u64(), "{}: state.json without an iteration", dir.display());
            let key = latest.strip_prefix(out).unwrap().to_owned();
            models.insert(key, weights_checksum(&dir.join("model.safetensors")));
        }
    }
    models
}

/// `svs <stage> --config C <flags>` trained uninterrupted (output folder `reference`), then
/// killed at `points` moments and resumed (output folder `killed`): the model files must end
/// with identical weights. After every kill, every model file under a finished name (the best
/// model, the latest checkpoint) must load with a matching checksum. Returns how many kills
/// landed while the stage ran.
fn kill_and_resume_training(
    stage: &str,
    flags: &[&str],
    config: impl Fn(&Path) -> String,
    root: &Path,
    points: usize,
) -> usize {
    let run = |out: &Path| {
        let path = root.join(format!("{stage}-{}.toml", out.file_name().unwrap().to_string_lossy()));
        std::fs::write(&path, config(out)).unwrap();
        let mut args = os(&[&stage, &"--config", &path]);
        args.extend(flags.iter().map(OsString::from));
        args
    };
    let reference = root.join(format!("{stage}-reference"));
    let started = Instant::now();
    let result = svs().args(run(&reference)).output().unwrap();
    let full = started.elapsed();
    assert!(result.status.success(), "{stage}: {}", String::from_utf8_lossy(&result.stderr));
    let expected = trained_models(&reference);
    assert!(!expected.is_empty(), "{stage} left no model file");

    let out = root.join(format!("{stage}-killed"));
    let args = run(&out);
    let mut interrupted = 0;
    for fraction in kill_moments(points, stage.len() as u32 + 7) {
        let mut child = svs().args(&args).stderr(std::process::Stdio::null()).spawn().unwrap();
        // Training runs get further each time (they resume), so the kills are spread over the
        // remaining work as well as over the whole run.
        std::thread::sleep(full.mul_f64(fraction * 1.5));
        let was_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if was_running {
            use std::os::unix::process::ExitStatusExt;
            interrupted += usize::from(status.signal() == Some(9));
        }
        // Every model under a finished name loads with a matching checksum (trained_models
        // panics otherwise), whatever moment the kill fell on.
        let _ = trained_models(&out);
    }
    let result = svs().args(&args).output().unwrap();
    assert!(result.status.success(), "{stage} resumed: {}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(
        trained_models(&out),
        expected,
        "{stage}: the resumed run's weights differ from the uninterrupted run's"
    );
    eprintln!("{stage}: {interrupted} of {points} kills landed mid-run (uninterrupted run {full:?})");
    interrupted
}

#[test]
fn train_and_train_vad_resume_after_sigkill_with_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let corpus = root.join("corpus");
    for song in 0..6 {
        for (s, stem) in ["vocals", "drums", "bass", "other"].iter().enumerate() {
            let f = 0.01 + 0.003 * song as f32 + 0.002 * s as f32;
            tone_wav(&corpus.join(format!("train/song {song:02}/{stem}.wav")), 16_000, 8.0, f);
        }
    }
    let cache = root.join("cache");
    let prepared = svs()
        .args(os(&[&"prepare", &"--dataset", &"musdb18hq", &"--root", &corpus, &"--out", &cache]))
        .output()
        .unwrap();
    assert!(prepared.status.success(), "prepare: {}", String::from_utf8_lossy(&prepared.stderr));
    let data = format!(
        "[data]\ntrain = [{{ cache = \"{cache}\" }}]\nvalidation = \"{cache}\"\nvalidation_splits = [\"train\"]\n\
         validation_songs = 2\nvalidation_seconds = 4\n[augment]\nwindow_seconds = 1.0\n",
        cache = cache.display()
    );
    let training = |out: &Path, iterations: u32| {
        format!(
            "[training]\nbatch_size = 2\niterations = {iterations}\nseed = 3\nvalidate_every = 10\n\
             checkpoint_every = 3\nlog_every = 5\noutput_dir = \"{}\"\n",
            out.display()
        )
    };
    let separator = |out: &Path| {
        format!(
            "[model]\npreset = \"small\"\nlevels = 1\nbase_channels = 4\nmax_channels = 8\n{data}{}",
            training(out, 40)
        )
    };
    let trained = kill_and_resume_training("train", &["--resume"], separator, root, 5);
    let detectors = |out: &Path| format!("[detector]\nchannels = [4, 4]\nhidden = 6\n{data}{}", training(out, 40));
    let detected = kill_and_resume_training("train-vad", &["--resume"], detectors, root, 5);
    for (stage, count) in [("train", trained), ("train-vad", detected)] {
        assert!(count >= 3, "{stage}: only {count} of 5 kills landed while it ran");
    }
}

/// The whole pipeline (teacher, detectors, labelling, filtering, student, evaluation) killed
/// across its stages and run again: it picks up where it was and ends with the same models.
#[test]
fn self_train_resumes_after_sigkill_with_identical_models() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (name, kind, songs, test_songs, seed) in
        [("labeled", "labeled", "3", "1", "1"), ("valid", "labeled", "1", "0", "2"), ("damp", "damp", "4", "0", "3")]
    {
        let out = root.join(name);
        let made = svs()
            .args(os(&[
                &"synth",
                &"--out",
                &out,
                &"--kind",
                &kind,
                &"--songs",
                &songs,
                &"--test-songs",
                &test_songs,
                &"--seconds",
                &"6",
                &"--seed",
                &seed,
            ]))
            .output()
            .unwrap();
        assert!(made.status.success(), "synth {name}: {}", String::from_utf8_lossy(&made.stderr));
    }
    let training = |iterations: u32| {
        format!("batch_size = 1\niterations = {iterations}\nvalidate_every = 4\ncheckpoint_every = 2\nlog_every = 2\n")
    };
    let pipeline = |out: &Path| {
        let dir = |name: &str| root.join(name).display().to_string();
        format!(
            "output_dir = \"{out}\"\nrounds = 1\n\
             [[labeled]]\ndataset = \"musdb18hq\"\nroot = \"{labeled}\"\nsplits = [\"train\"]\n\
             [validation]\ndataset = \"musdb18hq\"\nroot = \"{valid}\"\nsplits = [\"train\"]\nseconds = 4\n\
             [unlabeled]\ndataset = \"damp-vsep\"\nroot = \"{damp}\"\n\
             [test]\ndataset = \"musdb18hq\"\nroot = \"{labeled}\"\nsplits = [\"test\"]\n\
             [teacher]\nmodel = {{ preset = \"small\", levels = 1, base_channels = 4, max_channels = 4 }}\n\
             augment = {{ window_seconds = 1.0 }}\n[teacher.training]\n{teacher}\
             [vad]\ndetector = {{ channels = [4], hidden = 4 }}\naugment = {{ window_seconds = 1.0 }}\n\
             [vad.training]\n{vad}\
             [filter]\nthreshold = 0.5\nkeep_top = 0.5\n\
             [student]\nmodel = {{ preset = \"small\", levels = 1, base_channels = 4, max_channels = 8 }}\n\
             augment = {{ window_seconds = 1.0 }}\n[student.training]\n{student}",
            out = out.display(),
            labeled = dir("labeled"),
            valid = dir("valid"),
            damp = dir("damp"),
            teacher = training(12),
            vad = training(8),
            student = training(12),
        )
    };
    let killed = kill_and_resume_training("self-train", &["--jobs", "1"], pipeline, root, 5);
    assert!(killed >= 3, "self-train: only {killed} of 5 kills landed while it ran");
}
