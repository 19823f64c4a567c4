//! Precompressed copies of the site's files: `NAME.br` and `NAME.gz` beside each `NAME`, so a
//! server (ours, or a static host that looks for them) sends the small one without compressing
//! on every request. Written once per build at the strongest settings, since the cost is paid
//! by the build, not by each visitor.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The encodings we write, as named in `Accept-Encoding`/`Content-Encoding`, with the suffix of
/// their files; the server prefers them in this order.
pub const ENCODINGS: [(&str, &str); 2] = [("br", "br"), ("gzip", "gz")];

/// One file of the site and its sizes in bytes.
#[derive(Debug)]
pub struct Sizes {
    pub path: PathBuf,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Writes `.br` and `.gz` beside every file under `dir` (in parallel: brotli's best setting is
/// slow, about a second per MB), and returns the sizes, largest first.
pub fn precompress_dir(dir: &Path) -> Result<Vec<Sizes>> {
    let mut files = Vec::new();
    list_files(dir, &mut files)?;
    let mut sizes = std::thread::scope(|scope| {
        let jobs: Vec<_> = files.iter().map(|file| scope.spawn(move || precompress(file))).collect();
        jobs.into_iter().map(|job| job.join().expect("a compression thread panicked")).collect::<Result<Vec<_>>>()
    })?;
    for s in &mut sizes {
        s.path = s.path.strip_prefix(dir).unwrap_or(&s.path).to_owned();
    }
    sizes.sort_by_key(|s| std::cmp::Reverse(s.raw));
    Ok(sizes)
}

/// Every file under `dir` but the precompressed copies.
pub fn list_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), files)?;
        } else if !is_precompressed(&entry.path()) {
            files.push(entry.path());
        }
    }
    Ok(())
}

fn is_precompressed(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| ENCODINGS.iter().any(|(_, suffix)| *suffix == e))
}

/// `NAME` with `.suffix` appended (not replacing its extension: `a.wasm` -> `a.wasm.br`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn precompress(file: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let brotli = brotli_bytes(&bytes)?;
    let gzip = gzip_bytes(&bytes)?;
    for (encoded, suffix) in [(&brotli, "br"), (&gzip, "gz")] {
        let target = with_suffix(file, suffix);
        std::fs::write(&target, encoded).with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(Sizes { path: file.to_owned(), raw: bytes.len() as u64, gzip: gzip.len() as u64, brotli: brotli.len() as u64 })
}

/// Brotli at quality 11 with a 16 MB window (the largest a browser must accept), which lets
/// matches reach across the whole module.
pub fn brotli_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 1 << 16, 11, 24);
        writer.write_all(bytes).context("brotli")?;
    }
    Ok(out)
}

pub fn gzip_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).context("gzip")?;
    encoder.finish().context("gzip")
}

/// The sizes as a table for the build's output (and docs/BENCHMARKS.md), with a total.
pub fn size_table(sizes: &[Sizes]) -> String {
    let mut table = format!("{:<28} {:>12} {:>12} {:>12}\n", "file", "raw", "gzip", "brotli");
    let row = |name: &str, raw: u64, gzip: u64, brotli: u64| format!("{name:<28} {raw:>12} {gzip:>12} {brotli:>12}\n");
    for s in sizes {
        table += &row(&s.path.display().to_string(), s.raw, s.gzip, s.brotli);
    }
    let total = |f: fn(&Sizes) -> u64| sizes.iter().map(f).sum::<u64>();
    table += &row("total (bytes)", total(|s| s.raw), total(|s| s.gzip), total(|s| s.brotli));
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_file_gets_br_and_gz_copies_that_decode_to_it() {
        let dir = std::env::temp_dir().join(format!("svs-xtask-compress-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        let js = "export function f() { return 1; }\n".repeat(200);
        std::fs::write(dir.join("main.js"), &js).unwrap();
        let wasm: Vec<u8> = (0..50_000u32).map(|i| (i * i % 251) as u8).collect();
        std::fs::write(dir.join("pkg/svs_web_bg.wasm"), &wasm).unwrap();

        let sizes = precompress_dir(&dir).unwrap();
        // Building twice must not compress the compressed copies.
        let again = precompress_dir(&dir).unwrap();
        assert_eq!(again.len(), 2, "{again:?}");
        assert_eq!(sizes[0].path, Path::new("pkg/svs_web_bg.wasm"));
        assert_eq!(sizes[1].raw, js.len() as u64);
        assert!(sizes[1].brotli < sizes[1].raw / 10, "{:?}", sizes[1]);

        for (name, original) in [("main.js", js.as_bytes()), ("pkg/svs_web_bg.wasm", &wasm[..])] {
            let mut decoded = Vec::new();
            let br = std::fs::read(dir.join(format!("{name}.br"))).unwrap();
            brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, original, "{name}.br");
            decoded.clear();
            let gz = std::fs::read(dir.join(format!("{name}.gz"))).unwrap();
            flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, original, "{name}.gz");
        }
        assert!(size_table(&sizes).lines().last().unwrap().starts_with("total"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
