//! The embedded default model (the self-trained student, `models/default.safetensors`).
//! build.rs embeds it when the file exists; until the self-training pipeline has produced one,
//! the build has none and front ends ask for a model file. It lives in the core so the CLI, the
//! plugin and the web app all ship the same model.

use crate::model_file::{ModelFile, ModelFileError};

#[cfg(svs_default_model)]
static DEFAULT_MODEL: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.safetensors"));

/// The embedded default separator, if this build has one.
pub fn default_model() -> Result<ModelFile, DefaultModelError> {
    #[cfg(svs_default_model)]
    {
        Ok(ModelFile::from_bytes(DEFAULT_MODEL.to_vec(), "embedded default model")?)
    }
    #[cfg(not(svs_default_model))]
    {
        Err(DefaultModelError::Missing)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DefaultModelError {
    #[error("this build has no embedded default model")]
    Missing,
    #[error(transparent)]
    File(#[from] ModelFileError),
}

#[cfg(all(test, svs_default_model))]
mod tests {
    #[test]
    fn the_embedded_model_carries_a_checksum_that_matches() {
        let file = super::default_model().unwrap();
        assert!(
            file.has_checksum,
            "re-run `cargo run -p svs-core --example add_model_checksum -- models/default.safetensors`"
        );
    }
}
