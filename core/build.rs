//! Embeds `models/default.safetensors` when it exists (see src/default_model.rs); the CLI, plugin
//! and web app get it from here.
//!
//! Every checkout shares one target directory (`~/.cache/svs/target`, so CI reuses earlier builds)
//! and cargo's artifact hashes do not depend on where a checkout lives, so this script's binary
//! can be reused by another checkout: it must read `CARGO_MANIFEST_DIR` when it runs, not bake it
//! in with `env!`, and hand the library the model's path of *this* checkout.
fn main() {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let model = std::path::Path::new(&manifest_dir).join("../models/default.safetensors");
    println!("cargo::rustc-check-cfg=cfg(svs_default_model)");
    // Relative to the package root, so cargo checks this checkout's file.
    println!("cargo::rerun-if-changed=../models/default.safetensors");
    if model.exists() {
        println!("cargo::rustc-cfg=svs_default_model");
        println!("cargo::rustc-env=SVS_DEFAULT_MODEL_PATH={}", model.display());
    }
}
