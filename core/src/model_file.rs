//! The model file: one safetensors file holding the weights, and in its `__metadata__` header
//! the format version, the model kind, its configuration and the training metadata.
//!
//! Why safetensors: PyTorch tooling reads it (`safetensors.torch.load_file`), loading cannot
//! execute code, the header is plain JSON we can validate before touching any tensor, and
//! burn-store reads and writes it on every backend, wasm included.

use crate::model::{PoCoNet, PoCoNetConfig, VadConfig, VocalActivityDetector};
use burn::config::Config;
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Written into every file; bumped on incompatible changes.
pub const FORMAT_NAME: &str = "svs-model";
pub const FORMAT_VERSION: u32 = 1;

/// What the file contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Separator,
    VadVocals,
    VadAccompaniment,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Separator => "separator",
            ModelKind::VadVocals => "vad-vocals",
            ModelKind::VadAccompaniment => "vad-accompaniment",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [ModelKind::Separator, ModelKind::VadVocals, ModelKind::VadAccompaniment].into_iter().find(|k| k.as_str() == s)
    }
}

/// How a model was made and how good it measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Human-readable description of the training data.
    #[serde(default)]
    pub trained_on: String,
    #[serde(default)]
    pub iterations: u64,
    /// Median-over-tracks SDR in dB on the stated test set, if measured.
    #[serde(default)]
    pub sdr_vocals: Option<f64>,
    #[serde(default)]
    pub sdr_accompaniment: Option<f64>,
    #[serde(default)]
    pub test_set: String,
    #[serde(default)]
    pub git_commit: String,
    /// The training configuration (TOML) that produced it.
    #[serde(default)]
    pub training_config: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: cannot read model file: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an svs model file: {reason}")]
    NotAModel { path: PathBuf, reason: String },
    #[error("{path}: model format version {found} is not supported (this build reads version {FORMAT_VERSION})")]
    Version { path: PathBuf, found: String },
    #[error("{path}: is a {found} model, expected a {expected} model")]
    WrongKind { path: PathBuf, found: String, expected: String },
    #[error("{path}: corrupt or incomplete weights: {reason}")]
    Weights { path: PathBuf, reason: String },
}

/// A parsed, validated model file (weights still as bytes until a model is built from it).
#[derive(Clone)]
pub struct ModelFile {
    pub kind: ModelKind,
    pub config_json: String,
    pub metadata: ModelMetadata,
    name: PathBuf,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile").field("kind", &self.kind).field("name", &self.name).finish()
    }
}

impl ModelFile {
    pub fn read(path: &Path) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io { path: path.to_owned(), source })?;
        Self::from_bytes(bytes, path)
    }

    /// Parses and validates the header; `name` is used in error messages.
    pub fn from_bytes(bytes: Vec<u8>, name: impl AsRef<Path>) -> Result<Self, ModelFileError> {
        let path = name.as_ref().to_owned();
        let not_a_model = |reason: String| ModelFileError::NotAModel { path: path.clone(), reason };
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| not_a_model(format!("bad safetensors header ({e})")))?;
        let meta: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
        if meta.get("svs_format").map(String::as_str) != Some(FORMAT_NAME) {
            return Err(not_a_model("the header has no svs_format entry".into()));
        }
        let version = meta.get("svs_format_version").cloned().unwrap_or_default();
        if version != FORMAT_VERSION.to_string() {
            return Err(ModelFileError::Version { path, found: version });
        }
        let kind_name = meta.get("svs_kind").cloned().unwrap_or_default();
        let kind =
            ModelKind::parse(&kind_name).ok_or_else(|| not_a_model(format!("unknown model kind '{kind_name}'")))?;
        let config_json = meta.get("svs_config").cloned().ok_or_else(|| not_a_model("no configuration".into()))?;
        let metadata = match meta.get("svs_metadata") {
            Some(json) => serde_json::from_str(json).map_err(|e| not_a_model(format!("bad metadata ({e})")))?,
            None => ModelMetadata::default(),
        };
        Ok(Self { kind, config_json, metadata, name: path, bytes })
    }

    pub fn name(&self) -> &Path {
        &self.name
    }

    /// The separator's configuration, if this is a separator file.
    pub fn separator_config(&self) -> Result<PoCoNetConfig, ModelFileError> {
        self.expect_kind(ModelKind::Separator)?;
        serde_json::from_str(&self.config_json).map_err(|e| ModelFileError::NotAModel {
            path: self.name.clone(),
            reason: format!("bad configuration ({e})"),
        })
    }

    /// Builds the separator on `device` and loads its weights.
    pub fn separator(&self, device: &Device) -> Result<(PoCoNet, PoCoNetConfig), ModelFileError> {
        let config = self.separator_config()?;
        let mut model = config.init(device);
        self.load_weights(&mut model)?;
        Ok((model, config))
    }

    /// The detector's configuration, if this is a voice-activity-detector file.
    pub fn vad_config(&self) -> Result<VadConfig, ModelFileError> {
        if !matches!(self.kind, ModelKind::VadVocals | ModelKind::VadAccompaniment) {
            return Err(ModelFileError::WrongKind {
                path: self.name.clone(),
                found: self.kind.as_str().into(),
                expected: "voice-activity detector".into(),
            });
        }
        let config: VadConfig = serde_json::from_str(&self.config_json).map_err(|e| ModelFileError::NotAModel {
            path: self.name.clone(),
            reason: format!("bad configuration ({e})"),
        })?;
        config.validate().map_err(|reason| ModelFileError::NotAModel { path: self.name.clone(), reason })?;
        Ok(config)
    }

    /// Builds the voice-activity detector on `device` and loads its weights.
    pub fn vad(&self, device: &Device) -> Result<(VocalActivityDetector, VadConfig), ModelFileError> {
        let config = self.vad_config()?;
        let mut model = config.init(device);
        self.load_weights(&mut model)?;
        Ok((model, config))
    }

    /// Loads this file's weights into a module built from its configuration; every tensor must
    /// be present with the right shape.
    pub fn load_weights<M: Module + ModuleSnapshot>(&self, model: &mut M) -> Result<(), ModelFileError> {
        let mut store = SafetensorsStore::from_bytes(Some(self.bytes.clone())).validate(true).allow_partial(false);
        let result = model
            .load_from(&mut store)
            .map_err(|e| ModelFileError::Weights { path: self.name.clone(), reason: e.to_string() })?;
        if !result.errors.is_empty() || !result.missing.is_empty() {
            let reason = format!(
                "{} errors, {} missing tensors: {:?}",
                result.errors.len(),
                result.missing.len(),
                result.errors.first()
            );
            return Err(ModelFileError::Weights { path: self.name.clone(), reason });
        }
        Ok(())
    }

    pub fn expect_kind(&self, expected: ModelKind) -> Result<(), ModelFileError> {
        if self.kind != expected {
            return Err(ModelFileError::WrongKind {
                path: self.name.clone(),
                found: self.kind.as_str().into(),
                expected: expected.as_str().into(),
            });
        }
        Ok(())
    }
}

/// Serialises a module with its configuration and metadata into model-file bytes.
pub fn model_bytes<M: Module + ModuleSnapshot, C: Config>(
    model: &M,
    kind: ModelKind,
    config: &C,
    metadata: &ModelMetadata,
) -> Result<Vec<u8>, ModelFileError> {
    let config_json = serde_json::to_string(config).expect("configs serialise");
    let metadata_json = serde_json::to_string(metadata).expect("metadata serialises");
    let mut store = SafetensorsStore::from_bytes(None)
        .metadata("svs_format", FORMAT_NAME)
        .metadata("svs_format_version", FORMAT_VERSION.to_string())
        .metadata("svs_kind", kind.as_str())
        .metadata("svs_config", config_json)
        .metadata("svs_metadata", metadata_json);
    let err = |reason: String| ModelFileError::Weights { path: "memory".into(), reason };
    model.save_into(&mut store).map_err(|e| err(e.to_string()))?;
    store.get_bytes().map_err(|e| err(e.to_string()))
}

/// Writes a file atomically (a `.partial` sibling, then rename), so a crash never leaves a
/// half-written file under the final name.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.partial", std::process::id()));
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Saves a separator.
pub fn save_separator(
    path: &Path,
    model: &PoCoNet,
    config: &PoCoNetConfig,
    metadata: &ModelMetadata,
) -> Result<(), ModelFileError> {
    let bytes = model_bytes(model, ModelKind::Separator, config, metadata)?;
    write_atomically(path, &bytes).map_err(|source| ModelFileError::Io { path: path.to_owned(), source })
}

/// Saves a voice-activity detector (`kind` says which source it detects).
pub fn save_vad(
    path: &Path,
    model: &VocalActivityDetector,
    config: &VadConfig,
    kind: ModelKind,
    metadata: &ModelMetadata,
) -> Result<(), ModelFileError> {
    let bytes = model_bytes(model, kind, config, metadata)?;
    write_atomically(path, &bytes).map_err(|source| ModelFileError::Io { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tensor};

    fn tiny() -> PoCoNetConfig {
        PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(8)
    }

    #[test]
    fn round_trip_gives_identical_masks() {
        let device = Device::flex();
        let config = tiny();
        let model = config.init(&device);
        let meta = ModelMetadata { trained_on: "unit test".into(), sdr_vocals: Some(3.5), ..Default::default() };
        let bytes = model_bytes(&model, ModelKind::Separator, &config, &meta).unwrap();
        let file = ModelFile::from_bytes(bytes, "t.safetensors").unwrap();
        assert_eq!(file.metadata, meta);
        let (loaded, loaded_config) = file.separator(&device).unwrap();
        assert_eq!(loaded_config, config);
        let x = Tensor::<4>::random([1, 6, 513, 2], Distribution::Normal(0.0, 1.0), &device);
        let a: Vec<f32> = model.masks(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = loaded.masks(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_clear_errors() {
        let device = Device::flex();
        let config = tiny();
        let bytes =
            model_bytes(&config.init(&device), ModelKind::Separator, &config, &ModelMetadata::default()).unwrap();
        // Truncated weights.
        let cut = ModelFile::from_bytes(bytes[..bytes.len() - 100].to_vec(), "cut.safetensors")
            .and_then(|f| f.separator(&device).map(|_| ()));
        assert!(cut.is_err_and(|e| e.to_string().contains("cut.safetensors")));
        // Garbage.
        let err = ModelFile::from_bytes(b"garbage garbage garbage".to_vec(), "g.bin").unwrap_err();
        assert!(matches!(err, ModelFileError::NotAModel { .. }), "{err}");
        // A plain safetensors file without our header.
        let foreign = SafetensorsStore::from_bytes(None);
        let mut foreign = foreign;
        config.init(&device).save_into(&mut foreign).unwrap();
        let err = ModelFile::from_bytes(foreign.get_bytes().unwrap(), "f.safetensors").unwrap_err();
        assert!(err.to_string().contains("svs_format"), "{err}");
        // A file for a different architecture size: shapes do not match.
        let other = PoCoNetConfig::new().with_levels(1).with_base_channels(8).with_max_channels(8);
        let bytes2 =
            model_bytes(&other.init(&device), ModelKind::Separator, &config, &ModelMetadata::default()).unwrap();
        let err = ModelFile::from_bytes(bytes2, "shape.safetensors").unwrap().separator(&device).unwrap_err();
        assert!(matches!(err, ModelFileError::Weights { .. }), "{err}");
    }

    #[test]
    fn detectors_round_trip_with_their_batch_norm_statistics() {
        let device = Device::flex();
        let config = VadConfig::new().with_channels(vec![4, 4]).with_hidden(6);
        // A training-mode pass moves the batch-norm running statistics away from their start,
        // so the round trip must carry them to give identical inference outputs.
        let trained = config.init(&device.clone().autodiff());
        let x = Tensor::<2>::random([2, 4000], Distribution::Normal(0.0, 0.3), &device.clone().autodiff());
        let _ = trained.forward(x);
        let model = trained.valid();
        let bytes = model_bytes(&model, ModelKind::VadVocals, &config, &ModelMetadata::default()).unwrap();
        let file = ModelFile::from_bytes(bytes, "vad.safetensors").unwrap();
        assert_eq!(file.kind, ModelKind::VadVocals);
        let (loaded, loaded_config) = file.vad(&device).unwrap();
        assert_eq!(loaded_config, config);
        let fresh = config.init(&device);
        let y = Tensor::<2>::random([1, 4000], Distribution::Normal(0.0, 0.3), &device);
        let a: Vec<f32> = model.forward(y.clone()).into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = loaded.forward(y.clone()).into_data().try_to_vec::<f32>().unwrap();
        let c: Vec<f32> = fresh.forward(y).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // A detector is not a separator, and the other way round.
        assert!(matches!(file.separator(&device), Err(ModelFileError::WrongKind { .. })));
        let sep = tiny();
        let bytes = model_bytes(&sep.init(&device), ModelKind::Separator, &sep, &ModelMetadata::default()).unwrap();
        let err = ModelFile::from_bytes(bytes, "sep.safetensors").unwrap().vad(&device).unwrap_err();
        assert!(err.to_string().contains("voice-activity detector"), "{err}");
    }
}
