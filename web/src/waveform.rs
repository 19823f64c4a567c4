//! The waveform drawn under the file name: per-pixel peak amplitude of the mix of all channels.

use crate::js;
use wasm_bindgen::JsCast;
use web_sys::{AudioBuffer, CanvasRenderingContext2d, HtmlCanvasElement};

/// Peaks (0..=1) of `buffer` in `columns` equal spans, the largest absolute sample of any
/// channel in each span. Reads one channel at a time, span by span, so a long song is never
/// copied whole into wasm memory.
pub fn peaks(buffer: &AudioBuffer, columns: usize) -> Vec<f32> {
    let frames = buffer.length() as usize;
    let mut peaks = vec![0.0f32; columns];
    if frames == 0 || columns == 0 {
        return peaks;
    }
    for c in 0..buffer.number_of_channels() {
        let channel = js::channel_view(buffer, c);
        for (i, peak) in peaks.iter_mut().enumerate() {
            let (start, end) = (i * frames / columns, ((i + 1) * frames / columns).max(i * frames / columns + 1));
            let span = channel.subarray(start as u32, end.min(frames) as u32).to_vec();
            *peak = span.iter().fold(*peak, |m, x| m.max(x.abs()));
        }
    }
    peaks
}

/// Draws mirrored bars of `peaks` filling the canvas, in the page's accent colour.
pub fn draw(canvas: &HtmlCanvasElement, peaks: &[f32]) {
    let Ok(Some(context)) = canvas.get_context("2d") else { return };
    let Ok(context) = context.dyn_into::<CanvasRenderingContext2d>() else { return };
    let (width, height) = (canvas.width() as f64, canvas.height() as f64);
    context.clear_rect(0.0, 0.0, width, height);
    context.set_fill_style_str("#7c5cff");
    let bar = width / peaks.len().max(1) as f64;
    let middle = height / 2.0;
    for (i, peak) in peaks.iter().enumerate() {
        let h = (*peak as f64).min(1.0).max(0.01) * middle;
        context.fill_rect(i as f64 * bar, middle - h, (bar - 1.0).max(1.0), 2.0 * h);
    }
}
