//! `svs info MODEL_FILE` / `svs info --preset NAME`.

use anyhow::{Result, bail};
use burn::module::Module;
use clap::Args;
use std::path::PathBuf;
use svs_core::model::{PoCoNetConfig, Preset};
use svs_core::model_file::ModelFile;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A model file.
    pub model: Option<PathBuf>,
    /// A preset instead of a file: small, medium or large.
    #[arg(long, conflicts_with = "model")]
    pub preset: Option<Preset>,
}

pub fn run(args: InfoArgs) -> Result<()> {
    let device = burn::tensor::Device::flex();
    match (args.model, args.preset) {
        (Some(path), None) => {
            let file = ModelFile::read(&path)?;
            let (model, config) = file.separator(&device)?;
            println!("model file: {}", path.display());
            print_config(&config, model.num_params());
            let m = &file.metadata;
            println!("trained on: {}", if m.trained_on.is_empty() { "(not recorded)" } else { &m.trained_on });
            println!("iterations: {}", m.iterations);
            let sdr = |x: Option<f64>| x.map_or("not measured".to_string(), |v| format!("{v:.2} dB"));
            println!(
                "SDR vocals: {}   SDR accompaniment: {}   ({})",
                sdr(m.sdr_vocals),
                sdr(m.sdr_accompaniment),
                m.test_set
            );
            if !m.git_commit.is_empty() {
                println!("commit: {}", m.git_commit);
            }
        }
        (None, Some(preset)) => {
            let config = preset.config();
            println!("preset: {preset}");
            print_config(&config, config.init(&device).num_params());
        }
        _ => bail!("give a model file or --preset NAME"),
    }
    Ok(())
}

fn print_config(config: &PoCoNetConfig, params: usize) {
    println!("architecture: PoCoNet U-Net, {} levels, channels {:?}", config.levels, config.channels());
    println!(
        "attention: {} channels, key/query dimension {}; positional embedding k = {}",
        config.attention_channels, config.attention_key_dim, config.positional_dims
    );
    println!("parameters: {params} ({:.2} M)", params as f64 / 1e6);
    println!("compute: {:.2} GFLOP per second of audio (10 s windows)", config.flops_per_second(10.0) / 1e9);
}
