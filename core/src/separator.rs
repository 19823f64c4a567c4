//! Chunked inference: any length, sample rate and channel count in, vocals and accompaniment
//! out at the input's rate and channel count, in bounded memory.
//!
//! The input is cut into overlapping windows (`chunk_seconds` long, `overlap` of which is
//! shared with the next one). For each window the model estimates a complex vocal mask on the
//! mono 16 kHz signal; the mask is interpolated onto each input channel's own STFT at the full
//! rate (so stereo and high-frequency detail are kept), and the vocals are resynthesised. Vocal
//! estimates of consecutive windows are cross-faded linearly over the overlap, and the
//! accompaniment is the input minus the vocals, so the stems always re-sum to the input.
//!
//! With `context_seconds`, the model also sees that much of the input *before* each window (the
//! song's start is preceded by silence) and its mask for those frames is dropped: a window's
//! start then no longer lacks context, at no cost in latency, for the extra model work. Short
//! windows gain most (the plugin's 1 s windows: see docs/BENCHMARKS.md).
//!
//! Above the model's 8 kHz band the mask is not estimated; we extend it with the mean mask of
//! the top kilohertz (7-8 kHz) of the same frame. This is an approximation, documented in
//! docs/ARCHITECTURE.md.

use crate::audio::{AudioBuffer, downmix};
use crate::dsp::{ResampleError, Spectrogram, Stft, resample};
use crate::model::PoCoNet;
use crate::model_file::{ModelFile, ModelFileError};
use crate::{HOP, MODEL_SAMPLE_RATE, N_FFT};
use burn::tensor::{Device, Tensor};
use realfft::num_complex::Complex32;

/// Lowest and highest input rates accepted.
pub const MIN_SAMPLE_RATE: u32 = 4_000;
pub const MAX_SAMPLE_RATE: u32 = 384_000;

#[derive(Clone, Debug, PartialEq)]
pub struct SeparatorConfig {
    /// Window length in seconds (the model's attention context).
    pub chunk_seconds: f32,
    /// Fraction of a window shared with the next, cross-faded (0 to 0.5).
    pub overlap: f32,
    /// Seconds of input before each window that the model sees as well (0 to 60), rounded
    /// down to whole model frames (see [`context_frames`]).
    pub context_seconds: f32,
    /// How the network's vocal mask is applied to the mixture.
    pub mask: MaskMode,
}

impl Default for SeparatorConfig {
    fn default() -> Self {
        Self { chunk_seconds: 10.0, overlap: 0.25, context_seconds: 0.0, mask: MaskMode::default() }
    }
}

/// How the network's complex vocal mask `m` (the accompaniment's being `1 - m`) is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MaskMode {
    /// `m` as the network gives it: what training optimises and validates.
    Complex,
    /// The vocals' share of the two stems' magnitudes, `|m| / (|m| + |1 - m|)`: a real gain in
    /// [0, 1] that keeps the mixture's phase, like the magnitude-domain soft masks of Open-Unmix
    /// and Spleeter. A real mask in [0, 1] is left as it is; a complex one or one outside that
    /// range is pulled onto it. It scores better than `m` itself on real recordings and level on
    /// synthetic songs (docs/results/real-voices.md, "The mask's magnitude ratio").
    #[default]
    MagnitudeRatio,
}

impl MaskMode {
    /// `mask` (vocal mask bins) as this mode applies it, in place; allocates nothing (the live
    /// separator's audio thread runs it).
    pub fn apply(self, mask: &mut [Complex32]) {
        if self == MaskMode::MagnitudeRatio {
            for m in mask {
                let (vocals, accompaniment) = (m.norm(), (Complex32::new(1.0, 0.0) - *m).norm());
                // The sum is at least |m + (1 - m)| = 1, so this never divides by zero.
                *m = Complex32::new(vocals / (vocals + accompaniment), 0.0);
            }
        }
    }
}

impl SeparatorConfig {
    /// Short windows with context before each, for separating while the song plays (the web
    /// app): the first stems come after one 3 s window instead of 10 s, and a separation can
    /// start anywhere in the song at little cost. The stems score slightly below the defaults'
    /// (docs/BENCHMARKS.md, "Web: play while separating"), for about 1.3x the model work.
    pub fn play_while_separating() -> Self {
        Self { chunk_seconds: 3.0, overlap: 0.25, context_seconds: 1.0, mask: MaskMode::default() }
    }

    /// A window's length in samples at `rate` (what the stream cuts the input into).
    pub fn window_samples(&self, rate: u32) -> usize {
        ((self.chunk_seconds as f64 * rate as f64) as usize).max(1)
    }

    /// Samples a window shares with the next at `rate` (cross-faded).
    pub fn overlap_samples(&self, rate: u32) -> usize {
        (self.overlap as f64 * self.window_samples(rate) as f64) as usize
    }

    /// Samples between the starts of consecutive windows at `rate`.
    pub fn hop_samples(&self, rate: u32) -> usize {
        self.window_samples(rate) - self.overlap_samples(rate)
    }
}

/// The number of model frames (`HOP` samples at 16 kHz) of context that `context_seconds` gives
/// at `rate`: rounded down to a multiple of the smallest count that is also a whole number of
/// input samples, so that the context's 16 kHz resampling ends exactly on a frame boundary and
/// the window's mask frames line up with its own STFT (at 44.1 kHz a multiple of 5 frames,
/// 80 ms; at 48 kHz any count).
pub fn context_frames(context_seconds: f32, rate: u32) -> usize {
    let step = MODEL_SAMPLE_RATE as usize / gcd(HOP * rate as usize, MODEL_SAMPLE_RATE as usize);
    let wanted = (context_seconds as f64 * MODEL_SAMPLE_RATE as f64 / HOP as f64) as usize;
    wanted / step * step
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[derive(Debug, thiserror::Error)]
pub enum SeparationError {
    #[error("invalid separator settings: {0}")]
    Config(String),
    #[error("unsupported sample rate {0} Hz (supported: {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)")]
    SampleRate(u32),
    #[error("audio has no channels")]
    NoChannels,
    #[error("expected {expected} channels, got {got}")]
    Channels { expected: usize, got: usize },
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error("the model failed: {0}")]
    Model(String),
    #[error("frames {start}..{end} are not a stretch of a song of {total} frames")]
    Range { start: usize, end: usize, total: usize },
}

/// Why a model file could not become a [`Separator`].
#[derive(Debug, thiserror::Error)]
pub enum LoadSeparatorError {
    #[error(transparent)]
    Model(#[from] ModelFileError),
    #[error(transparent)]
    Separator(#[from] SeparationError),
}

/// The two stems, at the input's rate and channel count.
#[derive(Clone, Debug)]
pub struct Stems {
    pub vocals: AudioBuffer,
    pub accompaniment: AudioBuffer,
}

/// The network a separator runs, chosen once when it is built.
#[derive(Debug)]
enum Network {
    /// The model compiled for the CPU (batch norm folded, channels-last gemm convolutions):
    /// what runs on burn's `flex` device.
    #[cfg(feature = "flex")]
    Cpu(crate::model::CpuPoCoNet),
    /// The burn tensor graph ([`PoCoNet::masks`]) on the separator's device (GPUs, and the CPU
    /// for comparisons).
    TensorGraph(PoCoNet),
}

/// A separator model on a device, with its chunking settings.
#[derive(Debug)]
pub struct Separator {
    network: Network,
    device: Device,
    config: SeparatorConfig,
    model_stft: Stft,
}

impl Separator {
    /// The separator of a model file's network, on `device`: what every front end loads.
    pub fn from_model_file(
        file: &ModelFile,
        device: Device,
        config: SeparatorConfig,
    ) -> Result<Self, LoadSeparatorError> {
        let (model, _) = file.separator(&device)?;
        Ok(Self::new(model, device, config)?)
    }

    /// The separator of `model` on `device`: on burn's `flex` device the model compiled for the
    /// CPU, elsewhere its tensor graph.
    pub fn new(model: PoCoNet, device: Device, config: SeparatorConfig) -> Result<Self, SeparationError> {
        #[cfg(feature = "flex")]
        if device == Device::flex() {
            let network = Network::Cpu(crate::model::CpuPoCoNet::new(&model));
            return Self::with_network(network, device, config);
        }
        Self::with_network(Network::TensorGraph(model), device, config)
    }

    /// The separator running `model`'s tensor graph even on the CPU, instead of the compiled CPU
    /// model (for comparisons: `svs bench separate --tensor-graph`).
    pub fn new_tensor_graph(model: PoCoNet, device: Device, config: SeparatorConfig) -> Result<Self, SeparationError> {
        Self::with_network(Network::TensorGraph(model), device, config)
    }

    fn with_network(network: Network, device: Device, config: SeparatorConfig) -> Result<Self, SeparationError> {
        if !(config.chunk_seconds >= 1.0 && config.chunk_seconds <= 600.0) {
            return Err(SeparationError::Config(format!(
                "chunk length {} s is outside 1..600 s",
                config.chunk_seconds
            )));
        }
        if !(0.0..=0.5).contains(&config.overlap) {
            return Err(SeparationError::Config(format!("overlap {} is outside 0..0.5", config.overlap)));
        }
        if !(0.0..=60.0).contains(&config.context_seconds) {
            return Err(SeparationError::Config(format!("context {} s is outside 0..60 s", config.context_seconds)));
        }
        Ok(Self { network, device, config, model_stft: Stft::new(N_FFT, HOP) })
    }

    pub fn config(&self) -> &SeparatorConfig {
        &self.config
    }
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Separates a whole buffer; `progress` gets the fraction done after each window.
    pub fn separate(&self, audio: &AudioBuffer, mut progress: impl FnMut(f64)) -> Result<Stems, SeparationError> {
        let channels = audio.n_channels();
        let mut stream = self.stream(audio.sample_rate, channels)?;
        let total = audio.n_frames().max(1) as f64;
        let mut vocals = vec![Vec::with_capacity(audio.n_frames()); channels];
        let mut accompaniment = vec![Vec::with_capacity(audio.n_frames()); channels];
        let collect = |out: StemBlock, vocals: &mut Vec<Vec<f32>>, accompaniment: &mut Vec<Vec<f32>>| {
            for c in 0..channels {
                vocals[c].extend_from_slice(&out.vocals[c]);
                accompaniment[c].extend_from_slice(&out.accompaniment[c]);
            }
        };
        let block = stream.window_len();
        let mut pos = 0;
        while pos < audio.n_frames() {
            let end = (pos + block).min(audio.n_frames());
            let slices: Vec<&[f32]> = audio.channels.iter().map(|c| &c[pos..end]).collect();
            for out in stream.push(&slices)? {
                collect(out, &mut vocals, &mut accompaniment);
                progress(vocals[0].len() as f64 / total);
            }
            pos = end;
        }
        if let Some(out) = stream.finish()? {
            collect(out, &mut vocals, &mut accompaniment);
        }
        progress(1.0);
        Ok(Stems {
            vocals: AudioBuffer::new(audio.sample_rate, vocals),
            accompaniment: AudioBuffer::new(audio.sample_rate, accompaniment),
        })
    }

    /// A streaming session for audio at `sample_rate` with `channels` channels.
    pub fn stream(&self, sample_rate: u32, channels: usize) -> Result<SeparationStream<'_>, SeparationError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(SeparationError::SampleRate(sample_rate));
        }
        if channels == 0 {
            return Err(SeparationError::NoChannels);
        }
        let (window, overlap) = (self.config.window_samples(sample_rate), self.config.overlap_samples(sample_rate));
        let context_frames = context_frames(self.config.context_seconds, sample_rate);
        // Whole by construction of `context_frames`.
        let context = context_frames * HOP * sample_rate as usize / MODEL_SAMPLE_RATE as usize;
        Ok(SeparationStream {
            separator: self,
            sample_rate,
            window,
            overlap,
            context_frames,
            channel_stft: Stft::new(channel_n_fft(sample_rate), channel_n_fft(sample_rate) / 4),
            history: vec![vec![0.0; context]; channels],
            at_song_start: true,
            input: vec![Vec::new(); channels],
            pending_vocals: None,
        })
    }

    /// The complex vocal mask of a mono 16 kHz signal, frame-major `[frames][513]`.
    pub fn vocal_mask(&self, mono16: &[f32]) -> Result<Spectrogram, SeparationError> {
        read_now(self.vocal_mask_async(mono16))?
    }

    /// [`Self::vocal_mask`] for devices that cannot block on a read: WebGPU in a browser only
    /// hands tensor data back asynchronously. The one implementation; the blocking form waits on
    /// it.
    pub async fn vocal_mask_async(&self, mono16: &[f32]) -> Result<Spectrogram, SeparationError> {
        let model = match &self.network {
            #[cfg(feature = "flex")]
            Network::Cpu(cpu) => return Ok(self.cpu_vocal_mask(cpu, mono16)),
            Network::TensorGraph(model) => model,
        };
        let (masks, n_frames) = self.vocal_mask_tensor(model, mono16);
        // A GPU can fail here (out of memory, a buffer over the adapter's size limit): report it
        // as an error (try smaller --chunk-seconds), never a panic.
        mask_spectrogram(masks.into_data_async().await.map_err(device_error)?, n_frames)
    }

    /// The model's input for `mono16`: its STFT, `[frames][513][2]` flattened, the number of
    /// frames, and how many of them belong to `mono16`.
    fn model_input(&self, mono16: &[f32]) -> (Vec<f32>, usize, usize) {
        // The model needs a few frames; very short windows are zero-extended.
        let min_len = N_FFT;
        let padded;
        let signal = if mono16.len() < min_len {
            padded = [mono16, &vec![0.0; min_len - mono16.len()]].concat();
            &padded[..]
        } else {
            mono16
        };
        let spec = self.model_stft.forward(signal);
        let flat: Vec<f32> = spec.bins.iter().flat_map(|c| [c.re, c.im]).collect();
        let n_frames = self.model_stft.n_frames(mono16.len()).min(spec.n_frames);
        (flat, spec.n_frames, n_frames)
    }

    /// The model's vocal mask `[1, 1, frames, bins, 2]` (still on the device) and the number of
    /// frames that belong to `mono16`.
    fn vocal_mask_tensor(&self, model: &PoCoNet, mono16: &[f32]) -> (Tensor<5>, usize) {
        let (flat, frames, n_frames) = self.model_input(mono16);
        let input = Tensor::<1>::from_floats(flat.as_slice(), &self.device).reshape([1, frames, N_FFT / 2 + 1, 2]);
        let masks = model.masks(input);
        (masks.narrow(1, 0, 1), n_frames)
    }

    /// [`Self::vocal_mask`] on the CPU model.
    #[cfg(feature = "flex")]
    fn cpu_vocal_mask(&self, cpu: &crate::model::CpuPoCoNet, mono16: &[f32]) -> Spectrogram {
        let (flat, frames, n_frames) = self.model_input(mono16);
        let mask = cpu.vocal_mask(&flat, frames);
        let n_bins = N_FFT / 2 + 1;
        let bins = mask.chunks_exact(2).take(n_frames * n_bins).map(|p| Complex32::new(p[0], p[1])).collect();
        Spectrogram { n_frames, n_bins, bins }
    }
}

/// Waits for an asynchronous separation step: the blocking API is these futures, waited on.
/// Natively that blocks until the device's read completes; in a browser a future that is not
/// ready at once (a WebGPU read) cannot be waited on, which is an error naming the async API.
fn read_now<T>(future: impl std::future::Future<Output = T>) -> Result<T, SeparationError> {
    burn::tensor::try_read_sync(future)
        .ok_or_else(|| SeparationError::Model("this device reads back asynchronously: use the *_async methods".into()))
}

fn device_error(e: impl std::fmt::Display) -> SeparationError {
    SeparationError::Model(format!("{e} (a smaller --chunk-seconds needs less device memory)"))
}

/// The first `n_frames` frames of a read-back vocal mask as a spectrogram.
fn mask_spectrogram(data: burn::tensor::TensorData, n_frames: usize) -> Result<Spectrogram, SeparationError> {
    let n_bins = N_FFT / 2 + 1;
    let vocals: Vec<f32> = data.try_to_vec::<f32>().map_err(|e| SeparationError::Model(format!("{e:?}")))?;
    let bins = vocals.chunks_exact(2).take(n_frames * n_bins).map(|p| Complex32::new(p[0], p[1])).collect();
    Ok(Spectrogram { n_frames, n_bins, bins })
}

/// FFT size for a channel at `rate`: the model's 64 ms frame, rounded to a multiple of 4 so the
/// hop (a quarter) is whole.
pub(crate) fn channel_n_fft(rate: u32) -> usize {
    let hop = ((HOP as f64 * rate as f64 / MODEL_SAMPLE_RATE as f64).round() as usize).max(2);
    4 * hop
}

/// Separated samples of one stretch of the stream.
#[derive(Clone, Debug)]
pub struct StemBlock {
    pub vocals: Vec<Vec<f32>>,
    pub accompaniment: Vec<Vec<f32>>,
}

/// Push input as it arrives; finished stretches come out in order.
pub struct SeparationStream<'a> {
    separator: &'a Separator,
    sample_rate: u32,
    window: usize,
    overlap: usize,
    /// Model frames of context before each window.
    context_frames: usize,
    channel_stft: Stft,
    /// The context: the input just before `input` (silence before the song's start).
    pub(crate) history: Vec<Vec<f32>>,
    /// Whether the next window is the song's first: nothing comes before it, so the model sees
    /// no context (rather than a context of silence, which would only cost time: the window
    /// that plays first is then 3 s of model input instead of 4 in the page's setting).
    at_song_start: bool,
    /// Input not yet emitted, starting at the current window's start.
    input: Vec<Vec<f32>>,
    /// Vocal estimate of the previous window over the overlap, to cross-fade with.
    pending_vocals: Option<Vec<Vec<f32>>>,
}

impl SeparationStream<'_> {
    pub fn window_len(&self) -> usize {
        self.window
    }

    /// Samples between the starts of consecutive windows (what each window but the last emits).
    pub fn hop_len(&self) -> usize {
        self.window - self.overlap
    }

    /// Samples of input before each window that the model also sees.
    pub fn context_len(&self) -> usize {
        self.history[0].len()
    }

    /// Gives the first window the input that comes before the first sample pushed (the last
    /// [`Self::context_len`] samples of `history`, silence in front if it is shorter), for a
    /// stream that starts part-way through a song. Call it before the first push.
    pub fn set_history(&mut self, history: &[Vec<f32>]) -> Result<(), SeparationError> {
        if history.len() != self.history.len() {
            return Err(SeparationError::Channels { expected: self.history.len(), got: history.len() });
        }
        debug_assert!(self.input[0].is_empty() && self.pending_vocals.is_none(), "set_history after a push");
        for (context, given) in self.history.iter_mut().zip(history) {
            let n = context.len();
            let take = given.len().min(n);
            context.fill(0.0);
            context[n - take..].copy_from_slice(&given[given.len() - take..]);
        }
        self.at_song_start = history.iter().all(|h| h.is_empty());
        Ok(())
    }

    /// Adds input; returns every stretch that became final.
    pub fn push(&mut self, block: &[&[f32]]) -> Result<Vec<StemBlock>, SeparationError> {
        read_now(self.push_async(block))?
    }

    /// Separates whatever input is left.
    pub fn finish(&mut self) -> Result<Option<StemBlock>, SeparationError> {
        read_now(self.finish_async())?
    }

    /// [`Self::push`] for devices that only read back asynchronously (WebGPU in a browser).
    pub async fn push_async(&mut self, block: &[&[f32]]) -> Result<Vec<StemBlock>, SeparationError> {
        self.append(block)?;
        let mut out = Vec::new();
        while self.input[0].len() >= self.window {
            let mask = self.separator.vocal_mask_async(&self.mono16(self.window)?).await?;
            out.push(self.emit(self.window, false, &self.window_frames(mask)));
        }
        Ok(out)
    }

    /// [`Self::finish`] for devices that only read back asynchronously.
    pub async fn finish_async(&mut self) -> Result<Option<StemBlock>, SeparationError> {
        let len = self.input[0].len();
        if len == 0 {
            return Ok(None);
        }
        let mask = self.separator.vocal_mask_async(&self.mono16(len)?).await?;
        Ok(Some(self.emit(len, true, &self.window_frames(mask))))
    }

    fn append(&mut self, block: &[&[f32]]) -> Result<(), SeparationError> {
        if block.len() != self.input.len() {
            return Err(SeparationError::Channels { expected: self.input.len(), got: block.len() });
        }
        for (dst, src) in self.input.iter_mut().zip(block) {
            dst.extend_from_slice(src);
        }
        Ok(())
    }

    /// The model's input for the first `len` input samples: the mono mix at 16 kHz of the
    /// context (none at the song's start) and those samples.
    fn mono16(&self, len: usize) -> Result<Vec<f32>, SeparationError> {
        let context = if self.at_song_start { 0 } else { self.context_len() };
        let window: Vec<Vec<f32>> =
            self.history.iter().zip(&self.input).map(|(h, c)| [&h[h.len() - context..], &c[..len]].concat()).collect();
        let window: Vec<&[f32]> = window.iter().map(Vec::as_slice).collect();
        Ok(resample(&downmix(&window), self.sample_rate, MODEL_SAMPLE_RATE)?)
    }

    /// The window's part of a mask of [`Self::mono16`]: the context's frames dropped.
    fn window_frames(&self, mask: Spectrogram) -> Spectrogram {
        if self.context_frames == 0 || self.at_song_start {
            return mask;
        }
        let skip = self.context_frames.min(mask.n_frames);
        let bins = mask.bins[skip * mask.n_bins..].to_vec();
        Spectrogram { n_frames: mask.n_frames - skip, n_bins: mask.n_bins, bins }
    }

    /// Applies `mask16` (the vocal mask of the first `len` input samples) and emits the final
    /// part of them.
    fn emit(&mut self, len: usize, last: bool, mask16: &Spectrogram) -> StemBlock {
        let vocals = self.apply_mask(len, mask16);
        let emit = if last { len } else { self.window - self.overlap };
        let mut out_vocals = Vec::with_capacity(vocals.len());
        let mut out_accompaniment = Vec::with_capacity(vocals.len());
        for (c, mut v) in vocals.into_iter().enumerate() {
            if let Some(previous) = &self.pending_vocals {
                crossfade(&previous[c], &mut v);
            }
            let accompaniment: Vec<f32> = self.input[c][..emit].iter().zip(&v).map(|(x, s)| x - s).collect();
            out_accompaniment.push(accompaniment);
            out_vocals.push(v);
        }
        // Keep the overlap's estimate for the next window, and drop the emitted input.
        self.pending_vocals = (!last).then(|| out_vocals.iter_mut().map(|v| v.split_off(emit)).collect());
        if last {
            for v in &mut out_vocals {
                v.truncate(emit);
            }
        }
        for (history, input) in self.history.iter_mut().zip(&mut self.input) {
            let context = history.len();
            history.extend(input.drain(..emit));
            history.drain(..history.len() - context);
        }
        self.at_song_start = false;
        StemBlock { vocals: out_vocals, accompaniment: out_accompaniment }
    }

    /// The vocals of the first `len` input samples, per channel, at the input rate.
    fn apply_mask(&self, len: usize, mask16: &Spectrogram) -> Vec<Vec<f32>> {
        let n_frames = self.channel_stft.n_frames(len);
        let mut mask = interpolate_mask(mask16, n_frames, &self.channel_stft, self.sample_rate);
        self.separator.config.mask.apply(&mut mask.bins);
        self.input
            .iter()
            .map(|channel| {
                let mut spec = self.channel_stft.forward(&channel[..len]);
                for (x, m) in spec.bins.iter_mut().zip(&mask.bins) {
                    *x *= m;
                }
                self.channel_stft.inverse(&spec, len)
            })
            .collect()
    }
}

/// Linear cross-fade from `previous` into the start of `current` over `previous.len()` samples.
fn crossfade(previous: &[f32], current: &mut [f32]) {
    let n = previous.len().min(current.len());
    for i in 0..n {
        let w = (i as f32 + 0.5) / n as f32;
        current[i] = previous[i] * (1.0 - w) + current[i] * w;
    }
}

/// Resamples a 16 kHz-grid mask onto the frames and bins of `stft` at `rate`: bilinear in
/// time (frame centres) and frequency (bin centres in Hz), with the top-kilohertz mean above
/// the model's band.
fn interpolate_mask(mask16: &Spectrogram, n_frames: usize, stft: &Stft, rate: u32) -> Spectrogram {
    let n_bins = stft.n_bins();
    let frame_scale = stft.hop() as f64 * MODEL_SAMPLE_RATE as f64 / (rate as f64 * HOP as f64);
    let last_frame = mask16.n_frames.saturating_sub(1);
    let mut bins = vec![Complex32::new(0.0, 0.0); n_frames * n_bins];
    let mut row = vec![Complex32::new(0.0, 0.0); mask16.n_bins];
    for (t, out) in bins.chunks_exact_mut(n_bins).enumerate() {
        let p = (t as f64 * frame_scale).min(last_frame as f64);
        let (t0, t1, wt) = (p.floor() as usize, (p.ceil() as usize).min(last_frame), (p - p.floor()) as f32);
        for (b, r) in row.iter_mut().enumerate() {
            *r = mask16.frame(t0)[b] * (1.0 - wt) + mask16.frame(t1)[b] * wt;
        }
        mask_frame_onto(&row, out, stft.n_fft(), rate);
    }
    Spectrogram { n_frames, n_bins, bins }
}

/// One frame of a 16 kHz-grid mask (`row`, the model's 513 bins) onto the bins of a channel
/// STFT of `n_fft` at `rate` (`out`): linear in frequency (bin centres in Hz), with the mean of
/// the top kilohertz above the model's band. Allocates nothing (the live separator's audio
/// thread runs it).
pub(crate) fn mask_frame_onto(row: &[Complex32], out: &mut [Complex32], n_fft: usize, rate: u32) {
    let top_bin = N_FFT / 2 - 1; // 511: the Nyquist bin carries no estimate
    let band_start = top_bin + 1 - N_FFT / 16; // the top kHz: bins 448..=511
    let bin_scale = rate as f64 / n_fft as f64 * N_FFT as f64 / MODEL_SAMPLE_RATE as f64;
    let high: Complex32 = row[band_start..=top_bin].iter().sum::<Complex32>() / (top_bin + 1 - band_start) as f32;
    for (b, m) in out.iter_mut().enumerate() {
        let q = b as f64 * bin_scale;
        *m = if q > top_bin as f64 {
            high
        } else {
            let (b0, b1, wb) = (q.floor() as usize, (q.ceil() as usize).min(top_bin), (q - q.floor()) as f32);
            row[b0] * (1.0 - wb) + row[b1] * wb
        };
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::PoCoNetConfig;

    pub(crate) fn tiny_separator(config: SeparatorConfig) -> Separator {
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        Separator::new(model, device, config).unwrap()
    }

    /// A model whose vocal mask is `vocal_mask` at every bin: the output convolution's weights
    /// zero and its bias chosen (mixture consistency makes the vocal mask 0.5 + (r0 - r2) / 2
    /// + i (r1 - r3) / 2).
    pub(crate) fn constant_mask_model(vocal_mask: Complex32) -> PoCoNet {
        use burn::module::Param;
        let device = Device::flex();
        let mut model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        let dims = model.output.weight.dims();
        model.output.weight = Param::from_tensor(Tensor::zeros(dims, &device));
        let bias = [2.0 * vocal_mask.re - 1.0, 2.0 * vocal_mask.im, 0.0, 0.0];
        model.output.bias = Some(Param::from_tensor(Tensor::<1>::from_floats(bias, &device)));
        model
    }

    #[test]
    fn the_magnitude_ratio_is_a_real_gain_in_0_1() {
        let c = Complex32::new;
        let mut mask = [c(0.0, 0.0), c(1.0, 0.0), c(0.3, 0.0), c(1.5, 0.0), c(-0.5, 0.0), c(0.0, 1.0), c(0.5, 0.5)];
        let unchanged = mask;
        MaskMode::Complex.apply(&mut mask);
        assert_eq!(mask, unchanged);
        MaskMode::MagnitudeRatio.apply(&mut mask);
        // |m| / (|m| + |1 - m|): 1.5 / 2, 0.5 / 2, 1 / (1 + sqrt 2), and equal shares for 0.5 + 0.5i.
        let expected = [0.0, 1.0, 0.3, 0.75, 0.25, 1.0 / (1.0 + 2f32.sqrt()), 0.5];
        for (m, e) in mask.iter().zip(expected) {
            assert!((m.re - e).abs() < 1e-6 && m.im == 0.0, "{m} instead of {e}");
        }
    }

    /// The windowed separator applies its configured mask mode: a constant mask of 1.5 scales the
    /// input by 1.5 as it is and by 0.75 as a magnitude ratio; a mask of i gives 1 / (1 + sqrt 2).
    #[test]
    fn the_separator_applies_its_mask_mode() {
        let audio = song(44_100, 3.0, 2);
        for (vocal_mask, mode, gain) in [
            (Complex32::new(1.5, 0.0), MaskMode::Complex, 1.5),
            (Complex32::new(1.5, 0.0), MaskMode::MagnitudeRatio, 0.75),
            (Complex32::new(0.0, 1.0), MaskMode::MagnitudeRatio, 1.0 / (1.0 + 2f32.sqrt())),
        ] {
            let config = SeparatorConfig { chunk_seconds: 1.0, mask: mode, ..Default::default() };
            let sep = Separator::new(constant_mask_model(vocal_mask), Device::flex(), config).unwrap();
            let stems = sep.separate(&audio, |_| {}).unwrap();
            for (v, x) in stems.vocals.channels.iter().zip(&audio.channels) {
                let err = v.iter().zip(x).map(|(v, x)| (v - gain * x).abs()).fold(0.0, f32::max);
                assert!(err < 1e-4, "mask {vocal_mask}, {mode:?}: vocals differ from {gain} x input by {err}");
            }
        }
    }

    #[test]
    fn window_and_hop_are_what_the_stream_uses() {
        let config = SeparatorConfig { chunk_seconds: 1.0, overlap: 0.25, context_seconds: 0.0, ..Default::default() };
        assert_eq!(config.window_samples(44_100), 44_100);
        assert_eq!(config.overlap_samples(44_100), 11_025);
        assert_eq!(config.hop_samples(44_100), 33_075);
        let separator = tiny_separator(config.clone());
        for rate in [16_000, 44_100, 48_000] {
            assert_eq!(separator.stream(rate, 2).unwrap().window_len(), config.window_samples(rate));
        }
    }

    #[test]
    fn context_is_whole_model_frames_and_whole_input_samples() {
        // 1.5 s is 93.75 frames of 256 samples at 16 kHz.
        assert_eq!(context_frames(1.5, 48000), 93);
        assert_eq!(context_frames(1.5, 44100), 90, "multiples of 5 frames at 44.1 kHz");
        assert_eq!(context_frames(1.5, 16000), 93);
        assert_eq!(context_frames(0.0, 44100), 0);
        for rate in [8000, 11025, 22050, 44100, 44099, 48000, 88200, 96000, 192000] {
            let frames = context_frames(2.0, rate);
            assert_eq!(frames * HOP * rate as usize % MODEL_SAMPLE_RATE as usize, 0, "{rate} Hz");
            assert!(frames as f64 * HOP as f64 / MODEL_SAMPLE_RATE as f64 <= 2.0, "{rate} Hz");
        }
    }

    #[test]
    fn the_windows_model_input_lines_up_after_its_context() {
        // The 16 kHz input of context + window, past the context, is the window's own 16 kHz
        // input (away from the resampler's edges): the mask frames kept are the window's.
        for rate in [44100, 48000, 22050] {
            let sep = tiny_separator(SeparatorConfig {
                chunk_seconds: 1.0,
                overlap: 0.25,
                context_seconds: 0.5,
                ..Default::default()
            });
            let audio = song(rate, 3.0, 2);
            let mut stream = sep.stream(rate, 2).unwrap();
            let context = stream.history[0].len();
            assert!(context > 0);
            let start = rate as usize; // a window starting 1 s into the song
            for c in 0..2 {
                stream.history[c] = audio.channels[c][start - context..start].to_vec();
                stream.input[c] = audio.channels[c][start..start + stream.window].to_vec();
            }
            stream.at_song_start = false;
            let joint = stream.mono16(stream.window).unwrap();
            let offset = stream.context_frames * HOP;
            let window: Vec<&[f32]> = stream.input.iter().map(Vec::as_slice).collect();
            let alone = resample(&downmix(&window), rate, MODEL_SAMPLE_RATE).unwrap();
            let (mut err, mut peak) = (0.0f32, 0.0f32);
            for i in 2000..alone.len() - 2000 {
                err = err.max((joint[offset + i] - alone[i]).abs());
                peak = peak.max(alone[i].abs());
            }
            assert!(err < 1e-3 * peak, "{rate} Hz: misaligned by up to {err} (peak {peak})");
            // One sample off would show: the signal changes far more than that between samples.
            let shifted =
                (2000..alone.len() - 2000).map(|i| (joint[offset + i + 1] - alone[i]).abs()).fold(0.0, f32::max);
            assert!(shifted > 100.0 * err.max(1e-6), "{rate} Hz: the test cannot tell a one-sample shift");
        }
    }

    #[test]
    fn the_songs_first_window_has_no_context_and_later_windows_do() {
        let sep = tiny_separator(SeparatorConfig {
            chunk_seconds: 1.0,
            overlap: 0.25,
            context_seconds: 0.5,
            ..Default::default()
        });
        let rate = 16000;
        let audio = song(rate, 3.0, 1);
        let mut stream = sep.stream(rate, 1).unwrap();
        let context = stream.context_len();
        stream.input[0] = audio.channels[0][..stream.window].to_vec();
        // Nothing before the song: the model's input is the window alone.
        assert_eq!(stream.mono16(stream.window).unwrap(), audio.channels[0][..stream.window]);
        stream.input[0].clear();
        let first = stream.push(&[&audio.channels[0][..stream.window]]).unwrap();
        assert_eq!(first.len(), 1, "one window in");
        // The next window sees the input before it as context.
        assert!(!stream.at_song_start);
        let hop = stream.hop_len();
        assert_eq!(stream.history[0], audio.channels[0][hop - context..hop]);
        assert_eq!(stream.mono16(stream.input[0].len()).unwrap().len(), context + stream.input[0].len());
        // A stream that starts part-way through a song has context from the first window on; one
        // given an empty history starts at the song's start.
        let mut later = sep.stream(rate, 1).unwrap();
        later.set_history(&[audio.channels[0][..hop].to_vec()]).unwrap();
        assert!(!later.at_song_start);
        let mut start = sep.stream(rate, 1).unwrap();
        start.set_history(&[Vec::new()]).unwrap();
        assert!(start.at_song_start);
    }

    pub(crate) fn song(rate: u32, seconds: f32, channels: usize) -> AudioBuffer {
        let n = (rate as f32 * seconds) as usize;
        let chans = (0..channels)
            .map(|c| {
                (0..n)
                    .map(|i| {
                        let t = i as f32 / rate as f32;
                        0.3 * (2.0 * std::f32::consts::PI * (220.0 + 110.0 * c as f32) * t).sin()
                            + 0.1 * (2.0 * std::f32::consts::PI * 3000.0 * t).sin() * (t * 3.0).sin()
                    })
                    .collect()
            })
            .collect();
        AudioBuffer::new(rate, chans)
    }

    #[test]
    fn stems_keep_rate_and_channels_and_sum_to_the_input() {
        let cases = [(44100, 2, 0.0), (8000, 1, 0.0), (48000, 3, 0.0), (192000, 2, 0.0), (16000, 1, 0.0)];
        let with_context = [(44100, 2, 1.5), (22050, 1, 0.7), (48000, 1, 2.0)];
        for (rate, channels, context_seconds) in cases.into_iter().chain(with_context) {
            let sep = tiny_separator(SeparatorConfig {
                chunk_seconds: 1.5,
                overlap: 0.25,
                context_seconds,
                ..Default::default()
            });
            let audio = song(rate, 3.3, channels);
            let stems = sep.separate(&audio, |_| {}).unwrap();
            for stem in [&stems.vocals, &stems.accompaniment] {
                assert_eq!(stem.sample_rate, rate);
                assert_eq!(stem.n_channels(), channels);
                assert_eq!(stem.n_frames(), audio.n_frames(), "{rate} Hz");
            }
            let mut err = 0.0f32;
            for c in 0..channels {
                for i in 0..audio.n_frames() {
                    err = err.max(
                        (stems.vocals.channels[c][i] + stems.accompaniment.channels[c][i] - audio.channels[c][i]).abs(),
                    );
                }
            }
            assert!(err < 1e-5, "{rate} Hz: stems differ from the input by {err}");
            // Not a trivial split: the vocals are neither silent nor the whole input.
            let energy = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>();
            let ev = energy(&stems.vocals.channels[0]);
            let ex = energy(&audio.channels[0]);
            assert!(ev > 1e-6 * ex && (ev - ex).abs() > 1e-6 * ex, "{rate}: {ev} vs {ex}");
        }
    }

    #[test]
    fn unity_mask_reproduces_each_channel_at_full_rate() {
        // With a mask of exactly 1 the full-rate analysis/synthesis must be transparent,
        // including above the model's 8 kHz band.
        let sep = tiny_separator(SeparatorConfig::default());
        for rate in [44100, 48000, 8000] {
            let stream = sep.stream(rate, 1).unwrap();
            let n = rate as usize;
            let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
            let frames16 = n * 16000 / rate as usize / HOP + 1;
            let ones =
                Spectrogram { n_frames: frames16, n_bins: 513, bins: vec![Complex32::new(1.0, 0.0); frames16 * 513] };
            let mask = interpolate_mask(&ones, stream.channel_stft.n_frames(n), &stream.channel_stft, rate);
            let mut spec = stream.channel_stft.forward(&x);
            for (a, m) in spec.bins.iter_mut().zip(&mask.bins) {
                *a *= m;
            }
            let y = stream.channel_stft.inverse(&spec, n);
            let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "{rate}: {err}");
        }
    }

    #[test]
    fn chunk_length_does_not_leave_seams() {
        // Two chunkings of the same song agree away from the edges: cross-fades hide the window
        // boundaries. (Not bit-exact: attention sees a different past in each window.)
        let audio = song(16000, 9.0, 1);
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        let with = |chunk_seconds, overlap| {
            Separator::new(
                model.clone(),
                device.clone(),
                SeparatorConfig { chunk_seconds, overlap, ..Default::default() },
            )
            .unwrap()
        };
        let a = with(2.0, 0.25).separate(&audio, |_| {}).unwrap();
        let b = with(3.0, 0.5).separate(&audio, |_| {}).unwrap();
        let (x, y) = (&a.vocals.channels[0][16000..8 * 16000], &b.vocals.channels[0][16000..8 * 16000]);
        let signal: f32 = x.iter().map(|v| v * v).sum();
        let diff: f32 = x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum();
        let snr = 10.0 * (signal / diff.max(1e-20)).log10();
        assert!(snr > 20.0, "chunkings differ: {snr:.1} dB");
        assert!(signal > 1e-3, "vocals are silent, the comparison means nothing");
    }

    #[test]
    fn async_stream_matches_the_blocking_one() {
        // The browser's WebGPU path uses push_async/finish_async; on the CPU their futures are
        // ready at once, so one poll runs them, and the stems must be identical.
        fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
            let mut context = std::task::Context::from_waker(std::task::Waker::noop());
            match std::pin::pin!(future).poll(&mut context) {
                std::task::Poll::Ready(value) => value,
                std::task::Poll::Pending => panic!("a CPU read should not be pending"),
            }
        }
        let sep = tiny_separator(SeparatorConfig { chunk_seconds: 1.5, overlap: 0.25, ..Default::default() });
        let audio = song(22050, 4.2, 2);
        let blocking = sep.separate(&audio, |_| {}).unwrap();
        let mut stream = sep.stream(audio.sample_rate, 2).unwrap();
        let mut vocals = vec![Vec::new(); 2];
        let mut blocks = Vec::new();
        for start in (0..audio.n_frames()).step_by(10_000) {
            let end = (start + 10_000).min(audio.n_frames());
            let slices: Vec<&[f32]> = audio.channels.iter().map(|c| &c[start..end]).collect();
            blocks.extend(ready(stream.push_async(&slices)).unwrap());
        }
        blocks.extend(ready(stream.finish_async()).unwrap());
        for block in blocks {
            for c in 0..2 {
                vocals[c].extend_from_slice(&block.vocals[c]);
            }
        }
        assert_eq!(vocals, blocking.vocals.channels);
    }

    #[test]
    fn the_cpu_model_gives_the_tensor_models_mask() {
        // On the CPU the separator runs the folded CpuPoCoNet; it must agree with the tensor
        // graph (PoCoNet::masks) that other devices run.
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).init(&device);
        let sep = Separator::new(model.clone(), device.clone(), SeparatorConfig::default()).unwrap();
        assert!(matches!(sep.network, Network::Cpu(_)));
        let graph = Separator::new_tensor_graph(model, device, SeparatorConfig::default()).unwrap();
        assert!(matches!(graph.network, Network::TensorGraph(_)));
        let mono = &song(16000, 2.3, 1).channels[0];
        let fast = sep.vocal_mask(mono).unwrap();
        let reference = graph.vocal_mask(mono).unwrap();
        assert_eq!((fast.n_frames, fast.n_bins), (reference.n_frames, reference.n_bins));
        let diff = fast.bins.iter().zip(&reference.bins).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{diff}");
    }

    #[test]
    fn empty_and_bad_inputs() {
        let sep = tiny_separator(SeparatorConfig::default());
        let empty = AudioBuffer::new(44100, vec![vec![], vec![]]);
        let stems = sep.separate(&empty, |_| {}).unwrap();
        assert_eq!(stems.vocals.n_frames(), 0);
        assert!(matches!(sep.stream(1000, 2), Err(SeparationError::SampleRate(1000))));
        assert!(matches!(sep.stream(44100, 0), Err(SeparationError::NoChannels)));
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(4).init(&device);
        assert!(
            Separator::new(model, device, SeparatorConfig { chunk_seconds: 5.0, overlap: 0.9, ..Default::default() })
                .is_err()
        );
        // A very short input (shorter than one FFT frame) still works.
        let short = song(44100, 0.01, 2);
        let stems = sep.separate(&short, |_| {}).unwrap();
        assert_eq!(stems.vocals.n_frames(), short.n_frames());
    }
}
