//! `report.md` and `report.json`: every model the pipeline trained, in the shape of the
//! paper's Tables 1-3 (configuration, parameters, random-mixing probability, use of the
//! unlabeled corpus, top %, vocal / accompaniment / mean SDR on the test songs), and Figure 2.

use super::config::SelfTrainConfig;
use super::diagnosis::FilterDiagnosis;
use crate::eval::compare::compare;
pub use crate::eval::compare::{Comparison, TrackSdr, comparison_table};
use crate::eval::protocol::Summary;
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use svs_core::model_file::write_atomically;

#[derive(Clone, Debug, Serialize)]
pub struct ReportRow {
    pub name: String,
    pub model: PathBuf,
    pub preset: String,
    pub parameters: usize,
    pub random_mix_probability: f64,
    pub window_seconds: f64,
    pub unlabeled: bool,
    /// Fraction of pseudo-labeled songs kept (students only).
    pub keep_top: Option<f64>,
    pub validation_mean_sdr: f64,
    pub test: Summary,
    /// Each test song's SDRs, sorted by song (the paired comparisons need them).
    pub tracks: Vec<TrackSdr>,
}

/// Every model after the first against the first (the teacher), and each student against the
/// model that labelled its data, over the songs both were evaluated on. One training seed per
/// model here, so the interval covers the choice of test songs only (`svs compare` pairs runs
/// of several seeds).
pub fn comparisons(rows: &[ReportRow]) -> Vec<Comparison> {
    let mut pairs = Vec::new();
    for i in 1..rows.len() {
        pairs.push((i, 0));
        if i > 1 {
            pairs.push((i, i - 1));
        }
    }
    pairs
        .into_iter()
        .map(|(a, b)| {
            let (model, baseline) = (&rows[a], &rows[b]);
            compare((&model.name, &[&model.tracks]), (&baseline.name, &[&baseline.tracks])).unwrap_or_else(|_| {
                // No song in common: the row stays, saying so, rather than vanishing.
                Comparison {
                    model: model.name.clone(),
                    baseline: baseline.name.clone(),
                    seeds: 1,
                    songs: 0,
                    vocals: None,
                    accompaniment: None,
                }
            })
        })
        .collect()
}

/// The row with the best mean *validation* SDR (the first on ties). The model is chosen on the
/// validation songs, never on the test songs, so its test SDR stays an unbiased estimate. When no
/// model has a validation SDR (e.g. silent validation stems), the latest model.
pub fn best_row(rows: &[ReportRow]) -> Option<usize> {
    (0..rows.len())
        .filter(|&i| rows[i].validation_mean_sdr.is_finite())
        .fold(None, |best: Option<usize>, i| match best {
            Some(b) if rows[b].validation_mean_sdr >= rows[i].validation_mean_sdr => Some(b),
            _ => Some(i),
        })
        .or(rows.len().checked_sub(1))
}

fn millions(n: usize) -> String {
    format!("{:.2} M", n as f64 / 1e6)
}

fn db(x: f64) -> String {
    if x.is_finite() { format!("{x:.2}") } else { "-".into() }
}

/// The markdown table.
pub fn table(rows: &[ReportRow]) -> String {
    let mut s = String::from(
        "| model | preset | parameters | window (s) | random mix p | unlabeled data | top % | validation mean (dB) | SDR vocals (dB) | SDR accompaniment (dB) | mean (dB) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.preset,
            millions(r.parameters),
            r.window_seconds,
            r.random_mix_probability,
            if r.unlabeled { "yes" } else { "no" },
            r.keep_top.map_or("-".into(), |k| format!("{:.0}", 100.0 * k)),
            db(r.validation_mean_sdr),
            db(r.test.sdr_vocals),
            db(r.test.sdr_accompaniment),
            db(r.test.mean)
        );
    }
    s
}

#[derive(Serialize)]
struct JsonReport<'a> {
    protocol: &'static str,
    test_set: String,
    models: &'a [ReportRow],
    best: Option<&'a str>,
    /// Paired differences of per-song SDRs (see [`comparisons`]).
    comparisons: &'a [Comparison],
    figure2: Option<&'a Path>,
    /// The first round's filter against the truth (synthetic corpora written with `--truth`).
    filter_diagnosis: Option<&'a FilterDiagnosis>,
    config: &'a SelfTrainConfig,
}

pub fn write(
    out: &Path,
    config: &SelfTrainConfig,
    rows: &[ReportRow],
    figure2: Option<&Path>,
    diagnosis: Option<&FilterDiagnosis>,
) -> Result<()> {
    let best = best_row(rows).map(|i| rows[i].name.as_str());
    let test_set = format!(
        "{:?} at {} ({} songs)",
        config.test.dataset,
        config.test.root.display(),
        rows.first().map_or(0, |r| r.test.tracks)
    );
    let mut md = String::from("# Self-training report\n\n");
    let _ = writeln!(
        md,
        "SDR: BSS Eval v4 (as museval 0.4.1), 1 s windows at 16 kHz mono, median over segments, then \
         median over songs, on the test songs: {test_set}.\n"
    );
    md += &table(rows);
    if let Some(best) = best {
        let _ = writeln!(
            md,
            "\nBest model by validation SDR: **{best}**, written as `final.safetensors` (chosen on the \
             validation songs, so the test SDRs above are unbiased)."
        );
    }
    let comparisons = comparisons(rows);
    if !comparisons.is_empty() {
        let _ = writeln!(
            md,
            "\n## Paired differences\n\nModel minus baseline, song by song on the test songs (SDR per \
             song as above); mean difference and its 95 % percentile-bootstrap interval over the songs \
             ({} resamples). One training run per model, so the interval does not cover training \
             noise. `*`: the interval excludes 0.\n",
            crate::stats::BOOTSTRAP_RESAMPLES
        );
        md += &comparison_table(&comparisons);
    }
    let _ = writeln!(
        md,
        "\nFiltering: threshold {}, top {:.0}% of the pseudo-labeled songs kept.",
        config.filter.threshold,
        100.0 * config.filter.keep_top
    );
    if let Some(fig) = figure2 {
        let rel = fig.strip_prefix(out).unwrap_or(fig);
        let _ = writeln!(
            md,
            "\n## Figure 2: poor-quality frames per song\n\n![Figure 2]({})\n\nRaw: the unlabeled recordings as \
             they are; self-labeled: their pseudo-labels; labeled: the clean stems of the labeled data.",
            rel.display()
        );
    }
    if let Some(d) = diagnosis {
        let _ = writeln!(
            md,
            "\n## The filter against the truth\n\nTrue quality of each pseudo-label (signal-to-residual \
             ratio against the clean part of its recording, the mean of the vocal and accompaniment \
             labels) against the detectors' poor-frame fraction, over {} songs: Spearman rank correlation \
             **{:.2}** (negative: more poor frames, worse labels). Kept songs: mean {} dB; dropped songs: \
             mean {} dB.",
            d.songs.len(),
            d.rank_correlation,
            db(d.kept_mean_sdr),
            db(d.dropped_mean_sdr)
        );
    }
    write_atomically(&out.join("report.md"), md.as_bytes())?;
    let json = JsonReport {
        protocol: "BSS Eval v4 (museval 0.4.1 mode v4), 1 s windows, 16 kHz mono; medians",
        test_set,
        models: rows,
        comparisons: &comparisons,
        best,
        figure2,
        filter_diagnosis: diagnosis,
        config,
    };
    write_atomically(&out.join("report.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, mean: f64) -> ReportRow {
        ReportRow {
            name: name.into(),
            model: "m".into(),
            preset: "small".into(),
            parameters: 1_480_000,
            random_mix_probability: 1.0,
            window_seconds: 10.0,
            unlabeled: name.starts_with("student"),
            keep_top: name.starts_with("student").then_some(0.25),
            validation_mean_sdr: mean,
            test: Summary { tracks: 8, failed: vec![], sdr_vocals: mean - 1.0, sdr_accompaniment: mean + 1.0, mean },
            tracks: vec![],
        }
    }

    fn with_tracks(mut row: ReportRow, vocals: &[f64], accompaniment: &[f64]) -> ReportRow {
        row.tracks = vocals
            .iter()
            .zip(accompaniment)
            .enumerate()
            .map(|(i, (&v, &a))| TrackSdr { track: format!("song{i}"), sdr_vocals: v, sdr_accompaniment: a })
            .collect();
        row
    }

    #[test]
    fn paired_differences_are_song_by_song_and_say_when_the_interval_excludes_zero() {
        let teacher = with_tracks(row("teacher", 3.0), &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]);
        // Vocals better by exactly 0.5 dB on every song; accompaniment up on two, down on two.
        let student = with_tracks(row("student (round 1)", 4.0), &[1.5, 2.5, 3.5, 4.5], &[6.0, 5.0, 8.0, 7.0]);
        let mut other = student.clone();
        other.name = "student (round 2)".into();
        other.tracks.pop();
        let c = comparisons(&[teacher, student, other]);
        let pairs: Vec<_> = c.iter().map(|c| (c.model.as_str(), c.baseline.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("student (round 1)", "teacher"),
                ("student (round 2)", "teacher"),
                ("student (round 2)", "student (round 1)")
            ]
        );
        let vocals = c[0].vocals.unwrap();
        assert!((vocals.mean - 0.5).abs() < 1e-12 && (vocals.low - 0.5).abs() < 1e-12, "{vocals:?}");
        assert!(vocals.is_significant());
        let accompaniment = c[0].accompaniment.unwrap();
        assert!(accompaniment.mean.abs() < 1e-12 && !accompaniment.is_significant(), "{accompaniment:?}");
        // Only the songs both models have are paired.
        assert_eq!(c[1].vocals.unwrap().cells, 3);
        let table = comparison_table(&c);
        assert!(table.contains("| student (round 1) | teacher | 1 | 4 | +0.50 [+0.50, +0.50] * |"), "{table}");
    }

    #[test]
    fn table_has_one_line_per_model_and_best_is_highest_mean() {
        let mut rows = vec![row("teacher", 3.0), row("student (round 1)", 4.5), row("student (round 2)", f64::NAN)];
        let t = table(&rows);
        assert_eq!(t.lines().count(), 5);
        assert!(
            t.contains("| student (round 1) | small | 1.48 M | 10 | 1 | yes | 25 | 4.50 | 3.50 | 5.50 | 4.50 |"),
            "{t}"
        );
        assert!(t.contains("| - | - | - | - |"), "{t}");
        assert_eq!(best_row(&rows), Some(1));
        // Chosen by validation, whatever the test says.
        rows[0].test.mean = 9.0;
        assert_eq!(best_row(&rows), Some(1));
    }
}
