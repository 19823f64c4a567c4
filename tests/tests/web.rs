//! The web app (issue #8) in real headless Chromium: upload a generated song with known stems,
//! separate it in the page's worker, read the downloaded vocals back, and check them against the
//! known vocals (positive SDR) and against the same separation run natively. Both inference
//! paths: WebGPU (Chromium's SwiftShader adapter, `--enable-unsafe-webgpu`) and the CPU fallback
//! (without the flag). Also: errors in plain words for a non-audio file, a damaged model file
//! (and a valid one is shown and used), a song too long for the memory, and WebGPU lost part-way
//! (through the page's `?simulate=webgpu-loss` test hook: the page falls back to the CPU); a
//! 10-minute song (ignored: minutes); screenshots are saved for a human to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver`, the wasm32 target and the wasm-bindgen CLI
//! (scripts/test installs them). The site is built with `cargo xtask web build`, served by the
//! xtask's server, and every process started here is killed by its PID, also on panic. The
//! site is the release build (`--release`: what a host serves, and the module brotli-compressed
//! on the wire, which one test checks); `SVS_WEB_PROFILE=dev` runs the same tests on the dev build.

#[path = "web/webdriver.rs"]
mod webdriver;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use svs_core::audio::{AudioBuffer, BitDepth, read_audio_bytes, wav_bytes};
use svs_core::{Separator, SeparatorConfig};
use webdriver::Session;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `target/debug`, where cargo put this test and the xtask binary.
fn target_debug() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

/// The workspace: from `cargo test`'s environment (the binary may have been built in another
/// checkout sharing the target folder), else where this test was built.
fn workspace_root() -> PathBuf {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().unwrap().to_owned()
}

/// Where the tests keep the built site and their screenshots.
fn output_dir() -> PathBuf {
    target_debug().parent().unwrap().join("svs-web")
}

/// Which build the tests run against: the release site (`cargo xtask web build --release`,
/// what a host serves) unless `SVS_WEB_PROFILE=dev` asks for the dev one, which relinks in
/// seconds instead of minutes while iterating on the page.
fn release() -> bool {
    match std::env::var("SVS_WEB_PROFILE").as_deref() {
        Ok("dev") => false,
        Ok("release") | Err(_) => true,
        Ok(other) => panic!("SVS_WEB_PROFILE is {other:?}; use dev or release"),
    }
}

/// Builds the site once per test run (cargo makes it a no-op when nothing changed), unless
/// `SVS_WEB_SITE` names an already built one (e.g. `cargo xtask web build --cpu-only --out DIR`).
fn site() -> &'static Path {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SVS_WEB_SITE") {
            return PathBuf::from(dir);
        }
        let out = output_dir().join(if release() { "test-site" } else { "test-site-dev" });
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(workspace_root()).args(["run", "-p", "xtask", "--", "web", "build", "--out"]).arg(&out);
        if release() {
            build.arg("--release");
        }
        let status = build.status().expect("cannot run cargo");
        assert!(status.success(), "`cargo xtask web build` failed");
        out
    })
}

/// One browser test at a time: they share the CPU, and the timings mean something.
static BROWSER: Mutex<()> = Mutex::new(());

/// A child process killed (by its PID) when dropped, also when a test panics.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The xtask's static server on a free port; returns it and its address.
fn serve(dir: &Path) -> (Process, String) {
    let mut child = Command::new(target_debug().join("xtask"))
        .args(["web", "serve", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start the xtask server");
    let stdout = child.stdout.take().unwrap();
    let process = Process(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "server said {url:?}");
    (process, url.trim().to_owned())
}

/// Chromium driven by chromedriver, with its own profile; quits and is killed on drop.
struct Browser {
    session: Option<Session>,
    profile: tempfile::TempDir,
    _driver: Process,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit Chromium; if it does not (a hung page),
        // Chromium's profile lock names its PID ("host-PID"), and we kill that PID.
        drop(self.session.take());
        if let Ok(target) = std::fs::read_link(self.profile.path().join("SingletonLock"))
            && let Some(pid) = target.to_string_lossy().rsplit('-').next().and_then(|p| p.parse::<u32>().ok())
        {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

impl Browser {
    fn start(webgpu: bool) -> Browser {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "needs Debian's chromium and chromium-driver (scripts/test installs them)"
        );
        let port = free_port();
        let driver = Process(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start chromedriver"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while webdriver::request(port, "GET", "/status", None).map_or(true, |v| v["ready"] != json!(true)) {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1100,1500",
        ]
        .map(String::from)
        .into();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if webgpu {
            // Name SwiftShader (Chromium's CPU Vulkan) as the adapter: Debian's Chromium 148
            // offers none with `--enable-unsafe-webgpu` alone, and none at all beside
            // `--disable-gpu`, where 156 fell back to it by itself.
            args.extend(["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"].map(String::from));
        } else {
            args.push("--disable-gpu".into());
        }
        let capabilities = json!({
            "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                "goog:loggingPrefs": { "browser": "ALL" },
            }
        });
        let session = Session::new(port, capabilities).expect("chromedriver could not start Chromium");
        session.set_script_timeout(Duration::from_secs(120)).unwrap();
        Browser { session: Some(session), profile, _driver: driver }
    }

    fn session(&self) -> &Session {
        self.session.as_ref().unwrap()
    }
}

/// What the page shows, read in one script.
fn page_state(session: &Session) -> Value {
    session
        .execute(
            "const text = id => { const e = document.getElementById(id); return e ? e.textContent : null; };
             const visible = id => { const e = document.getElementById(id); return !!e && e.offsetParent !== null; };
             const link = document.getElementById('download-vocals');
             const separate = document.getElementById('separate');
             return {
               error: visible('error') ? text('error') : visible('fatal-error') ? text('fatal-error') : null,
               notice: visible('notice') ? text('notice') : null,
               cancellable: visible('cancel'),
               fileName: text('file-name'),
               ready: !!separate && !separate.disabled,
               playable: visible('play') && !document.getElementById('play').disabled,
               backend: text('backend'),
               progress: text('progress-text'),
               status: text('status'),
               vocals: link ? link.getAttribute('href') : null,
               accompaniment: (document.getElementById('download-accompaniment') || {}).href || null,
             };",
            json!([]),
        )
        .unwrap()
}

/// Prints the page's phase timings (its `svs: …` console lines) logged since the last call.
fn print_page_log(session: &Session) {
    for line in session.browser_log().unwrap_or_default() {
        if let Some(at) = line.find("svs: ") {
            eprintln!("  page: {}", line[at..].trim_end_matches('"'));
        }
    }
}

/// Polls the page until `done` says so (or fails on a page error or the timeout). On a long
/// wait it prints the progress now and then, and the page's phase timings.
fn wait_for(session: &Session, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut said = Instant::now();
    loop {
        let state = page_state(session);
        if done(&state) {
            print_page_log(session);
            return state;
        }
        assert!(state["error"].is_null(), "the page shows an error while {what}: {}", state["error"]);
        assert!(Instant::now() < deadline, "timed out while {what}; the page: {state}");
        if said.elapsed() > Duration::from_secs(30) {
            said = Instant::now();
            eprintln!("[{:.0} s] {what}: {}", started.elapsed().as_secs_f64(), state["progress"]);
            print_page_log(session);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The bytes behind a `blob:` URL of the page (what the download button saves), read in
/// slices of a few MB: one WebDriver answer holding a 10-minute song's stem (160 MB, 210 MB as
/// base64) is slow and strains chromedriver.
fn fetch_blob(session: &Session, url: &str) -> Vec<u8> {
    const SLICE: u64 = 8 << 20;
    let started = Instant::now();
    let mut bytes = Vec::new();
    loop {
        let encoded = session
            .execute_async(
                "const [url, start, end] = arguments; const done = arguments[arguments.length - 1];
                 const blobs = (window.svsTestBlobs ||= {});
                 (blobs[url] ||= fetch(url).then(r => r.blob())).then(blob => blob.slice(start, end).arrayBuffer()).then(buffer => {
                   const bytes = new Uint8Array(buffer); let text = '';
                   for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                   done(btoa(text));
                 }).catch(e => done('ERROR: ' + e));",
                json!([url, bytes.len() as u64, bytes.len() as u64 + SLICE]),
            )
            .unwrap();
        let encoded = encoded.as_str().unwrap();
        assert!(!encoded.starts_with("ERROR"), "{encoded}");
        let slice = webdriver::base64_decode(encoded).unwrap();
        let last = (slice.len() as u64) < SLICE;
        bytes.extend(slice);
        if last {
            break;
        }
    }
    if started.elapsed() > Duration::from_secs(5) {
        eprintln!("read {} MB back from the page in {:.1} s", bytes.len() >> 20, started.elapsed().as_secs_f64());
    }
    bytes
}

/// A song with known stems: a sung-like voice (harmonic, vibrato, syllables, centre) over chords
/// and hi-hat noise (spread in stereo), 44.1 kHz stereo.
fn song(seconds: f32) -> (AudioBuffer, AudioBuffer) {
    let rate = 44_100u32;
    let n = (seconds * rate as f32) as usize;
    let tau = std::f32::consts::TAU;
    let melody = [220.0f32, 246.9, 261.6, 293.7, 329.6, 293.7, 261.6, 246.9];
    let chords = [[110.0f32, 138.6, 164.8], [98.0, 123.5, 146.8], [130.8, 164.8, 196.0], [87.3, 110.0, 130.8]];
    let mut noise = 0x2545_f491u32;
    let (mut voice, mut band) = (vec![0.0f32; n], [vec![0.0f32; n], vec![0.0f32; n]]);
    let mut phase = 0.0f32;
    for i in 0..n {
        let t = i as f32 / rate as f32;
        // Voice: a note every 0.5 s with a gap between syllables, 5.5 Hz vibrato, falling harmonics.
        let note = (t / 0.5) as usize;
        let within = t - note as f32 * 0.5;
        let envelope = (within / 0.03).min(1.0) * ((0.45 - within) / 0.05).clamp(0.0, 1.0);
        let f0 = melody[note % melody.len()] * (1.0 + 0.012 * (tau * 5.5 * t).sin());
        phase += tau * f0 / rate as f32;
        voice[i] = 0.22 * envelope * (1..=8).map(|h| (h as f32 * phase).sin() / h as f32).sum::<f32>();
        // Accompaniment: sustained chords (2 s each) with slow decay, and a hi-hat every 0.25 s.
        let chord = chords[(t / 2.0) as usize % chords.len()];
        let decay = (-(t % 2.0) * 0.8).exp();
        let pad: f32 = chord.iter().map(|f| (tau * f * t).sin() + 0.3 * (tau * 2.0 * f * t).sin()).sum::<f32>();
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let white = noise as f32 / u32::MAX as f32 * 2.0 - 1.0;
        let hat = white * (-(t % 0.25) * 60.0).exp() * 0.15;
        band[0][i] = 0.09 * decay * pad + hat;
        band[1][i] = 0.08 * decay * pad + 0.8 * hat;
    }
    let vocals = AudioBuffer::new(rate, vec![voice.clone(), voice]);
    let accompaniment = AudioBuffer::new(rate, band.to_vec());
    (vocals, accompaniment)
}

fn mix(a: &AudioBuffer, b: &AudioBuffer) -> AudioBuffer {
    let channels = a.channels.iter().zip(&b.channels).map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect());
    AudioBuffer::new(a.sample_rate, channels.collect())
}

/// Signal-to-distortion ratio in dB of `estimate` against `reference`, over all channels.
fn sdr(reference: &AudioBuffer, estimate: &AudioBuffer) -> f64 {
    let (mut signal, mut error) = (0.0f64, 0.0f64);
    for (r, e) in reference.channels.iter().zip(&estimate.channels) {
        for (x, y) in r.iter().zip(e) {
            signal += (*x as f64).powi(2);
            error += (*x as f64 - *y as f64).powi(2);
        }
    }
    10.0 * (signal / error.max(1e-20)).log10()
}

/// The same separation natively (the core with the embedded model, the page's settings), on
/// the samples the browser decoded from the same 16-bit file.
fn native_vocals(mixture: &AudioBuffer) -> AudioBuffer {
    let device = svs_core::BackendKind::Cpu.device(0).unwrap();
    let (model, _) = svs_core::default_model::default_model().unwrap().separator(&device).unwrap();
    let separator = Separator::new(model, device, SeparatorConfig::play_while_separating()).unwrap();
    separator.separate(mixture, |_| {}).unwrap().vocals
}

struct Run {
    backend: String,
    seconds: f64,
    /// "Separated in 12.3 s on CPU (WebAssembly) with the built-in model"
    status: String,
    vocals: AudioBuffer,
    accompaniment: AudioBuffer,
}

/// Opens the page and waits until the app has started.
fn open_page(session: &Session, url: &str) {
    session.goto(url).unwrap();
    wait_for(session, "loading the page", Duration::from_secs(60), |s| s["fileName"].is_string());
}

/// Uploads `file`, separates it, and reads both downloads back.
fn separate_in_browser(browser: &Browser, url: &str, file: &Path, timeout: Duration) -> Run {
    let session = browser.session();
    open_page(session, url);
    separate_loaded(session, file, timeout)
}

/// Uploads `file` to the open page (which separates it at once), and reads both downloads back.
fn separate_loaded(session: &Session, file: &Path, timeout: Duration) -> Run {
    let input = session.find("#file-input").unwrap();
    let started = Instant::now();
    session.send_keys(&input, file.to_str().unwrap()).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    wait_for(session, "decoding the song", timeout, |s| s["playable"] == json!(true) && s["fileName"] == json!(name));
    eprintln!("uploaded and decoded in {:.1} s", started.elapsed().as_secs_f64());
    // The separation starts by itself once the song is decoded.
    let started = Instant::now();
    let state =
        wait_for(session, "separating", timeout, |s| s["vocals"].as_str().is_some_and(|h| h.starts_with("blob:")));
    eprintln!("separated, players and downloads ready in {:.1} s", started.elapsed().as_secs_f64());
    finished_run(session, &state)
}

/// `window.svsPlayer`, the page's player readings (see `web/src/js.rs`: `test_hook`).
fn player_hooks(session: &Session) -> Value {
    session.execute("return window.svsPlayer || {};", json!([])).unwrap()
}

/// Uploads `file` (which starts the separation), presses Play as soon as the page can, checks
/// that the song is heard before the separation is done, pauses, and reads both downloads back
/// once it is.
fn play_while_separating(browser: &Browser, url: &str, file: &Path, timeout: Duration) -> Run {
    let session = browser.session();
    open_page(session, url);
    // A person takes longer than the page to choose a song: by then the next separation's worker
    // has loaded the module and the built-in model (the time to the first sound is measured from
    // a settled page).
    wait_for(session, "the worker warming up", Duration::from_secs(60), |_| {
        player_hooks(session)["workerWarm"] == json!(true)
    });
    session.send_keys(&session.find("#file-input").unwrap(), file.to_str().unwrap()).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    wait_for(session, "decoding the song", timeout, |s| s["playable"] == json!(true) && s["fileName"] == json!(name));
    session.click(&session.find("#play").unwrap()).unwrap();
    let sounding = wait_for(session, "waiting for the first sound", timeout, |_| {
        player_hooks(session)["firstSoundAt"].is_number()
    });
    let hooks = player_hooks(session);
    let at = |key: &str| hooks[key].as_f64().unwrap_or_else(|| panic!("no {key} in {hooks}"));
    eprintln!(
        "first stems {:.0} ms after the song was chosen (the separation starts then); first audible sample \
         {:.0} ms after Play, {:.0} ms after the choice",
        at("firstBlockAt") - at("chosenAt"),
        at("firstSoundAt") - at("playAt"),
        at("firstSoundAt") - at("chosenAt")
    );
    assert!(
        !sounding["vocals"].as_str().is_some_and(|h| h.starts_with("blob:")),
        "the song should play before the whole song is separated: {sounding}"
    );
    session.click(&session.find("#play").unwrap()).unwrap();
    let state =
        wait_for(session, "separating", timeout, |s| s["vocals"].as_str().is_some_and(|h| h.starts_with("blob:")));
    finished_run(session, &state)
}

/// The run the page shows once its downloads are ready.
fn finished_run(session: &Session, state: &Value) -> Run {
    let status = state["status"].as_str().unwrap_or_default().to_owned();
    let seconds = status.split_whitespace().nth(2).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let read = |href: &str, name: &str| read_audio_bytes(fetch_blob(session, href), name).unwrap();
    Run {
        backend: state["backend"].as_str().unwrap_or_default().to_owned(),
        seconds,
        status,
        vocals: read(state["vocals"].as_str().unwrap(), "vocals.wav"),
        accompaniment: read(state["accompaniment"].as_str().unwrap(), "accompaniment.wav"),
    }
}

fn save_screenshot(browser: &Browser, name: &str) -> PathBuf {
    let path = output_dir().join("screenshots").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, browser.session().screenshot().unwrap()).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

/// The whole user journey on one backend (choose, play while it separates, the WAV and FLAC
/// downloads, playback, Cancel, a file that is not audio); returns the run for the caller's own
/// checks.
fn journey(webgpu: bool) -> Run {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let site = site();
    let (_server, url) = serve(site);
    let tmp = tempfile::tempdir().unwrap();
    let (vocals, accompaniment) = song(12.0);
    let mixture = mix(&vocals, &accompaniment);
    let file = tmp.path().join("test song.wav");
    std::fs::write(&file, wav_bytes(&mixture, BitDepth::Int16).unwrap()).unwrap();
    // What the browser decodes: the 16-bit file, not our float samples.
    let decoded = read_audio_bytes(std::fs::read(&file).unwrap(), "test song.wav").unwrap();

    let browser = Browser::start(webgpu);
    let run = play_while_separating(&browser, &url, &file, Duration::from_secs(600));
    save_screenshot(&browser, if webgpu { "web-webgpu.png" } else { "web-cpu.png" });

    // Same format as the input, and the stems add up to it.
    for stem in [&run.vocals, &run.accompaniment] {
        assert_eq!(stem.sample_rate, 44_100);
        assert_eq!(stem.n_channels(), 2);
        assert_eq!(stem.n_frames(), mixture.n_frames());
    }
    let resum = mix(&run.vocals, &run.accompaniment);
    assert!(sdr(&decoded, &resum) > 40.0, "stems do not add up to the input: {:.1} dB", sdr(&decoded, &resum));
    let vocal_sdr = sdr(&vocals, &run.vocals);
    let native = native_vocals(&decoded);
    let agreement = sdr(&native, &run.vocals);
    eprintln!(
        "{}: vocals SDR {vocal_sdr:.2} dB (native: {:.2} dB), browser vs native {agreement:.1} dB, {:.1} s",
        run.backend,
        sdr(&vocals, &native),
        run.seconds
    );
    assert!(vocal_sdr > 0.0, "vocals SDR {vocal_sdr:.2} dB is not positive");
    // 24-bit WAV quantisation bounds the agreement near 140 dB; the CPU path differs from native
    // only by float rounding order, a GPU by its arithmetic.
    let needed = if webgpu { 20.0 } else { 40.0 };
    assert!(agreement > needed, "browser and native separations differ: {agreement:.1} dB");

    // Nothing was fetched from anywhere but the page's own origin (no CDN fonts or scripts).
    let session = browser.session();
    let foreign = session
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)
               .filter(n => !n.startsWith(location.origin) && !n.startsWith('blob:') && !n.startsWith('data:'));",
            json!([]),
        )
        .unwrap();
    assert_eq!(foreign, json!([]), "requests left the origin");

    // The same stems as FLAC, on request: lossless, so the same 24-bit samples as the WAV files.
    session.click(&session.find("#make-flac").unwrap()).unwrap();
    let flac = wait_for(session, "making the FLAC files", Duration::from_secs(120), |_| {
        session.execute("const a = document.getElementById('download-vocals-flac'); return !!a;", json!([])).unwrap()
            == json!(true)
    });
    assert!(flac["error"].is_null(), "{flac}");
    let href = |id: &str| {
        let href = session.execute("return document.getElementById(arguments[0]).href;", json!([id])).unwrap();
        href.as_str().unwrap().to_owned()
    };
    let flac_vocals = read_audio_bytes(fetch_blob(session, &href("download-vocals-flac")), "vocals.flac").unwrap();
    let flac_accompaniment =
        read_audio_bytes(fetch_blob(session, &href("download-accompaniment-flac")), "accompaniment.flac").unwrap();
    assert_eq!((flac_vocals.sample_rate, flac_vocals.n_channels()), (44_100, 2));
    assert!(flac_vocals.channels == run.vocals.channels, "the FLAC vocals differ from the WAV vocals");
    assert!(flac_accompaniment.channels == run.accompaniment.channels, "the FLAC accompaniment differs");

    // Playback: the original and the stems start together and the position moves.
    session.click(&session.find("#play").unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let position = session.execute("return Number(document.getElementById('seek').value);", json!([])).unwrap();
    session.click(&session.find("#play").unwrap()).unwrap();
    assert!(position.as_f64().unwrap_or(0.0) > 0.5, "playback did not advance: {position}");

    // Cancel stops a running separation and leaves the page ready for another.
    session.click(&session.find("#separate").unwrap()).unwrap();
    wait_for(session, "starting again", Duration::from_secs(10), |s| s["cancellable"] == json!(true));
    session.click(&session.find("#cancel").unwrap()).unwrap();
    let state = wait_for(session, "cancelling", Duration::from_secs(10), |s| s["ready"] == json!(true));
    assert!(state["notice"].as_str().is_some_and(|n| n.contains("cancelled")), "{state}");
    assert!(state["vocals"].is_null() || state["vocals"] == json!(""), "old results still offered: {state}");

    // A file that is not audio: a readable error on the page, and the page still works.
    let junk = tmp.path().join("notes.mp3");
    std::fs::write(&junk, "these are my lyrics, not a song\n".repeat(50)).unwrap();
    let session = browser.session();
    session.send_keys(&session.find("#file-input").unwrap(), junk.to_str().unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        if let Some(error) = page_state(session)["error"].as_str() {
            break error.to_owned();
        }
        assert!(Instant::now() < deadline, "no error shown for a non-audio file");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(error.contains("notes.mp3") && error.contains("not an audio file"), "{error}");
    save_screenshot(&browser, if webgpu { "web-webgpu-error.png" } else { "web-cpu-error.png" });
    run
}

#[test]
fn cpu_fallback_separates_in_the_browser() {
    let run = journey(false);
    assert_eq!(run.backend, "CPU (WebAssembly)", "without --enable-unsafe-webgpu there is no adapter");
}

#[test]
fn webgpu_separates_in_the_browser() {
    let run = journey(true);
    assert_eq!(run.backend, "WebGPU", "Chromium's SwiftShader adapter should be used");
}

/// A generated song of `seconds` as a 16-bit WAV file in `dir`.
fn write_song(dir: &Path, name: &str, seconds: f32) -> PathBuf {
    let (vocals, accompaniment) = song(seconds);
    let file = dir.join(name);
    std::fs::write(&file, wav_bytes(&mix(&vocals, &accompaniment), BitDepth::Int16).unwrap()).unwrap();
    file
}

/// Waits for the page's error banner and returns its text.
fn wait_for_error(session: &Session, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(error) = page_state(session)["error"].as_str() {
            return error.to_owned();
        }
        assert!(Instant::now() < deadline, "no error shown for {what}: {}", page_state(session));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text_of(session: &Session, id: &str) -> String {
    let text = session.execute("return document.getElementById(arguments[0]).textContent;", json!([id])).unwrap();
    text.as_str().unwrap_or_default().to_owned()
}

/// Another model file from disk: a damaged one is refused in words (and the model in use does
/// not change), a valid one is shown and then used for the separation; it is kept in the
/// browser and offered again (name, size, SDR) on the next visit, until forgotten.
#[test]
fn model_files_are_checked_and_the_chosen_one_is_used() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let model = std::fs::read(workspace_root().join("models/default.safetensors")).unwrap();
    let (broken, valid) = (tmp.path().join("broken.safetensors"), tmp.path().join("my model.safetensors"));
    std::fs::write(&broken, &model[..model.len() / 2]).unwrap();
    std::fs::write(&valid, &model).unwrap();
    let song = write_song(tmp.path(), "short song.wav", 3.0);

    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &url);
    session.send_keys(&session.find("#model-input").unwrap(), broken.to_str().unwrap()).unwrap();
    let error = wait_for_error(session, "a truncated model file");
    assert!(error.contains("“broken.safetensors” cannot be used as a model"), "{error}");
    assert!(error.contains("the model in use has not changed"), "{error}");
    assert!(text_of(session, "model-name").starts_with("built-in"), "{}", text_of(session, "model-name"));

    session.send_keys(&session.find("#model-input").unwrap(), valid.to_str().unwrap()).unwrap();
    wait_for(session, "loading a valid model", Duration::from_secs(60), |_| {
        text_of(session, "model-name") == "my model.safetensors"
    });
    let run = separate_loaded(session, &song, Duration::from_secs(300));
    assert!(run.status.contains("with the model “my model.safetensors”"), "{}", run.status);
    assert_eq!(run.vocals.n_frames(), 3 * 44_100);

    // The next visit offers the chosen model again, with its size and SDR, and uses it.
    let offer = |session: &Session| -> Option<String> {
        let text = session
            .execute(
                "const e = document.getElementById('stored-model-text'); return e ? e.textContent : null;",
                json!([]),
            )
            .unwrap();
        text.as_str().map(str::to_owned)
    };
    open_page(session, &url);
    assert!(text_of(session, "model-name").starts_with("built-in"), "a new visit starts with the built-in model");
    let text = offer(session).expect("the stored model is not offered after a reload");
    assert!(text.contains("“my model.safetensors”") && text.contains(" MB") && text.contains("SDR"), "{text}");
    save_screenshot(&browser, "web-stored-model.png");
    session.click(&session.find("#use-stored-model").unwrap()).unwrap();
    wait_for(session, "using the stored model", Duration::from_secs(60), |_| {
        text_of(session, "model-name") == "my model.safetensors"
    });
    assert_eq!(offer(session), None, "the model in use is not offered");
    let run = separate_loaded(session, &song, Duration::from_secs(300));
    assert!(run.status.contains("with the model “my model.safetensors”"), "{}", run.status);

    // Forgotten, it is not offered again.
    session.click(&session.find("#use-built-in-model").unwrap()).unwrap();
    wait_for(session, "offering it again", Duration::from_secs(10), |_| offer(session).is_some());
    session.click(&session.find("#forget-stored-model").unwrap()).unwrap();
    wait_for(session, "forgetting it", Duration::from_secs(10), |_| offer(session).is_none());
    open_page(session, &url);
    assert_eq!(offer(session), None, "a forgotten model is offered after a reload");
}

/// A song longer than the worker's memory allows is refused before decoding, in words. The
/// WAV file is small but its header declares almost six hours (48 kHz stereo), beyond the
/// limit `svs_web::limits` computes (about an hour at that rate).
#[test]
fn a_too_long_song_is_refused_in_words() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let declared: u32 = 4_000_000_000;
    let mut wav = b"RIFF".to_vec();
    wav.extend((declared + 36).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend([1, 0, 2, 0]);
    wav.extend(48_000u32.to_le_bytes());
    wav.extend((48_000u32 * 4).to_le_bytes());
    wav.extend([4, 0, 16, 0]);
    wav.extend(b"data");
    wav.extend(declared.to_le_bytes());
    wav.resize(wav.len() + 48_000 * 4, 0);
    let file = tmp.path().join("long concert.wav");
    std::fs::write(&file, wav).unwrap();

    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &url);
    session.send_keys(&session.find("#file-input").unwrap(), file.to_str().unwrap()).unwrap();
    let error = wait_for_error(session, "a song too long for the memory");
    assert!(error.contains("too long for the memory a browser tab can use"), "{error}");
    assert!(error.contains("this one is 347 minutes"), "{error}");
    assert_eq!(page_state(session)["ready"], json!(false), "a refused song must not be separable");
    save_screenshot(&browser, "web-too-long.png");
}

/// WebGPU lost part-way: the page separates again on the CPU and says so. Headless Chromium
/// cannot lose its GPU on demand, so the page's `?simulate=webgpu-loss` test hook makes the
/// worker die on WebGPU as a lost device kills it (a panic in the backend, with the model
/// already on the GPU).
#[test]
fn a_lost_webgpu_device_falls_back_to_the_cpu() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let song = write_song(tmp.path(), "short song.wav", 3.0);
    let browser = Browser::start(true);
    let session = browser.session();
    open_page(session, &format!("{url}?simulate=webgpu-loss"));
    let run = separate_loaded(session, &song, Duration::from_secs(300));
    let notice = page_state(session)["notice"].as_str().unwrap_or_default().to_owned();
    assert!(notice.contains("WebGPU stopped working part-way"), "{notice}");
    assert!(notice.contains("Separating again on the CPU"), "{notice}");
    assert!(!notice.contains("panicked at"), "the source location is for the console, not the page: {notice}");
    assert_eq!(run.backend, "CPU (WebAssembly)");
    assert!(run.status.contains("on CPU (WebAssembly)"), "{}", run.status);
    assert_eq!(run.vocals.n_frames(), 3 * 44_100);
    save_screenshot(&browser, "web-webgpu-lost.png");
}

/// Polls `window.svsPlayer` until `done` says so.
fn wait_for_player(session: &Session, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let hooks = player_hooks(session);
        if done(&hooks) {
            return hooks;
        }
        let page = page_state(session);
        assert!(page["error"].is_null(), "the page shows an error while {what}: {}", page["error"]);
        assert!(Instant::now() < deadline, "timed out while {what}; the player: {hooks}; the page: {page}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The separated stretches the page reports, in seconds.
fn separated(hooks: &Value) -> Vec<(f64, f64)> {
    let text = hooks["separated"].as_str().unwrap_or_default();
    text.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

fn done_separating(session: &Session) -> bool {
    page_state(session)["vocals"].as_str().is_some_and(|h| h.starts_with("blob:"))
}

/// Playback while the separation runs slower than real time (the page's `?simulate=slow-worker`
/// hook: half real time): the mixer changes what is heard while the separation is still
/// running, playback waits at the edge of what is separated with a visible "Separating…" and
/// goes on by itself, a seek past the separated part makes the separation jump there, and the
/// stems the stretches add up to are the whole song's separation (against the native one).
#[test]
fn playback_follows_a_slow_separation_waits_at_its_edge_and_jumps_with_seeks() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let file = write_song(tmp.path(), "slow song.wav", 24.0);
    let decoded = read_audio_bytes(std::fs::read(&file).unwrap(), "slow song.wav").unwrap();
    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &format!("{url}?simulate=slow-worker"));
    session.send_keys(&session.find("#file-input").unwrap(), file.to_str().unwrap()).unwrap();
    wait_for(session, "decoding the song", Duration::from_secs(60), |s| s["playable"] == json!(true));
    session.click(&session.find("#play").unwrap()).unwrap();
    let minute = Duration::from_secs(60);
    wait_for_player(session, "waiting for the first sound", minute, |h| h["firstSoundAt"].is_number());

    // The mixer acts on what is heard while the separation runs.
    let heard = |h: &Value| h["level"].as_f64();
    wait_for_player(session, "hearing the stems", minute, |h| heard(h).is_some_and(|l| l > 1e-3));
    session.click(&session.find("#vocals-mute").unwrap()).unwrap();
    session.click(&session.find("#accompaniment-mute").unwrap()).unwrap();
    wait_for_player(session, "hearing silence with both stems muted", minute, |h| heard(h).is_some_and(|l| l < 1e-7));
    session.click(&session.find("#vocals-mute").unwrap()).unwrap();
    wait_for_player(session, "hearing the vocals again", minute, |h| heard(h).is_some_and(|l| l > 1e-3));
    session.click(&session.find("#accompaniment-mute").unwrap()).unwrap();
    assert!(!done_separating(session), "the separation should still be running (slowed to half real time)");

    // Playback catches up with the separation: it waits, visibly, and goes on by itself.
    let waiting = wait_for_player(session, "waiting at the separation's edge", minute, |h| h["waiting"] == json!(true));
    // The page shows it (the DOM follows the reading within a frame).
    wait_for_player(session, "showing the wait", Duration::from_secs(2), |_| {
        session.execute("return document.getElementById('waiting').offsetParent !== null;", json!([])).unwrap()
            == json!(true)
    });
    eprintln!("waiting at the separation's edge: {waiting}");
    save_screenshot(&browser, "web-waiting-for-separation.png");
    let held_at = page_position(session);
    wait_for_player(session, "playing on after the wait", minute, |h| {
        h["waiting"] == json!(false) && page_position(session) > held_at + 0.3
    });

    // A seek past the separated part: the separation jumps there and playback goes on from it.
    let before = separated(&player_hooks(session));
    let target = 18.0;
    assert!(before.iter().all(|&(_, end)| end < target), "18 s should not be separated yet: {before:?}");
    session
        .execute(
            "const seek = document.getElementById('seek'); seek.value = arguments[0];
             seek.dispatchEvent(new Event('input', { bubbles: true }));",
            json!([target]),
        )
        .unwrap();
    wait_for_player(session, "playing on after the seek", minute, |_| page_position(session) > target + 0.5);
    print_page_log(session);
    let after = separated(&player_hooks(session));
    assert!(
        after.iter().any(|&(start, end)| start <= target && target + 0.5 <= end && start > before[0].1),
        "the separation did not jump to the seek: before {before:?}, after {after:?}"
    );
    assert!(!done_separating(session), "the stretch before the seek should still be missing: {after:?}");

    // The rest is filled in; the stretches add up to the whole song's separation.
    let state = wait_for(session, "finishing the separation", Duration::from_secs(300), |s| {
        s["vocals"].as_str().is_some_and(|h| h.starts_with("blob:"))
    });
    let run = finished_run(session, &state);
    let agreement = sdr(&native_vocals(&decoded), &run.vocals);
    eprintln!("stretches {:?}; browser vs native {agreement:.1} dB", separated(&player_hooks(session)));
    assert!(agreement > 40.0, "the stitched stretches differ from the whole song's separation: {agreement:.1} dB");
}

/// The app works with no network after one visit: its service worker caches the page, the
/// module, the worker and the player; and Chromium finds it installable (manifest, icon,
/// service worker). The server is
/// stopped, the page reloaded, and a song played and separated.
#[test]
fn after_one_visit_the_app_loads_and_separates_offline() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let song = write_song(tmp.path(), "offline song.wav", 12.0);
    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &url);
    let manifest = session
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('link[rel=manifest]');
             fetch(link.href).then(r => r.json()).then(m => done(m)).catch(e => done('ERROR: ' + e));",
            json!([]),
        )
        .unwrap();
    assert_eq!(manifest["display"], json!("standalone"), "{manifest}");
    assert!(manifest["icons"][0]["src"].is_string(), "{manifest}");
    wait_for(session, "the service worker taking over", Duration::from_secs(120), |_| {
        session.execute("return !!navigator.serviceWorker.controller;", json!([])).unwrap() == json!(true)
    });
    // Chromium's own verdict on installing the page as an app (its install prompt's checks).
    let installability = session.cdp("Page.getInstallabilityErrors", json!({})).unwrap();
    eprintln!("installability: {installability}");
    assert_eq!(installability["installabilityErrors"], json!([]), "Chromium would not install the app");
    drop(server);
    let refused = session
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/nothing-cached-here').then(() => done(false)).catch(() => done(true));",
            json!([]),
        )
        .unwrap();
    assert_eq!(refused, json!(true), "the server should be gone");

    open_page(session, &url);
    eprintln!("reloaded offline: ready at {:.0} ms", ready_ms(session));
    let run = play_while_separating(&browser, &url, &song, Duration::from_secs(300));
    assert_eq!(run.vocals.n_frames(), 12 * 44_100);
    save_screenshot(&browser, "web-offline.png");
}

/// A copy of the built site in `to` (so a test can change it).
fn copy_site(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_site(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The service worker's caches, by name.
fn cache_names(session: &Session) -> Value {
    session.execute_async("const done = arguments[arguments.length - 1]; caches.keys().then(done);", json!([])).unwrap()
}

/// A new version of the site (a new build: another service-worker version) replaces the cached
/// one cleanly on the next visit: the new cache is filled and the old one deleted.
#[test]
fn a_new_version_replaces_the_cached_one() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    copy_site(site(), tmp.path());
    let (_server, url) = serve(tmp.path());
    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &url);
    wait_for(session, "the service worker taking over", Duration::from_secs(120), |_| {
        session.execute("return !!navigator.serviceWorker.controller;", json!([])).unwrap() == json!(true)
    });
    let first = cache_names(session);
    assert_eq!(first.as_array().map(Vec::len), Some(1), "{first}");

    // What a new build changes: the version stamped into sw.js (the server then serves the new
    // file; its precompressed copies are removed so they cannot serve the old one).
    let sw = tmp.path().join("sw.js");
    let text = std::fs::read_to_string(&sw).unwrap();
    let old = first[0].as_str().unwrap().trim_start_matches("svs-").to_owned();
    assert!(text.contains(&old), "the cache is not named after sw.js's version");
    std::fs::write(&sw, text.replace(&old, "0123456789abcdef")).unwrap();
    for suffix in ["br", "gz"] {
        let _ = std::fs::remove_file(tmp.path().join(format!("sw.js.{suffix}")));
    }
    open_page(session, &url);
    wait_for(session, "the new version taking over", Duration::from_secs(120), |_| {
        cache_names(session) == json!(["svs-0123456789abcdef"])
    });
    open_page(session, &url);
    assert!(ready_ms(session) > 0.0);
}

/// The player's position in seconds, as the page shows it on the seek bar.
fn page_position(session: &Session) -> f64 {
    let value = session.execute("return Number(document.getElementById('seek').value);", json!([])).unwrap();
    value.as_f64().unwrap_or(0.0)
}

/// The module, the page's largest file by far, as the browser received it: its size on the
/// wire and decoded, from the page's resource timing.
fn module_transfer(session: &Session) -> (u64, u64) {
    let sizes = session
        .execute(
            "const e = performance.getEntriesByType('resource').find(e => e.name.endsWith('/pkg/svs_web_bg.wasm'));
             return e ? [e.encodedBodySize, e.decodedBodySize] : null;",
            json!([]),
        )
        .unwrap();
    let size = |i: usize| sizes[i].as_u64().unwrap_or_else(|| panic!("no resource timing for the module: {sizes}"));
    (size(0), size(1))
}

/// When the page could take a song, in ms after navigation (main.js's `svs-ready` mark).
fn ready_ms(session: &Session) -> f64 {
    let mark = session
        .execute("const m = performance.getEntriesByName('svs-ready')[0]; return m ? m.startTime : null;", json!([]))
        .unwrap();
    mark.as_f64().unwrap_or_else(|| panic!("the page set no svs-ready mark"))
}

/// The release site carries `.br` and `.gz` copies of every file, and the browser gets the
/// module brotli-compressed: exactly the bytes of `svs_web_bg.wasm.br` on the wire, exactly
/// those of the module decoded (the server picks the copy by `Accept-Encoding`).
#[test]
fn the_release_site_is_served_precompressed() {
    if !release() {
        eprintln!("skipped: SVS_WEB_PROFILE=dev builds no precompressed copies");
        return;
    }
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let site = site();
    for file in ["index.html", "main.js", "worker.js", "style.css", "pkg/svs_web.js", "pkg/svs_web_bg.wasm"] {
        for suffix in ["br", "gz"] {
            assert!(site.join(format!("{file}.{suffix}")).is_file(), "the build wrote no {file}.{suffix}");
        }
    }
    let size = |name: &str| std::fs::metadata(site.join(name)).unwrap().len();
    let (_server, url) = serve(site);
    let browser = Browser::start(false);
    let session = browser.session();
    open_page(session, &url);
    let (encoded, decoded) = module_transfer(session);
    eprintln!("module: {encoded} bytes on the wire, {decoded} decoded; page ready at {:.0} ms", ready_ms(session));
    assert_eq!(decoded, size("pkg/svs_web_bg.wasm"));
    assert_eq!(encoded, size("pkg/svs_web_bg.wasm.br"), "the module did not come brotli-compressed");
}

/// The page-load figures in docs/BENCHMARKS.md ("Web: download size and page load"): five
/// fresh browsers (empty caches) open the page; each reports the bytes of the module on the
/// wire and when the page was ready. For the dev build: `SVS_WEB_PROFILE=dev`.
/// `cargo test --workspace --test web -- --ignored --nocapture benchmark_page_ready`
#[test]
#[ignore = "benchmark"]
fn benchmark_page_ready() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    for run in 1..=5 {
        let browser = Browser::start(false);
        let session = browser.session();
        open_page(session, &url);
        let (encoded, decoded) = module_transfer(session);
        eprintln!(
            "run {run}: ready at {:.0} ms; module {encoded} bytes on the wire ({decoded} decoded)",
            ready_ms(session)
        );
    }
}

/// The figures in docs/BENCHMARKS.md ("Web"): a 60 s song (44.1 kHz stereo) in headless
/// Chromium on the CPU (wasm), against the same separation natively in this process.
/// `cargo test --workspace --test web -- --ignored --nocapture benchmark_60_s_song_cpu`
#[test]
#[ignore = "benchmark: takes minutes"]
fn benchmark_60_s_song_cpu() {
    benchmark_60_s_song(false);
}

/// The same on WebGPU: Chromium's SwiftShader adapter here, a CPU emulation of a GPU, so this
/// measures the path, not a GPU's speed.
#[test]
#[ignore = "benchmark: takes about ten minutes on SwiftShader"]
fn benchmark_60_s_song_webgpu() {
    benchmark_60_s_song(true);
}

fn benchmark_60_s_song(webgpu: bool) {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let (vocals, accompaniment) = song(60.0);
    let file = output_dir().join("bench").join("song-60s.wav");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, wav_bytes(&mix(&vocals, &accompaniment), BitDepth::Int16).unwrap()).unwrap();
    eprintln!("song: {} (the CLI: time svs separate SONG)", file.display());
    if !webgpu {
        let decoded = read_audio_bytes(std::fs::read(&file).unwrap(), "song-60s.wav").unwrap();
        let started = Instant::now();
        native_vocals(&decoded);
        eprintln!("native (svs-core, CPU, in-process): {:.1} s", started.elapsed().as_secs_f64());
    }
    let browser = Browser::start(webgpu);
    let run = separate_in_browser(&browser, &url, &file, Duration::from_secs(1800));
    eprintln!("browser, {}: {:.1} s (vocals SDR {:.2} dB)", run.backend, run.seconds, sdr(&vocals, &run.vocals));
}

/// A 10-minute song works: the worker streams window by window and the page keeps the samples
/// outside the module's memory. Slow (minutes), so not in every run:
/// `cargo test --workspace --test web -- --ignored --nocapture ten_minute_song`
#[test]
#[ignore = "takes several minutes"]
fn ten_minute_song_separates_in_the_browser() {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, url) = serve(site());
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (vocals, accompaniment) = song(600.0);
    let file = tmp.path().join("ten minutes.wav");
    std::fs::write(&file, wav_bytes(&mix(&vocals, &accompaniment), BitDepth::Int16).unwrap()).unwrap();
    eprintln!("wrote the song in {:.1} s", started.elapsed().as_secs_f64());
    let browser = Browser::start(false);
    let run = separate_in_browser(&browser, &url, &file, Duration::from_secs(3600));
    assert_eq!(run.vocals.n_frames(), vocals.n_frames());
    let vocal_sdr = sdr(&vocals, &run.vocals);
    eprintln!("10 min on {}: {:.1} s, vocals SDR {vocal_sdr:.2} dB", run.backend, run.seconds);
    assert!(vocal_sdr > 0.0);
}
