//! The network one frame at a time: each new model STFT frame (one 16 kHz hop) runs every layer
//! on that frame only, with each layer's state kept from the frames before.
//!
//! Nothing in the network needs the future (causal 3x3 convolutions, causal pooling, causal frame
//! attention), so the mask of frame t can be computed as soon as frame t arrives. What is kept:
//! - every map a causal convolution reads, as a one-frame [`Maps`] whose two border rows hold
//!   the map's two previous frames (so the batch path's convolution layout is reused as is:
//!   [`super::conv::Conv3x3::forward_frame`]); "rolling" a map moves its frames up by one;
//! - the pooling phase: U-Net level l gets a new frame every `2^l` frames (a coarse frame
//!   averages fine frames 2t - 1 and 2t), and a decoder level between its coarse frames reuses
//!   the last output of the level below, as upsampling by repetition does;
//! - each attention block's rows and keys of the stream's first frames and, as a ring, of its
//!   last ones ([`AttentionSpan`]): the stream attends over a bounded past, equal to what
//!   [`CpuPoCoNet::with_attention_span`] computes over a whole sequence (tested).
//!
//! Every buffer is allocated when the stream is built; [`NetworkStream::push`] allocates nothing
//! (it runs on a plugin's audio thread) and costs the same at any point of a song.

use super::attention::Attention;
use super::kernels::rows_times;
use super::maps::Maps;
use super::{AttentionSpan, CpuPoCoNet, consistent_masks, input_frame};
use crate::model::poconet::MODEL_BINS;
use crate::model::positional::frequency_embedding;

/// The streaming state of one [`CpuPoCoNet`] (built for inference).
#[derive(Clone, Debug)]
pub struct NetworkStream {
    /// Per level `0..=levels`: the encoder block's input (the bottleneck's at `levels`).
    inputs: Vec<Maps>,
    /// Per level `0..=levels`: the encoder (bottleneck) block's layer outputs and attention.
    encoder_layers: Vec<Vec<Maps>>,
    encoder_attention: Vec<AttentionRing>,
    /// Per level below the bottleneck: the encoder attention's output (the skip connection,
    /// also what pooling reads).
    skips: Vec<Maps>,
    /// Per level below the bottleneck: the decoder block's upsampled input, layer outputs and
    /// attention.
    ups: Vec<Maps>,
    decoder_layers: Vec<Vec<Maps>>,
    decoder_attention: Vec<AttentionRing>,
    /// Per level `0..=levels`: the latest output of the level's last block (decoder; the
    /// bottleneck at `levels`), `[bins][channels]`.
    latest: Vec<Vec<f32>>,
    embedding: Vec<Vec<f32>>,
    /// The output convolution's 4 channels per bin.
    raw: Vec<f32>,
    /// Frames pushed so far.
    frame: u64,
}

impl NetworkStream {
    /// A stream for `net` whose attention sees `span` (at full resolution).
    pub fn new(net: &CpuPoCoNet, span: AttentionSpan) -> Self {
        assert!(!net.training, "the streaming network is built for inference");
        assert!(span.recent > 0 && span.recent < usize::MAX, "the attention's past must be bounded");
        let levels = net.levels;
        let bins = |l: usize| MODEL_BINS >> l;
        let frame_map = |l: usize, channels: usize| Maps::zeros(1, 1, bins(l), channels);
        let encoder_blocks = net.encoder.iter().chain([&net.bottleneck]);
        let encoder_attentions = net.encoder_attention.iter().chain([&net.bottleneck_attention]);
        let mut inputs = vec![frame_map(0, 2 + net.positional_dims)];
        for (l, block) in net.encoder.iter().enumerate() {
            inputs.push(frame_map(l + 1, block.channels));
        }
        let layers =
            |l: usize, block: &super::Dense| (0..block.layers.len()).map(|_| frame_map(l, block.channels)).collect();
        // The decoder's blocks run from the deepest level up; the stream keeps them by level.
        let decoder_levels: Vec<&super::Dense> = net.decoder.iter().rev().collect();
        let decoder_attention: Vec<&Attention> = net.decoder_attention.iter().rev().collect();
        Self {
            encoder_layers: encoder_blocks.enumerate().map(|(l, block)| layers(l, block)).collect(),
            encoder_attention: encoder_attentions
                .enumerate()
                .map(|(l, a)| AttentionRing::new(a, bins(l), span.at_level(l)))
                .collect(),
            skips: net.encoder.iter().enumerate().map(|(l, block)| frame_map(l, block.channels)).collect(),
            ups: (0..levels).map(|l| frame_map(l, decoder_levels[l].layers[0].conv.parts[0])).collect(),
            decoder_layers: decoder_levels.iter().enumerate().map(|(l, block)| layers(l, block)).collect(),
            decoder_attention: decoder_attention
                .iter()
                .enumerate()
                .map(|(l, a)| AttentionRing::new(a, bins(l), span.at_level(l)))
                .collect(),
            latest: (0..=levels)
                .map(|l| {
                    let channels = if l == levels { net.bottleneck.channels } else { decoder_levels[l].channels };
                    vec![0.0; bins(l) * channels]
                })
                .collect(),
            inputs,
            embedding: frequency_embedding(MODEL_BINS, net.positional_dims),
            raw: vec![0.0; MODEL_BINS * 4],
            frame: 0,
        }
    }

    /// Back to the state before the first frame (silence before it), allocating nothing.
    pub fn reset(&mut self) {
        let maps = self.inputs.iter_mut().chain(&mut self.skips).chain(&mut self.ups);
        let layers = self.encoder_layers.iter_mut().chain(&mut self.decoder_layers).flatten();
        for map in maps.chain(layers) {
            map.data.fill(0.0);
        }
        for ring in self.encoder_attention.iter_mut().chain(&mut self.decoder_attention) {
            ring.reset();
        }
        self.latest.iter_mut().for_each(|v| v.fill(0.0));
        self.frame = 0;
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.frame
    }

    /// Runs the network on the next frame and writes its vocal mask.
    ///
    /// `frame`: the model STFT frame `[513][2]` (real, imaginary); `rms`: the level it is
    /// divided by (the batch path's per-window RMS; a live caller's running estimate);
    /// `mask`: the complex vocal mask `[513][2]`, as [`CpuPoCoNet::vocal_mask`] gives per frame.
    pub fn push(&mut self, net: &CpuPoCoNet, frame: &[f32], rms: f32, mask: &mut [f32]) {
        let n_bins = MODEL_BINS + 1;
        assert_eq!(frame.len(), n_bins * 2, "a frame is [513][2]");
        assert_eq!(mask.len(), n_bins * 2, "a mask frame is [513][2]");
        let levels = net.levels;
        let t = self.frame;
        roll(&mut self.inputs[0]);
        input_frame(self.inputs[0].frame_mut(0, 0), frame, rms, &self.embedding);
        // Down the encoder while the level below completed a coarse frame.
        let mut top = levels;
        for l in 0..levels {
            self.encode(net, l);
            if (t >> l) % 2 == 1 {
                top = l;
                break;
            }
            let (skips, inputs) = (&self.skips[l], &mut self.inputs[l + 1]);
            roll(inputs);
            downsample_frame(skips, inputs);
        }
        if top == levels {
            self.encode(net, levels);
        }
        // Up the decoder from the deepest level that has a new frame.
        if levels > 0 {
            for l in (0..=top.min(levels - 1)).rev() {
                self.decode(net, l);
            }
        }
        // The output convolution and mixture consistency.
        let c = net.decoder.last().map_or(net.bottleneck.channels, |d| d.channels);
        rows_times(&mut self.raw, 4, &self.latest[0], c, MODEL_BINS, c, &net.output, 4, false);
        for (f, raw) in self.raw.chunks_exact_mut(4).enumerate() {
            for (v, b) in raw.iter_mut().zip(&net.output_bias) {
                *v += b;
            }
            let [vocals, _] = consistent_masks(raw);
            mask[2 * f..2 * f + 2].copy_from_slice(&vocals);
        }
        // The Nyquist bin has no estimate: both masks are 0.5.
        mask[2 * MODEL_BINS] = 0.5;
        mask[2 * MODEL_BINS + 1] = 0.0;
        self.frame += 1;
    }

    /// The encoder block of level `l` (the bottleneck at `levels`) on its input's new frame.
    fn encode(&mut self, net: &CpuPoCoNet, l: usize) {
        let (block, attention) = if l == net.levels {
            (&net.bottleneck, &net.bottleneck_attention)
        } else {
            (&net.encoder[l], &net.encoder_attention[l])
        };
        let outputs = &mut self.encoder_layers[l];
        outputs.iter_mut().for_each(roll);
        block.forward_frame(&[&self.inputs[l]], outputs);
        let x = outputs.last().expect("a dense block has layers").frame(0, 0);
        if l == net.levels {
            self.encoder_attention[l].step(attention, x, &mut self.latest[l]);
        } else {
            roll(&mut self.skips[l]);
            self.encoder_attention[l].step(attention, x, self.skips[l].frame_mut(0, 0));
        }
    }

    /// The decoder block of level `l` on the upsampled latest output of level `l + 1` and the
    /// skip's new frame.
    fn decode(&mut self, net: &CpuPoCoNet, l: usize) {
        let d = net.levels - 1 - l;
        let (block, attention) = (&net.decoder[d], &net.decoder_attention[d]);
        roll(&mut self.ups[l]);
        upsample_frame(&self.latest[l + 1], &mut self.ups[l]);
        let outputs = &mut self.decoder_layers[l];
        outputs.iter_mut().for_each(roll);
        block.forward_frame(&[&self.ups[l], &self.skips[l]], outputs);
        let x = outputs.last().expect("a dense block has layers").frame(0, 0);
        self.decoder_attention[l].step(attention, x, &mut self.latest[l]);
    }
}

/// Moves a one-frame map's frames up by one (frame t - 1 becomes t - 2, t becomes t - 1); the
/// current frame keeps its old values until it is written.
fn roll(map: &mut Maps) {
    let row = map.width() * map.channels;
    map.data.copy_within(row..3 * row, 0);
}

/// The coarse frame of `fine`'s current frame (which must be even-numbered): fine frames t - 1
/// and t, bins in pairs, averaged (as [`super::pool::downsample`]).
fn downsample_frame(fine: &Maps, coarse: &mut Maps) {
    let c = fine.channels;
    let current = fine.pixel(0, 0, 0) * c;
    let previous = current - fine.width() * c;
    for (f, pixel) in coarse.frame_mut(0, 0).chunks_exact_mut(c).enumerate() {
        let (p, q) = (previous + 2 * f * c, current + 2 * f * c);
        for (i, d) in pixel.iter_mut().enumerate() {
            *d = (fine.data[p + i] + fine.data[p + c + i] + fine.data[q + i] + fine.data[q + c + i]) / 4.0;
        }
    }
}

/// A coarse frame (`[bins][channels]`) repeated onto twice the bins, into `fine`'s current frame.
fn upsample_frame(coarse: &[f32], fine: &mut Maps) {
    let c = fine.channels;
    for (pair, pixel) in fine.frame_mut(0, 0).chunks_exact_mut(2 * c).zip(coarse.chunks_exact(c)) {
        pair[..c].copy_from_slice(pixel);
        pair[c..].copy_from_slice(pixel);
    }
}

/// One attention block's state: the rows and keys of the stream's first `span.first` frames,
/// then of its last `span.recent` frames as a ring.
#[derive(Clone, Debug)]
struct AttentionRing {
    bins: usize,
    span: AttentionSpan,
    /// `[first + recent][a * bins]` and `[first + recent][key_dim]`: slots `0..held` hold
    /// frames (the first ones fill up first); `next` is the ring slot the next recent frame
    /// overwrites.
    rows: Vec<f32>,
    keys: Vec<f32>,
    held: usize,
    next: usize,
    /// Scratch: the reduced frame `[bins][a]`, the query, the weights, the attended row and
    /// its pixels.
    reduced: Vec<f32>,
    query: Vec<f32>,
    weights: Vec<f32>,
    attended: Vec<f32>,
    attended_pixels: Vec<f32>,
}

impl AttentionRing {
    fn new(block: &Attention, bins: usize, span: AttentionSpan) -> Self {
        let (a, kd) = (block.attention_channels, block.key_dim);
        let slots = span.first + span.recent;
        Self {
            bins,
            span,
            rows: vec![0.0; slots * a * bins],
            keys: vec![0.0; slots * kd],
            held: 0,
            next: 0,
            reduced: vec![0.0; bins * a],
            query: vec![0.0; kd],
            weights: vec![0.0; slots],
            attended: vec![0.0; a * bins],
            attended_pixels: vec![0.0; bins * a],
        }
    }

    fn reset(&mut self) {
        (self.held, self.next) = (0, 0);
    }

    /// The slot the new frame goes into, and the count of slots holding frames after it.
    fn take_slot(&mut self) -> usize {
        let (first, recent) = (self.span.first, self.span.recent);
        if self.held < first {
            self.held += 1;
            return self.held - 1;
        }
        let slot = first + self.next;
        self.next = (self.next + 1) % recent;
        self.held = (self.held + 1).min(first + recent);
        slot
    }

    /// The block on the new frame `x` (`[bins][channels]`), output into `out` (same layout).
    fn step(&mut self, block: &Attention, x: &[f32], out: &mut [f32]) {
        let (c, a, kd, bins) = (block.channels, block.attention_channels, block.key_dim, self.bins);
        let row_len = a * bins;
        rows_times(&mut self.reduced, a, x, c, bins, c, &block.reduce, a, false);
        let slot = self.take_slot();
        let row = &mut self.rows[slot * row_len..][..row_len];
        for (f, pixel) in self.reduced.chunks_exact(a).enumerate() {
            for (ai, v) in pixel.iter().enumerate() {
                row[ai * bins + f] = v + block.reduce_bias[ai];
            }
        }
        let key = &mut self.keys[slot * kd..][..kd];
        for (out, w, bias) in
            [(&mut *key, &block.key, &block.key_bias), (&mut self.query[..], &block.query, &block.query_bias)]
        {
            out.copy_from_slice(bias);
            rows_times(out, kd, row, row_len, 1, row_len, w, kd, true);
        }
        // Softmax over the frames held (their order does not matter).
        let norm = (kd as f32).sqrt();
        let held = self.held;
        let weights = &mut self.weights[..held];
        for (w, k) in weights.iter_mut().zip(self.keys.chunks_exact(kd)) {
            *w = self.query.iter().zip(k).map(|(q, k)| q * k).sum::<f32>() / norm;
        }
        let max = weights.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
        let mut sum = 0.0f32;
        for w in weights.iter_mut() {
            *w = (*w - max).exp();
            sum += *w;
        }
        for w in weights.iter_mut() {
            *w /= sum;
        }
        let rows = &self.rows[..held * row_len];
        rows_times(&mut self.attended, row_len, weights, held, 1, held, rows, row_len, false);
        for (f, pixel) in self.attended_pixels.chunks_exact_mut(a).enumerate() {
            for (ai, v) in pixel.iter_mut().enumerate() {
                *v = self.attended[ai * bins + f];
            }
        }
        rows_times(out, c, x, c, bins, c, &block.mix_x, c, false);
        rows_times(out, c, &self.attended_pixels, a, bins, a, &block.mix_a, c, true);
        for pixel in out.chunks_exact_mut(c) {
            for (v, b) in pixel.iter_mut().zip(&block.mix_bias) {
                *v += b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::random_model;
    use super::*;
    use crate::model::PoCoNetConfig;
    use crate::model::cpu::input_rms;
    use burn::tensor::{Device, Distribution, Tensor};

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// Frame by frame, the stream gives the masks the whole-sequence network gives with the same
    /// attention span: recent pasts shorter than the sequence (the span matters), with and
    /// without the first frames kept, and one longer (the plain causal network), at several
    /// depths, frame counts that are not multiples of the pooling, from the first frame on.
    #[test]
    fn the_stream_equals_the_whole_sequence_with_the_same_attention_past() {
        let device = Device::flex();
        let n_bins = MODEL_BINS + 1;
        let span = |first, recent| AttentionSpan { first, recent };
        for (config, frames, span) in [
            (PoCoNetConfig::new().with_levels(3).with_base_channels(6).with_max_channels(12), 45, span(0, 10)),
            (PoCoNetConfig::new().with_levels(3).with_base_channels(6).with_max_channels(12), 45, span(5, 9)),
            (PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8), 21, span(0, 64)),
            (PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(4), 9, span(2, 3)),
        ] {
            let model = random_model(config, &device);
            let mixture = Tensor::<4>::random([1, frames, n_bins, 2], Distribution::Normal(0.0, 0.3), &device);
            let flat: Vec<f32> = mixture.into_data().try_to_vec::<f32>().unwrap();
            let net = CpuPoCoNet::new(&model).with_attention_span(span);
            let expected = net.vocal_mask(&flat, frames);
            let rms = input_rms(flat.chunks_exact(n_bins * 2));
            let mut stream = NetworkStream::new(&net, span);
            let mut got = vec![0.0f32; frames * n_bins * 2];
            for (frame, mask) in flat.chunks_exact(n_bins * 2).zip(got.chunks_exact_mut(n_bins * 2)) {
                stream.push(&net, frame, rms, mask);
            }
            assert_eq!(stream.frames(), frames as u64);
            let diff = max_diff(&got, &expected);
            assert!(diff < 1e-4, "{frames} frames, {span:?}: the stream differs by {diff}");
            let spread = expected.iter().map(|v| (v - 0.5).abs()).fold(0.0f32, f32::max);
            assert!(spread > 1e-2, "the masks are trivial ({spread}), the test means nothing");
            if span.first + span.recent < frames {
                // The span is real: the stream is far closer to the network with the same span
                // than to the unbounded one (random weights give attention a small effect, so
                // the check is relative to the stream's own difference).
                let unbounded = CpuPoCoNet::new(&model).vocal_mask(&flat, frames);
                let band = max_diff(&unbounded, &expected);
                assert!(band > 1e-5 && band > 10.0 * diff, "{span:?} of {frames} frames: {band} vs {diff}");
            }
        }
    }
}
