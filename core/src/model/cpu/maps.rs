//! The CPU model's feature maps: a batch of channels-last maps with a zero border.
//!
//! Example b is `[frames + 2][bins + 2][channels]`: two zero frames before the first (the causal
//! convolution's past padding) and one zero bin either side, so the 3x3 window of a pixel's
//! three frequency neighbours is one contiguous run of memory; examples follow one another,
//! and two zero rows close the buffer. A 3x3 convolution runs over the rows of the whole batch
//! at once (see [`super::conv`]): outputs in the border rows between examples read across
//! example boundaries and are cleared afterwards. Gradients use the same layout, which the
//! input gradient needs: it reads the output gradient two frames ahead, which the next
//! example's top border (or the closing rows) provides as zeros.

#[derive(Clone, Debug)]
pub(crate) struct Maps {
    pub batch: usize,
    pub frames: usize,
    pub bins: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

/// `len` zeros, written over the threads when there are enough of them to pay the hand-off.
/// The `svs` binary keeps freed heap memory for reuse (its `heap` module), so a fresh map is a
/// plain memset, not fresh zero pages: on one thread it left the other idle while every map of
/// a step was zeroed.
fn zeroed(len: usize) -> Vec<f32> {
    #[cfg(feature = "parallel")]
    {
        /// 256 KiB: below this one thread zeroes faster than two hand the work over.
        const PARALLEL_MIN: usize = 1 << 16;
        if len >= PARALLEL_MIN {
            use rayon::prelude::*;
            let mut data = Vec::with_capacity(len);
            data.par_extend(rayon::iter::repeat_n(0.0f32, len));
            return data;
        }
    }
    vec![0.0; len]
}

impl Maps {
    pub fn zeros(batch: usize, frames: usize, bins: usize, channels: usize) -> Self {
        let pixels = batch * (frames + 2) * (bins + 2) + 2 * (bins + 2);
        Self { batch, frames, bins, channels, data: zeroed(pixels * channels) }
    }

    /// A zero map of the same shape with `channels` channels.
    pub fn like(&self, channels: usize) -> Self {
        Self::zeros(self.batch, self.frames, self.bins, channels)
    }

    /// Pixels in a row (bins plus the border columns).
    pub fn width(&self) -> usize {
        self.bins + 2
    }

    /// Pixels per example, border rows included.
    pub fn example_pixels(&self) -> usize {
        (self.frames + 2) * self.width()
    }

    /// All pixels of the buffer, closing rows included.
    pub fn pixels(&self) -> usize {
        self.data.len() / self.channels
    }

    /// The pixel index of real pixel (t, f) of example b.
    pub fn pixel(&self, b: usize, t: usize, f: usize) -> usize {
        b * self.example_pixels() + (t + 2) * self.width() + f + 1
    }

    /// Values of frame t of example b: `[bins][channels]`.
    pub fn frame(&self, b: usize, t: usize) -> &[f32] {
        let start = self.pixel(b, t, 0) * self.channels;
        &self.data[start..start + self.bins * self.channels]
    }

    pub fn frame_mut(&mut self, b: usize, t: usize) -> &mut [f32] {
        let start = self.pixel(b, t, 0) * self.channels;
        &mut self.data[start..start + self.bins * self.channels]
    }

    /// The first row and the number of rows a convolution computes: from the first real frame
    /// of example 0 to the last of the last example (the border rows between examples
    /// included), so that every 3x3 window (two frames back) and every gradient window (two
    /// frames ahead) stays inside the buffer.
    pub fn conv_rows(&self) -> (usize, usize) {
        (2, self.batch * (self.frames + 2) - 2)
    }

    /// Zeroes every value outside the real pixels.
    pub fn clear_border(&mut self) {
        let (c, w) = (self.channels, self.width());
        let (batch, frames) = (self.batch, self.frames);
        let example = self.example_pixels();
        for b in 0..batch {
            let base = b * example;
            self.data[base * c..(base + 2 * w) * c].fill(0.0);
            for t in 0..frames {
                let row = base + (t + 2) * w;
                self.data[row * c..(row + 1) * c].fill(0.0);
                self.data[(row + w - 1) * c..(row + w) * c].fill(0.0);
            }
        }
        let end = batch * example * c;
        self.data[end..].fill(0.0);
    }

    /// Calls `f(channel values)` for every real pixel, in order.
    pub fn for_each_pixel(&self, mut f: impl FnMut(&[f32])) {
        for b in 0..self.batch {
            for t in 0..self.frames {
                self.frame(b, t).chunks_exact(self.channels).for_each(&mut f);
            }
        }
    }

    /// Calls `f(channel values)` for every real pixel, in order, mutably.
    pub fn for_each_pixel_mut(&mut self, mut f: impl FnMut(&mut [f32])) {
        let c = self.channels;
        for b in 0..self.batch {
            for t in 0..self.frames {
                self.frame_mut(b, t).chunks_exact_mut(c).for_each(&mut f);
            }
        }
    }

    /// Calls `f(row, frame)` for every real frame, spread over the threads: `row` is
    /// `b * frames + t`, `frame` its values (`[bins][channels]`). The border is not touched.
    pub fn for_each_frame_mut(&mut self, f: impl Fn(usize, &mut [f32]) + Sync) {
        let (c, bins, frames, batch) = (self.channels, self.bins, self.frames, self.batch);
        let example_rows = frames + 2;
        let real = |(r, row): (usize, &mut [f32])| {
            let (b, t) = (r / example_rows, r % example_rows);
            if b < batch && t >= 2 {
                f(b * frames + t - 2, &mut row[c..(bins + 1) * c]);
            }
        };
        let row_len = self.width() * c;
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            self.data.par_chunks_mut(row_len).enumerate().for_each(real);
        }
        #[cfg(not(feature = "parallel"))]
        self.data.chunks_mut(row_len).enumerate().for_each(real);
    }

    /// `f(row, frame)` for every real frame (as [`Self::for_each_frame_mut`] gives them), in
    /// order, computed over the threads.
    pub fn map_frames<T: Send>(&self, f: impl Fn(usize, &[f32]) -> T + Sync) -> Vec<T> {
        let frames = self.frames;
        super::par::map_indices(self.batch * frames, |r| f(r, self.frame(r / frames, r % frames)))
    }

    /// The map as `[batch, channels, frames, bins]` (burn's layout), for tests and conversions.
    #[cfg(test)]
    pub fn to_nchw(&self) -> Vec<f32> {
        let (c, f) = (self.channels, self.bins);
        let mut out = vec![0.0; self.batch * c * self.frames * f];
        for b in 0..self.batch {
            for t in 0..self.frames {
                for (bin, pixel) in self.frame(b, t).chunks_exact(c).enumerate() {
                    for (ch, v) in pixel.iter().enumerate() {
                        out[((b * c + ch) * self.frames + t) * f + bin] = *v;
                    }
                }
            }
        }
        out
    }

    /// The inverse of [`Maps::to_nchw`].
    #[cfg(test)]
    pub fn from_nchw(values: &[f32], [batch, channels, frames, bins]: [usize; 4]) -> Self {
        let mut m = Self::zeros(batch, frames, bins, channels);
        for b in 0..batch {
            for t in 0..frames {
                for (bin, pixel) in m.frame_mut(b, t).chunks_exact_mut(channels).enumerate() {
                    for (ch, v) in pixel.iter_mut().enumerate() {
                        *v = values[((b * channels + ch) * frames + t) * bins + bin];
                    }
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_helpers_visit_the_real_frames_in_order_and_nothing_else() {
        let mut m = Maps::zeros(3, 4, 5, 2);
        m.for_each_frame_mut(|row, frame| frame.fill(row as f32 + 1.0));
        for b in 0..3 {
            for t in 0..4 {
                assert!(m.frame(b, t).iter().all(|v| *v == (b * 4 + t) as f32 + 1.0));
            }
        }
        // Every real pixel was written, no border value.
        let total: f32 = m.data.iter().sum();
        assert_eq!(total, (1..=12).map(|r| r as f32 * 10.0).sum::<f32>());
        assert_eq!(
            m.map_frames(|row, frame| (row, frame[0])),
            (0..12).map(|r| (r, r as f32 + 1.0)).collect::<Vec<_>>()
        );
    }
}
