//! Embeds `models/default.safetensors` when it exists (see src/default_model.rs); the CLI, plugin
//! and web app get it from here.
//!
//! Every checkout shares one target directory (`~/.cache/svs/target`, so CI reuses earlier builds)
//! and cargo's artifact hashes do not depend on where a checkout lives, so this script's binary
//! *and its output* can be reused by another checkout (cargo reruns it only when the model file
//! is newer than its last run). So it only says whether the file exists; the library names the
//! file through `CARGO_MANIFEST_DIR`, which cargo sets for each compilation of *this* checkout.
fn main() {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let model = std::path::Path::new(&manifest_dir).join("../models/default.safetensors");
    println!("cargo::rustc-check-cfg=cfg(svs_default_model)");
    // Relative to the package root, so cargo checks this checkout's file.
    println!("cargo::rerun-if-changed=../models/default.safetensors");
    if model.exists() {
        println!("cargo::rustc-cfg=svs_default_model");
    }
}
