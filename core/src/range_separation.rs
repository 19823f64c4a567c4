//! One stretch of a song separated exactly as separating the whole song would separate it, bit
//! for bit: what lets a player separate from wherever the listener seeks, and fill in the rest
//! later, without seams where the stretches meet.
//!
//! The windowed stream's output for a window depends only on the window's input, the context
//! before it, and the previous window's estimate over their overlap (the cross-fade). A stretch
//! therefore starts one hop before the window that holds its first sample, on the whole song's
//! window grid, with the true input before that as context; the first window's output (which
//! lacks its own predecessor's cross-fade) falls before the stretch and is dropped. A stretch
//! that ends before the song does stops once its last sample is out, so its last window is
//! cross-faded into the next one's estimate exactly as in a whole-song run.

use crate::separator::{SeparationError, SeparationStream, Separator, StemBlock};
use std::ops::Range;

/// Separated samples placed in the song: `stems` start at frame `start`.
#[derive(Clone, Debug)]
pub struct PlacedBlock {
    pub start: usize,
    pub stems: StemBlock,
}

/// A stretch of a song being separated, one window per step. The song's samples are read
/// through the caller's `read(frames) -> planar samples`, so they can live outside the process's
/// memory (JavaScript arrays in the browser).
pub struct RangeSeparation<'a> {
    stream: SeparationStream<'a>,
    range: Range<usize>,
    total: usize,
    /// The song's frame of the next input sample to push.
    fed: usize,
    /// The song's frame of the next output sample.
    emitted: usize,
    finished: bool,
}

impl<'a> RangeSeparation<'a> {
    /// Frames `range` of a song of `total` frames at `sample_rate` with `channels` channels.
    pub fn new(
        separator: &'a Separator,
        sample_rate: u32,
        channels: usize,
        range: Range<usize>,
        total: usize,
        read: impl FnOnce(Range<usize>) -> Vec<Vec<f32>>,
    ) -> Result<Self, SeparationError> {
        if range.start >= range.end || range.end > total {
            return Err(SeparationError::Range { start: range.start, end: range.end, total });
        }
        let mut stream = separator.stream(sample_rate, channels)?;
        let hop = stream.hop_len();
        let feed_from = (range.start / hop * hop).saturating_sub(hop);
        let history = read(feed_from.saturating_sub(stream.context_len())..feed_from);
        stream.set_history(&history)?;
        Ok(Self { stream, range, total, fed: feed_from, emitted: feed_from, finished: false })
    }

    /// The stretch being separated.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// The song's frame up to which this stretch is separated.
    pub fn separated_until(&self) -> usize {
        self.emitted.clamp(self.range.start, self.range.end)
    }

    /// Whether the whole stretch has been emitted.
    pub fn is_done(&self) -> bool {
        self.finished || self.emitted >= self.range.end
    }

    /// Separates the next window; returns the part of its output inside the stretch (none for
    /// the first window, which only primes the cross-fade, and none once done).
    pub fn step(
        &mut self,
        read: impl FnOnce(Range<usize>) -> Vec<Vec<f32>>,
    ) -> Result<Vec<PlacedBlock>, SeparationError> {
        burn::tensor::try_read_sync(self.step_async(read))
            .ok_or_else(|| SeparationError::Model("this device reads back asynchronously: use step_async".into()))?
    }

    /// [`Self::step`] for devices that only read back asynchronously (WebGPU in a browser).
    pub async fn step_async(
        &mut self,
        read: impl FnOnce(Range<usize>) -> Vec<Vec<f32>>,
    ) -> Result<Vec<PlacedBlock>, SeparationError> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        let blocks = if self.fed < self.total {
            let end = (self.fed + self.stream.window_len()).min(self.total);
            let input = read(self.fed..end);
            self.fed = end;
            let slices: Vec<&[f32]> = input.iter().map(Vec::as_slice).collect();
            self.stream.push_async(&slices).await?
        } else {
            self.finished = true;
            self.stream.finish_async().await?.into_iter().collect()
        };
        Ok(blocks.into_iter().filter_map(|block| self.place(block)).collect())
    }

    /// `block` (the stream's next output) clipped to the stretch.
    fn place(&mut self, block: StemBlock) -> Option<PlacedBlock> {
        let start = self.emitted;
        self.emitted += block.vocals[0].len();
        let (lo, hi) = (start.max(self.range.start), self.emitted.min(self.range.end));
        if lo >= hi {
            return None;
        }
        let clip = |channels: Vec<Vec<f32>>| -> Vec<Vec<f32>> {
            channels.into_iter().map(|c| c[lo - start..hi - start].to_vec()).collect()
        };
        Some(PlacedBlock {
            start: lo,
            stems: StemBlock { vocals: clip(block.vocals), accompaniment: clip(block.accompaniment) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::separator::tests::{song, tiny_separator as separator};
    use crate::{AudioBuffer, SeparatorConfig};

    /// Separates `range` of `audio` step by step into `vocals`/`accompaniment` (whole-song
    /// buffers, NaN where nothing was written).
    fn separate_range(
        separator: &Separator,
        audio: &AudioBuffer,
        range: Range<usize>,
        out: &mut [Vec<Vec<f32>>; 2],
    ) -> Result<(), SeparationError> {
        let read = |r: Range<usize>| audio.channels.iter().map(|c| c[r.clone()].to_vec()).collect();
        let total = audio.n_frames();
        let mut run = RangeSeparation::new(separator, audio.sample_rate, 2, range.clone(), total, read)?;
        let mut steps = 0;
        while !run.is_done() {
            for block in run.step(read)? {
                assert!(block.start >= range.start && block.start + block.stems.vocals[0].len() <= range.end);
                for c in 0..2 {
                    let n = block.stems.vocals[c].len();
                    out[0][c][block.start..block.start + n].copy_from_slice(&block.stems.vocals[c]);
                    out[1][c][block.start..block.start + n].copy_from_slice(&block.stems.accompaniment[c]);
                }
            }
            steps += 1;
            assert!(steps < 1000, "the stretch never finishes");
        }
        assert_eq!(run.separated_until(), range.end);
        Ok(())
    }

    #[test]
    fn stretches_in_any_order_give_the_whole_songs_stems_bit_for_bit() {
        let sep = separator(SeparatorConfig {
            chunk_seconds: 1.0,
            overlap: 0.25,
            context_seconds: 0.5,
            ..Default::default()
        });
        let audio = song(22_050, 6.3, 2);
        let total = audio.n_frames();
        let whole = sep.separate(&audio, |_| {}).unwrap();
        let hop = sep.stream(22_050, 2).unwrap().hop_len();
        // A seek into the middle of a window, on a window start, the rest after it, the start
        // before it, and a one-sample stretch: what a player's seeks produce.
        let (a, b) = (2 * hop + 1234, 4 * hop);
        for order in [vec![0..total], vec![a..total, 0..a], vec![b..total, a..b, 0..a], vec![0..1, 1..a, a..total]] {
            let mut out = [vec![vec![f32::NAN; total]; 2], vec![vec![f32::NAN; total]; 2]];
            for range in &order {
                separate_range(&sep, &audio, range.clone(), &mut out).unwrap();
            }
            for c in 0..2 {
                assert!(out[0][c] == whole.vocals.channels[c], "vocals differ for stretches {order:?}");
                assert!(out[1][c] == whole.accompaniment.channels[c], "accompaniment differs for {order:?}");
            }
        }
    }

    #[test]
    fn a_stretch_outside_the_song_is_refused() {
        let sep = separator(SeparatorConfig {
            chunk_seconds: 1.0,
            overlap: 0.25,
            context_seconds: 0.0,
            ..Default::default()
        });
        let read = |_: Range<usize>| vec![Vec::new(); 2];
        for (range, total) in [(5..5, 10), (3..11, 10), (7..2, 10)] {
            let error = RangeSeparation::new(&sep, 16_000, 2, range, total, read).err().expect("refused");
            assert!(matches!(error, SeparationError::Range { .. }), "{error}");
        }
    }

    #[test]
    fn history_shorter_than_the_context_is_padded_with_silence_in_front() {
        let sep = separator(SeparatorConfig {
            chunk_seconds: 1.0,
            overlap: 0.25,
            context_seconds: 0.5,
            ..Default::default()
        });
        let mut stream = sep.stream(16_000, 1).unwrap();
        let context = stream.context_len();
        assert_eq!(context, 8000 - 8000 % 256, "whole model frames");
        stream.set_history(&[vec![1.0; 10]]).unwrap();
        assert!(stream.history[0][..context - 10].iter().all(|&x| x == 0.0));
        assert!(stream.history[0][context - 10..].iter().all(|&x| x == 1.0));
        assert!(matches!(stream.set_history(&[vec![], vec![]]), Err(SeparationError::Channels { .. })));
    }
}
