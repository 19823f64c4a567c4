//! The plugin's editor (egui through `nice-plug-egui`): the model chooser and what the model is,
//! the stem gains with solo and mute, the dry/wet mix, the latency mode, and where the separation
//! runs and how well it keeps up.
//!
//! The drawing ([`EditorView::ui`]) only reads the parameters and the [`PluginStatus`], and
//! changes parameters through nice-plug's `ParamSetter` (so the host records every edit) and the
//! model through the persisted `model_path` plus a host restart: loading a model allocates and
//! takes a moment, so it happens in `activate()`, never on the audio thread.

use crate::params::{LatencyMode, SvsParams};
use crate::status::{LoadedModel, PluginStatus};
use egui::{Color32, RichText, Ui};
use egui_file::FileDialog;
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use svs_core::ModelFile;

pub mod headless;

/// The editor's size in logical pixels: room for the model panel and every control without
/// scrolling. The model chooser opens inside it.
pub const EDITOR_SIZE: (u32, u32) = (600, 340);

/// Names of the controls, as [`EditorView`] records their places (for the host tests, which
/// click them in a real window).
pub mod control {
    pub const CHOOSE_MODEL: &str = "choose-model";
    pub const DEFAULT_MODEL: &str = "default-model";
    pub const VOCALS: &str = "vocals";
    pub const VOCALS_SOLO: &str = "vocals-solo";
    pub const VOCALS_MUTE: &str = "vocals-mute";
    pub const ACCOMPANIMENT: &str = "accompaniment";
    pub const ACCOMPANIMENT_SOLO: &str = "accompaniment-solo";
    pub const ACCOMPANIMENT_MUTE: &str = "accompaniment-mute";
    pub const MIX: &str = "mix";
    pub const QUALITY: &str = "latency-quality";
    pub const LIVE: &str = "latency-live";
}

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(EDITOR_SIZE.0 as f32, EDITOR_SIZE.1 as f32), 1.0)
}

/// The editor nice-plug opens in the host's window.
pub fn create(
    state: Arc<EguiEditorState>,
    params: Arc<SvsParams>,
    status: Arc<PluginStatus>,
    repaint: RepaintNotifier,
) -> Option<EguiEditor<EditorApp>> {
    let settings = EguiNiceSettings::new().with_tile("svs Vocal Separator");
    nice_plug_egui::create_egui_editor(
        state,
        repaint,
        settings,
        EditorApp { view: EditorView::new(params, status), context: None },
    )
}

/// The view and the host's GUI context while the window is open.
pub struct EditorApp {
    view: EditorView,
    context: Option<GuiContext>,
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.context = Some(gui_context);
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(context) = &self.context else { return };
        let setter = context.param_setter();
        self.view.ui(ui, &setter, &|| context.request_restart());
    }

    fn editor_closed(&mut self) {
        self.context = None;
    }
}

/// The editor's content, independent of the window it is drawn in.
pub struct EditorView {
    params: Arc<SvsParams>,
    status: Arc<PluginStatus>,
    dialog: Option<FileDialog>,
    /// Why the last chosen file was refused (shown until another choice).
    refused: Option<String>,
    /// Where each named control was drawn in the last frame (logical pixels).
    pub rects: Vec<(&'static str, egui::Rect)>,
}

impl EditorView {
    pub fn new(params: Arc<SvsParams>, status: Arc<PluginStatus>) -> Self {
        Self { params, status, dialog: None, refused: None, rects: Vec::new() }
    }

    /// Draws one frame. `request_restart` asks the host to deactivate and reactivate the plugin
    /// (how a newly chosen model gets loaded).
    pub fn ui(&mut self, ui: &mut Ui, setter: &ParamSetter, request_restart: &dyn Fn()) {
        self.rects.clear();
        let params = self.params.clone();
        let loaded = self.status.loaded();
        egui::Frame::central_panel(ui.style()).show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            ui.heading("svs Vocal Separator");
            ui.add_space(4.0);
            self.model_panel(ui, &loaded, request_restart);
            ui.add_space(8.0);
            egui::Grid::new("stems").num_columns(3).spacing([8.0, 8.0]).show(ui, |ui| {
                self.stem_row(
                    ui,
                    setter,
                    "Vocals",
                    (&params.vocals, &params.vocals_solo, &params.vocals_mute),
                    [control::VOCALS, control::VOCALS_SOLO, control::VOCALS_MUTE],
                );
                self.stem_row(
                    ui,
                    setter,
                    "Accompaniment",
                    (&params.accompaniment, &params.accompaniment_solo, &params.accompaniment_mute),
                    [control::ACCOMPANIMENT, control::ACCOMPANIMENT_SOLO, control::ACCOMPANIMENT_MUTE],
                );
                ui.label("Mix");
                let mix = ui.add(ParamSlider::for_param(&params.mix, setter));
                self.rects.push((control::MIX, mix.rect));
                ui.end_row();
            });
            ui.add_space(8.0);
            self.latency_row(ui, setter);
            ui.add_space(8.0);
            self.readings(ui, &loaded);
        });
        self.show_dialog(ui.ctx(), request_restart);
    }

    /// Always the same five rows (one line each, long texts cut short with the whole text on
    /// hover), so the controls below never move with the model's description.
    fn model_panel(&mut self, ui: &mut Ui, loaded: &LoadedModel, request_restart: &dyn Fn()) {
        let chosen = self.params.model_path.read().map(|p| p.trim().to_owned()).unwrap_or_default();
        // What activate() will load (the saved path, else the environment's override).
        let requested = crate::model::requested_path(&chosen).unwrap_or_default();
        let running = loaded.info.as_ref().and_then(|i| i.path.clone()).unwrap_or_default();
        let [name, trained_on, sdr] = match &loaded.info {
            Some(info) => {
                let m = &info.metadata;
                [
                    RichText::new(format!(
                        "{}  ·  {:.2} M parameters, {}",
                        info.name,
                        info.parameters as f64 / 1e6,
                        svs_core::model_file::human_size(info.file_bytes)
                    ))
                    .strong(),
                    RichText::new(format!(
                        "Trained on: {}",
                        if m.trained_on.is_empty() { "(not recorded)" } else { &m.trained_on }
                    )),
                    RichText::new(m.sdr_summary()),
                ]
            }
            // Never activated yet: nothing was loaded, nothing failed.
            None if loaded.status.is_empty() => [
                RichText::new("The model loads when the host starts the plugin").italics(),
                RichText::new(""),
                RichText::new(""),
            ],
            None => [
                RichText::new("No model: the input passes through").color(Color32::LIGHT_RED),
                RichText::new(""),
                RichText::new(""),
            ],
        };
        let note = if let Some(why) = &self.refused {
            RichText::new(why).color(Color32::LIGHT_RED)
        } else if loaded.fell_back {
            RichText::new(&loaded.status).color(Color32::LIGHT_RED)
        } else if requested != running {
            RichText::new("The chosen model loads when the host restarts the plugin…").italics()
        } else {
            RichText::new("")
        };
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            for text in [name, trained_on, sdr, note] {
                let hover = text.text().to_owned();
                let line = ui.add(egui::Label::new(text).truncate());
                if !hover.is_empty() {
                    line.on_hover_text(hover);
                }
            }
            ui.horizontal(|ui| {
                let choose = ui.button("Choose model file…");
                self.rects.push((control::CHOOSE_MODEL, choose.rect));
                if choose.clicked() {
                    self.open_dialog(&chosen);
                }
                let default = ui.add_enabled(!chosen.is_empty(), egui::Button::new("Use the default model"));
                self.rects.push((control::DEFAULT_MODEL, default.rect));
                if default.clicked() {
                    self.refused = None;
                    set_model_path(&self.params, "");
                    request_restart();
                }
            });
        });
    }

    fn stem_row(
        &mut self,
        ui: &mut Ui,
        setter: &ParamSetter,
        label: &str,
        (gain, solo, mute): (&FloatParam, &BoolParam, &BoolParam),
        names: [&'static str; 3],
    ) {
        ui.label(label);
        let slider = ui.add(ParamSlider::for_param(gain, setter));
        self.rects.push((names[0], slider.rect));
        ui.horizontal(|ui| {
            for (param, text, name) in [(solo, "S", names[1]), (mute, "M", names[2])] {
                let on = param.value();
                let button = egui::Button::new(text).selected(on).min_size(egui::vec2(26.0, 0.0));
                let response = ui.add(button).on_hover_text(param.name());
                self.rects.push((name, response.rect));
                if response.clicked() {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, !on);
                    setter.end_set_parameter(param);
                }
            }
        });
        ui.end_row();
    }

    fn latency_row(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let latency = &self.params.latency;
        ui.horizontal(|ui| {
            ui.label("Latency");
            for (mode, name) in [(LatencyMode::Quality, control::QUALITY), (LatencyMode::Live, control::LIVE)] {
                let text = latency.normalized_value_to_string(latency.preview_normalized(mode), false);
                let response = ui.selectable_label(latency.value() == mode, text);
                self.rects.push((name, response.rect));
                if response.clicked() && latency.value() != mode {
                    setter.begin_set_parameter(latency);
                    setter.set_parameter(latency, mode);
                    setter.end_set_parameter(latency);
                }
            }
        });
        ui.label(
            RichText::new(match latency.value() {
                LatencyMode::Quality => "Quality: best stems, for mixing and rendering.",
                LatencyMode::Live => "Live: to sing or play along; costs a little separation quality.",
            })
            .weak(),
        );
    }

    fn readings(&self, ui: &mut Ui, loaded: &LoadedModel) {
        let load = self.status.load();
        let late = self.status.late_blocks();
        ui.horizontal(|ui| {
            ui.label(if loaded.device.is_empty() {
                "Not started yet".into()
            } else {
                format!("Runs on {}", loaded.device)
            });
            ui.separator();
            let load_text = format!("Load {:.0} % of real time", 100.0 * load);
            ui.label(if load > 0.9 {
                RichText::new(load_text).color(Color32::LIGHT_RED)
            } else {
                RichText::new(load_text)
            });
            ui.separator();
            let late_text = format!("Late blocks: {late}");
            ui.label(if late > 0 {
                RichText::new(late_text).color(Color32::LIGHT_RED)
            } else {
                RichText::new(late_text)
            })
            .on_hover_text(
                "Blocks in which the separation did not keep up: their output went out \
                     unseparated. Offline renders always wait for it.",
            );
        });
    }

    fn open_dialog(&mut self, chosen: &str) {
        let start = Path::new(chosen)
            .parent()
            .filter(|p| p.is_dir())
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .unwrap_or_default();
        let size = egui::vec2(EDITOR_SIZE.0 as f32 - 40.0, EDITOR_SIZE.1 as f32 - 40.0);
        let mut dialog = FileDialog::open_file()
            .initial_path(start)
            .title("Choose an svs model (.safetensors)")
            .default_size(size)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show_new_folder(false)
            .show_rename(false)
            .show_files_filter(Box::new(|p: &Path| p.extension().is_some_and(|e| e == "safetensors")));
        dialog.open();
        self.dialog = Some(dialog);
    }

    fn show_dialog(&mut self, ctx: &egui::Context, request_restart: &dyn Fn()) {
        let Some(dialog) = &mut self.dialog else { return };
        if !dialog.show(ctx).selected() {
            if !dialog.visible() {
                self.dialog = None;
            }
            return;
        }
        let path = dialog.path().map(Path::to_path_buf);
        self.dialog = None;
        if let Some(path) = path {
            self.choose(&path, request_restart);
        }
    }

    /// Checks the file before it becomes the plugin's model: a file that is no model is refused
    /// here, with the reason, and the running model stays.
    pub fn choose(&mut self, path: &Path, request_restart: &dyn Fn()) {
        match ModelFile::read(path).and_then(|file| file.separator_config().map(|_| ())) {
            Ok(()) => {
                self.refused = None;
                set_model_path(&self.params, &path.to_string_lossy());
                request_restart();
            }
            Err(e) => self.refused = Some(format!("Not loaded: {e}")),
        }
    }

    /// The reason the last chosen file was refused, if it was.
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    pub fn rect(&self, name: &str) -> Option<egui::Rect> {
        self.rects.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }
}

fn set_model_path(params: &SvsParams, path: &str) {
    match params.model_path.write() {
        Ok(mut p) => *p = path.to_owned(),
        Err(poisoned) => *poisoned.into_inner() = path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::headless::{Headless, control_centres};
    use super::*;
    use crate::status::ModelInfo;

    fn editor() -> (Headless, Arc<SvsParams>) {
        let params = Arc::new(SvsParams::default());
        (Headless::new(params.clone(), Arc::default()), params)
    }

    #[test]
    fn clicks_on_solo_mute_and_latency_change_the_parameters_through_the_host() {
        let (mut editor, params) = editor();
        assert!(!params.vocals_mute.value() && !params.accompaniment_solo.value());
        editor.click(control::VOCALS_MUTE);
        assert!(params.vocals_mute.value());
        editor.click(control::ACCOMPANIMENT_SOLO);
        assert!(params.accompaniment_solo.value());
        editor.click(control::VOCALS_MUTE);
        assert!(!params.vocals_mute.value(), "a second click unmutes");
        assert_eq!(params.latency.value(), LatencyMode::Quality);
        editor.click(control::LIVE);
        assert_eq!(params.latency.value(), LatencyMode::Live);
        editor.click(control::LIVE);
        assert_eq!(params.latency.value(), LatencyMode::Live, "clicking the current mode keeps it");
        editor.click(control::QUALITY);
        assert_eq!(params.latency.value(), LatencyMode::Quality);
        let edits: Vec<(String, f32)> = editor.host.edits();
        let names: Vec<&str> = edits.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Vocals Mute", "Accompaniment Solo", "Vocals Mute", "Latency", "Latency"]);
        assert_eq!(edits.iter().map(|e| e.1).collect::<Vec<_>>(), [1.0, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(editor.host.restarts(), 0, "parameters need no restart");
    }

    #[test]
    fn dragging_the_vocals_slider_to_its_left_end_silences_the_vocals() {
        let (mut editor, params) = editor();
        let rect = editor.view.rect(control::VOCALS).unwrap();
        let (from, to) = (rect.center(), egui::pos2(rect.left() - 50.0, rect.center().y));
        let button = |pos, pressed| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        };
        editor.frame(vec![egui::Event::PointerMoved(from), button(from, true)]);
        for k in 1..=10 {
            editor.frame(vec![egui::Event::PointerMoved(from + (to - from) * (k as f32 / 10.0))]);
        }
        editor.frame(vec![button(to, false)]);
        assert_eq!(params.vocals.value(), crate::dsp::MIN_DB);
        assert_eq!(params.vocals_control().gain, 0.0);
    }

    #[test]
    fn a_chosen_model_file_is_checked_saved_and_loaded_by_a_restart() {
        let (mut editor, params) = editor();
        let dir = tempdir();
        let bad = dir.join("not-a-model.safetensors");
        std::fs::write(&bad, b"nonsense").unwrap();
        editor.view.choose(&bad, &|| editor.host.request_restart());
        let why = editor.view.refused().expect("refused").to_owned();
        assert!(why.contains("not-a-model.safetensors") && why.contains("not an svs model file"), "{why}");
        assert_eq!(params.model_path.read().unwrap().as_str(), "");
        assert_eq!(editor.host.restarts(), 0);

        let good = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.safetensors"));
        editor.view.choose(good, &|| editor.host.request_restart());
        assert!(editor.view.refused().is_none());
        assert_eq!(params.model_path.read().unwrap().as_str(), good.to_str().unwrap());
        assert_eq!(editor.host.restarts(), 1);

        // The embedded default: one click away, and it too restarts.
        editor.frame(Vec::new());
        editor.click(control::DEFAULT_MODEL);
        assert_eq!(params.model_path.read().unwrap().as_str(), "");
        assert_eq!(editor.host.restarts(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_choose_button_opens_the_file_browser_inside_the_editor() {
        let (mut editor, _) = editor();
        assert!(editor.view.dialog.is_none());
        editor.click(control::CHOOSE_MODEL);
        assert!(editor.view.dialog.as_ref().is_some_and(|d| d.visible()));
        editor.frame(vec![egui::Event::Key {
            key: egui::Key::Escape,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: Default::default(),
        }]);
        editor.frame(Vec::new());
        assert!(editor.view.dialog.is_none(), "Escape closes it");
        assert_eq!(editor.host.restarts(), 0);
    }

    #[test]
    fn every_control_lies_inside_the_window_apart_from_the_others_and_stays_put_whatever_the_model() {
        let size = egui::vec2(EDITOR_SIZE.0 as f32, EDITOR_SIZE.1 as f32);
        let (editor, _) = editor();
        let rects = editor.view.rects.clone();
        assert_eq!(rects.len(), 11);
        for (i, (name, rect)) in rects.iter().enumerate() {
            assert!(rect.min.x >= 0.0 && rect.min.y >= 0.0 && rect.max.x <= size.x && rect.max.y <= size.y, "{name}");
            assert!(rect.width() > 10.0 && rect.height() > 10.0, "{name} {rect:?}");
            for (other, r) in &rects[i + 1..] {
                assert!(!rect.intersects(r.shrink(1.0)), "{name} overlaps {other}");
            }
        }
        // A model with a long description and a refusal note: the controls do not move.
        let status = Arc::new(PluginStatus::default());
        let metadata = svs_core::model_file::ModelMetadata {
            trained_on: "a very long description of the training data ".repeat(10),
            sdr_vocals: Some(5.69),
            sdr_accompaniment: Some(7.33),
            test_set: "8 synthetic test songs".into(),
            ..Default::default()
        };
        let info =
            ModelInfo { name: "m.safetensors".into(), parameters: 410_000, file_bytes: 1 << 21, path: None, metadata };
        status.set_loaded(LoadedModel {
            info: Some(info),
            device: "the CPU".into(),
            status: "x".repeat(300),
            fell_back: true,
        });
        let described = Headless::new(Arc::new(SvsParams::default()), status);
        let centre =
            |rects: &[(&str, egui::Rect)]| rects.iter().map(|(n, r)| (n.to_string(), r.center())).collect::<Vec<_>>();
        assert_eq!(centre(&described.view.rects), centre(&rects));
        assert_eq!(
            control_centres(),
            rects.iter().map(|(n, r)| (*n, [r.center().x, r.center().y])).collect::<Vec<_>>()
        );
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "svs-editor-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
