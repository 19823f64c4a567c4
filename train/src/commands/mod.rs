//! One module per subcommand.

pub mod bench;
pub mod compare;
pub mod eval;
pub mod export;
pub mod filter;
pub mod info;
pub mod label;
pub mod prepare;
pub mod self_train;
pub mod separate;
pub mod synth;
pub mod train;
pub mod train_vad;

use anyhow::{Context, Result};
use std::path::Path;
use svs_core::model_file::ModelFile;

/// Reads the separator model named on the command line, or the embedded default.
pub fn load_model_file(path: Option<&Path>) -> Result<ModelFile> {
    match path {
        Some(path) => ModelFile::read(path).with_context(|| format!("loading model {}", path.display())),
        None => crate::default_model::default_model().context(
            "no --model given and this build has no embedded default model; pass --model FILE \
             (a model from `svs export`)",
        ),
    }
}
