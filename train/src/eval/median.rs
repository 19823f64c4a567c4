//! Aggregating framewise scores into one number per track.

/// Median of the values that are not NaN, NaN when there are none; an even count averages the
/// two middle values. Mirrors `numpy.nanmedian`, which museval uses to aggregate frames.
pub fn nan_median(values: &[f64]) -> f64 {
    let mut kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if kept.is_empty() {
        return f64::NAN;
    }
    kept.sort_by(f64::total_cmp);
    let mid = kept.len() / 2;
    if kept.len() % 2 == 1 {
        kept[mid]
    } else {
        // numpy takes the mean of the two middle values: (a + b) / 2, infinities included.
        (kept[mid - 1] + kept[mid]) / 2.0
    }
}

/// The per-track score museval reports for one metric of one target: its `TrackStore` stores
/// each frame with infinities replaced by NaN, then aggregates with `nanmedian`.
pub fn track_score(frames: &[f64]) -> f64 {
    let finite_or_nan: Vec<f64> = frames.iter().map(|&v| if v.is_infinite() { f64::NAN } else { v }).collect();
    nan_median(&finite_or_nan)
}
