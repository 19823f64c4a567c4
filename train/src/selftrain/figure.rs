//! The paper's Figure 2: histograms of the number of poor-quality frames per song, one per
//! corpus (raw unlabeled recordings, their pseudo-labels, the labeled data), drawn over common
//! bins so the corpora compare at a glance.

use crate::plotting::{Figure, plot_err, save};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One histogram: a name and the poor-frame count of each song.
pub struct Series {
    pub name: String,
    pub counts: Vec<usize>,
}

/// `bins` equal bins from 0 to the largest count; returns (bin width, songs per bin) per series.
pub fn bin_counts(series: &[Series], bins: usize) -> (f64, Vec<Vec<usize>>) {
    let max = series.iter().flat_map(|s| s.counts.iter()).copied().max().unwrap_or(0);
    let width = ((max + 1) as f64 / bins as f64).max(1.0);
    let per = series
        .iter()
        .map(|s| {
            let mut h = vec![0; bins];
            for &c in &s.counts {
                h[((c as f64 / width) as usize).min(bins - 1)] += 1;
            }
            h
        })
        .collect();
    (width, per)
}

const COLORS: [RGBColor; 4] =
    [RGBColor(214, 39, 40), RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

/// Figure 2 as a plotters figure.
pub struct PoorFrameHistogram<'a> {
    pub title: String,
    pub series: &'a [Series],
}

impl Figure for PoorFrameHistogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let bins = 20;
        let (width, per) = bin_counts(self.series, bins);
        let top = per.iter().flatten().copied().max().unwrap_or(0).max(1);
        root.fill(&WHITE).map_err(plot_err)?;
        let x_max = width * bins as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..x_max, 0.0..(top as f64 * 1.1))
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("poor-quality frames per song").y_desc("songs").draw().map_err(plot_err)?;
        // Side-by-side bars within each bin, one colour per corpus.
        let n = self.series.len().max(1) as f64;
        for (k, (s, h)) in self.series.iter().zip(&per).enumerate() {
            let color = COLORS[k % COLORS.len()];
            let bar = width / n;
            chart
                .draw_series(h.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, &c)| {
                    let x0 = b as f64 * width + k as f64 * bar;
                    Rectangle::new([(x0, 0.0), (x0 + bar * 0.9, c as f64)], color.mix(0.8).filled())
                }))
                .map_err(plot_err)?
                .label(format!("{} ({} songs)", s.name, s.counts.len()))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
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

/// Writes the histogram as `<stem>.svg` and `<stem>.png`.
pub fn poor_frame_histogram(stem: &Path, title: &str, series: &[Series]) -> Result<()> {
    save(&PoorFrameHistogram { title: title.into(), series }, stem, (900, 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_song() {
        let series =
            vec![Series { name: "a".into(), counts: vec![0, 5, 19, 20] }, Series { name: "b".into(), counts: vec![3] }];
        let (width, per) = bin_counts(&series, 4);
        assert!((width - 21.0 / 4.0).abs() < 1e-12);
        assert_eq!(per[0], vec![2, 0, 0, 2]);
        assert_eq!(per[1], vec![1, 0, 0, 0]);
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("f");
        poor_frame_histogram(&stem, "t", &series).unwrap();
        let png = std::fs::read(stem.with_extension("png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("a (4 songs)"), "{}", &svg[..200.min(svg.len())]);
    }
}
