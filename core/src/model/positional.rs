//! Frequency-positional embeddings (paper Eq. 1): for bin f of F,
//! rho(f) = (cos(pi f/F), cos(2 pi f/F), ..., cos(2^(k-1) pi f/F)), the same for every frame.
//! They tell the fully-convolutional network where in the spectrum it is.

use burn::tensor::{Device, Tensor};

/// The embedding values, `[k][F]`.
pub fn frequency_embedding(n_bins: usize, k: usize) -> Vec<Vec<f32>> {
    (0..k)
        .map(|j| {
            let scale = (1u64 << j) as f64 * std::f64::consts::PI / n_bins as f64;
            (0..n_bins).map(|f| (scale * f as f64).cos() as f32).collect()
        })
        .collect()
}

/// The embedding as `[batch, k, frames, F]`, ready to concatenate to the input channels.
pub fn embedding_channels(batch: usize, frames: usize, n_bins: usize, k: usize, device: &Device) -> Tensor<4> {
    let flat: Vec<f32> = frequency_embedding(n_bins, k).into_iter().flatten().collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([1, k, 1, n_bins]).expand([batch, k, frames, n_bins])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_follows_equation_1() {
        let e = frequency_embedding(512, 10);
        assert_eq!(e.len(), 10);
        assert_eq!(e[0][0], 1.0);
        // cos(pi * 256 / 512) = cos(pi/2) = 0; cos(2 pi * 256/512) = -1.
        assert!(e[0][256].abs() < 1e-6);
        assert!((e[1][256] + 1.0).abs() < 1e-6);
        // Highest band: cos(2^9 pi f / 512) = cos(pi f) alternates.
        assert!((e[9][1] + 1.0).abs() < 1e-5 && (e[9][2] - 1.0).abs() < 1e-5);
    }
}
