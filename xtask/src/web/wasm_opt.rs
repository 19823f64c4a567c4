//! Binaryen's `wasm-opt` on the release module, when one recent enough is on PATH; else the
//! build says so and goes on. Older builds are refused: Debian's binaryen (108) predates
//! features rustc now emits by default and breaks the module. npm's `binaryen` package
//! (`npm install -g binaryen@132.0.0`, a JavaScript build run by Node.js) reads and writes the
//! module, but takes many minutes on it and gains nothing on the wire once compressed, so
//! scripts/test does not install it (docs/BENCHMARKS.md has the figures).
//! Nothing is downloaded here.

use super::run;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The oldest wasm-opt known to read this module (npm's binaryen 132; Debian's 108 cannot).
pub const MINIMUM_VERSION: u32 = 132;

/// The WebAssembly features rustc's wasm32-unknown-unknown target emits by default (the module
/// carries no list of them after wasm-bindgen, so wasm-opt must be told; every current browser
/// has them). Nothing beyond them, so wasm-opt cannot introduce a feature a browser lacks.
const FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

pub struct WasmOpt {
    version: u32,
}

/// The `wasm-opt` on PATH if it is recent enough; else why not, for the build's note.
pub fn find() -> Result<WasmOpt> {
    let output = Command::new("wasm-opt").arg("--version").output().map_err(|_| {
        anyhow::anyhow!("no wasm-opt on PATH (install one with: npm install -g binaryen@{MINIMUM_VERSION}.0.0)")
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(&text).with_context(|| format!("cannot read wasm-opt's version from {text:?}"))?;
    if version < MINIMUM_VERSION {
        bail!(
            "wasm-opt is version {version}, older than {MINIMUM_VERSION} (older ones break the module); \
             install a newer one with: npm install -g binaryen@{MINIMUM_VERSION}.0.0"
        );
    }
    Ok(WasmOpt { version })
}

/// "wasm-opt version 132 (version_132)" -> 132.
fn parse_version(text: &str) -> Option<u32> {
    text.split_whitespace().skip_while(|w| *w != "version").nth(1)?.parse().ok()
}

impl WasmOpt {
    /// Optimises `wasm` in place (through a temporary file, so a failure leaves it intact).
    pub fn optimise(&self, wasm: &Path) -> Result<()> {
        let before = std::fs::metadata(wasm)?.len();
        let optimised = wasm.with_extension("opt.wasm");
        eprintln!("wasm-opt {} {}", self.version, wasm.display());
        run(Command::new("wasm-opt").args(FEATURES).arg("-O2").arg(wasm).arg("-o").arg(&optimised))?;
        std::fs::rename(&optimised, wasm).with_context(|| format!("cannot replace {}", wasm.display()))?;
        eprintln!("wasm-opt: {before} -> {} bytes", std::fs::metadata(wasm)?.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_wasm_opts_banner() {
        assert_eq!(parse_version("wasm-opt version 132 (version_132)\n"), Some(132));
        assert_eq!(parse_version("wasm-opt version 108"), Some(108));
        assert_eq!(parse_version("something else"), None);
    }
}
