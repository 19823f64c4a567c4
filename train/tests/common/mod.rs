//! Fixtures shared by the training tests.

use std::path::Path;
use svs_train::config_file::ConfigFile;
use svs_train::data::cache::write_song;
use svs_train::data::{AudioRef, DatasetKind, Song, SongSources, Split};

/// Held by every test that trains (runs burn autodiff), so the tests of one binary train one at
/// a time. burn's autodiff keeps its graph bookkeeping process-wide, and a `backward()` on one
/// thread can free graph steps another thread is still building (tracel-ai/burn#5573): two
/// trainings at once in one process then diverge from a lone run (seen here as a resumed run
/// no longer matching an uninterrupted one when the machine was loaded). svs itself never
/// trains two models at once in one process; tests do, when the harness runs them in threads.
#[allow(dead_code)]
pub fn one_training_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TRAINING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tiny labeled cache: "vocals" are vibrato tones in bursts, "accompaniment" filtered noise
/// with a beat, so the two are distinguishable.
pub fn make_cache(dir: &Path, songs: usize, split: Split) {
    for s in 0..songs {
        let n = 16000 * 4;
        let f0 = 200.0 + 40.0 * s as f32;
        let vocals: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / 16000.0;
                let on = ((t * 2.0) as usize + s) % 3 != 0;
                let phase = 2.0 * std::f32::consts::PI * (f0 * t + 3.0 * (5.0 * t).sin());
                if on { 0.3 * (phase.sin() + 0.5 * (2.0 * phase).sin()) } else { 0.0 }
            })
            .collect();
        let mut state = 12345u32 + s as u32;
        let accompaniment: Vec<f32> = (0..n)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let beat = if (i / 4000) % 2 == 0 { 1.0 } else { 0.3 };
                0.2 * noise * beat
            })
            .collect();
        let song = Song {
            name: format!("song{s}"),
            split,
            sources: SongSources::Stems {
                vocals: vec![AudioRef::file("v.wav")],
                accompaniment: vec![AudioRef::file("a.wav")],
            },
        };
        write_song(dir, DatasetKind::Paired, &song, &[vocals, accompaniment]).unwrap();
    }
}

/// A tiny model trained for 12 steps of 1 s examples on the caches `root/train` and `root/valid`.
#[allow(dead_code)]
pub fn train_config(root: &Path, run: &str) -> svs_train::training::TrainConfig {
    let text = format!(
        r#"
[model]
preset = "small"
levels = 1
base_channels = 4
max_channels = 8
[data]
train = [{{ cache = "{train}" }}]
validation = "{valid}"
validation_splits = ["valid"]
validation_seconds = 3
[augment]
window_seconds = 1.0
[training]
batch_size = 2
iterations = 12
seed = 7
validate_every = 6
checkpoint_every = 4
log_every = 2
output_dir = "{run}"
"#,
        train = root.join("train").display(),
        valid = root.join("valid").display(),
        run = root.join(run).display()
    );
    svs_train::training::TrainConfig::from_toml(&text, Path::new("test.toml")).unwrap()
}

/// One data-parallel step over `devices` against one step on `devices[0]`, from identical
/// models, on a batch of two identical examples: batch-norm statistics of the whole batch and of
/// each one-example share are then the same, so the gradient of the mean loss is too, and the
/// step must give the same weights. SGD rather than Adam: Adam's first step is invariant to the
/// gradient's scale, so it could not tell a missing or doubled share from a correct sum.
#[allow(dead_code)] // each test binary uses its own subset of the fixtures
pub fn check_data_parallel_step(devices: &[burn::tensor::Device], tolerance: f32) {
    use burn::module::Module;
    use burn::optim::SgdConfig;
    use svs_core::model::{PoCoNetConfig, SeparationLossConfig};
    use svs_train::training::data::Batch;
    use svs_train::training::trainer::train_step;

    let home = &devices[0];
    let config = PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(8);
    // Two inits from the same seed, not a clone: clones share their batch-norm running state.
    let fresh = || svs_core::device::seeded(home, 5, || config.init(home)).train();
    let samples = 4096;
    let example: Vec<Vec<f32>> = (0..3)
        .map(|k| (0..samples).map(|i| (0.001 * (i * (k + 3)) as f32).sin() * (0.2 + 0.1 * k as f32)).collect())
        .collect();
    let twice = |x: &Vec<f32>| [x.as_slice(), x.as_slice()].concat();
    let vocals = &example[0];
    let accompaniment = &example[1];
    let mixture: Vec<f32> = vocals.iter().zip(accompaniment).map(|(v, a)| v + a).collect();
    let batch = Batch {
        batch: 2,
        samples,
        mixture: twice(&mixture),
        vocals: twice(vocals),
        accompaniment: twice(accompaniment),
    };
    let loss = SeparationLossConfig::new().init();
    let probe: Vec<f32> = (0..8 * 513 * 2).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    // Training-mode masks depend on the weights only; inference-mode masks also on the
    // batch-norm running statistics.
    let masks = |m: &svs_core::PoCoNet| {
        let x = burn::tensor::Tensor::<1>::from_floats(probe.as_slice(), home).reshape([1, 8, 513, 2]);
        m.masks(x).into_data().try_to_vec::<f32>().unwrap()
    };
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);

    let start = fresh();
    let initial_inference = masks(&start.valid());
    let initial_training = masks(&start);
    let (one, one_loss) = train_step(fresh(), &mut SgdConfig::new().init(), &loss, &batch, &devices[..1], 0.5);
    let (many, many_loss) = train_step(fresh(), &mut SgdConfig::new().init(), &loss, &batch, devices, 0.5);
    assert!(
        (one_loss - many_loss).abs() < 1e-4 * one_loss.abs(),
        "loss {one_loss} on one device, {many_loss} on several"
    );
    let (one_training, many_training) = (masks(&one), masks(&many));
    assert!(max_diff(&initial_training, &one_training) > 100.0 * tolerance, "the step did not move the weights");
    let diff = max_diff(&one_training, &many_training);
    assert!(diff < tolerance, "data-parallel and single-device steps differ by {diff}");
    // The running statistics the replicas updated are back on the first device and used.
    let moved = max_diff(&initial_inference, &masks(&many.valid()));
    assert!(moved > tolerance, "batch-norm running statistics were not updated ({moved})");
}
