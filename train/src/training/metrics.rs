//! The run's metrics log (`metrics.jsonl`, one JSON object per line) and its plots
//! (`loss.svg`/`.png`, `validation.svg`/`.png`), refreshed as training goes.

use crate::plotting::{Figure, plot_err, save};
use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricsRecord {
    Train {
        iteration: u64,
        loss: f64,
        learning_rate: f64,
        examples_per_second: f64,
        seconds_per_iteration: f64,
    },
    Validation {
        iteration: u64,
        loss: f64,
        sdr_vocals: f64,
        sdr_accompaniment: f64,
        mean_sdr: f64,
    },
    /// A voice-activity detector's validation: cross-entropy and the fraction of frames on the
    /// right side of 0.5.
    DetectorValidation {
        iteration: u64,
        loss: f64,
        accuracy: f64,
    },
}

impl MetricsRecord {
    pub fn iteration(&self) -> u64 {
        match self {
            MetricsRecord::Train { iteration, .. }
            | MetricsRecord::Validation { iteration, .. }
            | MetricsRecord::DetectorValidation { iteration, .. } => *iteration,
        }
    }
}

pub fn append(run: &Path, record: &MetricsRecord) -> Result<()> {
    let path = run.join("metrics.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(record)?)?;
    Ok(())
}

/// Reads the log; after a resume, later records of an iteration replace earlier ones.
pub fn read(run: &Path) -> Result<Vec<MetricsRecord>> {
    let path = run.join("metrics.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Keeps records only up to `iteration` (used when resuming from an earlier checkpoint).
pub fn truncate_after(run: &Path, iteration: u64) -> Result<()> {
    let kept: Vec<String> = read(run)?
        .into_iter()
        .filter(|r| r.iteration() <= iteration)
        .map(|r| serde_json::to_string(&r).expect("serialisable"))
        .collect();
    let text = if kept.is_empty() { String::new() } else { kept.join("\n") + "\n" };
    std::fs::write(run.join("metrics.jsonl"), text)?;
    Ok(())
}

/// Draws the training loss and the validation SDRs.
pub fn plot(run: &Path) -> Result<()> {
    let records = read(run)?;
    let train: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| match r {
            MetricsRecord::Train { iteration, loss, .. } => Some((*iteration as f64, *loss)),
            _ => None,
        })
        .collect();
    let valid: Vec<(f64, f64, f64, f64)> = records
        .iter()
        .filter_map(|r| match r {
            MetricsRecord::Validation { iteration, loss, sdr_vocals, sdr_accompaniment, .. } => {
                Some((*iteration as f64, *loss, *sdr_vocals, *sdr_accompaniment))
            }
            MetricsRecord::DetectorValidation { iteration, loss, .. } => {
                Some((*iteration as f64, *loss, f64::NAN, f64::NAN))
            }
            _ => None,
        })
        .collect();
    let series: Vec<(&str, Vec<(f64, f64)>, RGBColor)> =
        vec![("training loss", train, BLUE), ("validation loss", valid.iter().map(|v| (v.0, v.1)).collect(), RED)];
    line_chart(&run.join("loss"), "Loss", "loss", &series)?;
    let sdr: Vec<(&str, Vec<(f64, f64)>, RGBColor)> = vec![
        ("vocals SDR (dB)", valid.iter().map(|v| (v.0, v.2)).filter(|p| p.1.is_finite()).collect(), RED),
        ("accompaniment SDR (dB)", valid.iter().map(|v| (v.0, v.3)).filter(|p| p.1.is_finite()).collect(), BLUE),
    ];
    line_chart(&run.join("validation"), "Validation SDR (median of 1 s segments, median over songs)", "SDR (dB)", &sdr)
}

fn line_chart(path: &Path, title: &str, y_label: &str, series: &[(&str, Vec<(f64, f64)>, RGBColor)]) -> Result<()> {
    if series.iter().all(|s| s.1.is_empty()) {
        return Ok(()); // nothing to draw yet
    }
    save(&LineChart { title, y_label, series }, path, (800, 450))
}

/// Lines over iterations.
struct LineChart<'a> {
    title: &'a str,
    y_label: &'a str,
    series: &'a [(&'a str, Vec<(f64, f64)>, RGBColor)],
}

impl Figure for LineChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let points = self.series.iter().flat_map(|s| s.1.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let pad = ((y1 - y0) * 0.05).max(1e-3);
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("iteration").y_desc(self.y_label).draw().map_err(plot_err)?;
        for (name, data, color) in self.series {
            let color = *color;
            chart
                .draw_series(LineSeries::new(data.iter().copied(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        Ok(())
    }
}
