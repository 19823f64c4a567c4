//! The local static server: GET and HEAD of the site's files on 127.0.0.1, with the MIME types
//! browsers insist on for modules and wasm, and the build's precompressed copies sent with their
//! `Content-Encoding` when the browser accepts it (what a static host should do, see README).
//! Hand-written on std's TcpListener: a few dozen lines, where a server crate would pull an
//! async runtime into the xtask.

use super::compress::{ENCODINGS, with_suffix};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// Serves `dir` until killed.
pub fn serve(dir: &Path, port: u16) -> Result<()> {
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
    let mut accept_encoding = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("accept-encoding")
        {
            accept_encoding = value.trim().to_owned();
        }
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut stream = stream;
    let with_body = method == "GET";
    if method != "GET" && method != "HEAD" {
        return reply(&mut stream, "405 Method Not Allowed", "text/plain", None, b"only GET and HEAD\n", true);
    }
    let Some(path) = resolve(dir, target) else {
        return reply(&mut stream, "404 Not Found", "text/plain", None, b"not found\n", with_body);
    };
    let (file, encoding) = choose_encoding(&path, &accept_encoding);
    match std::fs::read(&file) {
        Ok(body) => reply(&mut stream, "200 OK", mime_type(&path), encoding, &body, with_body),
        Err(_) => reply(&mut stream, "404 Not Found", "text/plain", None, b"not found\n", with_body),
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

/// The precompressed copy of `path` to send for this `Accept-Encoding` (brotli before gzip),
/// with its encoding; else `path` itself.
fn choose_encoding(path: &Path, accept_encoding: &str) -> (PathBuf, Option<&'static str>) {
    for (encoding, suffix) in ENCODINGS {
        let copy = with_suffix(path, suffix);
        if accepts(accept_encoding, encoding) && copy.is_file() {
            return (copy, Some(encoding));
        }
    }
    (path.to_owned(), None)
}

/// Whether an `Accept-Encoding` value allows `encoding` (named, or `*`, and not `q=0`).
fn accepts(accept_encoding: &str, encoding: &str) -> bool {
    let quality = |name: &str| {
        accept_encoding.split(',').find_map(|item| {
            let mut parts = item.split(';');
            (parts.next()?.trim().eq_ignore_ascii_case(name)).then(|| {
                parts
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                    .unwrap_or(1.0)
            })
        })
    };
    quality(encoding).or_else(|| quality("*")).is_some_and(|q| q > 0.0)
}

fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wav" => "audio/wav",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn reply(
    stream: &mut TcpStream,
    status: &str,
    mime: &str,
    encoding: Option<&str>,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let encoding = encoding.map(|e| format!("Content-Encoding: {e}\r\n")).unwrap_or_default();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\n{encoding}Vary: Accept-Encoding\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
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

    fn site(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svs-xtask-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("pkg/svs_web_bg.wasm"), b"\0asm").unwrap();
        dir
    }

    #[test]
    fn paths_stay_inside_the_site_and_get_browser_mime_types() {
        let dir = site("paths");
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/pkg/svs_web_bg.wasm?v=1"), Some(dir.join("pkg/svs_web_bg.wasm")));
        assert_eq!(resolve(&dir, "/../etc/passwd"), None);
        assert_eq!(resolve(&dir, "/missing.js"), None);
        assert_eq!(mime_type(Path::new("a/svs_web_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("worker.js")), "text/javascript; charset=utf-8");
        assert_eq!(mime_type(Path::new("manifest.webmanifest")), "application/manifest+json");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn accept_encoding_is_read_with_its_qualities() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip, deflate, br, zstd", "gzip"));
        assert!(!accepts("gzip, deflate", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("BR;q=0.5", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("", "gzip"));
    }

    #[test]
    fn precompressed_copies_are_chosen_by_accept_encoding() {
        let dir = site("encodings");
        let wasm = dir.join("pkg/svs_web_bg.wasm");
        // Without copies the file itself goes out, whatever the browser accepts.
        assert_eq!(choose_encoding(&wasm, "gzip, br"), (wasm.clone(), None));
        std::fs::write(with_suffix(&wasm, "br"), b"br").unwrap();
        std::fs::write(with_suffix(&wasm, "gz"), b"gz").unwrap();
        assert_eq!(choose_encoding(&wasm, "gzip, deflate, br, zstd"), (with_suffix(&wasm, "br"), Some("br")));
        assert_eq!(choose_encoding(&wasm, "gzip, deflate"), (with_suffix(&wasm, "gz"), Some("gzip")));
        assert_eq!(choose_encoding(&wasm, "identity"), (wasm.clone(), None));
        // The MIME type is the original's, not that of a `.br` file.
        assert_eq!(mime_type(&wasm), "application/wasm");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
