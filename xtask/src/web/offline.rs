//! The service worker's version and file list (`www/sw.js`): filled in at build time from the
//! site itself, so every file the app loads is cached for offline use and any change to any of
//! them is a new version, which replaces the old cache.

use anyhow::{Context, Result, bail};
use std::hash::{DefaultHasher, Hasher};
use std::path::Path;

const SERVICE_WORKER: &str = "sw.js";

/// Fills in `sw.js` in the built `site` (before the precompressed copies are written).
pub fn stamp_service_worker(site: &Path) -> Result<()> {
    let mut paths = Vec::new();
    super::compress::list_files(site, &mut paths)?;
    let mut files: Vec<String> = paths
        .iter()
        .map(|p| p.strip_prefix(site).expect("listed under the site").to_string_lossy().replace('\\', "/"))
        .collect();
    files.retain(|f| f != SERVICE_WORKER);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        hasher.write(file.as_bytes());
        hasher.write(&std::fs::read(site.join(file)).with_context(|| format!("cannot read {file}"))?);
    }
    let path = site.join(SERVICE_WORKER);
    let template = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let stamped = fill(&template, &format!("{:016x}", hasher.finish()), &files)?;
    std::fs::write(&path, stamped).with_context(|| format!("cannot write {}", path.display()))
}

/// The template with its two placeholders replaced. The page's own address (`./`) is cached too:
/// it is what an installed app opens.
fn fill(template: &str, version: &str, files: &[String]) -> Result<String> {
    const VERSION: &str = "\"__SVS_VERSION__\"";
    const FILES: &str = "[\"__SVS_FILES__\"]";
    if !template.contains(VERSION) || !template.contains(FILES) {
        bail!("{SERVICE_WORKER} has lost its placeholders {VERSION} and {FILES}");
    }
    let mut list = vec!["./".to_owned()];
    list.extend(files.iter().map(|f| format!("./{f}")));
    let list = format!("[{}]", list.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", "));
    Ok(template.replace(VERSION, &format!("{version:?}")).replace(FILES, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_and_every_file_are_filled_in_and_any_change_is_a_new_version() {
        let site = std::env::temp_dir().join(format!("svs-xtask-offline-{}", std::process::id()));
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        let template = "const VERSION = \"__SVS_VERSION__\";\nconst FILES = [\"__SVS_FILES__\"];\n";
        let write = |content: &str| {
            std::fs::write(site.join("sw.js"), template).unwrap();
            std::fs::write(site.join("index.html"), "<html>").unwrap();
            std::fs::write(site.join("pkg/svs_web_bg.wasm"), content).unwrap();
            stamp_service_worker(&site).unwrap();
            std::fs::read_to_string(site.join("sw.js")).unwrap()
        };
        let first = write("module one");
        assert!(first.contains("const FILES = [\"./\", \"./index.html\", \"./pkg/svs_web_bg.wasm\"];"), "{first}");
        assert!(!first.contains("__SVS_"), "{first}");
        assert_eq!(write("module one"), first, "the same files are the same version");
        assert_ne!(write("module two"), first, "a changed file is a new version");
        std::fs::remove_dir_all(&site).unwrap();
        assert!(fill("no placeholders", "0", &[]).is_err());
    }
}
