//! Adds the weights checksum (`svs_weights_sha256`) to model files written before it existed,
//! rewriting only the header: every tensor's bytes are checked to be unchanged before the file
//! is replaced.
//!
//! `cargo run -p svs-core --example add_model_checksum -- models/default.safetensors`

use std::path::PathBuf;
use svs_core::model_file::{ModelFile, add_checksum, write_atomically};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        return Err("usage: add_model_checksum MODEL_FILE...".into());
    }
    for path in paths {
        let old = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if ModelFile::from_bytes(old.clone(), &path)?.has_checksum {
            println!("{}: already has a checksum", path.display());
            continue;
        }
        let new = add_checksum(&old, &path)?;
        let (before, after) =
            (safetensors::SafeTensors::deserialize(&old)?, safetensors::SafeTensors::deserialize(&new)?);
        for (name, view) in before.tensors() {
            let other = after.tensor(&name)?;
            if (view.dtype(), view.shape(), view.data()) != (other.dtype(), other.shape(), other.data()) {
                return Err(format!("{}: tensor {name} would change", path.display()).into());
            }
        }
        let file = ModelFile::from_bytes(new.clone(), &path)?;
        assert!(file.has_checksum && after.len() == before.len());
        write_atomically(&path, &new).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{}: {} tensors unchanged, checksum added", path.display(), before.len());
    }
    Ok(())
}
