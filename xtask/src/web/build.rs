//! The site: `cargo build -p svs-web --target wasm32-unknown-unknown` in the chosen profile,
//! `wasm-bindgen --target web` (the CLI must match the wasm-bindgen version in Cargo.lock
//! exactly), the files of `www/`, and for the release build `wasm-opt` and precompressed copies.

use super::{compress, run, target_dir, wasm_opt, workspace_root};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The workspace's one native profile (optimised, with overflow checks): quick to rebuild.
    Dev,
    /// `[profile.web-release]`: what the user downloads.
    Release,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "web-release",
        }
    }

    /// Cargo's output folder for the profile (`dev` is the one that is not named after itself).
    fn output_dir(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "web-release",
        }
    }
}

/// Builds the wasm module, generates its JavaScript bindings and copies `www/` next to them;
/// for the release build also shrinks the module and writes `.br` and `.gz` beside each file.
pub fn build(out: &Path, profile: Profile, cpu_only: bool) -> Result<()> {
    let root = workspace_root();
    let wasm_bindgen = check_wasm_bindgen(&root)?;
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(&root).args(["build", "-p", "svs-web", "--target", "wasm32-unknown-unknown"]);
    cargo.args(["--profile", profile.name()]);
    if !cpu_only {
        cargo.args(["--features", "webgpu"]);
    }
    run(&mut cargo)?;
    let wasm = target_dir().join("wasm32-unknown-unknown").join(profile.output_dir()).join("svs_web.wasm");

    // Build into a fresh folder, then swap it in, so a server never sees half a site.
    let staging = out.with_extension("partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
    let pkg = staging.join("pkg");
    let mut bindgen = Command::new(wasm_bindgen);
    bindgen.args(["--target", "web", "--no-typescript"]).arg("--out-dir").arg(&pkg).arg(&wasm);
    if profile == Profile::Release {
        // Function names only serve stack traces in the console; the panic banners carry the
        // panic's own message and location, which are data, not names.
        bindgen.arg("--remove-name-section");
    }
    run(&mut bindgen)?;
    copy_dir(&root.join("www"), &staging)?;
    if profile == Profile::Release {
        match wasm_opt::find() {
            Ok(tool) => tool.optimise(&pkg.join("svs_web_bg.wasm"))?,
            Err(why) => eprintln!("note: wasm-opt skipped: {why}"),
        }
    }
    super::offline::stamp_service_worker(&staging)?;
    if profile == Profile::Release {
        let sizes = compress::precompress_dir(&staging)?;
        eprintln!("{}", compress::size_table(&sizes));
    }
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    std::fs::rename(&staging, out).with_context(|| format!("cannot move the site to {}", out.display()))?;
    Ok(())
}

/// The `wasm-bindgen` CLI, if it is the version in Cargo.lock (the generated JavaScript must
/// match the library compiled into the module exactly).
fn check_wasm_bindgen(root: &Path) -> Result<&'static str> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let wanted = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"').map(str::to_owned)))
        .context("Cargo.lock has no wasm-bindgen")?;
    let install = format!("install it with: cargo install wasm-bindgen-cli --version {wanted}");
    let found = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .with_context(|| format!("the wasm-bindgen CLI is not installed; {install}"))?;
    let found = String::from_utf8_lossy(&found.stdout);
    if found.split_whitespace().nth(1) != Some(wanted.as_str()) {
        bail!("wasm-bindgen CLI is '{}', but Cargo.lock has {wanted}; {install}", found.trim());
    }
    Ok("wasm-bindgen")
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
