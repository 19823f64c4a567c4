//! Reading the TOML configurations (`svs train`, `svs train-vad`, `svs self-train`): one loader,
//! one error style. Unknown keys are parse errors that name the key (every section is
//! `deny_unknown_fields`); a value out of range is an [`InvalidConfig`] naming its key.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A setting whose value is not allowed: its dotted key (`training.batch_size`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct InvalidConfig {
    pub key: String,
    pub reason: String,
}

impl InvalidConfig {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { key: key.into(), reason: reason.into() }
    }

    /// The same problem in a section nested under `section` (`teacher` + `training.batch_size`).
    pub fn within(self, section: &str) -> Self {
        Self { key: format!("{section}.{}", self.key), reason: self.reason }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The cause is in the message, not also a `source()` (anyhow's `{:#}` would print it twice).
    #[error("{path}: cannot read the configuration: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: invalid setting {invalid}")]
    Invalid { path: PathBuf, invalid: InvalidConfig },
}

/// A configuration read from a TOML file.
pub trait ConfigFile: DeserializeOwned {
    /// Checks the values the types cannot.
    fn validate(&self) -> Result<(), InvalidConfig>;

    /// Resolves paths written relative to the configuration file's folder `base`.
    fn resolve_paths(&mut self, _base: &Path) {}

    /// Reads, parses and validates `path`; paths in it may be relative to its folder.
    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_owned(), error })?;
        let mut config = Self::from_toml(&text, path)?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Parses and validates `text`; `path` only names the file in messages.
    fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
        config.validate().map_err(|invalid| ConfigError::Invalid { path: path.to_owned(), invalid })?;
        Ok(config)
    }
}
