//! Decoding the user's file on the page with the browser's own decoders (`decodeAudioData`:
//! whatever the browser plays, WAV, MP3, OGG, FLAC, M4A…), at the file's own sample rate.
//!
//! `decodeAudioData` resamples to its context's rate, so the file's rate is read first (the
//! core's decoder only probes the header here) and the decoding context is created at that rate:
//! the stems then come back at the input's rate, as the downloads promise.

use crate::js;
use js_sys::{ArrayBuffer, Float32Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioBuffer, File, OfflineAudioContext};

/// A decoded song: the browser's buffer (for playback and the waveform) and its format.
pub struct Decoded {
    pub buffer: AudioBuffer,
    pub sample_rate: u32,
    pub channels: u32,
    pub frames: u32,
}

impl Decoded {
    pub fn duration_seconds(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }

    /// Copies of the planar samples, ready to be transferred to the worker (the browser's buffer
    /// keeps its own for playback).
    pub fn planar_copy(&self) -> Vec<Float32Array> {
        (0..self.channels).map(|c| js::channel_view(&self.buffer, c).slice(0, self.frames)).collect()
    }
}

/// Rate used when the header cannot be read by the core's decoder (a format only the browser
/// knows): the browser then resamples to it, and the stems come out at this rate.
const FALLBACK_RATE: f32 = 48_000.0;

/// The browser accepts decoding contexts from 3 kHz to 768 kHz.
const CONTEXT_RATES: std::ops::RangeInclusive<f32> = 3_000.0..=768_000.0;

pub async fn decode_file(file: &File) -> Result<Decoded, String> {
    let name = file.name();
    let started = js::now_ms();
    let bytes = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("“{name}” could not be read: {}", js::error_text(&e)))?;
    let bytes: ArrayBuffer = bytes.unchecked_into();
    if bytes.byte_length() == 0 {
        return Err(format!("“{name}” is empty."));
    }
    js::log_phase(&format!("read {} bytes", bytes.byte_length()), started);
    let probe_started = js::now_ms();
    let header = probe_header(&bytes, &name);
    js::log_phase("probed the header", probe_started);
    // A song too long for the worker's memory is refused before decoding it (which would take
    // gigabytes of the page's memory too) when its header states its length.
    if let Some(Header { sample_rate, channels: Some(channels), frames: Some(frames) }) = header {
        crate::limits::check_fits(frames, channels as u64, sample_rate)?;
    }
    let rate = header.map(|h| h.sample_rate as f32).filter(|r| CONTEXT_RATES.contains(r));
    let decode_started = js::now_ms();
    let context = OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(
        1,
        1,
        rate.unwrap_or(FALLBACK_RATE),
    )
    .map_err(|e| format!("This browser cannot decode audio: {}", js::error_text(&e)))?;
    let promise = context
        .decode_audio_data(&bytes)
        .map_err(|e| format!("“{name}” could not be decoded: {}", js::error_text(&e)))?;
    let buffer: AudioBuffer = JsFuture::from(promise)
        .await
        .map_err(|_| {
            format!(
                "“{name}” is not an audio file this browser can decode, or it is damaged. Try a WAV, MP3, \
                 OGG, FLAC or M4A file."
            )
        })?
        .unchecked_into();
    js::log_phase("decodeAudioData", decode_started);
    let decoded = Decoded {
        sample_rate: buffer.sample_rate().round() as u32,
        channels: buffer.number_of_channels(),
        frames: buffer.length(),
        buffer,
    };
    if decoded.frames == 0 || decoded.channels == 0 {
        return Err(format!("“{name}” contains no audio."));
    }
    Ok(decoded)
}

/// Bytes of the file's start given to the header probe: a WAV, FLAC or OGG header and an MP3's
/// first frame (after a typical ID3 tag with cover art) fit in it.
const PROBE_BYTES: u32 = 1 << 20;

/// What the file's header says, when the core's decoder recognises the format.
#[derive(Clone, Copy)]
struct Header {
    sample_rate: u32,
    channels: Option<usize>,
    /// The length it declares, if it declares one.
    frames: Option<u64>,
}

/// Reads the file's header with the core's decoder (which only probes it here).
///
/// Only the file's first [`PROBE_BYTES`] are copied into wasm memory, never the whole file: wasm
/// memory never shrinks, so a whole 10-minute WAV (100 MB) would stay allocated in the page's
/// module for good. When the start alone cannot be probed (an MP3 behind a very large tag), the
/// whole file is tried only if it is small.
fn probe_header(bytes: &ArrayBuffer, name: &str) -> Option<Header> {
    let probe = |len: u32| {
        let start = Uint8Array::new_with_byte_offset_and_length(bytes, 0, len).to_vec();
        let unknown_length = crate::limits::wav_length_unknown(&start);
        svs_core::audio::AudioReader::from_bytes(start, name).ok().map(|reader| Header {
            sample_rate: reader.sample_rate(),
            channels: reader.channels(),
            frames: reader.n_frames().filter(|_| !unknown_length),
        })
    };
    let len = bytes.byte_length();
    probe(len.min(PROBE_BYTES)).or_else(|| (len > PROBE_BYTES && len <= 16 * PROBE_BYTES).then(|| probe(len)).flatten())
}
