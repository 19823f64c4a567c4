//! `cargo xtask web build|serve`: builds the static site of the web app (issue #8) and serves it
//! on 127.0.0.1.
//!
//! build: `cargo build -p svs-web --target wasm32-unknown-unknown` (the dev profile, which is
//! optimised), then `wasm-bindgen --target web` (the CLI must match the wasm-bindgen version in
//! Cargo.lock exactly), then the files of `www/`. No wasm-opt: Debian's binaryen breaks the
//! module, and the gain is small. The result is a plain folder for any static host.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage:
  cargo xtask web build [--out DIR] [--cpu-only]
      builds the site into DIR (default: $CARGO_TARGET_DIR/svs-web/site)
  cargo xtask web serve [--port N] [--dir DIR] [--cpu-only]
      builds the site (unless --dir names a built one) and serves it on http://127.0.0.1:N/
      (default port 8080; 0 picks a free one; the first line printed is the address)";

pub fn main(args: Vec<String>) -> Result<()> {
    let mut args = args.into_iter();
    let command = args.next();
    let mut out = None;
    let mut port = 8080u16;
    let mut cpu_only = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" | "--dir" => out = Some(PathBuf::from(args.next().context("--out/--dir needs a folder")?)),
            "--port" => {
                port = args.next().context("--port needs a number")?.parse().context("--port needs a number")?
            }
            "--cpu-only" => cpu_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    match command.as_deref() {
        Some("build") => {
            let out = out.unwrap_or_else(default_site_dir);
            build(&out, cpu_only)?;
            eprintln!("built the site into {}", out.display());
            Ok(())
        }
        Some("serve") => {
            let dir = match out {
                Some(dir) => dir,
                None => {
                    let dir = default_site_dir();
                    build(&dir, cpu_only)?;
                    dir
                }
            };
            if !dir.join("index.html").exists() {
                bail!("{} has no index.html: build the site first (cargo xtask web build)", dir.display());
            }
            serve(&dir, port)
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

fn default_site_dir() -> PathBuf {
    target_dir().join("svs-web").join("site")
}

/// Builds the wasm module, generates its JavaScript bindings and copies `www/` next to them.
pub fn build(out: &Path, cpu_only: bool) -> Result<()> {
    let root = workspace_root();
    let wasm_bindgen = check_wasm_bindgen(&root)?;
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(&root).args(["build", "-p", "svs-web", "--target", "wasm32-unknown-unknown"]);
    if !cpu_only {
        cargo.args(["--features", "webgpu"]);
    }
    run(&mut cargo)?;
    let wasm = target_dir().join("wasm32-unknown-unknown/debug/svs_web.wasm");

    // Build into a fresh folder, then swap it in, so a server never sees half a site.
    let staging = out.with_extension("partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
    run(Command::new(wasm_bindgen)
        .arg("--target")
        .arg("web")
        .arg("--no-typescript")
        .arg("--out-dir")
        .arg(staging.join("pkg"))
        .arg(&wasm))?;
    copy_dir(&root.join("www"), &staging)?;
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

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
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

/// Serves `dir` on 127.0.0.1 until killed: GET and HEAD of files, with the MIME types browsers
/// insist on for modules and wasm (`text/javascript`, `application/wasm`).
fn serve(dir: &Path, port: u16) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("cannot listen on port {port}"))?;
    let address = listener.local_addr()?;
    // The first line is the address: tests read it when they ask for port 0.
    println!("http://{address}/");
    std::io::stdout().flush()?;
    eprintln!("serving {} (Ctrl-C stops)", dir.display());
    let dir = dir.canonicalize()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let dir = dir.clone();
        std::thread::spawn(move || {
            // A browser that goes away mid-answer (a reload, a closed tab) is not worth a line.
            if let Err(e) = respond(stream, &dir)
                && !matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
            {
                eprintln!("request failed: {e}");
            }
        });
    }
    Ok(())
}

fn respond(stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers: nothing in them changes the answer.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return reply(&mut stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD\n", true);
    }
    let Some(path) = resolve(dir, target) else {
        return reply(&mut stream, "404 Not Found", "text/plain", b"not found\n", method == "GET");
    };
    match std::fs::read(&path) {
        Ok(body) => reply(&mut stream, "200 OK", mime_type(&path), &body, method == "GET"),
        Err(_) => reply(&mut stream, "404 Not Found", "text/plain", b"not found\n", method == "GET"),
    }
}

/// The file a request path names inside `dir`; `None` for anything that would leave it.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut file = dir.to_owned();
    for component in Path::new(path.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wav" => "audio/wav",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn reply(stream: &mut TcpStream, status: &str, mime: &str, body: &[u8], with_body: bool) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_site_and_get_browser_mime_types() {
        let dir = std::env::temp_dir().join(format!("svs-xtask-web-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("pkg/svs_web_bg.wasm"), b"\0asm").unwrap();
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/pkg/svs_web_bg.wasm?v=1"), Some(dir.join("pkg/svs_web_bg.wasm")));
        assert_eq!(resolve(&dir, "/../etc/passwd"), None);
        assert_eq!(resolve(&dir, "/missing.js"), None);
        assert_eq!(mime_type(Path::new("a/svs_web_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("worker.js")), "text/javascript; charset=utf-8");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
