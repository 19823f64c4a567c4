//! The waveform drawn under the file name: per-column peak amplitude of the mix of all channels,
//! how far the separation has got, and the playhead.

use crate::js;
use wasm_bindgen::JsCast;
use web_sys::{AudioBuffer, CanvasRenderingContext2d, HtmlCanvasElement};

/// Peaks (0..=1) of `buffer` in `columns` equal spans, the largest absolute sample of any
/// channel in each span. Reads one channel at a time, span by span, so a long song is never
/// copied whole into wasm memory.
pub fn peaks(buffer: &AudioBuffer, columns: usize) -> Vec<f32> {
    let frames = buffer.length();
    let mut peaks = vec![0.0f32; columns];
    if frames == 0 || columns == 0 {
        return peaks;
    }
    let mut span = Vec::new();
    for c in 0..buffer.number_of_channels() {
        let channel = js::channel_view(buffer, c);
        for (i, peak) in peaks.iter_mut().enumerate() {
            let (start, end) = span_bounds(frames, columns, i);
            span.resize((end - start) as usize, 0.0);
            channel.subarray(start, end).copy_to(&mut span);
            *peak = span.iter().fold(*peak, |m, x| m.max(x.abs()));
        }
    }
    peaks
}

/// Frames `start..end` of column `i` of `columns` over `frames` frames (never empty). In 64-bit
/// arithmetic: wasm32's `usize` is 32 bits, and `i * frames` overflows it for a song of more
/// than about 5 minutes at 44.1 kHz (a panic that froze the page on "Reading the file…").
fn span_bounds(frames: u32, columns: usize, i: usize) -> (u32, u32) {
    let at = |i: usize| (i as u64 * frames as u64 / columns as u64) as u32;
    let start = at(i).min(frames - 1);
    (start, at(i + 1).clamp(start + 1, frames))
}

/// Draws mirrored bars of `peaks` filling the canvas: in the page's accent colour as far as
/// `separated` (per column, the fraction separated) says, grey where not yet, and the playhead
/// at `playhead` (a fraction of the song).
pub fn draw(canvas: &HtmlCanvasElement, peaks: &[f32], separated: &[f32], playhead: Option<f64>) {
    let Ok(Some(context)) = canvas.get_context("2d") else { return };
    let Ok(context) = context.dyn_into::<CanvasRenderingContext2d>() else { return };
    let (width, height) = (canvas.width() as f64, canvas.height() as f64);
    context.clear_rect(0.0, 0.0, width, height);
    let bar = width / peaks.len().max(1) as f64;
    let middle = height / 2.0;
    for (i, peak) in peaks.iter().enumerate() {
        let done = separated.get(i).copied().unwrap_or(0.0) >= 0.999;
        context.set_fill_style_str(if done { "#7c5cff" } else { "#3b3f70" });
        let h = (*peak as f64).min(1.0).max(0.01) * middle;
        context.fill_rect(i as f64 * bar, middle - h, (bar - 1.0).max(1.0), 2.0 * h);
    }
    if let Some(at) = playhead {
        context.set_fill_style_str("#22d3ee");
        context.fill_rect((at.clamp(0.0, 1.0) * width - 1.0).max(0.0), 0.0, 2.0, height);
    }
}
