//! The editor in a real X11 window, as a DAW embeds it: the CLAP and VST3 hosts give it a
//! parent window on an Xvfb display the tests start, pump its main-thread callbacks as a host's
//! event loop does, save a screenshot (`$CARGO_TARGET_DIR/svs-plugin/screenshots/`), and click
//! its controls through the XTEST extension at the places `svs_plugin::editor::headless` computes
//! (egui lays the window out the same way).

use super::*;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use svs_plugin::editor::{EDITOR_SIZE, control, headless::control_centres};
use vst3::ComRef;
use vst3::Steinberg::Linux::{IEventHandlerTrait, ITimerHandlerTrait};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

// ---------------------------------------------------------------------------------------------
// The display

struct Screen {
    conn: RustConnection,
    root: xproto::Window,
}

/// An Xvfb display for this test process, started on first use. `DISPLAY` is set for the plugin
/// (baseview opens the display the environment names) once, under the tests' serial lock, before
/// any editor exists. `-terminate` ends the server when its last client goes: this process's
/// connection, closed when the process exits.
fn screen() -> &'static Screen {
    static SCREEN: OnceLock<Screen> = OnceLock::new();
    SCREEN.get_or_init(|| {
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-terminate"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting Xvfb (Debian package xvfb; scripts/test installs it)");
        // Xvfb writes the display number it chose, on a line, once it accepts connections.
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(xvfb.stdout.take().unwrap()), &mut line).ok();
        assert!(line.trim().parse::<u32>().is_ok(), "Xvfb gave no display number ({line:?})");
        let name = format!(":{}", line.trim());
        // SAFETY: set once, while this test holds the serial lock that every plugin test takes
        // before loading the plugin, so no other thread of this process reads the environment.
        unsafe { std::env::set_var("DISPLAY", &name) };
        let (conn, screen_num) = x11rb::connect(Some(&name)).expect("connecting to Xvfb");
        let root = conn.setup().roots[screen_num].root;
        std::mem::forget(xvfb); // ends with -terminate, not with this handle
        Screen { conn, root }
    })
}

impl Screen {
    /// A mapped top-level window at the screen's top-left corner: the host's parent window.
    fn parent_window(&self, width: u16, height: u16) -> xproto::Window {
        let id = self.conn.generate_id().unwrap();
        let aux = xproto::CreateWindowAux::new().background_pixel(0x202020);
        self.conn
            .create_window(0, id, self.root, 0, 0, width, height, 0, xproto::WindowClass::INPUT_OUTPUT, 0, &aux)
            .unwrap();
        self.conn.map_window(id).unwrap();
        self.conn.sync().unwrap();
        id
    }

    fn destroy(&self, window: xproto::Window) {
        self.conn.destroy_window(window).unwrap();
        self.conn.sync().unwrap();
    }

    /// The screen's top-left `width` x `height` pixels as RGB.
    fn capture(&self, width: u16, height: u16) -> Vec<u8> {
        let image = self
            .conn
            .get_image(xproto::ImageFormat::Z_PIXMAP, self.root, 0, 0, width, height, !0)
            .unwrap()
            .reply()
            .unwrap();
        // Depth 24 in 32-bit pixels, little-endian BGRX.
        image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0]]).collect()
    }

    /// A left click at (x, y), as a user's mouse makes it.
    fn click(&self, x: f32, y: f32) {
        let (x, y) = (x.round() as i16, y.round() as i16);
        self.conn.xtest_fake_input(xproto::MOTION_NOTIFY_EVENT, 0, 0, self.root, x, y, 0).unwrap();
        self.conn.sync().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        self.conn.xtest_fake_input(xproto::BUTTON_PRESS_EVENT, 1, 0, self.root, x, y, 0).unwrap();
        self.conn.sync().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        self.conn.xtest_fake_input(xproto::BUTTON_RELEASE_EVENT, 1, 0, self.root, x, y, 0).unwrap();
        self.conn.sync().unwrap();
    }
}

fn distinct_colours(rgb: &[u8]) -> usize {
    let mut seen: Vec<[u8; 3]> = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

fn save_png(name: &str, width: u16, height: u16, rgb: &[u8]) -> PathBuf {
    let path = target_dir().join("svs-plugin").join("screenshots").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut encoder = png::Encoder::new(file, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(rgb).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

fn centre(name: &str) -> [f32; 2] {
    control_centres().into_iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no control {name}")).1
}

/// Runs `pump` (the host's event loop turn) until the editor has drawn its window: many colours
/// where the empty parent window has one. Panics after 30 s.
fn wait_until_drawn(screen: &Screen, pump: &mut dyn FnMut()) -> Vec<u8> {
    let (w, h) = (EDITOR_SIZE.0 as u16, EDITOR_SIZE.1 as u16);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        pump_for(pump, Duration::from_millis(200));
        let rgb = screen.capture(w, h);
        if distinct_colours(&rgb) >= 20 {
            // One more turn so the frame is complete, not mid-paint.
            pump_for(pump, Duration::from_millis(300));
            return screen.capture(w, h);
        }
        assert!(Instant::now() < deadline, "the editor drew nothing in 30 s ({} colours)", distinct_colours(&rgb));
    }
}

fn pump_for(pump: &mut dyn FnMut(), time: Duration) {
    let until = Instant::now() + time;
    while Instant::now() < until {
        pump();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Pixels that differ between two captures in the 10 x 10 pixels around the middle of the
/// control `name` (from the headless layout).
fn changed_pixels_in(name: &str, before: &[u8], after: &[u8]) -> usize {
    let [cx, cy] = centre(name);
    let w = EDITOR_SIZE.0 as usize;
    let mut changed = 0;
    for y in (cy as usize - 5)..(cy as usize + 5) {
        for x in (cx as usize - 5)..(cx as usize + 5) {
            let i = 3 * (y * w + x);
            changed += (before[i..i + 3] != after[i..i + 3]) as usize;
        }
    }
    changed
}

// ---------------------------------------------------------------------------------------------
// CLAP

impl Clap {
    /// The host's event loop turn: the plugin's main-thread callback and a parameter flush
    /// (while not processing) when it asked for them.
    fn pump(&mut self) {
        if self.instance.access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst)) {
            self.instance.call_on_main_thread_callback();
        }
        if self.instance.access_shared_handler(|s| s.flush_requested.swap(false, Ordering::SeqCst)) {
            let params = self.instance.plugin_handle().get_extension::<PluginParams>().unwrap();
            let mut handle = self.instance.inactive_plugin_handle().expect("flushed while inactive");
            params.flush(&mut handle, &InputEvents::empty(), &mut OutputEvents::void());
        }
    }

    fn param_value(&mut self, id: ClapId) -> f64 {
        let handle = self.instance.plugin_handle();
        handle.get_extension::<PluginParams>().unwrap().get_value(&handle, id).expect("a value")
    }
}

/// The CLAP editor opens embedded in the host's window at its size, draws the model panel and
/// the controls (screenshot), and a click on the vocals' M button mutes the vocals: the host
/// hears of the change, the button redraws, and the next render has the vocals removed.
#[test]
fn clap_editor_opens_draws_and_its_mute_button_reaches_the_audio() {
    use clack_extensions::gui::{GuiApiType, GuiConfiguration, PluginGui, Window};
    let _serial = serial();
    let screen = screen();
    let mut clap = Clap::load();
    clap.set_offline();
    // Started once, as a DAW does before the user opens the editor: the model panel describes it.
    let rate = 44100;
    let silence = [vec![0.0; 512], vec![0.0; 512]];
    clap.render(rate, &silence, &[256], &[]);
    let handle = clap.instance.plugin_handle();
    let gui = handle.get_extension::<PluginGui>().expect("the gui extension");
    let config = GuiConfiguration { api_type: GuiApiType::X11, is_floating: false };
    assert!(gui.is_api_supported(&handle, config));
    gui.create(&handle, config).expect("creating the editor");
    let size = gui.get_size(&handle).expect("the editor's size");
    assert_eq!((size.width, size.height), EDITOR_SIZE);
    let parent = screen.parent_window(size.width as u16, size.height as u16);
    unsafe { gui.set_parent(&handle, Window::from_x11_handle(parent as _)) }.expect("embedding the editor");
    gui.show(&handle).expect("showing the editor");

    let before = wait_until_drawn(screen, &mut || clap.pump());
    save_png("plugin-editor-clap.png", size.width as u16, size.height as u16, &before);

    let mute = clap.param("Vocals Mute");
    assert_eq!(clap.param_value(mute.id), 0.0);
    let [x, y] = centre(control::VOCALS_MUTE);
    screen.click(x, y);
    pump_for(&mut || clap.pump(), Duration::from_millis(800));
    let after = screen.capture(size.width as u16, size.height as u16);
    save_png("plugin-editor-clap-vocals-muted.png", size.width as u16, size.height as u16, &after);
    assert!(changed_pixels_in(control::VOCALS_MUTE, &before, &after) > 10, "the M button did not redraw as on");

    // The plugin asked for a flush, and the host's flush applied the edit.
    assert_eq!(clap.param_value(mute.id), 1.0, "the click did not reach the plugin's parameter");
    let latency = latency_samples(rate);
    let s = song(rate, 8.0);
    let input = padded(&s.mix(), latency);
    let (out, _) = clap.render(rate, &input, &[1024], &[]);
    let (figures, input_sdr) = vocals_off_figures("CLAP editor", rate, &s, &input, &out, latency);
    check_vocal_figures(&figures, input_sdr, ISSUE_TARGET_DB);

    // The model chooser opens inside the editor (a screenshot for a person to look at).
    let [x, y] = centre(control::CHOOSE_MODEL);
    screen.click(x, y);
    pump_for(&mut || clap.pump(), Duration::from_millis(800));
    let chooser = screen.capture(size.width as u16, size.height as u16);
    save_png("plugin-editor-clap-model-chooser.png", size.width as u16, size.height as u16, &chooser);
    let differing = chooser.chunks_exact(3).zip(after.chunks_exact(3)).filter(|(a, b)| a != b).count();
    assert!(differing > chooser.len() / 3 / 4, "the file browser did not open ({differing} pixels changed)");

    let handle = clap.instance.plugin_handle();
    gui.destroy(&handle);
    screen.destroy(parent);
}

// ---------------------------------------------------------------------------------------------
// VST3

/// `ComPtr` of a handler the plugin registered, kept by the host's run loop (only touched on
/// this thread).
struct Registered<I: Interface>(ComPtr<I>);
unsafe impl<I: Interface> Send for Registered<I> {}
unsafe impl<I: Interface> Sync for Registered<I> {}

/// The host's `IPlugFrame` with the Linux `IRunLoop`: the plugin registers a file descriptor it
/// writes to when it needs its main thread, and timers; [`HostFrame::pump`] calls them.
#[derive(Default)]
struct HostFrame {
    fd_handlers: Mutex<Vec<(Registered<Linux::IEventHandler>, i32)>>,
    timers: Mutex<Vec<Registered<Linux::ITimerHandler>>>,
}

impl Class for HostFrame {
    type Interfaces = (IPlugFrame, Linux::IRunLoop);
}

impl IPlugFrameTrait for HostFrame {
    unsafe fn resizeView(&self, _view: *mut IPlugView, _size: *mut ViewRect) -> tresult {
        kResultOk
    }
}

impl Linux::IRunLoopTrait for HostFrame {
    unsafe fn registerEventHandler(&self, handler: *mut Linux::IEventHandler, fd: Linux::FileDescriptor) -> tresult {
        let Some(handler) = (unsafe { ComRef::from_raw(handler) }) else { return kInvalidArgument };
        self.fd_handlers.lock().unwrap().push((Registered(handler.to_com_ptr()), fd));
        kResultOk
    }
    unsafe fn unregisterEventHandler(&self, handler: *mut Linux::IEventHandler) -> tresult {
        self.fd_handlers.lock().unwrap().retain(|(h, _)| h.0.as_ptr() != handler);
        kResultOk
    }
    unsafe fn registerTimer(&self, handler: *mut Linux::ITimerHandler, _ms: Linux::TimerInterval) -> tresult {
        let Some(handler) = (unsafe { ComRef::from_raw(handler) }) else { return kInvalidArgument };
        self.timers.lock().unwrap().push(Registered(handler.to_com_ptr()));
        kResultOk
    }
    unsafe fn unregisterTimer(&self, handler: *mut Linux::ITimerHandler) -> tresult {
        self.timers.lock().unwrap().retain(|h| h.0.as_ptr() != handler);
        kResultOk
    }
}

impl HostFrame {
    /// One turn of the host's event loop: every registered descriptor that is readable gets its
    /// `onFDIsSet`, every timer its `onTimer` (this loop turns every few ms).
    fn pump(&self) {
        // Copies (reference-counted), so a handler may (un)register itself while it runs.
        let fds: Vec<(ComPtr<Linux::IEventHandler>, i32)> =
            self.fd_handlers.lock().unwrap().iter().map(|(h, fd)| (h.0.clone(), *fd)).collect();
        for (handler, fd) in fds {
            let mut poll = PollFd { fd, events: 1, revents: 0 };
            if unsafe { poll_fds(&mut poll, 1, 0) } > 0 && poll.revents != 0 {
                unsafe { handler.onFDIsSet(fd) };
            }
        }
        let timers: Vec<ComPtr<Linux::ITimerHandler>> =
            self.timers.lock().unwrap().iter().map(|h| h.0.clone()).collect();
        for timer in timers {
            unsafe { timer.onTimer() };
        }
    }
}

/// `struct pollfd` and `poll(2)`, declared here: one call does not justify a libc dependency.
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

unsafe extern "C" {
    #[link_name = "poll"]
    fn poll_fds(fds: *mut PollFd, nfds: u64, timeout: i32) -> i32;
}

/// The host's `IComponentHandler`: records the editor's edits (what a host turns into
/// automation and passes to the processor).
#[derive(Default)]
struct EditRecorder {
    edits: Mutex<Vec<(ParamID, f64)>>,
    gestures: Mutex<Vec<(ParamID, bool)>>,
}

impl Class for EditRecorder {
    type Interfaces = (IComponentHandler,);
}

impl IComponentHandlerTrait for EditRecorder {
    unsafe fn beginEdit(&self, id: ParamID) -> tresult {
        self.gestures.lock().unwrap().push((id, true));
        kResultOk
    }
    unsafe fn performEdit(&self, id: ParamID, value: ParamValue) -> tresult {
        self.edits.lock().unwrap().push((id, value));
        kResultOk
    }
    unsafe fn endEdit(&self, id: ParamID) -> tresult {
        self.gestures.lock().unwrap().push((id, false));
        kResultOk
    }
    unsafe fn restartComponent(&self, _flags: int32) -> tresult {
        kResultOk
    }
}

/// The VST3 editor: created by the controller, attached to the host's X11 window through its
/// `IPlugFrame`/`IRunLoop`, drawn (screenshot), and a click on the vocals' M button reaches the
/// host as a begin/perform/end edit of "Vocals Mute" to 1, which the host then passes to the
/// processor: the render with it has the vocals removed.
#[test]
fn vst3_editor_opens_draws_and_its_mute_button_edits_the_parameter() {
    let _serial = serial();
    let screen = screen();
    let vst3 = Vst3::load();
    let frame = ComWrapper::new(HostFrame::default());
    let recorder = ComWrapper::new(EditRecorder::default());
    let rate = 48000;
    unsafe {
        let handler = recorder.as_com_ref::<IComponentHandler>().unwrap();
        assert_eq!(vst3.controller.setComponentHandler(handler.as_ptr()), kResultOk);
        // Started once, as a DAW does before the user opens the editor.
        vst3.render(rate, &[vec![0.0; 512], vec![0.0; 512]], &[256], &[]);
        let view = ComPtr::from_raw(vst3.controller.createView(c"editor".as_ptr())).expect("an editor view");
        assert_eq!(view.isPlatformTypeSupported(kPlatformTypeX11EmbedWindowID), kResultOk);
        assert_eq!(view.setFrame(frame.as_com_ref::<IPlugFrame>().unwrap().as_ptr()), kResultOk);
        let mut rect: ViewRect = std::mem::zeroed();
        assert_eq!(view.getSize(&mut rect), kResultOk);
        let (w, h) = ((rect.right - rect.left) as u16, (rect.bottom - rect.top) as u16);
        assert_eq!((w as u32, h as u32), EDITOR_SIZE);
        let parent = screen.parent_window(w, h);
        assert_eq!(view.attached(parent as usize as *mut c_void, kPlatformTypeX11EmbedWindowID), kResultOk);

        let before = wait_until_drawn(screen, &mut || frame.pump());
        save_png("plugin-editor-vst3.png", w, h, &before);

        let mute = vst3.param_id("Vocals Mute");
        let [x, y] = centre(control::VOCALS_MUTE);
        screen.click(x, y);
        pump_for(&mut || frame.pump(), Duration::from_millis(800));
        let after = screen.capture(w, h);
        assert!(changed_pixels_in(control::VOCALS_MUTE, &before, &after) > 10, "the M button did not redraw as on");
        assert_eq!(*recorder.edits.lock().unwrap(), [(mute, 1.0)]);
        assert_eq!(*recorder.gestures.lock().unwrap(), [(mute, true), (mute, false)]);

        // The host passes the edit to the processor, as automation at the block's start.
        let latency = latency_samples(rate);
        let s = song(rate, 8.0);
        let input = padded(&s.mix(), latency);
        let (out, _) = vst3.render(rate, &input, &[1024], &[(0, mute, 1.0)]);
        let (figures, input_sdr) = vocals_off_figures("VST3 editor", rate, &s, &input, &out, latency);
        check_vocal_figures(&figures, input_sdr, ISSUE_TARGET_DB);

        assert_eq!(view.removed(), kResultOk);
        drop(view);
        screen.destroy(parent);
    }
}
