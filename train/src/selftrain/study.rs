//! One report over a study's runs (issue #17's experiments: Table 1 and Table 2 analogues, the
//! controls, a second round), each configuration trained under several seeds: every model's
//! test SDRs seed by seed and over the seeds, the paired differences the study asks for with
//! their bootstrap intervals over songs and seeds, and the filter checked against the truth in
//! every run that has a diagnosis. It reads only the runs' JSON (`svs eval --json` files, the
//! pipeline's `diagnosis.json`) and their Figure 2, so it can be redrawn at any time while runs
//! are still landing: a seed not finished yet is shown as missing and left out of the pairs.

use super::diagnosis::FilterDiagnosis;
use crate::config_file::{ConfigFile, InvalidConfig};
use crate::eval::compare::{Comparison, TrackSdr, compare, comparison_table, read_scores};
use crate::eval::nan_median;
use crate::plotting::{Figure, plot_err, save};
use crate::stats::BOOTSTRAP_RESAMPLES;
use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use svs_core::model_file::write_atomically;

/// What to report (`svs report --config`): paths are relative to the working directory, as in
/// the pipeline's configurations.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    pub title: String,
    /// Markdown put under the title (what was run and how).
    #[serde(default)]
    pub description: String,
    /// The training seeds, in the order every model lists its runs.
    pub seeds: Vec<u64>,
    #[serde(rename = "model")]
    pub models: Vec<StudyModel>,
    #[serde(default, rename = "comparison")]
    pub comparisons: Vec<StudyComparison>,
    #[serde(default, rename = "filter")]
    pub filters: Vec<StudyFilter>,
}

/// One configuration: its `svs eval --json` file under each seed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyModel {
    pub name: String,
    pub runs: Vec<PathBuf>,
}

/// `model` against `baseline` (model names), listed under the table `table`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyComparison {
    pub table: String,
    pub model: String,
    pub baseline: String,
}

/// A filtering step's folder (the pipeline's `round-N/filter`: `diagnosis.json`, `figure2.png`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFilter {
    pub name: String,
    pub dir: PathBuf,
}

impl ConfigFile for StudyConfig {
    fn validate(&self) -> Result<(), InvalidConfig> {
        if self.seeds.is_empty() {
            return Err(InvalidConfig::new("seeds", "list at least one training seed"));
        }
        let mut names = HashSet::new();
        for (i, model) in self.models.iter().enumerate() {
            if model.runs.len() != self.seeds.len() {
                return Err(InvalidConfig::new(
                    format!("model[{i}].runs"),
                    format!(
                        "{} runs for {} seeds: one file per seed, in the seeds' order",
                        model.runs.len(),
                        self.seeds.len()
                    ),
                ));
            }
            if !names.insert(model.name.as_str()) {
                return Err(InvalidConfig::new(
                    format!("model[{i}].name"),
                    format!("{:?} is listed twice", model.name),
                ));
            }
        }
        for (i, c) in self.comparisons.iter().enumerate() {
            for (key, name) in [("model", &c.model), ("baseline", &c.baseline)] {
                if !names.contains(name.as_str()) {
                    return Err(InvalidConfig::new(
                        format!("comparison[{i}].{key}"),
                        format!("no model is named {name:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One model's test SDRs under one seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedScores {
    pub seed: u64,
    /// Medians over the test songs (the paper's statistic), and means.
    pub median_vocals: f64,
    pub median_accompaniment: f64,
    pub mean_vocals: f64,
    pub mean_accompaniment: f64,
}

/// One model over its finished seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelScores {
    pub name: String,
    pub seeds: Vec<SeedScores>,
    /// Seeds whose evaluation file does not exist yet.
    pub missing: Vec<u64>,
    /// The mean over seeds of the per-seed medians, and the mean over songs and seeds.
    pub median_vocals: f64,
    pub median_accompaniment: f64,
    pub mean_vocals: f64,
    pub mean_accompaniment: f64,
}

/// A filter's verdict against the truth, summed up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FilterCheck {
    pub name: String,
    pub songs: usize,
    pub kept: usize,
    pub rank_correlation: f64,
    pub kept_mean_sdr: f64,
    pub dropped_mean_sdr: f64,
    /// Songs without a single poor frame (they tie at the top of the ranking).
    pub without_poor_frames: usize,
    /// Figure 2 of that run, copied beside the report (file name), if the run drew one.
    pub figure2: Option<String>,
}

/// One comparison the configuration asks for.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRow {
    pub model: String,
    pub baseline: String,
    /// `None` while no seed has both runs.
    pub comparison: Option<Comparison>,
}

/// The comparisons listed under one table name.
#[derive(Clone, Debug, Serialize)]
pub struct StudyTable {
    pub name: String,
    pub rows: Vec<StudyRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StudyReport {
    pub title: String,
    pub models: Vec<ModelScores>,
    pub tables: Vec<StudyTable>,
    pub filters: Vec<FilterCheck>,
}

/// Reads every run the configuration names, compares, and writes the report to `out` (markdown),
/// `out` with extension `json`, and its figures beside it (`<out stem>-*.png`/`.svg`).
pub fn write_report(config: &StudyConfig, out: &Path) -> Result<StudyReport> {
    let runs: Vec<Vec<Option<Vec<TrackSdr>>>> = config
        .models
        .iter()
        .map(|m| m.runs.iter().map(|path| read_run(path)).collect::<Result<Vec<_>>>())
        .collect::<Result<_>>()?;
    let models = config.models.iter().zip(&runs).map(|(m, r)| scores(&m.name, &config.seeds, r)).collect();

    let mut tables: Vec<StudyTable> = Vec::new();
    let index = |name: &str| config.models.iter().position(|m| m.name == name).expect("validated");
    for c in &config.comparisons {
        let (a, b) = (&runs[index(&c.model)], &runs[index(&c.baseline)]);
        // Seed by seed, the seeds both sides have finished.
        let pairs: Vec<(&[TrackSdr], &[TrackSdr])> =
            a.iter().zip(b).filter_map(|(x, y)| Some((x.as_deref()?, y.as_deref()?))).collect();
        let comparison = if pairs.is_empty() {
            None
        } else {
            let (xs, ys): (Vec<&[TrackSdr]>, Vec<&[TrackSdr]>) = pairs.into_iter().unzip();
            Some(
                compare((&c.model, &xs), (&c.baseline, &ys))
                    .with_context(|| format!("comparing {} with {}", c.model, c.baseline))?,
            )
        };
        let row = StudyRow { model: c.model.clone(), baseline: c.baseline.clone(), comparison };
        match tables.iter_mut().find(|t| t.name == c.table) {
            Some(table) => table.rows.push(row),
            None => tables.push(StudyTable { name: c.table.clone(), rows: vec![row] }),
        }
    }

    let stem = out.with_extension("");
    let stem_name = stem.file_name().and_then(|n| n.to_str()).unwrap_or("report").to_owned();
    let mut filters = Vec::new();
    let mut diagnoses = Vec::new();
    for (i, f) in config.filters.iter().enumerate() {
        let path = f.dir.join("diagnosis.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let diagnosis: FilterDiagnosis =
            serde_json::from_str(&text).with_context(|| format!("{} is not a filter diagnosis", path.display()))?;
        let figure = f.dir.join("figure2.png");
        let figure2 = if figure.exists() {
            let name = format!("{stem_name}-figure2-{}.png", i + 1);
            std::fs::copy(&figure, out.with_file_name(&name))
                .with_context(|| format!("copying {} beside {}", figure.display(), out.display()))?;
            Some(name)
        } else {
            None
        };
        filters.push(FilterCheck {
            name: f.name.clone(),
            songs: diagnosis.songs.len(),
            kept: diagnosis.songs.iter().filter(|s| s.kept).count(),
            rank_correlation: diagnosis.rank_correlation,
            kept_mean_sdr: diagnosis.kept_mean_sdr,
            dropped_mean_sdr: diagnosis.dropped_mean_sdr,
            without_poor_frames: diagnosis.songs.iter().filter(|s| s.poor_fraction == 0.0).count(),
            figure2,
        });
        diagnoses.push((f.name.clone(), diagnosis));
    }
    if !diagnoses.is_empty() {
        let figure = FilterScatter { runs: &diagnoses };
        save(&figure, &out.with_file_name(format!("{stem_name}-filter-vs-truth")), (900, 550))?;
    }

    let report = StudyReport { title: config.title.clone(), models, tables, filters };
    let markdown = markdown(config, &report, &stem_name);
    write_atomically(out, markdown.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    let json = out.with_extension("json");
    write_atomically(&json, serde_json::to_string_pretty(&report)?.as_bytes())
        .with_context(|| format!("writing {}", json.display()))?;
    Ok(report)
}

/// A run's per-song SDRs, or `None` if its evaluation file does not exist yet.
fn read_run(path: &Path) -> Result<Option<Vec<TrackSdr>>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(read_scores(path)?))
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        sum += v;
        n += 1;
    }
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

fn scores(name: &str, seeds: &[u64], runs: &[Option<Vec<TrackSdr>>]) -> ModelScores {
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for (&seed, run) in seeds.iter().zip(runs) {
        let Some(tracks) = run else {
            missing.push(seed);
            continue;
        };
        let vocals: Vec<f64> = tracks.iter().map(|t| t.sdr_vocals).collect();
        let accompaniment: Vec<f64> = tracks.iter().map(|t| t.sdr_accompaniment).collect();
        done.push(SeedScores {
            seed,
            median_vocals: nan_median(&vocals),
            median_accompaniment: nan_median(&accompaniment),
            mean_vocals: mean(vocals.iter().copied()),
            mean_accompaniment: mean(accompaniment.iter().copied()),
        });
    }
    let all = |pick: fn(&TrackSdr) -> f64| mean(runs.iter().flatten().flatten().map(pick));
    ModelScores {
        name: name.to_owned(),
        median_vocals: mean(done.iter().map(|s| s.median_vocals)),
        median_accompaniment: mean(done.iter().map(|s| s.median_accompaniment)),
        mean_vocals: all(|t| t.sdr_vocals),
        mean_accompaniment: all(|t| t.sdr_accompaniment),
        seeds: done,
        missing,
    }
}

fn db(v: f64) -> String {
    if v.is_finite() { format!("{v:.2}") } else { "-".into() }
}

fn markdown(config: &StudyConfig, report: &StudyReport, stem: &str) -> String {
    let mut s = format!("# {}\n\n", config.title);
    if !config.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", config.description.trim());
    }
    s.push_str(
        "SDR: BSS Eval v4 (as museval 0.4.1), 1 s windows at 16 kHz mono, median over segments; per seed the \
         median (and mean) over the test songs. Generated by `svs report` from the runs' evaluation files.\n\n",
    );

    s.push_str(
        "## Test SDR per model\n\nVocals / accompaniment (dB): under each seed the median over the test songs; \
         then the mean of those medians over the seeds, and the mean over all songs and seeds.\n\n",
    );
    let seeds: Vec<String> = config.seeds.iter().map(|seed| format!("seed {seed}")).collect();
    let _ = writeln!(
        s,
        "| model | {} | mean over seeds of the medians over songs | mean over songs and seeds |",
        seeds.join(" | ")
    );
    let _ = writeln!(s, "|---|{}---|---|", "---|".repeat(seeds.len()));
    for m in &report.models {
        let cells: Vec<String> = config
            .seeds
            .iter()
            .map(|seed| match m.seeds.iter().find(|x| x.seed == *seed) {
                Some(x) => format!("{} / {}", db(x.median_vocals), db(x.median_accompaniment)),
                None => "not run".into(),
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {} / {} |",
            m.name,
            cells.join(" | "),
            db(m.median_vocals),
            db(m.median_accompaniment),
            db(m.mean_vocals),
            db(m.mean_accompaniment)
        );
    }
    s.push('\n');

    for table in &report.tables {
        let _ = writeln!(s, "## {}\n", table.name);
        let done: Vec<Comparison> = table.rows.iter().filter_map(|row| row.comparison.clone()).collect();
        if !done.is_empty() {
            s.push_str(&comparison_table(&done));
            let _ = writeln!(
                s,
                "\nModel minus baseline, song by song, seeds paired; mean difference and its 95 % \
                 percentile-bootstrap interval over songs and seeds ({BOOTSTRAP_RESAMPLES} resamples); `*`: the \
                 interval excludes 0.\n"
            );
        }
        for row in table.rows.iter().filter(|row| row.comparison.is_none()) {
            let _ = writeln!(s, "{} against {}: no seed has both runs yet.\n", row.model, row.baseline);
        }
    }

    if !report.filters.is_empty() {
        s.push_str("## The filter against the truth\n\n");
        s.push_str(
            "Each pseudo-label's true quality (signal-to-residual ratio against the clean part of its recording, the \
             mean of the vocal and accompaniment labels) against the detectors' poor-frame fraction. A useful filter \
             has a clearly negative rank correlation and keeps better songs than it drops.\n\n",
        );
        s.push_str(
            "| run | songs | kept | songs without a poor frame | Spearman rank correlation | kept: mean true SDR (dB) | dropped: mean true SDR (dB) |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for f in &report.filters {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2} | {} | {} |",
                f.name,
                f.songs,
                f.kept,
                f.without_poor_frames,
                f.rank_correlation,
                db(f.kept_mean_sdr),
                db(f.dropped_mean_sdr)
            );
        }
        let _ = writeln!(s, "\n![The filter against the truth]({stem}-filter-vs-truth.png)\n");
        let figures: Vec<&FilterCheck> = report.filters.iter().filter(|f| f.figure2.is_some()).collect();
        if !figures.is_empty() {
            s.push_str("## Figure 2: poor-quality frames per song\n\n");
            for f in figures {
                let _ = writeln!(s, "{}:\n\n![Figure 2, {}]({})\n", f.name, f.name, f.figure2.as_deref().unwrap_or(""));
            }
        }
    }
    s
}

/// Every pseudo-labeled song of every filter run: poor-frame fraction against true mean SDR,
/// kept songs filled, dropped ones hollow, one colour per run.
struct FilterScatter<'a> {
    runs: &'a [(String, FilterDiagnosis)],
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(127, 127, 127),
];

impl Figure for FilterScatter<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let points = || self.runs.iter().flat_map(|(_, d)| d.songs.iter()).filter(|s| s.mean_sdr().is_finite());
        let x_max = points().map(|s| s.poor_fraction).fold(0.0f64, f64::max).max(0.01) * 1.05;
        let (y_min, y_max) =
            points().map(|s| s.mean_sdr()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (y_min, y_max) = if y_min.is_finite() { (y_min - 1.0, y_max + 1.0) } else { (0.0, 1.0) };
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(root)
            .caption("Pseudo-labels: the detectors' verdict against the truth", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("fraction of poor-quality frames")
            .y_desc("true SDR of the pseudo-label, mean of both (dB)")
            .draw()
            .map_err(plot_err)?;
        for (k, (name, d)) in self.runs.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let songs = d.songs.iter().filter(|s| s.mean_sdr().is_finite());
            chart
                .draw_series(songs.map(|s| {
                    let style = if s.kept { color.filled() } else { color.stroke_width(1) };
                    Circle::new((s.poor_fraction, s.mean_sdr()), 3, style)
                }))
                .map_err(plot_err)?
                .label(format!("{name} (filled: kept)"))
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::protocol::PROTOCOL;
    use crate::selftrain::diagnosis::LabelQuality;

    fn eval_file(path: &Path, scores: &[(f64, f64)]) {
        let tracks: Vec<serde_json::Value> = scores
            .iter()
            .enumerate()
            .map(|(i, (v, a))| serde_json::json!({"track": format!("song-{i}"), "sdr_vocals": v, "sdr_accompaniment": a}))
            .collect();
        let file = serde_json::json!({"protocol": PROTOCOL, "tracks": tracks});
        std::fs::write(path, serde_json::to_string(&file).unwrap()).unwrap();
    }

    fn config(dir: &Path, text: &str) -> StudyConfig {
        let text = text.replace("DIR", &dir.display().to_string());
        StudyConfig::from_toml(&text, Path::new("study.toml")).unwrap()
    }

    #[test]
    fn the_report_pairs_finished_seeds_and_shows_the_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Teacher under seeds 0 and 1; the student is the teacher + 1 dB (vocals) and -0.5 dB
        // (accompaniment) under seed 0, and its seed 1 has not finished.
        eval_file(&d.join("t0.json"), &[(1.0, 5.0), (2.0, 6.0), (3.0, 7.0)]);
        eval_file(&d.join("t1.json"), &[(4.0, 4.0), (5.0, 5.0), (9.0, 6.0)]);
        eval_file(&d.join("s0.json"), &[(2.0, 4.5), (3.0, 5.5), (4.0, 6.5)]);
        std::fs::create_dir(d.join("filter")).unwrap();
        let song = |name: &str, poor: f64, kept: bool, sdr: f64| LabelQuality {
            song: name.into(),
            poor_fraction: poor,
            kept,
            sdr_vocals: sdr,
            sdr_accompaniment: sdr + 2.0,
        };
        let diagnosis = FilterDiagnosis {
            songs: vec![song("a", 0.0, true, 6.0), song("b", 0.0, false, 5.0), song("c", 0.3, false, 4.0)],
            rank_correlation: -0.5,
            kept_mean_sdr: 7.0,
            dropped_mean_sdr: 5.5,
        };
        std::fs::write(d.join("filter/diagnosis.json"), serde_json::to_string(&diagnosis).unwrap()).unwrap();
        let config = config(
            d,
            r#"
title = "A study"
description = "Two seeds."
seeds = [0, 1]
[[model]]
name = "teacher"
runs = ["DIR/t0.json", "DIR/t1.json"]
[[model]]
name = "student"
runs = ["DIR/s0.json", "DIR/s1.json"]
[[comparison]]
table = "Student against teacher"
model = "student"
baseline = "teacher"
[[filter]]
name = "seed 0"
dir = "DIR/filter"
"#,
        );
        let out = d.join("out/report.md");
        std::fs::create_dir(d.join("out")).unwrap();
        let report = write_report(&config, &out).unwrap();
        let md = std::fs::read_to_string(&out).unwrap();
        // The teacher's medians: 2 / 6 (seed 0), 5 / 5 (seed 1); over seeds 3.5 / 5.5; over
        // songs and seeds (1+2+3+4+5+9)/6 = 4 and (5+6+7+4+5+6)/6 = 5.5.
        assert!(md.contains("| teacher | 2.00 / 6.00 | 5.00 / 5.00 | 3.50 / 5.50 | 4.00 / 5.50 |"), "{md}");
        assert!(md.contains("| student | 3.00 / 5.50 | not run | 3.00 / 5.50 | 3.00 / 5.50 |"), "{md}");
        assert_eq!(report.models[1].missing, vec![1]);
        // Only seed 0 is paired: a constant difference, so the interval is a point.
        assert!(md.contains("## Student against teacher"), "{md}");
        assert!(md.contains("| student | teacher | 1 | 3 | +1.00 [+1.00, +1.00] * | -0.50 [-0.50, -0.50] * |"), "{md}");
        assert!(md.contains("| seed 0 | 3 | 1 | 2 | -0.50 | 7.00 | 5.50 |"), "{md}");
        assert!(d.join("out/report-filter-vs-truth.png").exists());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("out/report.json")).unwrap()).unwrap();
        assert_eq!(json["models"][0]["name"], "teacher");
        assert_eq!(json["tables"][0]["rows"][0]["comparison"]["seeds"], 1);
    }

    #[test]
    fn a_comparison_without_a_common_seed_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        eval_file(&d.join("a0.json"), &[(1.0, 1.0)]);
        eval_file(&d.join("b1.json"), &[(1.0, 1.0)]);
        let config = config(
            d,
            r#"
title = "t"
seeds = [0, 1]
[[model]]
name = "a"
runs = ["DIR/a0.json", "DIR/a1.json"]
[[model]]
name = "b"
runs = ["DIR/b0.json", "DIR/b1.json"]
[[comparison]]
table = "T"
model = "a"
baseline = "b"
"#,
        );
        let out = d.join("r.md");
        write_report(&config, &out).unwrap();
        let md = std::fs::read_to_string(&out).unwrap();
        assert!(md.contains("a against b: no seed has both runs yet."), "{md}");
    }

    #[test]
    fn bad_configurations_name_the_key() {
        let err = |text: &str| StudyConfig::from_toml(text, Path::new("study.toml")).unwrap_err().to_string();
        let runs = "title = \"t\"\nseeds = [0, 1]\n[[model]]\nname = \"a\"\nruns = [\"x.json\"]\n";
        assert!(err(runs).contains("model[0].runs: 1 runs for 2 seeds"), "{}", err(runs));
        let unknown = "title = \"t\"\nseeds = [0]\n[[model]]\nname = \"a\"\nruns = [\"x\"]\n\
                       [[comparison]]\ntable = \"T\"\nmodel = \"a\"\nbaseline = \"zz\"\n";
        assert!(err(unknown).contains("comparison[0].baseline: no model is named \"zz\""), "{}", err(unknown));
        assert!(err("title = \"t\"\nseeds = []\nmodel = []\n").contains("seeds"));
    }

    #[test]
    fn an_evaluation_file_that_is_not_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("bad.json"), "{\"not\": 1}").unwrap();
        let config = config(d, "title = \"t\"\nseeds = [0]\n[[model]]\nname = \"a\"\nruns = [\"DIR/bad.json\"]\n");
        let err = format!("{:#}", write_report(&config, &d.join("r.md")).unwrap_err());
        assert!(err.contains("bad.json"), "{err}");
    }
}
