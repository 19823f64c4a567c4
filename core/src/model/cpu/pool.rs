//! Causal 2x down- and up-sampling (see [`crate::model::pooling`]) on [`Maps`], with their
//! adjoints (the gradients).

use super::maps::Maps;

/// Coarse frame t averages fine frames 2t - 1 (the zero border for t = 0) and 2t, bins in
/// pairs.
pub(crate) fn downsample(x: &Maps) -> Maps {
    let c = x.channels;
    let mut out = Maps::zeros(x.batch, x.frames / 2, x.bins / 2, c);
    for b in 0..x.batch {
        for t in 0..out.frames {
            // Frame 2t - 1 is one row above frame 2t: the border row for t = 0.
            let current = x.pixel(b, 2 * t, 0) * c;
            let previous = current - x.width() * c;
            for (f, pixel) in out.frame_mut(b, t).chunks_exact_mut(c).enumerate() {
                let (p, q) = (previous + 2 * f * c, current + 2 * f * c);
                for (i, d) in pixel.iter_mut().enumerate() {
                    *d = (x.data[p + i] + x.data[p + c + i] + x.data[q + i] + x.data[q + c + i]) / 4.0;
                }
            }
        }
    }
    out
}

/// Adds the gradient of [`downsample`] for `d_out` to `d_x` (the fine map's gradient).
pub(crate) fn downsample_backward(d_out: &Maps, d_x: &mut Maps) {
    let c = d_out.channels;
    for b in 0..d_out.batch {
        for t in 0..d_out.frames {
            let current = d_x.pixel(b, 2 * t, 0) * c;
            let previous = current - d_x.width() * c;
            let rows: &[usize] = if t == 0 { &[current] } else { &[previous, current] };
            for (f, pixel) in d_out.frame(b, t).chunks_exact(c).enumerate() {
                for &row in rows {
                    let p = row + 2 * f * c;
                    for (i, g) in pixel.iter().enumerate() {
                        d_x.data[p + i] += g / 4.0;
                        d_x.data[p + c + i] += g / 4.0;
                    }
                }
            }
        }
    }
}

/// 2x repetition in frames and bins.
pub(crate) fn upsample(x: &Maps) -> Maps {
    let c = x.channels;
    let mut out = Maps::zeros(x.batch, x.frames * 2, x.bins * 2, c);
    for b in 0..x.batch {
        for t in 0..x.frames {
            for row in [2 * t, 2 * t + 1] {
                let start = out.pixel(b, row, 0) * c;
                let dst = &mut out.data[start..start + 2 * x.bins * c];
                for (pair, pixel) in dst.chunks_exact_mut(2 * c).zip(x.frame(b, t).chunks_exact(c)) {
                    pair[..c].copy_from_slice(pixel);
                    pair[c..].copy_from_slice(pixel);
                }
            }
        }
    }
    out
}

/// The gradient of [`upsample`]: each coarse pixel sums its four copies.
pub(crate) fn upsample_backward(d_out: &Maps) -> Maps {
    let c = d_out.channels;
    let mut d_x = Maps::zeros(d_out.batch, d_out.frames / 2, d_out.bins / 2, c);
    for b in 0..d_x.batch {
        for t in 0..d_x.frames {
            let rows = [d_out.frame(b, 2 * t), d_out.frame(b, 2 * t + 1)];
            for (f, pixel) in d_x.frame_mut(b, t).chunks_exact_mut(c).enumerate() {
                for row in rows {
                    for (i, d) in pixel.iter_mut().enumerate() {
                        *d += row[2 * f * c + i] + row[(2 * f + 1) * c + i];
                    }
                }
            }
        }
    }
    d_x
}
