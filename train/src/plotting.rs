//! Writing figures (training curves, Figure 2) as SVG and PNG from one drawing function.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Registers the embedded DejaVu Sans as "sans-serif" (plotters' ab_glyph text renderer has no
/// fonts of its own; we embed one so figures never depend on the machine's fonts).
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [(FontStyle::Normal, dejavu::sans::regular()), (FontStyle::Bold, dejavu::sans::bold())] {
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                tracing::warn!("could not register the embedded font; figure text may be missing");
            }
        }
    });
}

/// A figure drawn on any plotters backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` into `<stem>.svg` and `<stem>.png` (`size` in pixels). Each is drawn under a
/// `<stem>.partial.<ext>` name (plotters picks the image format from the extension) and renamed
/// when complete, so a killed run never leaves a half-drawn figure under the finished name.
pub fn save(figure: &impl Figure, stem: &Path, size: (u32, u32)) -> Result<()> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display, ext: &str| anyhow::anyhow!("drawing {}.{ext}: {e}", stem.display());
    let partial = |ext: &str| {
        let mut name = stem.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".partial.{ext}"));
        stem.with_file_name(name)
    };
    let finish = |ext: &str| std::fs::rename(partial(ext), stem.with_extension(ext)).map_err(|e| err(&e, ext));
    {
        let path = partial("svg");
        let root = SVGBackend::new(&path, size).into_drawing_area();
        figure.draw(&root).map_err(|e| err(&e, "svg"))?;
        root.present().map_err(|e| err(&e, "svg"))?;
    }
    finish("svg")?;
    {
        let path = partial("png");
        let root = BitMapBackend::new(&path, size).into_drawing_area();
        figure.draw(&root).map_err(|e| err(&e, "png"))?;
        root.present().map_err(|e| err(&e, "png"))?;
    }
    finish("png")
}

/// A plotters error as anyhow (their error types borrow the backend's).
pub fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
