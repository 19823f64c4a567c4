//! End-to-end tests live in tests/tests; this holds the helpers several of them share.

use std::path::Path;

/// The weights' checksum in a model file's header (`svs_weights_sha256`: the kind, the
/// configuration and every tensor, not the metadata, which names the run's own folder). Reading
/// the file through `ModelFile::read` also checks that the checksum matches the tensors.
pub fn weights_checksum(path: &Path) -> String {
    let file = svs_core::ModelFile::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(file.has_checksum, "{} has no checksum", path.display());
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][svs_core::model_file::CHECKSUM_KEY].as_str().unwrap().to_owned()
}
