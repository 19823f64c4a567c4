//! Small numeric loops written so that the compiler vectorises them.
//!
//! A single running floating-point sum cannot be reordered, so it advances one addition per
//! addition latency; four independent partial sums let the compiler use vector registers.

/// `sum a[i] * b[i]`.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0; 4];
    for (x, y) in a4.zip(b4) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `sum (b[i] - a[i])^2`.
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| (y - x) * (y - x)).sum();
    let mut acc = [0.0; 4];
    for (x, y) in a4.zip(b4) {
        for i in 0..4 {
            let d = y[i] - x[i];
            acc[i] += d * d;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `y += alpha * x`.
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_plain_loops() {
        let a: Vec<f64> = (0..11).map(|i| i as f64 * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..11).map(|i| (i * i) as f64 * 0.25).collect();
        let plain_dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let plain_distance: f64 = a.iter().zip(&b).map(|(x, y)| (y - x) * (y - x)).sum();
        assert!((dot(&a, &b) - plain_dot).abs() < 1e-12);
        assert!((squared_distance(&a, &b) - plain_distance).abs() < 1e-12);
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        assert!(y.iter().zip(a.iter().zip(&b)).all(|(y, (a, b))| *y == b + 2.0 * a));
    }
}
