//! The four targets: how a case is made from a seed, and what is run on it.

use crate::harness::{Limits, Verdict, run_case};
use crate::layout::Layout;
use crate::mutate::Mutator;
use crate::seeds::{self, Seed};
use rand::Rng;
use rand::seq::IndexedRandom;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Decode,
    ModelFile,
    Config,
    Walkers,
}

impl Target {
    pub const ALL: [Target; 4] = [Target::Decode, Target::ModelFile, Target::Config, Target::Walkers];

    pub fn name(self) -> &'static str {
        match self {
            Target::Decode => "decode",
            Target::ModelFile => "model-file",
            Target::Config => "config",
            Target::Walkers => "walkers",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One input: `name` carries the extension that picks the decoder hint, config parser or
/// (for layouts) is `<kind>.layout`.
#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The seeds of every target, made once.
pub struct Corpus {
    audio: Vec<Seed>,
    models: Vec<Seed>,
    configs: Vec<Seed>,
    layouts: Vec<Layout>,
}

impl Corpus {
    pub fn load() -> Self {
        Self { audio: seeds::audio(), models: seeds::models(), configs: seeds::configs(), layouts: seeds::layouts() }
    }

    pub fn seed_count(&self, target: Target) -> usize {
        match target {
            Target::Decode => self.audio.len(),
            Target::ModelFile => self.models.len(),
            Target::Config => self.configs.len(),
            Target::Walkers => self.layouts.len(),
        }
    }

    /// The unmutated seeds as inputs (each must be accepted).
    pub fn seeds(&self, target: Target) -> Vec<Input> {
        let of = |s: &Seed| Input { name: s.name.clone(), bytes: s.bytes.clone() };
        match target {
            Target::Decode => self.audio.iter().map(of).collect(),
            Target::ModelFile => self.models.iter().map(of).collect(),
            Target::Config => self.configs.iter().map(of).collect(),
            Target::Walkers => self.layouts.iter().map(layout_input).collect(),
        }
    }

    /// A mutated input for `target`.
    pub fn case(&self, target: Target, m: &mut Mutator) -> Input {
        match target {
            Target::Decode => {
                let seed = self.audio.choose(m.rng()).expect("audio seeds");
                Input { name: seed.name.clone(), bytes: m.bytes(&seed.bytes, &seed.fields) }
            }
            Target::ModelFile => {
                let seed = self.models.choose(m.rng()).expect("model seeds");
                // Half the cases edit the JSON header (lengths, offsets, shapes, configuration
                // numbers) and rewrite its length prefix, so they get past the length check.
                let bytes = match seeds::split_safetensors(&seed.bytes) {
                    Some((header, start)) if m.rng().random_bool(0.5) => {
                        seeds::with_header(&seed.bytes, &m.text(&header), start)
                    }
                    _ => m.bytes(&seed.bytes, &seed.fields),
                };
                Input { name: seed.name.clone(), bytes }
            }
            Target::Config => {
                let seed = self.configs.choose(m.rng()).expect("config seeds");
                let text = String::from_utf8_lossy(&seed.bytes).into_owned();
                let bytes =
                    if m.rng().random_bool(0.9) { m.text(&text).into_bytes() } else { m.bytes(&seed.bytes, &[]) };
                Input { name: seed.name.clone(), bytes }
            }
            Target::Walkers => {
                let seed = self.layouts.choose(m.rng()).expect("layout seeds");
                layout_input(&seed.mutate(m))
            }
        }
    }
}

fn layout_input(layout: &Layout) -> Input {
    Input { name: "case.layout".into(), bytes: layout.to_text().into_bytes() }
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, e)| e)
}

/// Runs one input through its target under the harness.
pub fn run(target: Target, input: Input, limits: Limits) -> (Verdict, Duration) {
    run_case(limits, move || match target {
        Target::Decode => decode(&input),
        Target::ModelFile => model_file(&input),
        Target::Config => config(&input),
        Target::Walkers => walkers(&input),
    })
}

fn decode(input: &Input) -> Result<(), String> {
    let mut reader =
        svs_core::audio::AudioReader::from_bytes(input.bytes.clone(), &input.name).map_err(|e| e.to_string())?;
    let mut channels = None;
    while let Some(block) = reader.next_block().map_err(|e| e.to_string())? {
        // Every block planar, with the channel count of the first.
        let n = *channels.get_or_insert(block.len());
        assert!(n > 0 && block.len() == n && block.iter().all(|c| c.len() == block[0].len()), "ragged block");
        assert!(block.iter().flatten().all(|x| x.is_finite()), "non-finite samples escaped sanitising");
    }
    Ok(())
}

fn model_file(input: &Input) -> Result<(), String> {
    use svs_core::model_file::{ModelFile, ModelKind};
    let file = ModelFile::from_bytes(input.bytes.clone(), &input.name).map_err(|e| e.to_string())?;
    let device = svs_core::BackendKind::Cpu.device(0).map_err(|e| e.to_string())?;
    match file.kind {
        ModelKind::Separator => file.separator(&device).map(drop),
        ModelKind::VadVocals | ModelKind::VadAccompaniment => file.vad(&device).map(drop),
    }
    .map_err(|e| e.to_string())
}

fn config(input: &Input) -> Result<(), String> {
    use svs_train::augment::{AugmentConfig, Augmenter};
    use svs_train::config_file::ConfigFile;
    let text = String::from_utf8_lossy(&input.bytes);
    let path = Path::new(&input.name);
    match extension(&input.name) {
        "train" => {
            svs_train::training::config::TrainConfig::from_toml(&text, path).map(drop).map_err(|e| e.to_string())
        }
        "vad" => svs_train::vad::config::VadTrainConfig::from_toml(&text, path).map(drop).map_err(|e| e.to_string()),
        "self-train" => {
            svs_train::selftrain::config::SelfTrainConfig::from_toml(&text, path).map(drop).map_err(|e| e.to_string())
        }
        "augment" => {
            let config = AugmentConfig::from_toml_str(&text).map_err(|e| e.to_string())?;
            let augmenter = Augmenter::new(config, svs_core::MODEL_SAMPLE_RATE).map_err(|e| e.to_string())?;
            // A valid configuration must also render (short windows only: a 600 s window is
            // valid but slow, and this target is about the settings, not the signal length).
            if augmenter.window_samples() <= 4 * svs_core::MODEL_SAMPLE_RATE as usize {
                let songs = TwoSongs::new(augmenter.window_samples() + 100);
                let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
                let example = augmenter.try_example(&songs, &mut rng).map_err(|e| e.to_string())?;
                assert!(example.mixture.iter().all(|x| x.is_finite()), "non-finite augmented samples");
            }
            Ok(())
        }
        other => Err(format!("no parser for '.{other}'")),
    }
}

/// Two songs of one segment each, for rendering augmentation examples.
struct TwoSongs {
    segments: Vec<(Vec<f32>, Vec<f32>)>,
}

impl TwoSongs {
    fn new(samples: usize) -> Self {
        let tone = |f: f32| (0..samples).map(|i| 0.3 * (i as f32 * f).sin()).collect::<Vec<f32>>();
        Self { segments: vec![(tone(0.05), tone(0.011)), (tone(0.07), tone(0.013))] }
    }
}

impl svs_train::augment::SegmentSource for TwoSongs {
    fn len(&self) -> usize {
        self.segments.len()
    }
    fn segment(&self, index: usize) -> svs_train::augment::SourcePair<'_> {
        let (vocals, accompaniment) = &self.segments[index];
        svs_train::augment::SourcePair { vocals, accompaniment }
    }
    fn song_of(&self, index: usize) -> usize {
        index
    }
}

fn walkers(input: &Input) -> Result<(), String> {
    use svs_train::data::loaders::{audio_files, list_songs};
    let layout = Layout::parse(&String::from_utf8_lossy(&input.bytes))?;
    let root = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wav = svs_core::audio::wav_bytes(
        &svs_core::audio::AudioBuffer::new(8000, vec![vec![0.1; 64]]),
        svs_core::audio::BitDepth::Int16,
    )
    .map_err(|e| e.to_string())?;
    layout.materialize(root.path(), &wav);
    let listed = list_songs(layout.kind, root.path()).map_err(|e| e.to_string());
    let files = audio_files(root.path()).map_err(|e| e.to_string());
    listed.and(files).map(drop)
}
