//! Causal 2x down- and up-sampling (see [`crate::model::pooling`]) on [`Maps`], with their
//! adjoints (the gradients).

use super::maps::Maps;

/// Coarse frame t averages fine frames 2t - 1 (the zero border for t = 0) and 2t, bins in
/// pairs.
pub(crate) fn downsample(x: &Maps) -> Maps {
    let c = x.channels;
    let mut out = Maps::zeros(x.batch, x.frames / 2, x.bins / 2, c);
    let frames = out.frames;
    out.for_each_frame_mut(|r, frame| {
        let (b, t) = (r / frames, r % frames);
        // Frame 2t - 1 is one row above frame 2t: the border row for t = 0.
        let current = x.pixel(b, 2 * t, 0) * c;
        let previous = current - x.width() * c;
        for (f, pixel) in frame.chunks_exact_mut(c).enumerate() {
            let (p, q) = (previous + 2 * f * c, current + 2 * f * c);
            for (i, d) in pixel.iter_mut().enumerate() {
                *d = (x.data[p + i] + x.data[p + c + i] + x.data[q + i] + x.data[q + c + i]) / 4.0;
            }
        }
    });
    out
}

/// Adds the gradient of [`downsample`] for `d_out` to `d_x` (the fine map's gradient).
pub(crate) fn downsample_backward(d_out: &Maps, d_x: &mut Maps) {
    let c = d_out.channels;
    let fine_frames = d_x.frames;
    // Fine frame s receives from the coarse frame that reads it: 2t = s, or 2t - 1 = s.
    d_x.for_each_frame_mut(|r, frame| {
        let (b, s) = (r / fine_frames, r % fine_frames);
        let t = s.div_ceil(2);
        if t >= d_out.frames {
            return;
        }
        for (f, g) in d_out.frame(b, t).chunks_exact(c).enumerate() {
            for pair in frame[2 * f * c..(2 * f + 2) * c].chunks_exact_mut(c) {
                for (d, g) in pair.iter_mut().zip(g) {
                    *d += g / 4.0;
                }
            }
        }
    });
}

/// 2x repetition in frames and bins.
pub(crate) fn upsample(x: &Maps) -> Maps {
    let c = x.channels;
    let mut out = Maps::zeros(x.batch, x.frames * 2, x.bins * 2, c);
    let fine_frames = out.frames;
    out.for_each_frame_mut(|r, frame| {
        let (b, s) = (r / fine_frames, r % fine_frames);
        for (pair, pixel) in frame.chunks_exact_mut(2 * c).zip(x.frame(b, s / 2).chunks_exact(c)) {
            pair[..c].copy_from_slice(pixel);
            pair[c..].copy_from_slice(pixel);
        }
    });
    out
}

/// The gradient of [`upsample`]: each coarse pixel sums its four copies.
pub(crate) fn upsample_backward(d_out: &Maps) -> Maps {
    let c = d_out.channels;
    let mut d_x = Maps::zeros(d_out.batch, d_out.frames / 2, d_out.bins / 2, c);
    let frames = d_x.frames;
    d_x.for_each_frame_mut(|r, frame| {
        let (b, t) = (r / frames, r % frames);
        let rows = [d_out.frame(b, 2 * t), d_out.frame(b, 2 * t + 1)];
        for (f, pixel) in frame.chunks_exact_mut(c).enumerate() {
            for row in rows {
                for (i, d) in pixel.iter_mut().enumerate() {
                    *d += row[2 * f * c + i] + row[(2 * f + 1) * c + i];
                }
            }
        }
    });
    d_x
}
