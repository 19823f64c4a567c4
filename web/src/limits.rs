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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_minutes_of_stereo_fit_and_hours_do_not() {
        assert!(check_fits(44_100 * 600, 2, 44_100).is_ok());
        assert!(check_fits(48_000 * 600, 2, 48_000).is_ok());
        let err = check_fits(48_000 * 4 * 3600, 2, 48_000).unwrap_err();
        assert!(err.contains("too long") && err.contains("240 minutes"), "{err}");
    }
}
