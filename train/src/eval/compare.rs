//! One model against another on the same test songs, over one or more training seeds: the
//! paired differences of their per-song SDRs with 95 % bootstrap intervals (`stats`). The
//! self-training report compares its own models with it; `svs compare` compares any runs from
//! their `svs eval --json` files (e.g. the same configuration trained with three seeds against
//! a control trained with the same three seeds).

use super::protocol::PROTOCOL;
use crate::stats::{PairedDifference, paired_difference};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One test song's SDRs (NaN where undefined).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackSdr {
    pub track: String,
    pub sdr_vocals: f64,
    pub sdr_accompaniment: f64,
}

/// One model against a baseline: the paired differences of their SDRs.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub model: String,
    pub baseline: String,
    /// Training seeds paired (run `i` of the model with run `i` of the baseline).
    pub seeds: usize,
    /// Test songs every run of both sides was scored on (the others are left out).
    pub songs: usize,
    pub vocals: Option<PairedDifference>,
    pub accompaniment: Option<PairedDifference>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not an `svs eval --json` result: {reason}", path.display())]
    NotAnEvaluation { path: PathBuf, reason: String },
    #[error("{} was scored with another protocol ({found:?}; this svs scores with {:?})", path.display(), PROTOCOL)]
    OtherProtocol { path: PathBuf, found: String },
    #[error(
        "the model has {model} runs and the baseline {baseline}: pair them seed by seed, one file per seed on each side"
    )]
    SeedCounts { model: usize, baseline: usize },
    #[error("no test song was scored in every run of both sides")]
    NoCommonSongs,
    #[error("{}, line {line}: {reason}", path.display())]
    BadGroups { path: PathBuf, line: u64, reason: String },
}

/// Fixed, so a comparison recomputed from the same runs has the same intervals.
const BOOTSTRAP_SEED: u64 = 17;

/// Compares `model` with `baseline`, both given as one list of per-song SDRs per training seed
/// (the same seeds in the same order on both sides), over the songs present in every run.
pub fn compare(model: (&str, &[&[TrackSdr]]), baseline: (&str, &[&[TrackSdr]])) -> Result<Comparison, CompareError> {
    let ((model_name, model_runs), (baseline_name, baseline_runs)) = (model, baseline);
    if model_runs.len() != baseline_runs.len() || model_runs.is_empty() {
        return Err(CompareError::SeedCounts { model: model_runs.len(), baseline: baseline_runs.len() });
    }
    let runs: Vec<&[TrackSdr]> = model_runs.iter().chain(baseline_runs).copied().collect();
    let mut songs: Vec<&str> = runs[0].iter().map(|t| t.track.as_str()).collect();
    songs.sort_unstable();
    songs.dedup();
    songs.retain(|song| runs.iter().all(|run| run.iter().any(|t| t.track == *song)));
    if songs.is_empty() {
        return Err(CompareError::NoCommonSongs);
    }
    let grid = |side: &[&[TrackSdr]], pick: fn(&TrackSdr) -> f64| -> Vec<Vec<f64>> {
        side.iter()
            .map(|run| {
                songs.iter().map(|song| pick(run.iter().find(|t| t.track == *song).expect("kept above"))).collect()
            })
            .collect()
    };
    let difference = |pick: fn(&TrackSdr) -> f64| {
        paired_difference(&grid(model_runs, pick), &grid(baseline_runs, pick), BOOTSTRAP_SEED)
    };
    Ok(Comparison {
        model: model_name.to_owned(),
        baseline: baseline_name.to_owned(),
        seeds: model_runs.len(),
        songs: songs.len(),
        vocals: difference(|t| t.sdr_vocals),
        accompaniment: difference(|t| t.sdr_accompaniment),
    })
}

/// The per-song SDRs of an `svs eval --json` file (svs's own layout), checked to be scored with
/// this build's protocol.
pub fn read_scores(path: &Path) -> Result<Vec<TrackSdr>, CompareError> {
    #[derive(Deserialize)]
    struct File {
        protocol: String,
        tracks: Vec<Track>,
    }
    #[derive(Deserialize)]
    struct Track {
        track: String,
        sdr_vocals: Option<f64>,
        sdr_accompaniment: Option<f64>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| CompareError::Read { path: path.to_owned(), source })?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| CompareError::NotAnEvaluation { path: path.to_owned(), reason: e.to_string() })?;
    if file.protocol != PROTOCOL {
        return Err(CompareError::OtherProtocol { path: path.to_owned(), found: file.protocol });
    }
    Ok(file
        .tracks
        .into_iter()
        .map(|t| TrackSdr {
            track: t.track,
            sdr_vocals: t.sdr_vocals.unwrap_or(f64::NAN),
            sdr_accompaniment: t.sdr_accompaniment.unwrap_or(f64::NAN),
        })
        .collect())
}

/// The group of a test song named `<group>-<rest>` (e.g. `speech-0003`: "speech"; a name
/// without `-` is its own group), as the test sets that break results down by voice name them.
pub fn song_group(track: &str) -> &str {
    track.split_once('-').map_or(track, |(group, _)| group)
}

/// How test songs are put into groups for [`compare_by_group`].
#[derive(Clone, Debug, Default)]
pub enum SongGroups {
    /// By name ([`song_group`]).
    #[default]
    ByName,
    /// As listed: song name to group; songs not listed are in no group.
    Listed(HashMap<String, String>),
}

impl SongGroups {
    /// The group of `track`, if it has one.
    pub fn group_of(&self, track: &str) -> Option<String> {
        match self {
            SongGroups::ByName => Some(song_group(track).to_owned()),
            SongGroups::Listed(groups) => groups.get(track).cloned(),
        }
    }

    /// The groups listed in CSV files whose first column is the song's name and second its group,
    /// under a header line (e.g. the `accompaniment.csv` of `scripts/real-test-set.py`).
    pub fn read(paths: &[PathBuf]) -> Result<Self, CompareError> {
        let mut groups = HashMap::new();
        for path in paths {
            let mut reader = csv::ReaderBuilder::new().from_path(path).map_err(|e| CompareError::BadGroups {
                path: path.clone(),
                line: 0,
                reason: e.to_string(),
            })?;
            for record in reader.records() {
                let bad = |line: u64, reason: String| CompareError::BadGroups { path: path.clone(), line, reason };
                let record = record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
                let line = record.position().map_or(0, |p| p.line());
                match (record.get(0), record.get(1)) {
                    (Some(song), Some(group)) if !song.is_empty() && !group.is_empty() => {
                        groups.insert(song.to_owned(), group.to_owned());
                    }
                    _ => return Err(bad(line, "expected a song name and a group".into())),
                }
            }
        }
        if groups.is_empty() {
            let path = paths.first().cloned().unwrap_or_default();
            return Err(CompareError::BadGroups { path, line: 0, reason: "no song is listed".into() });
        }
        Ok(SongGroups::Listed(groups))
    }
}

/// One group of test songs: both sides' median SDRs there and the paired comparison.
#[derive(Clone, Debug, Serialize)]
pub struct GroupComparison {
    pub group: String,
    /// Median over the group's songs of each song's SDR (its mean over the seeds), vocals and
    /// accompaniment; `None` where no song has a defined SDR.
    pub model_median: [Option<f64>; 2],
    pub baseline_median: [Option<f64>; 2],
    pub comparison: Comparison,
}

/// [`compare`] within each group of songs (`groups`), groups in name order.
pub fn compare_by_group(
    model: (&str, &[&[TrackSdr]]),
    baseline: (&str, &[&[TrackSdr]]),
    groups: &SongGroups,
) -> Result<Vec<GroupComparison>, CompareError> {
    let mut names: Vec<String> =
        model.1.iter().flat_map(|run| run.iter().filter_map(|t| groups.group_of(&t.track))).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for group in names {
        let keep = |runs: &[&[TrackSdr]]| -> Vec<Vec<TrackSdr>> {
            runs.iter()
                .map(|run| run.iter().filter(|t| groups.group_of(&t.track).as_ref() == Some(&group)).cloned().collect())
                .collect()
        };
        let (m, b) = (keep(model.1), keep(baseline.1));
        let (m_runs, b_runs): (Vec<&[TrackSdr]>, Vec<&[TrackSdr]>) =
            (m.iter().map(Vec::as_slice).collect(), b.iter().map(Vec::as_slice).collect());
        let comparison = match compare((model.0, &m_runs), (baseline.0, &b_runs)) {
            Err(CompareError::NoCommonSongs) => continue,
            other => other?,
        };
        out.push(GroupComparison {
            group,
            model_median: medians(&m_runs),
            baseline_median: medians(&b_runs),
            comparison,
        });
    }
    Ok(out)
}

/// Median over songs of each song's mean SDR over the runs (songs in every run only; NaN
/// values left out), vocals and accompaniment.
fn medians(runs: &[&[TrackSdr]]) -> [Option<f64>; 2] {
    let pick: [fn(&TrackSdr) -> f64; 2] = [|t| t.sdr_vocals, |t| t.sdr_accompaniment];
    pick.map(|pick| {
        let mut means: Vec<f64> = runs[0]
            .iter()
            .filter_map(|song| {
                let values: Option<Vec<f64>> = runs
                    .iter()
                    .map(|run| run.iter().find(|t| t.track == song.track).map(pick).filter(|v| v.is_finite()))
                    .collect();
                values.map(|v| v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect();
        means.sort_by(f64::total_cmp);
        (!means.is_empty()).then(|| crate::stats::percentile(&means, 0.5))
    })
}

fn interval(d: &Option<PairedDifference>) -> String {
    match d {
        Some(d) => {
            format!("{:+.2} [{:+.2}, {:+.2}]{}", d.mean, d.low, d.high, if d.is_significant() { " *" } else { "" })
        }
        None => "-".into(),
    }
}

/// The comparisons as a markdown table (`*`: the interval excludes 0).
pub fn comparison_table(comparisons: &[Comparison]) -> String {
    let mut s = String::from(
        "| model | against | seeds | songs | vocals: mean difference [95 % CI] (dB) | accompaniment: mean difference [95 % CI] (dB) |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in comparisons {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            c.model,
            c.baseline,
            c.seeds,
            c.songs,
            interval(&c.vocals),
            interval(&c.accompaniment)
        );
    }
    s
}

/// The groups as a markdown table: songs, both sides' medians, the paired differences.
pub fn group_table(groups: &[GroupComparison]) -> String {
    let (model, baseline) =
        groups.first().map_or(("model", "baseline"), |g| (g.comparison.model.as_str(), g.comparison.baseline.as_str()));
    let median = |m: &[Option<f64>; 2]| {
        let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
        format!("{} / {}", f(m[0]), f(m[1]))
    };
    let mut s = format!(
        "| songs | n | {model}: median SDR vocals / accompaniment (dB) | {baseline}: median (dB) | vocals: mean \
         difference [95 % CI] (dB) | accompaniment: mean difference [95 % CI] (dB) |\n|---|---|---|---|---|---|\n"
    );
    for g in groups {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            g.group,
            g.comparison.songs,
            median(&g.model_median),
            median(&g.baseline_median),
            interval(&g.comparison.vocals),
            interval(&g.comparison.accompaniment)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scores: &[(&str, f64, f64)]) -> Vec<TrackSdr> {
        scores
            .iter()
            .map(|&(track, v, a)| TrackSdr { track: track.into(), sdr_vocals: v, sdr_accompaniment: a })
            .collect()
    }

    #[test]
    fn seeds_are_paired_and_only_songs_in_every_run_count() {
        // Model = baseline + 1 dB (vocals) and - 0.5 dB (accompaniment) on every song of both
        // seeds; song "c" is missing from one baseline run, so it is left out everywhere.
        let base_1 = run(&[("a", 3.0, 7.0), ("b", 5.0, 9.0), ("c", 1.0, 1.0)]);
        let base_2 = run(&[("b", 4.0, 8.0), ("a", 2.0, 6.0)]);
        let model_1 = run(&[("a", 4.0, 6.5), ("b", 6.0, 8.5), ("c", 99.0, 99.0)]);
        let model_2 = run(&[("a", 3.0, 5.5), ("b", 5.0, 7.5), ("c", 99.0, 99.0)]);
        let c = compare(("student", &[&model_1, &model_2]), ("teacher", &[&base_1, &base_2])).unwrap();
        assert_eq!((c.seeds, c.songs), (2, 2));
        let v = c.vocals.unwrap();
        assert!((v.mean - 1.0).abs() < 1e-12 && (v.low - 1.0).abs() < 1e-12 && (v.high - 1.0).abs() < 1e-12, "{v:?}");
        assert_eq!(v.cells, 4);
        let a = c.accompaniment.unwrap();
        assert!((a.mean + 0.5).abs() < 1e-12, "{a:?}");
        let table = comparison_table(&[c]);
        assert!(
            table.contains("| student | teacher | 2 | 2 | +1.00 [+1.00, +1.00] * | -0.50 [-0.50, -0.50] * |"),
            "{table}"
        );
    }

    #[test]
    fn groups_are_compared_each_on_their_own_songs() {
        // Two groups: the model is 2 dB better on "speech" songs and 1 dB worse on "singing";
        // "choir" is only on the model's side, so it has no comparison.
        let base = run(&[
            ("speech-0", 1.0, 5.0),
            ("speech-1", 3.0, 7.0),
            ("singing-0", 4.0, 8.0),
            ("singing-1", 6.0, 6.0),
            ("singing-2", 5.0, 9.0),
        ]);
        let model = run(&[
            ("speech-0", 3.0, 7.0),
            ("speech-1", 5.0, 9.0),
            ("singing-0", 3.0, 7.0),
            ("singing-1", 5.0, 5.0),
            ("singing-2", 4.0, f64::NAN),
            ("choir-0", 9.0, 9.0),
        ]);
        let groups = compare_by_group(("m", &[&model]), ("b", &[&base]), &SongGroups::ByName).unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["singing", "speech"]);
        let (singing, speech) = (&groups[0], &groups[1]);
        assert_eq!((singing.comparison.songs, speech.comparison.songs), (3, 2));
        assert!((singing.comparison.vocals.as_ref().unwrap().mean + 1.0).abs() < 1e-12);
        assert!((speech.comparison.vocals.as_ref().unwrap().mean - 2.0).abs() < 1e-12);
        // Medians: singing vocals 4 / 5, accompaniment (NaN left out) 6 and 8.
        assert_eq!(singing.model_median, [Some(4.0), Some(6.0)]);
        assert_eq!(singing.baseline_median, [Some(5.0), Some(8.0)]);
        assert_eq!(speech.model_median, [Some(4.0), Some(8.0)]);
        let table = group_table(&groups);
        assert!(table.contains("| speech | 2 | 4.00 / 8.00 | 2.00 / 6.00 | +2.00 [+2.00, +2.00] * |"), "{table}");
        assert_eq!(song_group("real-0003"), "real");
        assert_eq!(song_group("plain"), "plain");
    }

    #[test]
    fn groups_can_be_listed_in_csv_files() {
        let dir = std::env::temp_dir().join(format!("svs-groups-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
        std::fs::write(&a, "song,accompaniment\nreal-0,tonal\nreal-1,drums\n").unwrap();
        std::fs::write(&b, "song,accompaniment\nsinging-0,tonal\n").unwrap();
        let groups = SongGroups::read(&[a.clone(), b.clone()]).unwrap();
        // The model gains 1 dB on the two tonal songs, loses 2 on the drums; "real-2" is listed
        // nowhere, so it is in no group.
        let base = run(&[("real-0", 1.0, 1.0), ("real-1", 1.0, 1.0), ("singing-0", 3.0, 3.0), ("real-2", 0.0, 0.0)]);
        let model = run(&[("real-0", 2.0, 1.0), ("real-1", -1.0, 1.0), ("singing-0", 4.0, 3.0), ("real-2", 9.0, 9.0)]);
        let by = compare_by_group(("m", &[&model]), ("b", &[&base]), &groups).unwrap();
        let summary: Vec<(&str, usize, f64)> = by
            .iter()
            .map(|g| (g.group.as_str(), g.comparison.songs, g.comparison.vocals.as_ref().unwrap().mean))
            .collect();
        assert_eq!(summary, [("drums", 1, -2.0), ("tonal", 2, 1.0)]);
        // A line without a group is refused, naming the file and the line.
        std::fs::write(&b, "song,accompaniment\nsinging-0,tonal\nsinging-1,\n").unwrap();
        let err = SongGroups::read(&[a, b.clone()]).unwrap_err().to_string();
        assert!(err.contains(&b.display().to_string()) && err.contains("line 3"), "{err}");
        std::fs::write(&b, "song,accompaniment\n").unwrap();
        assert!(SongGroups::read(&[b]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_difference_that_varies_gets_an_interval_around_its_mean() {
        let base = run(&[("a", 0.0, 0.0), ("b", 0.0, 0.0), ("c", 0.0, 0.0), ("d", 0.0, 0.0)]);
        let model = run(&[("a", 2.0, 1.0), ("b", -2.0, 1.0), ("c", 1.0, 1.0), ("d", -1.0, 1.0)]);
        let c = compare(("m", &[&model]), ("b", &[&base])).unwrap();
        let v = c.vocals.unwrap();
        assert!(v.mean.abs() < 1e-12 && v.low < -0.5 && v.high > 0.5 && !v.is_significant(), "{v:?}");
    }

    #[test]
    fn mismatched_runs_are_refused_in_words() {
        let a = run(&[("a", 1.0, 1.0)]);
        let b = run(&[("b", 1.0, 1.0)]);
        let err = compare(("m", &[&a, &a]), ("b", &[&a])).unwrap_err().to_string();
        assert!(err.contains("2 runs") && err.contains("baseline 1"), "{err}");
        assert!(matches!(compare(("m", &[&a]), ("b", &[&b])), Err(CompareError::NoCommonSongs)));
    }

    #[test]
    fn evaluation_files_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        let json = serde_json::json!({
            "protocol": PROTOCOL,
            "summary": {},
            "tracks": [
                { "track": "a", "sdr_vocals": 4.5, "sdr_accompaniment": null, "framewise": {} },
            ],
        });
        std::fs::write(&good, json.to_string()).unwrap();
        let scores = read_scores(&good).unwrap();
        assert_eq!(scores.len(), 1);
        assert_eq!((scores[0].track.as_str(), scores[0].sdr_vocals), ("a", 4.5));
        assert!(scores[0].sdr_accompaniment.is_nan());

        let other = dir.path().join("other.json");
        std::fs::write(&other, json.to_string().replace("museval 0.4.1", "museval 0.3")).unwrap();
        let err = read_scores(&other).unwrap_err().to_string();
        assert!(err.contains("other.json") && err.contains("another protocol"), "{err}");

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{ \"tracks\": 3 }").unwrap();
        let err = read_scores(&broken).unwrap_err().to_string();
        assert!(err.contains("broken.json") && err.contains("not an `svs eval --json` result"), "{err}");

        let err = read_scores(&dir.path().join("missing.json")).unwrap_err().to_string();
        assert!(err.contains("missing.json"), "{err}");
    }
}
