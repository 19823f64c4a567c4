//! Writing an [`Evaluation`] as JSON: svs's own layout (one file, the summary and every track,
//! frame values named by source and metric), or museval's (one file per track, the layout
//! museval's `TrackStore` writes and its aggregation reads: `targets[].frames[].metrics`).
//! JSON has no NaN: frames museval leaves undefined are written as `null`.

use super::protocol::{Evaluation, PROTOCOL, SOURCES, Summary, TrackResult};
use crate::data::cache::safe_name;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;
use svs_core::model_file::write_atomically;

/// The JSON layouts `svs eval --json` can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonFormat {
    /// One file: the protocol, the summary and every track's frames by source.
    Svs,
    /// A folder of `<track>.json` files in museval's layout.
    Museval,
}

/// Writes `evaluation` to `path` (a file, or a folder for [`JsonFormat::Museval`]).
pub fn write_json(evaluation: &Evaluation, path: &Path, format: JsonFormat) -> Result<()> {
    match format {
        JsonFormat::Svs => {
            let report = SvsReport {
                protocol: PROTOCOL,
                summary: &evaluation.summary,
                tracks: evaluation.tracks.iter().map(SvsTrack::new).collect(),
            };
            write(path, &report)
        }
        JsonFormat::Museval => {
            std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
            for track in &evaluation.tracks {
                write(&path.join(format!("{}.json", safe_name(&track.track))), &museval_track(track))?;
            }
            Ok(())
        }
    }
}

fn write(path: &Path, value: &impl Serialize) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(value)?.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[derive(Serialize)]
struct SvsReport<'a> {
    protocol: &'static str,
    summary: &'a Summary,
    tracks: Vec<SvsTrack<'a>>,
}

#[derive(Serialize)]
struct SvsTrack<'a> {
    track: &'a str,
    sdr_vocals: Option<f64>,
    sdr_accompaniment: Option<f64>,
    /// Per source (`vocals`, `accompaniment`): each metric's value per 1 s frame.
    framewise: std::collections::BTreeMap<&'static str, SourceFrames>,
}

#[derive(Serialize)]
struct SourceFrames {
    sdr: Vec<Option<f64>>,
    sir: Vec<Option<f64>>,
    sar: Vec<Option<f64>>,
    isr: Vec<Option<f64>>,
}

impl<'a> SvsTrack<'a> {
    fn new(track: &'a TrackResult) -> Self {
        let m = &track.framewise;
        let column = |rows: &[Vec<f64>], j: usize| rows[j].iter().copied().map(finite).collect();
        let framewise = SOURCES
            .iter()
            .enumerate()
            .map(|(j, &name)| {
                let frames = SourceFrames {
                    sdr: column(&m.sdr, j),
                    sir: column(&m.sir, j),
                    sar: column(&m.sar, j),
                    isr: column(&m.isr, j),
                };
                (name, frames)
            })
            .collect();
        Self {
            track: &track.track,
            sdr_vocals: finite(track.sdr_vocals),
            sdr_accompaniment: finite(track.sdr_accompaniment),
            framewise,
        }
    }
}

#[derive(Serialize)]
struct MusevalTrack {
    targets: Vec<MusevalTarget>,
}

#[derive(Serialize)]
struct MusevalTarget {
    name: &'static str,
    frames: Vec<MusevalFrame>,
}

#[derive(Serialize)]
struct MusevalFrame {
    time: f64,
    duration: f64,
    metrics: MusevalMetrics,
}

#[derive(Serialize)]
#[allow(non_snake_case)]
struct MusevalMetrics {
    SDR: Option<f64>,
    SIR: Option<f64>,
    SAR: Option<f64>,
    ISR: Option<f64>,
}

/// museval rounds each value to 5 decimals before writing it; so do we, so that the files
/// compare equal.
fn museval_value(x: f64) -> Option<f64> {
    finite(x).map(|x| (x * 1e5).round() / 1e5)
}

/// One track in museval's layout; frames are the protocol's 1 s windows with a 1 s hop.
fn museval_track(track: &TrackResult) -> MusevalTrack {
    let m = &track.framewise;
    let targets = SOURCES
        .iter()
        .enumerate()
        .map(|(j, &name)| MusevalTarget {
            name,
            frames: (0..m.n_frames())
                .map(|i| MusevalFrame {
                    time: i as f64,
                    duration: 1.0,
                    metrics: MusevalMetrics {
                        SDR: museval_value(m.sdr[j][i]),
                        SIR: museval_value(m.sir[j][i]),
                        SAR: museval_value(m.sar[j][i]),
                        ISR: museval_value(m.isr[j][i]),
                    },
                })
                .collect(),
        })
        .collect();
    MusevalTrack { targets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::FramewiseMetrics;

    fn evaluation() -> Evaluation {
        let rows = |a: f64| vec![vec![a, f64::NAN], vec![a + 1.0, a + 2.0]];
        let track = TrackResult {
            track: "a/b".into(),
            sdr_vocals: 1.5,
            sdr_accompaniment: 2.5,
            framewise: FramewiseMetrics { sdr: rows(1.0), isr: rows(10.0), sir: rows(20.0), sar: rows(30.123456789) },
        };
        let summary = Summary { tracks: 1, failed: vec![], sdr_vocals: 1.5, sdr_accompaniment: 2.5, mean: 2.0 };
        Evaluation { tracks: vec![track], summary }
    }

    #[test]
    fn svs_json_names_sources_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eval.json");
        write_json(&evaluation(), &path, JsonFormat::Svs).unwrap();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let track = &v["tracks"][0];
        assert_eq!(track["track"], "a/b");
        assert_eq!(track["framewise"]["vocals"]["sdr"], serde_json::json!([1.0, null]));
        assert_eq!(track["framewise"]["accompaniment"]["sdr"], serde_json::json!([2.0, 3.0]));
        assert_eq!(track["framewise"]["vocals"]["sir"], serde_json::json!([20.0, null]));
        assert_eq!(v["summary"]["mean"], 2.0);
    }

    #[test]
    fn museval_json_has_museval_s_layout() {
        let dir = tempfile::tempdir().unwrap();
        write_json(&evaluation(), dir.path(), JsonFormat::Museval).unwrap();
        let file = dir.path().join(format!("{}.json", safe_name("a/b")));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let targets = v["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0]["name"], "vocals");
        assert_eq!(targets[1]["name"], "accompaniment");
        let frames = targets[1]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1]["time"], 1.0);
        assert_eq!(frames[1]["duration"], 1.0);
        assert_eq!(frames[1]["metrics"]["SDR"], 3.0);
        assert_eq!(targets[0]["frames"][1]["metrics"]["SDR"], serde_json::Value::Null);
        // Rounded to 5 decimals as museval writes them.
        assert_eq!(targets[0]["frames"][0]["metrics"]["SAR"], 30.12346);
    }
}
