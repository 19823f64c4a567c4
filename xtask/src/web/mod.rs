//! `cargo xtask web build|serve`: builds the static site of the web app (issue #8) and serves it
//! on 127.0.0.1.
//!
//! Two builds (issue #21): the dev profile (fast to rebuild, 40 MB of wasm; what a developer
//! iterates on) and `--release`, the `web-release` profile of the workspace's Cargo.toml (LTO,
//! one codegen unit, no debug info or names), then `wasm-opt` where a working one is installed,
//! then `.br` and `.gz` beside every file. The release build is what `serve` builds by default
//! and what a static host should serve. Either result is a plain folder.

mod build;
mod compress;
mod offline;
mod serve;
mod wasm_opt;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

pub use build::{Profile, build};

const USAGE: &str = "usage:
  cargo xtask web build [--release] [--out DIR] [--cpu-only]
      builds the site into DIR (default: $CARGO_TARGET_DIR/svs-web/site for --release,
      $CARGO_TARGET_DIR/svs-web/site-dev without it); --release is what a host should serve
  cargo xtask web serve [--dev] [--port N] [--dir DIR] [--cpu-only]
      builds the release site (the dev one with --dev; neither when --dir names a built one)
      and serves it on http://127.0.0.1:N/, precompressed where the browser accepts it
      (default port 8080; 0 picks a free one; the first line printed is the address)";

pub fn main(args: Vec<String>) -> Result<()> {
    let mut args = args.into_iter();
    let command = args.next();
    let mut out = None;
    let mut port = 8080u16;
    let mut cpu_only = false;
    let mut profile = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" | "--dir" => out = Some(PathBuf::from(args.next().context("--out/--dir needs a folder")?)),
            "--port" => {
                port = args.next().context("--port needs a number")?.parse().context("--port needs a number")?
            }
            "--cpu-only" => cpu_only = true,
            "--release" => profile = Some(Profile::Release),
            "--dev" => profile = Some(Profile::Dev),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    match command.as_deref() {
        Some("build") => {
            let profile = profile.unwrap_or(Profile::Dev);
            let out = out.unwrap_or_else(|| default_site_dir(profile));
            build(&out, profile, cpu_only)?;
            eprintln!("built the site ({}) into {}", profile.name(), out.display());
            Ok(())
        }
        Some("serve") => {
            let dir = match out {
                Some(dir) => dir,
                None => {
                    let profile = profile.unwrap_or(Profile::Release);
                    let dir = default_site_dir(profile);
                    build(&dir, profile, cpu_only)?;
                    dir
                }
            };
            if !dir.join("index.html").exists() {
                bail!("{} has no index.html: build the site first (cargo xtask web build --release)", dir.display());
            }
            serve::serve(&dir, port)
        }
        _ => bail!("{USAGE}"),
    }
}

/// The workspace: from `cargo run`'s (and so `cargo xtask`'s) environment when there is one,
/// since a binary in a target folder shared by several checkouts may have been built in another
/// one; else where this binary was built.
fn workspace_root() -> PathBuf {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().expect("xtask lives in the workspace").to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

fn default_site_dir(profile: Profile) -> PathBuf {
    let name = match profile {
        Profile::Release => "site",
        Profile::Dev => "site-dev",
    };
    target_dir().join("svs-web").join(name)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
