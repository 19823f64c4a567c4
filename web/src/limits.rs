//! How long a song the browser can separate. A wasm32 module addresses at most 4 GiB; the worker
//! holds the two encoded stems (24-bit WAV: 3 bytes per sample each) plus one window of work, so
//! the song's length is what can run out. The input and the separated samples themselves live
//! in JavaScript arrays outside the module's memory.

/// Bytes of the worker's wasm memory we plan to use at most (of the 4 GiB it can address),
/// leaving room for the model, one window's intermediate tensors and fragmentation.
pub const WORKER_MEMORY_BUDGET: u64 = 2_500_000_000;

/// Bytes the worker needs per input sample (per channel): two 24-bit WAV stems.
const BYTES_PER_SAMPLE: u64 = 2 * 3;

/// Fixed cost: the model, one window of STFTs and activations (a 10 s window of a 48 kHz stereo
/// song, with room to spare).
const FIXED_BYTES: u64 = 400_000_000;

/// `Err` with a plain-words explanation when a song of `frames` samples per channel and
/// `channels` channels would not fit in the worker's memory.
pub fn check_fits(frames: u64, channels: u64, sample_rate: u32) -> Result<(), String> {
    let needed = frames * channels * BYTES_PER_SAMPLE + FIXED_BYTES;
    if needed <= WORKER_MEMORY_BUDGET {
        return Ok(());
    }
    let max_seconds = (WORKER_MEMORY_BUDGET - FIXED_BYTES) / (channels.max(1) * BYTES_PER_SAMPLE) / sample_rate as u64;
    Err(format!(
        "This song is too long for the memory a browser tab can use: at {sample_rate} Hz with {channels} \
         channel(s) the limit is about {} minutes, and this one is {} minutes. Cut it into parts, or use \
         the `svs separate` command line, which has no such limit.",
        max_seconds / 60,
        frames / sample_rate as u64 / 60
    ))
}

/// Whether a WAV file's start (`prefix`) declares its data length as unknown: writers that
/// stream (to a pipe) put 0 or 0xFFFFFFFF there, which a decoder reads as a length of zero or of
/// hours. Such a declared length must not be held against the song; its decoded length is.
pub fn wav_length_unknown(prefix: &[u8]) -> bool {
    if prefix.len() < 12 || &prefix[0..4] != b"RIFF" || &prefix[8..12] != b"WAVE" {
        return false;
    }
    let mut at = 12;
    while at + 8 <= prefix.len() {
        let size = u32::from_le_bytes([prefix[at + 4], prefix[at + 5], prefix[at + 6], prefix[at + 7]]);
        if &prefix[at..at + 4] == b"data" {
            return size == 0 || size == u32::MAX;
        }
        // Chunks are padded to an even size.
        at += 8 + size as usize + (size as usize & 1);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_header(data_len: u32) -> Vec<u8> {
        let mut h = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        h.extend(16u32.to_le_bytes());
        h.extend([1, 0, 2, 0]); // PCM, stereo
        h.extend(48_000u32.to_le_bytes());
        h.extend((48_000u32 * 4).to_le_bytes());
        h.extend([4, 0, 16, 0]);
        h.extend(b"data");
        h.extend(data_len.to_le_bytes());
        h
    }

    #[test]
    fn streamed_wav_lengths_are_unknown() {
        assert!(wav_length_unknown(&wav_header(u32::MAX)));
        assert!(wav_length_unknown(&wav_header(0)));
        assert!(!wav_length_unknown(&wav_header(4_000_000_000)));
        assert!(!wav_length_unknown(b"ID3\x04 an mp3"));
    }

    #[test]
    fn ten_minutes_of_stereo_fit_and_hours_do_not() {
        assert!(check_fits(44_100 * 600, 2, 44_100).is_ok());
        assert!(check_fits(48_000 * 600, 2, 48_000).is_ok());
        let err = check_fits(48_000 * 4 * 3600, 2, 48_000).unwrap_err();
        assert!(err.contains("too long") && err.contains("240 minutes"), "{err}");
    }
}
