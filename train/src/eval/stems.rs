//! Reading stem files for evaluation: 16 kHz mono `f64` samples, as the protocol scores them.

use anyhow::{Context, Result, bail};
use multiversion::multiversion;
use std::io::Read;
use std::path::Path;
use svs_core::MODEL_SAMPLE_RATE;
use svs_core::audio::read_audio_bytes;
use svs_core::dsp::resample;

/// Reads a stem file as 16 kHz mono `f64` samples into `out` (with `file` as the buffer for
/// its bytes), saying when it had to be converted.
///
/// WAV files that already are 16 kHz mono 16/24-bit integer or 32-bit float (what `svs
/// separate` writes) are read directly; anything else goes through the general decoder and
/// resampler. Both give the same values: the decoder's `f32` samples are exact for these
/// formats, and so are the `f64` ones read here.
pub(crate) fn load_16k_mono(path: &Path, file: &mut Vec<u8>, out: &mut Vec<f64>) -> Result<()> {
    file.clear();
    std::fs::File::open(path)
        .and_then(|mut f| {
            file.reserve(f.metadata()?.len() as usize);
            crate::huge_pages::advise_spare_capacity(file);
            f.read_to_end(file)
        })
        .with_context(|| format!("reading {}", path.display()))?;
    out.clear();
    if wav_16k_mono(file, out).is_none() {
        let audio = read_audio_bytes(file.clone(), &path.to_string_lossy())?;
        if audio.n_channels() > 1 || audio.sample_rate != MODEL_SAMPLE_RATE {
            tracing::info!(
                "{}: {} ch at {} Hz -> mono 16 kHz (the protocol's format)",
                path.display(),
                audio.n_channels(),
                audio.sample_rate
            );
        }
        if audio.channels.iter().flatten().any(|x| !x.is_finite()) {
            bail!("{}: contains NaN or infinite samples", path.display());
        }
        let mono = resample(&audio.to_mono(), audio.sample_rate, MODEL_SAMPLE_RATE)?;
        out.extend(mono.into_iter().map(f64::from));
    }
    if out.is_empty() {
        bail!("{}: contains no audio samples", path.display());
    }
    Ok(())
}

/// Appends to `out` the samples of a 16 kHz mono WAV file of 16- or 24-bit integers or 32-bit
/// floats, scaled as the general decoder scales them (integers divided by 2^15 or 2^23); `None`
/// (with `out` untouched) for any other file, left to the general decoder. Non-finite samples
/// are kept: the metrics reject them. hound reads the header; the samples are converted here in
/// bulk because hound's sample-by-sample reader alone costs about as much as the metrics.
fn wav_16k_mono(bytes: &[u8], out: &mut Vec<f64>) -> Option<()> {
    let mut cursor = std::io::Cursor::new(bytes);
    let (spec, declared) = {
        let reader = hound::WavReader::new(&mut cursor).ok()?;
        (reader.spec(), reader.len() as usize)
    };
    // `WavReader::new` stops at the start of the samples.
    let start = cursor.position() as usize;
    if spec.channels != 1 || spec.sample_rate != MODEL_SAMPLE_RATE {
        return None;
    }
    let width = usize::from(spec.bits_per_sample / 8);
    // hound does not say how wide the stored samples are (24 bits may sit in 4 bytes): the data
    // chunk's size, just before the samples, must be `width` bytes per sample, else this is left
    // to the general decoder (as are streamed files whose size was never filled in).
    let size = u32::from_le_bytes(bytes.get(start.checked_sub(4)?..start)?.try_into().ok()?) as usize;
    if size != declared * width || start + size > bytes.len() {
        return None;
    }
    let data = &bytes[start..start + size];
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => convert_i16(data, out),
        (hound::SampleFormat::Int, 24) => convert_i24(data, out),
        (hound::SampleFormat::Float, 32) => convert_f32(data, out),
        _ => return None,
    }
    Some(())
}

/// Appends the samples of `data`, `N` bytes each, converted by `sample`.
///
/// A plain loop into the reserved space rather than `Vec::extend`: `extend` is a separate
/// generic function that the AVX2 copies below do not inline, and it then called `sample` once
/// per sample (a third of the evaluation's file handling in a profile).
#[inline(always)]
fn convert<const N: usize>(data: &[u8], out: &mut Vec<f64>, sample: impl Fn([u8; N]) -> f64) {
    let (chunks, _) = data.as_chunks::<N>();
    out.reserve(chunks.len());
    crate::huge_pages::advise_spare_capacity(out);
    // Written in place of the spare capacity: zeroing it first (`resize`) cost as much again.
    let slots = &mut out.spare_capacity_mut()[..chunks.len()];
    for (slot, &bytes) in slots.iter_mut().zip(chunks) {
        slot.write(sample(bytes));
    }
    // SAFETY: the loop above initialised the `chunks.len()` slots after the current length.
    unsafe { out.set_len(out.len() + chunks.len()) };
}

/// 16-bit samples, divided by 2^15 as the general decoder does.
#[multiversion(targets("x86_64+avx2"))]
fn convert_i16(data: &[u8], out: &mut Vec<f64>) {
    convert::<2>(data, out, |b| i16::from_le_bytes(b) as f64 / 32_768.0)
}

/// 24-bit samples, divided by 2^23 as the general decoder does.
#[multiversion(targets("x86_64+avx2"))]
fn convert_i24(data: &[u8], out: &mut Vec<f64>) {
    convert::<3>(data, out, |[a, b, c]| (i32::from_le_bytes([0, a, b, c]) >> 8) as f64 / 8_388_608.0)
}

/// 32-bit float samples.
#[multiversion(targets("x86_64+avx2"))]
fn convert_f32(data: &[u8], out: &mut Vec<f64>) {
    convert::<4>(data, out, |b| f32::from_le_bytes(b) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use svs_core::AudioBuffer;
    use svs_core::audio::{BitDepth, wav_bytes};

    #[test]
    fn direct_wav_reading_matches_the_general_decoder() {
        let samples: Vec<f32> = (0..5000).map(|i| ((i as f32 * 0.013).sin() * 0.9).clamp(-1.0, 1.0)).collect();
        for depth in [BitDepth::Int16, BitDepth::Int24, BitDepth::Float32] {
            let bytes = wav_bytes(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![samples.clone()]), depth).unwrap();
            let mut direct = Vec::new();
            assert!(wav_16k_mono(&bytes, &mut direct).is_some(), "{depth:?}");
            let decoded = read_audio_bytes(bytes, "x.wav").unwrap();
            let general: Vec<f64> = decoded.channels[0].iter().map(|&x| x as f64).collect();
            assert_eq!(direct, general, "{depth:?}");
        }
        // Other rates and channel counts are left to the general decoder.
        for buffer in [
            AudioBuffer::new(44_100, vec![samples.clone()]),
            AudioBuffer::new(MODEL_SAMPLE_RATE, vec![samples.clone(), samples.clone()]),
        ] {
            let bytes = wav_bytes(&buffer, BitDepth::Int24).unwrap();
            assert!(wav_16k_mono(&bytes, &mut Vec::new()).is_none());
        }
        assert!(wav_16k_mono(b"not a wav file at all", &mut Vec::new()).is_none());
    }
}
