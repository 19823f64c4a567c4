//! The waveform drawn under the file name: per-column peak amplitude of the mix of all channels,
//! how far the separation has got, and the playhead.

use js_sys::Float32Array;
use wasm_bindgen::prelude::*;
use web_sys::{AudioBuffer, CanvasRenderingContext2d, HtmlCanvasElement};

#[wasm_bindgen(inline_js = r#"
export function peaks(buffer, columns) {
  const frames = buffer.length;
  const out = new Float32Array(columns);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const x = buffer.getChannelData(c);
    for (let i = 0; i < columns; i++) {
      const start = Math.min(Math.floor((i * frames) / columns), frames - 1);
      const end = Math.max(start + 1, Math.floor(((i + 1) * frames) / columns));
      let peak = out[i];
      for (let j = start; j < end; j++) {
        const a = Math.abs(x[j]);
        if (a > peak) peak = a;
      }
      out[i] = peak;
    }
  }
  return out;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = peaks)]
    fn peaks_js(buffer: &AudioBuffer, columns: u32) -> Float32Array;
}

/// Peaks (0..=1) of `buffer` in `columns` equal spans, the largest absolute sample of any
/// channel in each span. In JavaScript, on the browser's own samples: reading them span by span
/// into wasm memory took about 0.4 s of the page's main thread per song, right when the song
/// should start playing.
pub fn peaks(buffer: &AudioBuffer, columns: usize) -> Vec<f32> {
    if buffer.length() == 0 || columns == 0 {
        return vec![0.0; columns];
    }
    peaks_js(buffer, columns as u32).to_vec()
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
