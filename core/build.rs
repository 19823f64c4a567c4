//! Embeds `models/default.safetensors` when it exists (see src/default_model.rs); the CLI, plugin and web app get it from here.
fn main() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default.safetensors");
    println!("cargo::rustc-check-cfg=cfg(svs_default_model)");
    println!("cargo::rerun-if-changed={}", model.display());
    if model.exists() {
        println!("cargo::rustc-cfg=svs_default_model");
    }
}
