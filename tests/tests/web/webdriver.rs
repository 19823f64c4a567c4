//! Just enough of the W3C WebDriver protocol to drive chromedriver: sessions, elements,
//! scripts, screenshots. WebDriver is JSON over plain HTTP on 127.0.0.1, so std's TcpStream and
//! serde_json do it without an HTTP client or async runtime in the test build.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP request to the driver at `port`; returns the `value` of the JSON answer, or the
/// driver's error message.
pub fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("chromedriver: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(900))).ok();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("chromedriver: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| format!("chromedriver: {e}"))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| format!("chromedriver: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut bytes = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).map_err(|e| format!("chromedriver: {e}"))?;
            let size = usize::from_str_radix(size.trim(), 16).map_err(|e| format!("chromedriver chunk: {e}"))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).map_err(|e| format!("chromedriver: {e}"))?;
            bytes.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        bytes.resize(length, 0);
        reader.read_exact(&mut bytes).map_err(|e| format!("chromedriver: {e}"))?;
    } else {
        reader.read_to_end(&mut bytes).map_err(|e| format!("chromedriver: {e}"))?;
    }
    let answer: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("chromedriver sent no JSON ({e}): {status}"))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if !status.contains(" 200") {
        return Err(format!("{} {}", value["error"].as_str().unwrap_or(status.trim()), value["message"]));
    }
    Ok(value)
}

/// A browser session; ended (the browser quits) on drop.
pub struct Session {
    port: u16,
    id: String,
}

impl Session {
    pub fn new(port: u16, capabilities: Value) -> Result<Self, String> {
        let value = request(port, "POST", "/session", Some(&json!({ "capabilities": capabilities })))?;
        let id = value["sessionId"].as_str().ok_or("chromedriver returned no session")?.to_owned();
        Ok(Self { port, id })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        request(self.port, method, &format!("/session/{}{path}", self.id), body.as_ref())
    }

    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.call("POST", "/url", Some(json!({ "url": url }))).map(drop)
    }

    pub fn set_script_timeout(&self, timeout: Duration) -> Result<(), String> {
        self.call("POST", "/timeouts", Some(json!({ "script": timeout.as_millis() as u64 }))).map(drop)
    }

    /// The element matching a CSS selector.
    pub fn find(&self, selector: &str) -> Result<String, String> {
        let value = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": selector })))?;
        value[ELEMENT].as_str().map(str::to_owned).ok_or_else(|| format!("no element {selector}"))
    }

    /// Types into an element; for `<input type=file>` the text is the file's path (an upload).
    pub fn send_keys(&self, element: &str, text: &str) -> Result<(), String> {
        self.call("POST", &format!("/element/{element}/value"), Some(json!({ "text": text }))).map(drop)
    }

    pub fn click(&self, element: &str) -> Result<(), String> {
        self.call("POST", &format!("/element/{element}/click"), Some(json!({}))).map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1](value)` when done.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    /// A Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`), e.g.
    /// `Page.getInstallabilityErrors`; returns its result.
    pub fn cdp(&self, command: &str, params: Value) -> Result<Value, String> {
        self.call("POST", "/goog/cdp/execute", Some(json!({ "cmd": command, "params": params })))
    }

    /// The browser's console messages since the last call (chromedriver's log endpoint; needs
    /// `goog:loggingPrefs` {browser: ALL} in the capabilities), as text lines.
    pub fn browser_log(&self) -> Result<Vec<String>, String> {
        let value = self.call("POST", "/se/log", Some(json!({ "type": "browser" })))?;
        Ok(value.as_array().map_or_else(Vec::new, |entries| {
            entries.iter().filter_map(|e| e["message"].as_str().map(str::to_owned)).collect()
        }))
    }

    /// A PNG of the page.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        let value = self.call("GET", "/screenshot", None)?;
        base64_decode(value.as_str().ok_or("no screenshot")?)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
    }
}

/// Standard base64 (WebDriver screenshots, and the bytes we read back from the page).
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let value = |c: u8| -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {:?}", c as char)),
        } as u32)
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Ok(out)
}

#[test]
fn base64_round_trip() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8hIQ==").unwrap(), b"hello!!");
    assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
}
