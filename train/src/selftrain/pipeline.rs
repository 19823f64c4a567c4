//! `svs self-train`: the whole noisy self-training loop as resumable stages.
//!
//! ```text
//! <output_dir>/
//!   data/<corpus>/            16 kHz segment caches (svs prepare)
//!   teacher/                  the teacher's training run; DONE.json when finished
//!   vad/                      both detectors' runs and vad-{vocals,accompaniment}.safetensors
//!   round-<r>/labels/         pseudo-labels by the round's teacher (svs label)
//!   round-<r>/filter/         ranking.csv, kept/, figure2.png/.svg (svs filter); diagnosis.json
//!                             (round 1, when the unlabeled corpus has the truth: the filter against it)
//!   round-<r>/pseudo-cache/   the kept songs' segment cache
//!   round-<r>/student/        the student's training run; DONE.json when finished
//!   eval/<model>.json         test-split SDRs (per-track results cached below eval/)
//!   report.md, report.json    Tables 1-3 and Figure 2
//!   final.safetensors         the best model, with its test SDR in its metadata
//! ```
//!
//! Every stage checks for its finished output first and is skipped when it is there; training
//! stages resume from their latest checkpoint, labelling from the last finished song. So a
//! killed pipeline, started again with the same command, goes on where it stopped.

use super::config::{CorpusSection, SelfTrainConfig, SeparatorStage, SoundFonts};
use super::diagnosis::diagnose_filter;
use super::filter::{FigureCorpus, VadFilter, filter_and_plot};
use super::label::label_corpus;
use super::report::{self, ReportRow};
use super::shard::Shard;
use crate::config_file::ConfigFile;
use crate::data::Split;
use crate::data::cache::safe_name;
use crate::data::prepare::PrepareOptions;
use crate::eval::protocol::{DatasetEvaluation, Evaluation, evaluate_dataset};
use crate::eval::report::{JsonFormat, write_json};
use crate::synth::corpus::{CorpusOptions, SynthKind, write_corpus};
use crate::training::checkpoint;
use crate::training::config::{DataSection, DatasetEntry, TrainConfig};
use crate::training::{TrainOptions, train};
use crate::vad::trainer::DetectedSource;
use crate::vad::{VadTrainConfig, train_detectors};
use anyhow::{Context, Result};
use burn::module::Module;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::model_file::write_atomically;
use svs_core::{BackendKind, ModelFile};

/// How to run (not part of the configuration).
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    pub backend: BackendKind,
    pub devices: Vec<usize>,
    /// Songs labeled at once (0: all cores).
    pub jobs: usize,
}

/// A finished separator training stage (`DONE.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StageDone {
    model: PathBuf,
    iterations: u64,
    /// Best validation SDRs (None where not finite: JSON has no NaN).
    sdr_vocals: Option<f64>,
    sdr_accompaniment: Option<f64>,
}

impl StageDone {
    fn validation_mean_sdr(&self) -> f64 {
        match (self.sdr_vocals, self.sdr_accompaniment) {
            (Some(v), Some(a)) => (v + a) / 2.0,
            _ => f64::NEG_INFINITY,
        }
    }
}

/// One trained separator of the pipeline.
#[derive(Clone, Debug)]
struct Trained {
    name: String,
    model: PathBuf,
    stage: SeparatorStage,
    validation_mean_sdr: f64,
    unlabeled: bool,
    keep_top: Option<f64>,
}

pub fn run(config: &SelfTrainConfig, options: &PipelineOptions) -> Result<PathBuf> {
    let out = &config.output_dir;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("config.toml"), toml::to_string_pretty(config)?)?;
    if let Some(synth) = &config.synth {
        stage("synthetic corpora");
        for (corpus, kind) in [
            (&synth.labeled, SynthKind::Labeled),
            (&synth.validation, SynthKind::Labeled),
            (&synth.unlabeled, SynthKind::Damp),
        ] {
            write_corpus(&CorpusOptions {
                out: corpus.out.clone(),
                songs: corpus.songs,
                test_songs: corpus.test_songs,
                seed: corpus.seed,
                kind,
                seconds: corpus.seconds,
                soundfonts: corpus.soundfont.as_ref().map(SoundFonts::paths).unwrap_or_default(),
                drum_soundfonts: corpus.drum_soundfont.as_ref().map(SoundFonts::paths).unwrap_or_default(),
                truth: corpus.truth,
                voice_clips: corpus.voice_clips.clone(),
                recorded_voice_probability: corpus.recorded_voice_probability,
                sampled_voice_probability: corpus.sampled_voice_probability,
                bus_probability: corpus.bus_probability,
                harmony_probability: corpus.harmony_probability,
                vocal_to_accompaniment_db: corpus.vocal_to_accompaniment_db,
                music_clips: corpus.music_clips.clone(),
                music_layer_probability: corpus.music_layer_probability,
                wide_palette_probability: corpus.wide_palette_probability,
                instrument_line_probability: corpus.instrument_line_probability,
                instrumental_probability: corpus.instrumental_probability,
            })?;
        }
    }

    stage("prepare");
    let mut labeled_entries = Vec::new();
    for corpus in &config.labeled {
        labeled_entries.push(DatasetEntry {
            cache: prepare(out, corpus, options)?,
            weight: corpus.weight,
            splits: if corpus.splits.is_empty() { vec![Split::Train] } else { corpus.splits.clone() },
            label: corpus_label(corpus),
        });
    }
    let validation_cache = prepare(
        out,
        &CorpusSection {
            dataset: config.validation.dataset,
            root: config.validation.root.clone(),
            splits: config.validation.splits.clone(),
            label: String::new(),
            weight: 1.0,
        },
        options,
    )?;
    let data = |train: Vec<DatasetEntry>| DataSection {
        train,
        validation: validation_cache.clone(),
        validation_splits: config.validation.splits.clone(),
        validation_songs: config.validation.songs,
        validation_seconds: config.validation.seconds,
    };

    stage("teacher");
    let teacher_run = out.join("teacher");
    let teacher_done = train_stage(&config.teacher, data(labeled_entries.clone()), &teacher_run, options)?;
    let mut models = vec![Trained {
        name: "teacher".into(),
        model: teacher_done.model.clone(),
        stage: config.teacher.clone(),
        validation_mean_sdr: teacher_done.validation_mean_sdr(),
        unlabeled: false,
        keep_top: None,
    }];

    stage("voice-activity detectors");
    let vad_dir = out.join("vad");
    let mut vad_training = config.vad.training.clone();
    vad_training.output_dir = vad_dir.clone();
    let vad_config = VadTrainConfig {
        detector: config.vad.detector.clone(),
        data: data(labeled_entries.clone()),
        augment: config.vad.augment.clone(),
        optimizer: config.vad.optimizer.clone(),
        training: vad_training,
    };
    let resume = DetectedSource::BOTH.iter().any(|s| vad_dir.join(s.name()).join("checkpoints/LATEST").exists());
    train_detectors(&vad_config, &train_options(options, resume))?;
    let device = options.backend.device(*options.devices.first().unwrap_or(&0))?;
    let filter = VadFilter::new(
        &ModelFile::read(&DetectedSource::Vocals.model_path(&vad_dir))?,
        &ModelFile::read(&DetectedSource::Accompaniment.model_path(&vad_dir))?,
        config.filter.threshold,
        &device,
    )?;

    let mut figure2 = None;
    let mut diagnosis = None;
    for round in 1..=config.rounds {
        let dir = out.join(format!("round-{round}"));
        let teacher = models.last().expect("the teacher is first").clone();
        stage(&format!("round {round}: pseudo-labels by the {}", teacher.name));
        let labels = dir.join("labels");
        let summary = label_corpus(
            &ModelFile::read(&teacher.model)?,
            &device,
            config.unlabeled.dataset,
            &config.unlabeled.root,
            &labels,
            Shard::ALL,
            options.jobs,
        )?;
        if !summary.failed.is_empty() {
            tracing::warn!(
                "{} songs could not be labeled and are left out: {}",
                summary.failed.len(),
                summary.failed.join(", ")
            );
        }

        stage(&format!("round {round}: filtering"));
        let filter_dir = dir.join("filter");
        let corpora: Vec<FigureCorpus> = vec![
            ("raw", config.unlabeled.dataset, &config.unlabeled.root),
            ("labeled", config.labeled[0].dataset, &config.labeled[0].root),
        ];
        // Filtering is cheap next to training; it is simply redone on resume (the labels, and
        // so its result, are unchanged).
        let kept = filter_and_plot(&filter, &labels, config.filter.keep_top, &filter_dir, &corpora)?;
        if round == 1 {
            figure2 = Some(filter_dir.join("figure2.png"));
            diagnosis = diagnose_filter(&kept, &labels, config.unlabeled.dataset, &config.unlabeled.root)?;
            if let Some(d) = &diagnosis {
                tracing::info!(
                    "filter vs truth: rank correlation {:.2}, kept {:.2} dB, dropped {:.2} dB",
                    d.rank_correlation,
                    d.kept_mean_sdr,
                    d.dropped_mean_sdr
                );
                write_atomically(&filter_dir.join("diagnosis.json"), serde_json::to_string_pretty(d)?.as_bytes())?;
            }
        }
        tracing::info!("kept {} of {} pseudo-labeled songs", kept.kept, kept.songs);
        let pseudo_cache = dir.join("pseudo-cache");
        // The cache is rebuilt from the kept folder so it holds exactly the kept songs.
        if !pseudo_cache.join("manifest.json").exists() || !same_songs(&pseudo_cache, &kept.kept_dir)? {
            let _ = std::fs::remove_dir_all(&pseudo_cache);
            crate::data::prepare::prepare(&PrepareOptions {
                dataset: crate::data::DatasetKind::Paired,
                root: kept.kept_dir.clone(),
                out: pseudo_cache.clone(),
                jobs: Some(options.jobs).filter(|&j| j > 0),
            })?
            .require_complete()?;
        }

        stage(&format!("round {round}: student"));
        // The labeled corpora share `labeled_weight` in their own proportions.
        let total: f64 = labeled_entries.iter().map(|e| e.weight).sum();
        let mut student_data: Vec<DatasetEntry> = labeled_entries
            .iter()
            .map(|e| DatasetEntry { weight: config.student.labeled_weight * e.weight / total, ..e.clone() })
            .collect();
        let pseudo_entry = DatasetEntry {
            cache: pseudo_cache,
            weight: config.student.pseudo_label_weight,
            splits: vec![Split::Train],
            label: format!(
                "{} pseudo-labeled by the {}, top {:.0}%",
                corpus_label(&config.unlabeled),
                teacher.name,
                100.0 * config.filter.keep_top
            ),
        };
        let student_stage = config.student.separator();
        student_data.push(pseudo_entry);
        let done = train_stage(&student_stage, data(student_data), &dir.join("student"), options)?;
        let student = Trained {
            name: format!("student (round {round})"),
            model: done.model.clone(),
            stage: student_stage,
            validation_mean_sdr: done.validation_mean_sdr(),
            unlabeled: true,
            keep_top: Some(config.filter.keep_top),
        };
        let improved = student.validation_mean_sdr > teacher.validation_mean_sdr;
        tracing::info!(
            "round {round}: validation mean SDR {:.2} dB (the {} had {:.2} dB)",
            student.validation_mean_sdr,
            teacher.name,
            teacher.validation_mean_sdr
        );
        models.push(student);
        if !improved {
            tracing::info!("no gain over the {}: stopping after round {round}", teacher.name);
            break;
        }
    }

    stage("evaluation on the test songs");
    let mut rows = Vec::new();
    for model in &models {
        let evaluation = evaluate(out, &config.test, model, options)?;
        let tracks = evaluation
            .tracks
            .iter()
            .map(|t| report::TrackSdr {
                track: t.track.clone(),
                sdr_vocals: t.sdr_vocals,
                sdr_accompaniment: t.sdr_accompaniment,
            })
            .collect();
        let file = ModelFile::read(&model.model)?;
        let config_model = file.separator_config()?;
        rows.push(ReportRow {
            name: model.name.clone(),
            model: model.model.clone(),
            preset: model.stage.model.preset.name().into(),
            parameters: config_model.init(&burn::tensor::Device::flex()).num_params(),
            random_mix_probability: if model.stage.augment.random_mix.enabled {
                model.stage.augment.random_mix.probability
            } else {
                0.0
            },
            window_seconds: model.stage.augment.window_seconds,
            unlabeled: model.unlabeled,
            keep_top: model.keep_top,
            validation_mean_sdr: model.validation_mean_sdr,
            test: evaluation.summary,
            tracks,
        });
    }
    let best = report::best_row(&rows).context("no model was evaluated")?;
    write_final(out, &rows[best], &config.test)?;
    report::write(out, config, &rows, figure2.as_deref(), diagnosis.as_ref())?;
    Ok(out.join("report.md"))
}

fn stage(name: &str) {
    tracing::info!("== {name}");
    eprintln!("== {name}");
}

fn corpus_label(corpus: &CorpusSection) -> String {
    if corpus.label.is_empty() {
        format!("{:?} at {}", corpus.dataset, corpus.root.display())
    } else {
        corpus.label.clone()
    }
}

fn train_options(options: &PipelineOptions, resume: bool) -> TrainOptions {
    TrainOptions { backend: options.backend, devices: options.devices.clone(), resume, init: None, stop_after: None }
}

/// Prepares a corpus's cache under `<out>/data/` (resumable; songs already cached are skipped).
fn prepare(out: &Path, corpus: &CorpusSection, options: &PipelineOptions) -> Result<PathBuf> {
    let cache = out.join("data").join(safe_name(&format!("{:?}-{}", corpus.dataset, corpus.root.display())));
    let summary = crate::data::prepare::prepare(&PrepareOptions {
        dataset: corpus.dataset,
        root: corpus.root.clone(),
        out: cache.clone(),
        jobs: Some(options.jobs).filter(|&j| j > 0),
    })
    .with_context(|| format!("preparing {}", corpus.root.display()))?;
    tracing::info!("{}: {} songs, {:.2} hours", cache.display(), summary.songs, summary.hours);
    summary.require_complete().with_context(|| format!("preparing {}", corpus.root.display()))?;
    Ok(cache)
}

/// Whether a cache holds exactly the songs of a `paired` folder.
fn same_songs(cache: &Path, folder: &Path) -> Result<bool> {
    let cached: std::collections::BTreeSet<String> =
        crate::data::cache::read_entries(cache).map(|e| e.into_iter().map(|s| s.name).collect()).unwrap_or_default();
    let listed: std::collections::BTreeSet<String> =
        crate::data::list_songs(crate::data::DatasetKind::Paired, folder)?.songs.into_iter().map(|s| s.name).collect();
    Ok(cached == listed)
}

/// Trains a separator stage to completion (resuming a killed run), once.
fn train_stage(stage: &SeparatorStage, data: DataSection, run: &Path, options: &PipelineOptions) -> Result<StageDone> {
    let done_path = run.join("DONE.json");
    if let Ok(text) = std::fs::read_to_string(&done_path) {
        if let Ok(done) = serde_json::from_str::<StageDone>(&text) {
            if done.model.exists() {
                tracing::info!("{}: already trained", run.display());
                return Ok(done);
            }
        }
    }
    let mut training = stage.training.clone();
    training.output_dir = run.to_owned();
    let config = TrainConfig {
        model: stage.model.clone(),
        data,
        augment: stage.augment.clone(),
        optimizer: stage.optimizer.clone(),
        loss: stage.loss.clone(),
        training,
    };
    config.validate().map_err(|e| anyhow::anyhow!("{}: {e}", run.display()))?;
    let resume = checkpoint::latest(run).ok().flatten().is_some();
    let summary = train(&config, &train_options(options, resume))?;
    let model = run.join("best.safetensors");
    // The best model's metadata holds its validation SDRs (also when this invocation only
    // found the run finished).
    let meta = ModelFile::read(&model)?.metadata;
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
    let done = StageDone {
        model,
        iterations: summary.iterations,
        sdr_vocals: finite(meta.sdr_vocals),
        sdr_accompaniment: finite(meta.sdr_accompaniment),
    };
    write_atomically(&done_path, serde_json::to_string_pretty(&done)?.as_bytes())?;
    Ok(done)
}

/// Test-split SDRs of one model (per-track results are cached, so this resumes too).
fn evaluate(out: &Path, test: &CorpusSection, model: &Trained, options: &PipelineOptions) -> Result<Evaluation> {
    let name = safe_name(&model.name);
    let json = out.join("eval").join(format!("{name}.json"));
    std::fs::create_dir_all(out.join("eval"))?;
    let split = test.splits.first().copied().unwrap_or(Split::Test);
    let evaluation = evaluate_dataset(&DatasetEvaluation {
        dataset: test.dataset,
        root: test.root.clone(),
        model: model.model.clone(),
        split,
        backend: options.backend,
        results: out.join("eval").join(format!("{name}-tracks")),
        live: None,
        // As validation measured the models (the pipeline's report compares its own stages).
        windows: crate::training::validation::network_estimate_config(),
    })?;
    write_json(&evaluation, &json, JsonFormat::Svs)?;
    let failed = &evaluation.summary.failed;
    if !failed.is_empty() {
        anyhow::bail!("{}: {} test tracks could not be evaluated: {}", model.name, failed.len(), failed.join(", "));
    }
    Ok(evaluation)
}

/// Copies the best model to `final.safetensors` with its test SDR in its metadata.
fn write_final(out: &Path, row: &ReportRow, test: &CorpusSection) -> Result<()> {
    let file = ModelFile::read(&row.model)?;
    let device = burn::tensor::Device::flex();
    let (model, config) = file.separator(&device)?;
    let mut meta = file.metadata.clone();
    meta.sdr_vocals = Some(row.test.sdr_vocals);
    meta.sdr_accompaniment = Some(row.test.sdr_accompaniment);
    meta.test_set = format!("{} ({} songs of {})", corpus_label(test), row.test.tracks, test.root.display());
    meta.notes = format!("{} of `svs self-train`", row.name);
    svs_core::model_file::save_separator(&out.join("final.safetensors"), &model, &config, &meta)?;
    Ok(())
}
