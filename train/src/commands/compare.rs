//! `svs compare --model A.json[,A2.json..] --baseline B.json[,B2.json..]`: the paired difference
//! of two models' per-song SDRs, from their `svs eval --json` files, with its 95 % bootstrap
//! interval over the test songs and (with one file per training seed on each side, in the same
//! seed order) over the seeds; `--by-group` also within each group of songs (`<group>-<n>` names,
//! or the groups `--groups` lists).

use crate::eval::compare::{
    SongGroups, TrackSdr, compare, compare_by_group, comparison_table, group_table, read_scores,
};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The model's evaluations (`svs eval --json`), one per training seed, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub model: Vec<PathBuf>,
    /// The baseline's evaluations, the same seeds in the same order.
    #[arg(long, value_delimiter = ',', required = true)]
    pub baseline: Vec<PathBuf>,
    /// The model's name in the table.
    #[arg(long, default_value = "model")]
    pub model_name: String,
    /// The baseline's name in the table.
    #[arg(long, default_value = "baseline")]
    pub baseline_name: String,
    /// Also compare within each group of songs, a song named `<group>-<rest>` being in group
    /// `<group>` (e.g. the voice categories of `scripts/real-test-set.py --categories`).
    #[arg(long)]
    pub by_group: bool,
    /// With `--by-group`: the groups as listed in these CSV files (a header line, then the song's
    /// name and its group on each line; e.g. `accompaniment.csv` of `scripts/real-test-set.py`)
    /// instead of the songs' names. Songs not listed are left out of the groups.
    #[arg(long, value_delimiter = ',', requires = "by_group")]
    pub groups: Vec<PathBuf>,
    /// Also write the comparison as JSON here (with `--by-group`: `{"overall": .., "groups":
    /// [..]}`).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn runs(side: &[Vec<TrackSdr>]) -> Vec<&[TrackSdr]> {
    side.iter().map(Vec::as_slice).collect()
}

pub fn run(args: CompareArgs) -> Result<()> {
    let read = |paths: &[PathBuf]| paths.iter().map(|p| read_scores(p)).collect::<Result<Vec<_>, _>>();
    let (model, baseline) = (read(&args.model)?, read(&args.baseline)?);
    let comparison = compare((&args.model_name, &runs(&model)), (&args.baseline_name, &runs(&baseline)))?;
    print!("{}", comparison_table(std::slice::from_ref(&comparison)));
    println!(
        "Model minus baseline, song by song; 95 % percentile-bootstrap interval over songs and seeds \
         ({} resamples); `*`: the interval excludes 0.",
        crate::stats::BOOTSTRAP_RESAMPLES
    );
    let groups = if args.by_group {
        let grouping = if args.groups.is_empty() { SongGroups::ByName } else { SongGroups::read(&args.groups)? };
        let groups =
            compare_by_group((&args.model_name, &runs(&model)), (&args.baseline_name, &runs(&baseline)), &grouping)?;
        println!();
        print!("{}", group_table(&groups));
        Some(groups)
    } else {
        None
    };
    if let Some(path) = &args.json {
        let json = match &groups {
            Some(groups) => {
                serde_json::to_string_pretty(&serde_json::json!({ "overall": comparison, "groups": groups }))?
            }
            None => serde_json::to_string_pretty(&comparison)?,
        };
        svs_core::model_file::write_atomically(path, json.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
