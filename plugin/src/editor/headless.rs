//! The editor drawn without a window: egui run on synthetic input, with a stand-in for the host's
//! GUI context that applies each parameter edit at once (as a host does while it is not
//! processing). The unit tests drive the editor through it, and the host tests use it to find
//! where each control lies in the real window: egui lays out the same given the same size, fonts
//! and scale.

use super::{EDITOR_SIZE, EditorView};
use crate::params::SvsParams;
use crate::status::PluginStatus;
use nice_plug::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the editor asked of the host.
#[derive(Default)]
pub struct HeadlessHost {
    restarts: AtomicUsize,
    /// (parameter name, normalized value) of every edit, in order.
    edits: Mutex<Vec<(String, f32)>>,
}

impl HeadlessHost {
    pub fn restarts(&self) -> usize {
        self.restarts.load(Ordering::SeqCst)
    }
    pub fn edits(&self) -> Vec<(String, f32)> {
        self.edits.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl GuiContextInner for HeadlessHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {}
    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        // SAFETY: the pointers come from the `SvsParams` the editor holds, alive for the call.
        let name = unsafe {
            param._internal_set_normalized_value(normalized);
            param.name().to_owned()
        };
        if let Ok(mut edits) = self.edits.lock() {
            edits.push((name, normalized));
        }
    }
    unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {}
    fn get_state(&self) -> PluginState {
        PluginState { version: String::new(), params: Default::default(), fields: Default::default() }
    }
    fn set_state(&self, _state: PluginState) {}
    fn request_restart(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }
}

/// An editor with its egui context, driven frame by frame.
pub struct Headless {
    pub ctx: egui::Context,
    pub view: EditorView,
    pub host: Arc<HeadlessHost>,
}

impl Headless {
    pub fn new(params: Arc<SvsParams>, status: Arc<PluginStatus>) -> Self {
        let mut headless =
            Self { ctx: egui::Context::default(), view: EditorView::new(params, status), host: Default::default() };
        // egui sizes some things from the previous frame: two frames settle the layout.
        headless.frame(Vec::new());
        headless.frame(Vec::new());
        headless
    }

    /// Runs one frame with `events` as its input (nothing is painted: the textures egui would
    /// upload are dropped).
    pub fn frame(&mut self, events: Vec<egui::Event>) {
        let size = egui::vec2(EDITOR_SIZE.0 as f32, EDITOR_SIZE.1 as f32);
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
            events,
            ..Default::default()
        };
        let host = self.host.clone();
        let view = &mut self.view;
        let mut output = self.ctx.run_ui(input, |ui| {
            let setter = ParamSetter::new(host.as_ref());
            view.ui(ui, &setter, &|| host.request_restart());
        });
        output.textures_delta.clear();
    }

    /// A left click in the middle of the control `name` (press and release in two frames, then
    /// a frame to draw the result).
    pub fn click(&mut self, name: &str) {
        let at = self.view.rect(name).unwrap_or_else(|| panic!("no control {name}")).center();
        let button = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        };
        self.frame(vec![egui::Event::PointerMoved(at), button(true)]);
        self.frame(vec![button(false)]);
        self.frame(Vec::new());
    }
}

/// Where the middle of each named control lies in a freshly opened editor, in logical pixels
/// from its top-left corner.
pub fn control_centres() -> Vec<(&'static str, [f32; 2])> {
    let headless = Headless::new(Arc::new(SvsParams::default()), Arc::new(PluginStatus::default()));
    headless.view.rects.iter().map(|(name, rect)| (*name, [rect.center().x, rect.center().y])).collect()
}
