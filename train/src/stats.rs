//! Statistics for comparing trained models the way experiments should be compared: paired
//! differences with bootstrap confidence intervals over test songs and training seeds, and rank
//! correlation (to check the data filter against the truth the synthetic corpus knows).

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A paired difference (model A minus model B) with its 95 % bootstrap confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Mean of the per-(seed, song) differences.
    pub mean: f64,
    /// 2.5 % and 97.5 % percentiles of the bootstrap distribution of that mean.
    pub low: f64,
    pub high: f64,
    /// Finite (seed, song) cells the mean is over.
    pub cells: usize,
}

impl PairedDifference {
    /// Whether the interval excludes zero (the difference is unlikely to be chance).
    pub fn is_significant(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Bootstrap resamples; enough for stable 2.5 % / 97.5 % percentiles.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The mean paired difference `a - b` over a grid of `[seed][song]` scores (the same songs for
/// every seed, the same seed meaning the same training seed for both models) and its 95 %
/// percentile-bootstrap interval, resampling songs and seeds independently with replacement
/// (a two-way bootstrap: both the test set and the training runs are samples). Non-finite cells
/// (a song whose SDR is undefined) are left out of each mean. `None` if no cell is finite or
/// the grids' shapes differ.
pub fn paired_difference(a: &[Vec<f64>], b: &[Vec<f64>], rng_seed: u64) -> Option<PairedDifference> {
    if a.len() != b.len() || a.is_empty() || a.iter().zip(b).any(|(x, y)| x.len() != y.len() || x.len() != a[0].len()) {
        return None;
    }
    let diff: Vec<Vec<f64>> = a.iter().zip(b).map(|(x, y)| x.iter().zip(y).map(|(p, q)| p - q).collect()).collect();
    let (seeds, songs) = (diff.len(), diff[0].len());
    let mean_of = |seed_pick: &[usize], song_pick: &[usize]| {
        let (mut sum, mut n) = (0.0, 0usize);
        for &s in seed_pick {
            for &t in song_pick {
                let d = diff[s][t];
                if d.is_finite() {
                    sum += d;
                    n += 1;
                }
            }
        }
        (n > 0).then(|| (sum / n as f64, n))
    };
    let all_seeds: Vec<usize> = (0..seeds).collect();
    let all_songs: Vec<usize> = (0..songs).collect();
    let (mean, cells) = mean_of(&all_seeds, &all_songs)?;
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let mut means = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let (mut seed_pick, mut song_pick) = (vec![0; seeds], vec![0; songs]);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        seed_pick.iter_mut().for_each(|s| *s = rng.random_range(0..seeds));
        song_pick.iter_mut().for_each(|t| *t = rng.random_range(0..songs));
        if let Some((m, _)) = mean_of(&seed_pick, &song_pick) {
            means.push(m);
        }
    }
    means.sort_by(f64::total_cmp);
    Some(PairedDifference { mean, low: percentile(&means, 0.025), high: percentile(&means, 0.975), cells })
}

/// The `q` quantile of sorted values, interpolated linearly between ranks (numpy's default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (i, frac) = (pos.floor() as usize, pos.fract());
            let next = sorted[(i + 1).min(n - 1)];
            sorted[i] + frac * (next - sorted[i])
        }
    }
}

/// Ranks from 1, ties given their average rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        let average = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            r[i] = average;
        }
        start = end;
    }
    r
}

/// Spearman's rank correlation of paired samples (pairs with a non-finite value left out);
/// NaN with fewer than two pairs or a constant sample.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) =
        x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).unzip();
    if x.len() < 2 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks(&x), ranks(&y));
    let mean = (x.len() + 1) as f64 / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mean) * (b - mean);
        sxx += (a - mean).powi(2);
        syy += (b - mean).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_difference_has_a_zero_width_interval() {
        let a = vec![vec![5.0, 6.0, 7.0], vec![4.0, 5.0, 9.0]];
        let b: Vec<Vec<f64>> = a.iter().map(|r| r.iter().map(|x| x - 1.5).collect()).collect();
        let d = paired_difference(&a, &b, 1).unwrap();
        assert!((d.mean - 1.5).abs() < 1e-12 && (d.low - 1.5).abs() < 1e-12 && (d.high - 1.5).abs() < 1e-12);
        assert!(d.is_significant());
        assert_eq!(d.cells, 6);
    }

    #[test]
    fn the_interval_has_the_width_of_the_standard_error() {
        // One seed, 400 songs, differences N(0.5, 1): the 95 % interval is about
        // 0.5 +- 1.96 / sqrt(400) = 0.5 +- 0.098.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let normal = |rng: &mut ChaCha8Rng| {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            (-2.0 * (1.0 - u).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        };
        let diffs: Vec<f64> = (0..400).map(|_| 0.5 + normal(&mut rng)).collect();
        let zeros = vec![vec![0.0; 400]];
        let d = paired_difference(&[diffs.clone()], &zeros, 2).unwrap();
        let sd = (diffs.iter().map(|x| (x - d.mean).powi(2)).sum::<f64>() / 399.0).sqrt();
        let half = 1.96 * sd / 20.0;
        assert!(((d.high - d.low) / 2.0 - half).abs() < 0.15 * half, "{d:?}, expected half-width {half}");
        assert!(d.low < d.mean && d.mean < d.high);
        assert!((d.mean - 0.5).abs() < 3.0 * sd / 20.0);
    }

    #[test]
    fn seeds_widen_the_interval() {
        // Two seeds that disagree: resampling seeds must show that uncertainty.
        let a = vec![vec![1.0; 50], vec![-1.0; 50]];
        let b = vec![vec![0.0; 50], vec![0.0; 50]];
        let d = paired_difference(&a, &b, 3).unwrap();
        assert!(d.mean.abs() < 1e-12);
        assert!(d.low <= -0.99 && d.high >= 0.99, "{d:?}");
        assert!(!d.is_significant());
    }

    #[test]
    fn non_finite_cells_are_skipped_and_bad_shapes_refused() {
        let a = vec![vec![2.0, f64::NAN, 4.0]];
        let b = vec![vec![1.0, 1.0, 1.0]];
        let d = paired_difference(&a, &b, 4).unwrap();
        assert_eq!(d.cells, 2);
        assert!((d.mean - 2.0).abs() < 1e-12);
        assert!(paired_difference(&a, &[vec![1.0]], 4).is_none());
        assert!(paired_difference(&[vec![f64::NAN]], &[vec![1.0]], 4).is_none());
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 4.0);
        assert!((percentile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 0.25) - 1.75).abs() < 1e-12);
    }

    #[test]
    fn spearman_known_answers() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 100.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) = 0.8
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]) - 0.8).abs() < 1e-12);
        // With ties: scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
        let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((r - 0.948_683_298_050_513_8).abs() < 1e-12, "{r}");
        assert!(spearman(&[1.0], &[2.0]).is_nan());
    }
}
