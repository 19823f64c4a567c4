//! Live separation with a fixed latency under 100 ms: every input sample in, one sample of each
//! stem out, [`LiveSeparator::latency`] samples later.
//!
//! The same path as the windowed [`crate::Separator`], one frame at a time:
//! - the input's mono mix is resampled to 16 kHz (rubato's sinc resampler, fed
//!   [`RESAMPLER_CHUNK`] samples at a time) and cut into the model's STFT frames (1024 samples,
//!   hop 256; before the stream's start is silence, where the windowed path reflects);
//! - each frame runs the network once ([`NetworkStream`]: per-layer state, attention over the
//!   last [`LiveConfig::attention_seconds`]), scaled by the RMS of that same past (the windowed
//!   path scales by its window's RMS: this is the live mode's one approximation of the input the
//!   model was trained on);
//! - each channel's own STFT at the input rate (64 ms frames, hop a quarter) gets the mask of
//!   the model frame nearest in time (at 44.1 kHz the channel hop of 706 samples is not a whole
//!   number of model hops, so "nearest" moves by up to half a model hop; at 16 and 48 kHz the
//!   frames coincide), interpolated in frequency as the windowed path does, and is resynthesised
//!   by overlap-add;
//! - the accompaniment is the delayed input minus the vocals, so the stems re-sum to the input.
//!
//! The latency is the channel STFT's frame (a sample is final once every frame overlapping it
//! is done) plus what the model frame may wait for (the resampler's delay, its chunk and half its
//! filter, half a model hop when the frames do not coincide) plus four samples for rounding; a sample that is not final
//! in time would come out as silence in the vocals, which the tests check never happens.
//!
//! Everything is allocated in [`LiveSeparator::new`]; [`LiveSeparator::process`] allocates
//! nothing and costs the same at any point of a song (a plugin's audio thread runs it).

use crate::audio::AudioBuffer;
use crate::dsp::resample::{SINC_LEN, streaming_resampler};
use crate::dsp::stft::{FrameBuffers, Stft};
use crate::model::PoCoNet;
use crate::model::cpu::{AttentionSpan, CpuPoCoNet, NetworkStream, frame_energy, rms_of};
use crate::separator::{
    MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, MaskMode, SeparationError, Stems, channel_n_fft, mask_frame_onto,
};
use crate::{HOP, MODEL_SAMPLE_RATE, N_FFT};
use realfft::num_complex::Complex32;
use rubato::{Resampler, SincFixedIn};

/// Input samples the resampler takes at a time (they add to the latency).
pub const RESAMPLER_CHUNK: usize = 64;
/// Model masks kept for the channel frames that still need them.
const MASK_RING: usize = 8;
/// Input samples are clamped to this (real audio is within about 1; the clamp only keeps absurd
/// input from overflowing the STFT into the network's state).
const MAX_SAMPLE: f32 = 1e4;
/// Bins of the model's STFT.
const MODEL_STFT_BINS: usize = N_FFT / 2 + 1;

#[derive(Clone, Debug, PartialEq)]
pub struct LiveConfig {
    /// Seconds of recent past the attention sees, and the input level is measured over.
    pub attention_seconds: f32,
    /// Seconds at the stream's start that every frame keeps attending to ([`AttentionSpan`]:
    /// the model learned to lean on its window's first frames).
    pub first_seconds: f32,
    /// How the network's vocal mask is applied, as in the windowed separator.
    pub mask: MaskMode,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self { attention_seconds: 2.0, first_seconds: 0.064, mask: MaskMode::default() }
    }
}

/// A streaming separator for one sample rate and channel count.
pub struct LiveSeparator {
    net: CpuPoCoNet,
    stream: NetworkStream,
    rate: u32,
    channels: usize,
    latency: usize,
    /// Input samples received.
    received: u64,
    /// Per channel, the last `ring_len` input samples (the channel frames read them, and the
    /// accompaniment is the delayed input).
    history: Vec<Vec<f32>>,
    ring_len: usize,
    /// None at 16 kHz.
    resampler: Option<SincFixedIn<f32>>,
    chunk: Vec<f32>,
    chunk_len: usize,
    resampled: Vec<Vec<f32>>,
    /// Resampler output still to drop (its delay), so 16 kHz sample 0 is input sample 0.
    skip16: usize,
    /// The last `N_FFT` samples at 16 kHz, and how many there have been.
    model_ring: Vec<f32>,
    count16: u64,
    model_stft: Stft,
    model_buffers: FrameBuffers,
    model_samples: Vec<f32>,
    /// The model frame `[513][2]` and its mask.
    model_frame: Vec<f32>,
    model_mask: Vec<f32>,
    /// The energies of the last frames (over the attention's past), a ring.
    energies: Vec<f64>,
    /// The latest model masks `[MASK_RING][513]` and which frame each slot holds.
    masks: Vec<Complex32>,
    mask_frames: [Option<u64>; MASK_RING],
    channel_stft: Stft,
    channel_buffers: FrameBuffers,
    channel_samples: Vec<f32>,
    channel_mask: Vec<Complex32>,
    mask_mode: MaskMode,
    hop: usize,
    window_norm: f32,
    /// The next channel frame to compute.
    next_frame: u64,
    /// Per channel, the vocals' overlap-add (`ring_len` samples, a ring); samples below
    /// `final_count` are complete.
    ola: Vec<Vec<f32>>,
    final_count: u64,
    /// Output samples whose vocals were not complete in time (always 0; tested).
    late: u64,
}

impl LiveSeparator {
    pub fn new(model: &PoCoNet, rate: u32, channels: usize, config: &LiveConfig) -> Result<Self, SeparationError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
            return Err(SeparationError::SampleRate(rate));
        }
        if channels == 0 {
            return Err(SeparationError::NoChannels);
        }
        if !(config.attention_seconds.is_finite() && config.attention_seconds > 0.0 && config.attention_seconds <= 60.0)
        {
            return Err(SeparationError::Config(format!(
                "attention_seconds must be in (0, 60], got {}",
                config.attention_seconds
            )));
        }
        if !(config.first_seconds.is_finite() && (0.0..=10.0).contains(&config.first_seconds)) {
            return Err(SeparationError::Config(format!(
                "first_seconds must be in [0, 10], got {}",
                config.first_seconds
            )));
        }
        let frames = |seconds: f32| (seconds as f64 * MODEL_SAMPLE_RATE as f64 / HOP as f64).round() as usize;
        let past = frames(config.attention_seconds).max(1);
        let span = AttentionSpan { first: frames(config.first_seconds), recent: past };
        let net = CpuPoCoNet::new(model);
        let stream = NetworkStream::new(&net, span);
        let resampler = (rate != MODEL_SAMPLE_RATE)
            .then(|| streaming_resampler(rate, MODEL_SAMPLE_RATE, RESAMPLER_CHUNK))
            .transpose()?;
        let n_fft = channel_n_fft(rate);
        let hop = n_fft / 4;
        let frames_coincide = (hop as u64 * MODEL_SAMPLE_RATE as u64).is_multiple_of(HOP as u64 * rate as u64);
        let rounding = if frames_coincide { 0 } else { (HOP / 2 * rate as usize).div_ceil(MODEL_SAMPLE_RATE as usize) };
        let skip16 = resampler.as_ref().map_or(0, |r| r.output_delay());
        let resampler_wait = match &resampler {
            // The filter's centre (its delay), the chunk it waits to fill, and the half filter it
            // reads past a chunk's end (the chunk's last outputs come with the next chunk).
            Some(_) => (skip16 * rate as usize).div_ceil(MODEL_SAMPLE_RATE as usize) + RESAMPLER_CHUNK + SINC_LEN / 2,
            None => 0,
        };
        let latency = n_fft + rounding + resampler_wait + 4;
        let ring_len = n_fft + latency + hop;
        let model_stft = Stft::new(N_FFT, HOP);
        let channel_stft = Stft::new(n_fft, hop);
        Ok(Self {
            stream,
            net,
            rate,
            channels,
            latency,
            received: 0,
            history: vec![vec![0.0; ring_len]; channels],
            ring_len,
            resampled: resampler.as_ref().map_or_else(Vec::new, |r| r.output_buffer_allocate(true)),
            resampler,
            chunk: vec![0.0; RESAMPLER_CHUNK],
            chunk_len: 0,
            skip16,
            model_ring: vec![0.0; N_FFT],
            count16: 0,
            model_buffers: model_stft.frame_buffers(),
            model_stft,
            model_samples: vec![0.0; N_FFT],
            model_frame: vec![0.0; MODEL_STFT_BINS * 2],
            model_mask: vec![0.0; MODEL_STFT_BINS * 2],
            energies: vec![0.0; past],
            masks: vec![Complex32::new(0.0, 0.0); MASK_RING * MODEL_STFT_BINS],
            mask_frames: [None; MASK_RING],
            channel_buffers: channel_stft.frame_buffers(),
            window_norm: channel_stft.summed_squared_window(0),
            channel_samples: vec![0.0; n_fft],
            channel_mask: vec![Complex32::new(0.0, 0.0); channel_stft.n_bins()],
            channel_stft,
            mask_mode: config.mask,
            hop,
            next_frame: 0,
            ola: vec![vec![0.0; ring_len]; channels],
            final_count: 0,
            late: 0,
        })
    }

    /// Samples from an input sample to the stems' sample made from it (what a plugin reports to
    /// its host).
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// [`Self::latency`] in seconds.
    pub fn latency_seconds(&self) -> f64 {
        self.latency as f64 / self.rate as f64
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Output samples whose vocals were not complete in time (came out as silence): 0 unless the
    /// latency were computed wrong.
    pub fn late_samples(&self) -> u64 {
        self.late
    }

    /// Back to the state before the first sample (a host's transport restarting), allocating
    /// nothing.
    pub fn reset(&mut self) {
        self.stream.reset();
        if let Some(r) = &mut self.resampler {
            r.reset();
        }
        for v in self.history.iter_mut().chain(&mut self.ola) {
            v.fill(0.0);
        }
        self.model_ring.fill(0.0);
        (self.received, self.count16, self.chunk_len) = (0, 0, 0);
        self.skip16 = self.resampler.as_ref().map_or(0, |r| r.output_delay());
        self.mask_frames = [None; MASK_RING];
        (self.next_frame, self.final_count, self.late) = (0, 0, 0);
    }

    /// A whole recording through the live path, as a host would play it (blocks of 512), with
    /// the stems aligned to it (the latency removed): what live mode costs against the windowed
    /// separator, measured offline. Starts from [`Self::reset`].
    pub fn separate(&mut self, audio: &AudioBuffer) -> Result<Stems, SeparationError> {
        const BLOCK: usize = 512;
        if audio.sample_rate != self.rate {
            return Err(SeparationError::Config(format!(
                "the live separator runs at {} Hz, the audio is {} Hz",
                self.rate, audio.sample_rate
            )));
        }
        self.reset();
        let n = audio.n_frames();
        let total = n + self.latency;
        let mut stems =
            [vec![Vec::with_capacity(total); self.channels], vec![Vec::with_capacity(total); self.channels]];
        let mut input = vec![vec![0.0f32; BLOCK]; self.channels];
        let mut outputs = [vec![vec![0.0f32; BLOCK]; self.channels], vec![vec![0.0f32; BLOCK]; self.channels]];
        for start in (0..total).step_by(BLOCK) {
            let len = BLOCK.min(total - start);
            for (dst, src) in input.iter_mut().zip(&audio.channels) {
                for (i, x) in dst[..len].iter_mut().enumerate() {
                    *x = src.get(start + i).copied().unwrap_or(0.0);
                }
            }
            let ins: Vec<&[f32]> = input.iter().map(|c| &c[..len]).collect();
            let [vocals, accompaniment] = &mut outputs;
            let mut v: Vec<&mut [f32]> = vocals.iter_mut().map(|c| &mut c[..len]).collect();
            let mut a: Vec<&mut [f32]> = accompaniment.iter_mut().map(|c| &mut c[..len]).collect();
            self.process(&ins, &mut v, &mut a)?;
            for (stem, out) in stems.iter_mut().zip(&outputs) {
                for (dst, src) in stem.iter_mut().zip(out) {
                    dst.extend_from_slice(&src[..len]);
                }
            }
        }
        let [vocals, accompaniment] = stems.map(|channels| {
            AudioBuffer::new(self.rate, channels.into_iter().map(|c| c[self.latency..].to_vec()).collect())
        });
        Ok(Stems { vocals, accompaniment })
    }

    /// Separates one block: `input`, `vocals` and `accompaniment` hold one slice per channel, all
    /// of one length. The stems lag the input by [`Self::latency`] samples (silence before).
    pub fn process(
        &mut self,
        input: &[&[f32]],
        vocals: &mut [&mut [f32]],
        accompaniment: &mut [&mut [f32]],
    ) -> Result<(), SeparationError> {
        for got in [input.len(), vocals.len(), accompaniment.len()] {
            if got != self.channels {
                return Err(SeparationError::Channels { expected: self.channels, got });
            }
        }
        let n = input[0].len();
        let lengths = input.iter().map(|c| c.len()).chain(vocals.iter().map(|c| c.len()));
        if lengths.chain(accompaniment.iter().map(|c| c.len())).any(|len| len != n) {
            return Err(SeparationError::Config("input and stem blocks differ in length".into()));
        }
        for s in 0..n {
            self.take_sample(|c| input[c][s]);
            let out = self.received as i64 - 1 - self.latency as i64;
            let done = out >= 0 && (out as u64) < self.final_count;
            if out >= 0 && !done {
                self.late += 1;
            }
            for c in 0..self.channels {
                let (v, a) = if out < 0 {
                    (0.0, 0.0)
                } else {
                    let at = (out as u64 % self.ring_len as u64) as usize;
                    let x = self.history[c][at];
                    // Taken either way: a slot left behind would come out again a ring later.
                    let v = std::mem::take(&mut self.ola[c][at]);
                    let v = if done { v } else { 0.0 };
                    (v, x - v)
                };
                vocals[c][s] = v;
                accompaniment[c][s] = a;
            }
        }
        Ok(())
    }

    /// One input sample per channel (`sample(c)`): stored, mixed down, resampled, and every
    /// model and channel frame it completes computed.
    fn take_sample(&mut self, sample: impl Fn(usize) -> f32) {
        let at = (self.received % self.ring_len as u64) as usize;
        let mut mono = 0.0;
        for (c, history) in self.history.iter_mut().enumerate() {
            // A NaN, or a sample so large that the STFT overflows, would stay in the network's
            // attention for as long as its frame is kept: NaN is taken as silence and samples are
            // clamped far above any real signal's level.
            let x = Some(sample(c)).filter(|x| x.is_finite()).map_or(0.0, |x| x.clamp(-MAX_SAMPLE, MAX_SAMPLE));
            history[at] = x;
            mono += x;
        }
        mono /= self.channels as f32;
        self.received += 1;
        match &mut self.resampler {
            None => self.push16(mono),
            Some(resampler) => {
                self.chunk[self.chunk_len] = mono;
                self.chunk_len += 1;
                if self.chunk_len == RESAMPLER_CHUNK {
                    self.chunk_len = 0;
                    let (_, written) = resampler
                        .process_into_buffer(&[&self.chunk[..]], &mut self.resampled, None)
                        .expect("the buffers were sized by the resampler");
                    for i in 0..written {
                        let y = self.resampled[0][i];
                        if self.skip16 > 0 {
                            self.skip16 -= 1;
                        } else {
                            self.push16(y);
                        }
                    }
                }
            }
        }
        while self.channel_frame_ready() {
            self.channel_frame();
        }
    }

    /// One 16 kHz sample; runs the network when it completes a model frame.
    fn push16(&mut self, y: f32) {
        self.model_ring[(self.count16 % N_FFT as u64) as usize] = y;
        self.count16 += 1;
        let half = (N_FFT / 2) as u64;
        if self.count16 >= half && (self.count16 - half).is_multiple_of(HOP as u64) {
            self.model_frame_done((self.count16 - half) / HOP as u64);
        }
    }

    /// Model frame `j` (16 kHz samples 256 j - 512 .. 256 j + 512, the last N_FFT) is complete:
    /// its mask through the network.
    fn model_frame_done(&mut self, j: u64) {
        let first = self.count16 as i64 - N_FFT as i64;
        for (k, x) in self.model_samples.iter_mut().enumerate() {
            let i = first + k as i64;
            *x = if i < 0 { 0.0 } else { self.model_ring[(i as u64 % N_FFT as u64) as usize] };
        }
        let spectrum = self.model_stft.frame_forward(&self.model_samples, &mut self.model_buffers);
        for (dst, z) in self.model_frame.chunks_exact_mut(2).zip(spectrum.iter()) {
            dst.copy_from_slice(&[z.re, z.im]);
        }
        let past = self.energies.len();
        self.energies[(j % past as u64) as usize] = frame_energy(&self.model_frame);
        let filled = (j as usize + 1).min(past);
        let rms = rms_of(self.energies[..filled].iter().sum(), filled);
        self.stream.push(&self.net, &self.model_frame, rms, &mut self.model_mask);
        let slot = (j % MASK_RING as u64) as usize;
        for (m, v) in
            self.masks[slot * MODEL_STFT_BINS..][..MODEL_STFT_BINS].iter_mut().zip(self.model_mask.chunks_exact(2))
        {
            *m = Complex32::new(v[0], v[1]);
        }
        self.mask_frames[slot] = Some(j);
    }

    /// The last model frame computed (its mask is in the ring), if any.
    fn latest_model_frame(&self) -> Option<u64> {
        let half = (N_FFT / 2) as u64;
        (self.count16 >= half).then(|| (self.count16 - half) / HOP as u64)
    }

    /// The model frame whose centre is nearest channel frame `i`'s.
    fn model_frame_of(&self, i: u64) -> u64 {
        let (rate, model_hop) = (self.rate as u64, HOP as u64);
        (2 * i * self.hop as u64 * MODEL_SAMPLE_RATE as u64 + rate * model_hop) / (2 * rate * model_hop)
    }

    fn channel_frame_ready(&self) -> bool {
        let i = self.next_frame;
        self.received >= (i + 2) * self.hop as u64
            && self.latest_model_frame().is_some_and(|j| j >= self.model_frame_of(i))
    }

    /// Channel frame `next_frame` (input samples hop * (i - 2) .. hop * (i + 2)): masked and
    /// overlap-added into the vocals.
    fn channel_frame(&mut self) {
        let i = self.next_frame;
        let j = self.model_frame_of(i);
        let slot = (j % MASK_RING as u64) as usize;
        debug_assert_eq!(self.mask_frames[slot], Some(j), "channel frame {i} lost its model frame");
        let row = &self.masks[slot * MODEL_STFT_BINS..][..MODEL_STFT_BINS];
        mask_frame_onto(row, &mut self.channel_mask, self.channel_stft.n_fft(), self.rate);
        self.mask_mode.apply(&mut self.channel_mask);
        let first = i as i64 * self.hop as i64 - 2 * self.hop as i64;
        let ring = self.ring_len as u64;
        for c in 0..self.channels {
            for (k, x) in self.channel_samples.iter_mut().enumerate() {
                let at = first + k as i64;
                *x = if at < 0 { 0.0 } else { self.history[c][(at as u64 % ring) as usize] };
            }
            let spectrum = self.channel_stft.frame_forward(&self.channel_samples, &mut self.channel_buffers);
            for (z, m) in spectrum.iter_mut().zip(&self.channel_mask) {
                *z *= m;
            }
            let frame = self.channel_stft.frame_inverse(&mut self.channel_buffers);
            for (k, v) in frame.iter().enumerate() {
                let at = first + k as i64;
                if at >= 0 {
                    self.ola[c][(at as u64 % ring) as usize] += v / self.window_norm;
                }
            }
        }
        self.next_frame += 1;
        // The next frame starts at hop * (i - 1): everything before it is complete.
        self.final_count = (first + self.hop as i64).max(0) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose vocal mask is `vocal_mask` (real) at every bin.
    fn constant_mask_model(vocal_mask: f32) -> PoCoNet {
        crate::separator::tests::constant_mask_model(Complex32::new(vocal_mask, 0.0))
    }

    fn song(rate: u32, seconds: f32, channels: usize) -> Vec<Vec<f32>> {
        let n = (rate as f32 * seconds) as usize;
        (0..channels)
            .map(|c| {
                (0..n)
                    .map(|i| {
                        let t = i as f32 / rate as f32;
                        let f = 220.0 * (c + 1) as f32;
                        0.3 * (2.0 * std::f32::consts::PI * f * t).sin()
                            + 0.1 * (2.0 * std::f32::consts::PI * 3100.0 * t).sin()
                    })
                    .collect()
            })
            .collect()
    }

    /// Runs `live` over `input` in blocks of `block` samples; returns (vocals, accompaniment).
    fn run(live: &mut LiveSeparator, input: &[Vec<f32>], block: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let (n, channels) = (input[0].len(), input.len());
        let (mut vocals, mut accompaniment) = (vec![vec![0.0; n]; channels], vec![vec![0.0; n]; channels]);
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let ins: Vec<&[f32]> = input.iter().map(|c| &c[start..end]).collect();
            let mut v: Vec<&mut [f32]> = vocals.iter_mut().map(|c| &mut c[start..end]).collect();
            let mut a: Vec<&mut [f32]> = accompaniment.iter_mut().map(|c| &mut c[start..end]).collect();
            live.process(&ins, &mut v, &mut a).unwrap();
            start = end;
        }
        (vocals, accompaniment)
    }

    /// The live path applies its configured mask mode, as the windowed separator does.
    #[test]
    fn the_live_separator_applies_its_mask_mode() {
        let model = constant_mask_model(1.5);
        for (mode, gain) in [(MaskMode::Complex, 1.5), (MaskMode::MagnitudeRatio, 0.75)] {
            let rate = 48_000;
            let mut live =
                LiveSeparator::new(&model, rate, 1, &LiveConfig { mask: mode, ..Default::default() }).unwrap();
            let latency = live.latency();
            let input = song(rate, 1.0, 1);
            let (vocals, _) = run(&mut live, &input, 512);
            let warm = latency + 2 * channel_n_fft(rate);
            let err =
                (warm..input[0].len()).map(|n| (vocals[0][n] - gain * input[0][n - latency]).abs()).fold(0.0, f32::max);
            assert!(err < 2e-4, "{mode:?}: vocals differ from {gain} x the delayed input by {err}");
        }
    }

    /// With a mask of 1 everywhere the vocals are the input itself, `latency()` samples late:
    /// the reported latency is the real one, to the sample, at every rate and block size, and no
    /// sample is ever late.
    #[test]
    fn the_latency_is_exact_and_under_100_ms() {
        let model = constant_mask_model(1.0);
        for (rate, channels, block) in [
            (48_000, 2, 512),
            (44_100, 2, 1),
            (44_100, 1, 997),
            (16_000, 1, 64),
            (22_050, 2, 300),
            (96_000, 2, 480),
            (192_000, 1, 2048),
            (11_025, 1, 333),
            (8_000, 1, 100),
        ] {
            let mut live = LiveSeparator::new(&model, rate, channels, &LiveConfig::default()).unwrap();
            let latency = live.latency();
            if rate >= 44_100 {
                assert!(live.latency_seconds() < 0.1, "{rate} Hz: {latency} samples");
            }
            let input = song(rate, 1.5, channels);
            let (vocals, accompaniment) = run(&mut live, &input, block);
            assert_eq!(live.late_samples(), 0, "{rate} Hz, blocks of {block}: samples came out late");
            for c in 0..channels {
                assert!(vocals[c][..latency].iter().all(|v| *v == 0.0), "output before the latency");
                // Past the first frames (which read silence before the start), vocals = input.
                let warm = latency + 2 * channel_n_fft(rate);
                let err =
                    (warm..input[c].len()).map(|n| (vocals[c][n] - input[c][n - latency]).abs()).fold(0.0, f32::max);
                assert!(err < 2e-4, "{rate} Hz, channel {c}: vocals differ from the delayed input by {err}");
                let leak = accompaniment[c][warm..].iter().map(|a| a.abs()).fold(0.0, f32::max);
                assert!(leak < 2e-4, "{rate} Hz: the accompaniment is {leak}, not silence");
            }
        }
    }

    /// Whatever the masks, vocals + accompaniment = the input, delayed; a mask of 0 silences the
    /// vocals; reset starts over as new.
    #[test]
    fn stems_re_sum_to_the_delayed_input_and_reset_starts_over() {
        let input = song(44_100, 1.0, 2);
        for mask in [0.0, 0.3] {
            let model = constant_mask_model(mask);
            let mut live = LiveSeparator::new(&model, 44_100, 2, &LiveConfig::default()).unwrap();
            let latency = live.latency();
            let (vocals, accompaniment) = run(&mut live, &input, 256);
            for c in 0..2 {
                for n in latency..input[c].len() {
                    let sum = vocals[c][n] + accompaniment[c][n];
                    assert!((sum - input[c][n - latency]).abs() < 1e-6, "sample {n}: {sum}");
                }
                let peak = vocals[c][latency + 8192..].iter().map(|v| v.abs()).fold(0.0, f32::max);
                let expected = 0.4 * mask;
                assert!((peak - expected).abs() < 0.02, "mask {mask}: vocals peak {peak}, not about {expected}");
            }
            live.reset();
            let again = run(&mut live, &input, 256);
            assert_eq!(again.0, vocals, "after reset the stream differs from a new one");
        }
    }

    /// `separate` is the live path with the latency removed: with a mask of 1 the vocals are the
    /// input itself, aligned (past the first frames, which read silence before the start).
    #[test]
    fn separate_aligns_the_stems_with_the_input() {
        let model = constant_mask_model(1.0);
        let mut live = LiveSeparator::new(&model, 48_000, 2, &LiveConfig::default()).unwrap();
        let audio = AudioBuffer::new(48_000, song(48_000, 1.0, 2));
        let stems = live.separate(&audio).unwrap();
        assert_eq!(stems.vocals.n_frames(), audio.n_frames());
        let warm = 2 * channel_n_fft(48_000);
        for c in 0..2 {
            let err = (warm..audio.n_frames())
                .map(|n| (stems.vocals.channels[c][n] - audio.channels[c][n]).abs())
                .fold(0.0, f32::max);
            assert!(err < 2e-4, "channel {c}: {err}");
        }
        assert!(live.separate(&AudioBuffer::new(44_100, song(44_100, 0.1, 2))).is_err(), "another rate was accepted");
    }

    /// NaN and absurdly loud samples do not poison the stream: what follows them separates as
    /// if they had been silence or a loud click.
    #[test]
    fn broken_samples_do_not_poison_the_stream() {
        let model = constant_mask_model(0.5);
        let mut live = LiveSeparator::new(&model, 48_000, 1, &LiveConfig::default()).unwrap();
        let mut input = song(48_000, 1.0, 1);
        input[0][100] = f32::NAN;
        input[0][200] = 1e38;
        input[0][300] = f32::INFINITY;
        let (vocals, accompaniment) = run(&mut live, &input, 512);
        assert!(vocals[0].iter().chain(&accompaniment[0]).all(|v| v.is_finite()), "non-finite output");
    }

    #[test]
    fn bad_settings_are_errors() {
        let model = constant_mask_model(1.0);
        assert!(matches!(
            LiveSeparator::new(&model, 1_000, 2, &LiveConfig::default()),
            Err(SeparationError::SampleRate(1_000))
        ));
        assert!(matches!(
            LiveSeparator::new(&model, 48_000, 0, &LiveConfig::default()),
            Err(SeparationError::NoChannels)
        ));
        let bad = LiveConfig { attention_seconds: 0.0, ..Default::default() };
        assert!(matches!(LiveSeparator::new(&model, 48_000, 2, &bad), Err(SeparationError::Config(_))));
        let mut live = LiveSeparator::new(&model, 48_000, 2, &LiveConfig::default()).unwrap();
        let (x, mut v, mut a) = (vec![0.0f32; 8], vec![0.0f32; 8], vec![0.0f32; 8]);
        let err = live.process(&[&x], &mut [&mut v], &mut [&mut a]).unwrap_err();
        assert!(matches!(err, SeparationError::Channels { expected: 2, got: 1 }), "{err}");
    }
}
