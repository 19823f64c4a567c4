//! The model file: one safetensors file holding the weights, and in its `__metadata__` header
//! the format version, the model kind, its configuration and the training metadata.
//!
//! Why safetensors: PyTorch tooling reads it (`safetensors.torch.load_file`), loading cannot
//! execute code, the header is plain JSON we can validate before touching any tensor, and
//! burn-store reads and writes it on every backend, wasm included.
//!
//! The header also holds a SHA-256 of the model (`svs_weights_sha256`, see
//! `content_checksum`), checked on every load: safetensors itself only checks that offsets and
//! shapes add up, so flipped bytes in the weights would otherwise load and separate badly
//! without a word. Files written before the checksum existed still load, with a warning.

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
/// The header entry holding the hex SHA-256 of the tensors.
pub const CHECKSUM_KEY: &str = "svs_weights_sha256";

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

/// A model file's size as people write it ("1.7 MB", "900 kB"), for the front ends' model panels.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 { format!("{:.1} MB", bytes as f64 / 1e6) } else { format!("{:.0} kB", bytes as f64 / 1e3) }
}

impl ModelMetadata {
    /// The measured SDR in one line, as the plugin's editor and the web page show it.
    pub fn sdr_summary(&self) -> String {
        match (self.sdr_vocals, self.sdr_accompaniment) {
            (Some(v), Some(a)) => {
                let on = if self.test_set.is_empty() { String::new() } else { format!(" ({})", self.test_set) };
                format!("SDR: vocals {v:.2} dB, accompaniment {a:.2} dB{on}")
            }
            _ => "SDR: not measured".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: cannot read model file: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: not an svs model file: {reason}")]
    NotAModel { path: PathBuf, reason: String },
    #[error("{path}: model format version {found} is not supported (this build reads version {FORMAT_VERSION})")]
    Version { path: PathBuf, found: String },
    #[error("{path}: is a {found} model, expected a {expected} model")]
    WrongKind { path: PathBuf, found: String, expected: String },
    #[error("{path}: corrupt or incomplete weights: {reason}")]
    Weights { path: PathBuf, reason: String },
    #[error(
        "{path}: the weights do not match the checksum in the file's header (the file is damaged; \
         copy or download it again)"
    )]
    Checksum { path: PathBuf },
    #[error("{path}: tensor '{tensor}' holds {count} NaN or infinite weights (a diverged training run?)")]
    NonFinite { path: PathBuf, tensor: String, count: usize },
}

/// A parsed, validated model file (weights still as bytes until a model is built from it).
#[derive(Clone)]
pub struct ModelFile {
    pub kind: ModelKind,
    pub config_json: String,
    pub metadata: ModelMetadata,
    /// Whether the header held a weights checksum (it matched, or the file was refused).
    pub has_checksum: bool,
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
        let bytes = std::fs::read(path).map_err(|error| ModelFileError::Io { path: path.to_owned(), error })?;
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
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| ModelFileError::Weights { path: path.clone(), reason: e.to_string() })?;
        let has_checksum = match meta.get(CHECKSUM_KEY) {
            Some(stated) if *stated == content_checksum(&kind_name, &config_json, &tensors) => true,
            Some(_) => return Err(ModelFileError::Checksum { path }),
            None => {
                tracing::warn!(
                    "{}: has no weights checksum (written before svs added one), so damage to its \
                     weights cannot be detected",
                    path.display()
                );
                false
            }
        };
        refuse_non_finite(&tensors, &path)?;
        drop(tensors);
        Ok(Self { kind, config_json, metadata, has_checksum, name: path, bytes })
    }

    pub fn name(&self) -> &Path {
        &self.name
    }

    /// The file's size in bytes (header and weights).
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The separator's configuration, if this is a separator file.
    pub fn separator_config(&self) -> Result<PoCoNetConfig, ModelFileError> {
        self.expect_kind(ModelKind::Separator)?;
        let config: PoCoNetConfig = serde_json::from_str(&self.config_json).map_err(|e| ModelFileError::NotAModel {
            path: self.name.clone(),
            reason: format!("bad configuration ({e})"),
        })?;
        separator_limits(&config).map_err(|reason| ModelFileError::NotAModel { path: self.name.clone(), reason })?;
        Ok(config)
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
        detector_limits(&config)
            .and_then(|()| config.validate())
            .map_err(|reason| ModelFileError::NotAModel { path: self.name.clone(), reason })?;
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

/// Widest layer a model file may ask for: four times the large preset's 256 channels. The model
/// is built from the header's configuration before its weights are read, so a damaged number
/// there would otherwise allocate without bound (or overflow the channel doubling).
const MAX_CHANNELS: usize = 1024;

fn separator_limits(config: &PoCoNetConfig) -> Result<(), String> {
    let within = |name: &str, value: usize, max: usize| {
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(format!("configuration {name} = {value} is outside 1..={max}"))
        }
    };
    within("levels", config.levels, 8)?;
    within("base_channels", config.base_channels, MAX_CHANNELS)?;
    within("max_channels", config.max_channels, MAX_CHANNELS)?;
    within("positional_dims", config.positional_dims, 64)?;
    within("attention_channels", config.attention_channels, 64)?;
    within("attention_key_dim", config.attention_key_dim, 256)
}

fn detector_limits(config: &VadConfig) -> Result<(), String> {
    // Checked before `VadConfig::validate`, whose pooling arithmetic overflows on long lists.
    if config.channels.len() > 4
        || config.channels.iter().any(|&c| c > MAX_CHANNELS)
        || config.hidden > 4 * MAX_CHANNELS
    {
        return Err(format!(
            "configuration outside the supported sizes (at most 4 blocks of at most {MAX_CHANNELS} channels, \
             {} hidden units): {:?} channels, {} hidden",
            4 * MAX_CHANNELS,
            config.channels,
            config.hidden
        ));
    }
    Ok(())
}

/// SHA-256 of what the model is: its kind, its configuration (JSON) and its tensors in name
/// order (each one's name, dtype, shape and bytes), every field length-prefixed. Over these
/// rather than the file's bytes, so rewriting the header (as `add_checksum` does) or a writer
/// that orders tensors differently keeps it; the training notes are left out.
pub fn content_checksum(kind: &str, config_json: &str, tensors: &safetensors::SafeTensors) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted = tensors.tensors();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(kind.as_bytes());
    field(config_json.as_bytes());
    for (name, view) in &sorted {
        field(name.as_bytes());
        field(view.dtype().to_string().as_bytes());
        field(&view.shape().iter().flat_map(|&d| (d as u64).to_le_bytes()).collect::<Vec<_>>());
        field(view.data());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses NaN and infinite weights, naming the first tensor holding any. The float formats are
/// read by their exponent bits (all ones = NaN or infinity), which covers F16/BF16 without a
/// half-precision crate.
fn refuse_non_finite(tensors: &safetensors::SafeTensors, path: &Path) -> Result<(), ModelFileError> {
    use safetensors::Dtype;
    fn count<const N: usize>(data: &[u8], exponent: u64) -> usize {
        data.chunks_exact(N)
            .filter(|c| {
                let mut word = [0u8; 8];
                word[..N].copy_from_slice(c);
                (u64::from_le_bytes(word) & exponent) == exponent
            })
            .count()
    }
    let mut sorted = tensors.tensors();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, view) in sorted {
        let data = view.data();
        let bad = match view.dtype() {
            Dtype::F64 => count::<8>(data, 0x7ff0_0000_0000_0000),
            Dtype::F32 => count::<4>(data, 0x7f80_0000),
            Dtype::F16 => count::<2>(data, 0x7c00),
            Dtype::BF16 => count::<2>(data, 0x7f80),
            _ => 0,
        };
        if bad > 0 {
            return Err(ModelFileError::NonFinite { path: path.to_owned(), tensor: name, count: bad });
        }
    }
    Ok(())
}

/// Rewrites model-file bytes with `svs_weights_sha256` in the header; the tensors' bytes are
/// copied unchanged. `model_bytes` ends with it; it also upgrades files written before the
/// checksum existed (`cargo run -p svs-core --example add_model_checksum`).
pub fn add_checksum(bytes: &[u8], name: impl AsRef<Path>) -> Result<Vec<u8>, ModelFileError> {
    let err = |reason: String| ModelFileError::Weights { path: name.as_ref().to_owned(), reason };
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| err(e.to_string()))?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| meta.get(key).cloned().unwrap_or_default();
    let checksum = content_checksum(&field("svs_kind"), &field("svs_config"), &tensors);
    meta.insert(CHECKSUM_KEY.into(), checksum);
    safetensors::serialize(tensors.tensors(), Some(meta)).map_err(|e| err(e.to_string()))
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
    add_checksum(&store.get_bytes().map_err(|e| err(e.to_string()))?, "memory")
}

/// Writes a file atomically (a `.partial` sibling, then rename), so a crash never leaves a
/// half-written file under the final name.
///
/// The sibling's name carries the process id, so two processes writing the same file never
/// share one. A process killed mid-write leaves its sibling behind; the next successful write of
/// the same file removes such leftovers once they are older than [`STALE_PARTIAL`] (a live
/// writer finishes one `write` call long before that, so only a dead one's file is that old).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let file_name = path.file_name().unwrap_or_default().to_os_string();
    let mut name = file_name.clone();
    name.push(format!(".{}.partial", std::process::id()));
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    remove_stale_partials(path, &file_name.to_string_lossy());
    Ok(())
}

/// How old a `<name>.<pid>.partial` file must be before a later write treats it as a dead
/// writer's leftover.
pub const STALE_PARTIAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Best effort: a leftover that cannot be listed or removed costs only disk space, never the
/// write that just succeeded.
fn remove_stale_partials(path: &Path, file_name: &str) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(file_name))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.strip_suffix(".partial"))
        else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if age.is_some_and(|age| age > STALE_PARTIAL) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Saves a separator.
pub fn save_separator(
    path: &Path,
    model: &PoCoNet,
    config: &PoCoNetConfig,
    metadata: &ModelMetadata,
) -> Result<(), ModelFileError> {
    let bytes = model_bytes(model, ModelKind::Separator, config, metadata)?;
    write_atomically(path, &bytes).map_err(|error| ModelFileError::Io { path: path.to_owned(), error })
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
    write_atomically(path, &bytes).map_err(|error| ModelFileError::Io { path: path.to_owned(), error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tensor};

    fn tiny() -> PoCoNetConfig {
        PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(8)
    }

    #[test]
    fn sdr_and_sizes_read_as_people_write_them() {
        let metadata = ModelMetadata {
            sdr_vocals: Some(5.691),
            sdr_accompaniment: Some(7.333),
            test_set: "8 songs".into(),
            ..Default::default()
        };
        assert_eq!(metadata.sdr_summary(), "SDR: vocals 5.69 dB, accompaniment 7.33 dB (8 songs)");
        let half = ModelMetadata { sdr_accompaniment: Some(1.0), ..Default::default() };
        assert_eq!(half.sdr_summary(), "SDR: not measured");
        assert_eq!(human_size(1_700_000), "1.7 MB");
        assert_eq!(human_size(900_000), "900 kB");
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

    /// Where the tensors' bytes start (after the 8-byte length and the JSON header).
    fn data_start(bytes: &[u8]) -> usize {
        8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
    }

    #[test]
    fn damaged_weights_fail_the_checksum_naming_the_file() {
        let device = Device::flex();
        let config = tiny();
        let bytes =
            model_bytes(&config.init(&device), ModelKind::Separator, &config, &ModelMetadata::default()).unwrap();
        assert!(ModelFile::from_bytes(bytes.clone(), "ok.safetensors").unwrap().has_checksum);
        // One flipped bit anywhere in the weights, first byte to last.
        let start = data_start(&bytes);
        for at in [start, (start + bytes.len()) / 2, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let err = ModelFile::from_bytes(damaged, "damaged.safetensors").unwrap_err();
            assert!(matches!(err, ModelFileError::Checksum { .. }), "byte {at}: {err}");
            assert!(err.to_string().starts_with("damaged.safetensors: the weights do not match"), "{err}");
        }
    }

    #[test]
    fn files_without_a_checksum_still_load_and_adding_one_keeps_the_tensors() {
        let device = Device::flex();
        let config = tiny();
        let model = config.init(&device);
        let mut plain = SafetensorsStore::from_bytes(None)
            .metadata("svs_format", FORMAT_NAME)
            .metadata("svs_format_version", FORMAT_VERSION.to_string())
            .metadata("svs_kind", "separator")
            .metadata("svs_config", serde_json::to_string(&config).unwrap());
        model.save_into(&mut plain).unwrap();
        let old = plain.get_bytes().unwrap();
        let file = ModelFile::from_bytes(old.clone(), "old.safetensors").unwrap();
        assert!(!file.has_checksum);
        file.separator(&device).unwrap();

        let new = add_checksum(&old, "old.safetensors").unwrap();
        let file = ModelFile::from_bytes(new.clone(), "new.safetensors").unwrap();
        assert!(file.has_checksum);
        let (before, after) = (
            safetensors::SafeTensors::deserialize(&old).unwrap(),
            safetensors::SafeTensors::deserialize(&new).unwrap(),
        );
        assert_eq!(before.len(), after.len());
        for (name, view) in before.tensors() {
            let other = after.tensor(&name).unwrap();
            assert_eq!(
                (view.dtype(), view.shape(), view.data()),
                (other.dtype(), other.shape(), other.data()),
                "{name}"
            );
        }
        assert_eq!(content_checksum("a", "b", &before), content_checksum("a", "b", &after));
        assert_ne!(content_checksum("a", "b", &before), content_checksum("a", "c", &before));
    }

    #[test]
    fn non_finite_weights_are_refused_naming_the_tensor() {
        let device = Device::flex();
        let config = tiny();
        let bytes =
            model_bytes(&config.init(&device), ModelKind::Separator, &config, &ModelMetadata::default()).unwrap();
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        // The tensor whose bytes come last, and its last weight.
        let (name, view) = tensors.tensors().into_iter().max_by_key(|(_, v)| v.data().as_ptr() as usize).unwrap();
        let at = view.data().as_ptr() as usize - bytes.as_ptr() as usize + view.data().len() - 4;
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut poisoned = bytes.clone();
            poisoned[at..at + 4].copy_from_slice(&bad.to_le_bytes());
            // With a checksum that matches (a diverged run exported as it was).
            let poisoned = add_checksum(&poisoned, "nan.safetensors").unwrap();
            let err = ModelFile::from_bytes(poisoned, "nan.safetensors").unwrap_err();
            assert!(
                matches!(&err, ModelFileError::NonFinite { tensor, count: 1, .. } if *tensor == name),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(&format!("nan.safetensors: tensor '{name}' holds 1 NaN")), "{err}");
        }
        // Large but finite weights are fine.
        let mut large = bytes.clone();
        large[at..at + 4].copy_from_slice(&f32::MAX.to_le_bytes());
        ModelFile::from_bytes(add_checksum(&large, "big").unwrap(), "big").unwrap();
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

    #[test]
    fn a_later_write_removes_only_stale_partials_of_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("LATEST");
        let old = std::time::SystemTime::now() - STALE_PARTIAL - std::time::Duration::from_secs(60);
        let make = |name: &str, aged: bool| {
            let path = dir.path().join(name);
            let file = std::fs::File::create(&path).unwrap();
            if aged {
                file.set_modified(old).unwrap();
            }
            path
        };
        let dead = make("LATEST.4242.partial", true);
        let live = make("LATEST.4243.partial", false);
        let other_file = make("OTHER.4242.partial", true);
        let not_ours = make("LATEST.x1.partial", true);
        write_atomically(&target, b"step-8").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"step-8");
        assert!(!dead.exists(), "a dead writer's old partial is removed");
        assert!(live.exists(), "a recent partial may be a live writer's: kept");
        assert!(other_file.exists() && not_ours.exists(), "only <name>.<pid>.partial is touched");
    }
}
