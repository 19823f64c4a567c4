//! `svs report --config FILE --out REPORT.md`: one report over a study's runs (each model's
//! test SDRs per seed and over seeds, the paired comparisons with bootstrap intervals over songs
//! and seeds, the filter against the truth, Figure 2), from the runs' JSON files; seeds not
//! finished yet are shown as missing. See configs/regime-report.toml.

use crate::config_file::ConfigFile;
use crate::selftrain::study::{StudyConfig, write_report};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// What to report (TOML; see configs/regime-report.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// The markdown report; its JSON and figures are written beside it.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let config = StudyConfig::from_file(&args.config)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let report = write_report(&config, &args.out)?;
    let missing: usize = report.models.iter().map(|m| m.missing.len()).sum();
    println!("{}", args.out.display());
    if missing > 0 {
        println!("{missing} runs not finished yet are shown as missing");
    }
    Ok(())
}
