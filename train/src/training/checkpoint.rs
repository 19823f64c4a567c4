//! Checkpoints: the model, the optimiser state, the iteration (which fixes the schedule
//! position), the data sampler's RNG state and the best validation score so far.
//!
//! Each checkpoint is a directory `checkpoints/iter-NNNNNNNN/` written under a `.partial` name
//! and renamed when complete; `checkpoints/LATEST` (replaced atomically) names the newest.
//! Older checkpoints are removed only after the new one is in place, so a kill at any moment
//! leaves a readable checkpoint.

use anyhow::{Context, Result, bail};
use burn::config::Config;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::{BurnpackStore, ModuleSnapshot};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::model_file::{ModelFile, ModelKind, ModelMetadata, model_bytes, write_atomically};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Iterations completed.
    pub iteration: u64,
    /// The data sampler's ChaCha8 seed (hex) and stream position.
    pub rng_seed: String,
    pub rng_word_pos: String,
    /// The best validation score so far (higher is better: a separator's mean SDR, a
    /// detector's negated cross-entropy). Checkpoints written before the rename say
    /// `best_mean_sdr`.
    #[serde(alias = "best_mean_sdr")]
    pub best_score: Option<f64>,
    pub best_iteration: Option<u64>,
}

impl TrainingState {
    pub fn new(rng: &ChaCha8Rng) -> Self {
        let mut state = Self {
            iteration: 0,
            rng_seed: String::new(),
            rng_word_pos: String::new(),
            best_score: None,
            best_iteration: None,
        };
        state.store_rng(rng);
        state
    }

    pub fn store_rng(&mut self, rng: &ChaCha8Rng) {
        self.rng_seed = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        self.rng_word_pos = rng.get_word_pos().to_string();
    }

    pub fn rng(&self) -> Result<ChaCha8Rng> {
        let bytes: Vec<u8> = (0..self.rng_seed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&self.rng_seed[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .context("bad rng_seed in checkpoint state")?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("rng_seed must be 32 bytes"))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_word_pos(self.rng_word_pos.parse().context("bad rng_word_pos in checkpoint state")?);
        Ok(rng)
    }
}

fn checkpoints_dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// Writes a checkpoint of any trained model (separator or detector) and makes it the latest.
#[allow(clippy::too_many_arguments)]
pub fn save<M: Module + ModuleSnapshot, C: Config>(
    run: &Path,
    model: &M,
    kind: ModelKind,
    config: &C,
    metadata: &ModelMetadata,
    optimizer: &ModuleOptimizer,
    state: &TrainingState,
) -> Result<PathBuf> {
    let root = checkpoints_dir(run);
    let name = format!("iter-{:08}", state.iteration);
    let dir = root.join(&name);
    let tmp = root.join(format!("{name}.partial"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let bytes = model_bytes(model, kind, config, metadata)?;
    std::fs::write(tmp.join("model.safetensors"), bytes)?;
    // The optimiser keys its state by parameter id; burnpack keeps those ids (safetensors does
    // not), so resuming reloads the weights from here to line the state up again.
    let mut pack = BurnpackStore::from_file(tmp.join("model.bpk")).overwrite(true);
    model.save_into(&mut pack).map_err(|e| anyhow::anyhow!("saving model.bpk: {e:?}"))?;
    optimizer.save(tmp.join("optimizer.bpk")).map_err(|e| anyhow::anyhow!("saving optimizer state: {e:?}"))?;
    std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(state)?)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&tmp, &dir).with_context(|| format!("renaming {}", tmp.display()))?;
    write_atomically(&root.join("LATEST"), name.as_bytes())?;
    // Only now drop older checkpoints.
    for entry in std::fs::read_dir(&root)? {
        let path = entry?.path();
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() && file.starts_with("iter-") && file != name {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    Ok(dir)
}

/// The latest complete checkpoint of a run, if any.
pub fn latest(run: &Path) -> Result<Option<(PathBuf, TrainingState)>> {
    let root = checkpoints_dir(run);
    let marker = root.join("LATEST");
    if !marker.exists() {
        return Ok(None);
    }
    let name = std::fs::read_to_string(&marker)?;
    let dir = root.join(name.trim());
    let state_path = dir.join("state.json");
    let state: TrainingState = serde_json::from_str(
        &std::fs::read_to_string(&state_path).with_context(|| format!("reading {}", state_path.display()))?,
    )
    .with_context(|| format!("parsing {}", state_path.display()))?;
    if !dir.join("model.safetensors").exists() {
        bail!("{}: checkpoint has no model.safetensors", dir.display());
    }
    Ok(Some((dir, state)))
}

/// Loads a checkpoint's weights, with their parameter ids, into `model` (built from the same
/// configuration) for resuming.
pub fn load_for_resume<M: Module + ModuleSnapshot>(dir: &Path, model: &mut M) -> Result<()> {
    let mut pack = BurnpackStore::from_file(dir.join("model.bpk"));
    let result = model.load_from(&mut pack).map_err(|e| anyhow::anyhow!("{}: model.bpk: {e:?}", dir.display()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        bail!(
            "{}: model.bpk does not match the model ({} errors, {} missing)",
            dir.display(),
            result.errors.len(),
            result.missing.len()
        );
    }
    Ok(())
}

/// Resumes a run from checkpoint `dir`: loads its weights into `model` (built from the same
/// configuration), returns the optimiser with its saved state, and drops later metrics.
pub fn resume<M: Module + ModuleSnapshot>(
    run: &Path,
    dir: &Path,
    state: &TrainingState,
    model: &mut M,
) -> Result<ModuleOptimizer> {
    load_for_resume(dir, model)?;
    let optimizer = burn::optim::AdamConfig::new()
        .init()
        .load(dir.join("optimizer.bpk"))
        .map_err(|e| anyhow::anyhow!("{}: optimizer state: {e:?}", dir.display()))?;
    super::metrics::truncate_after(run, state.iteration)?;
    tracing::info!("resuming {} at iteration {}", run.display(), state.iteration);
    Ok(optimizer)
}

/// The model file of a checkpoint directory.
pub fn model_file(dir: &Path) -> Result<ModelFile> {
    Ok(ModelFile::read(&dir.join("model.safetensors"))?)
}
