//! Choosing the song (drop or pick), decoding it, and showing its name, duration and waveform;
//! and, optionally, another model file.

use super::{FileInfo, Phase, State};
use crate::coverage::Coverage;
use crate::model_store::{self, StoredModel};
use crate::player::Player;
use crate::progress::clock;
use crate::{decode, limits, waveform};
use js_sys::ArrayBuffer;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, File, HtmlInputElement};

#[component]
pub fn Picker(state: State) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let dragging = RwSignal::new(false);
    // Another song can be chosen while one is separated (its worker is dropped).
    let busy = move || state.phase.get() == Phase::Decoding;
    let choose = move |file: File| {
        if busy() {
            return;
        }
        spawn_local(load_song(state, file));
    };
    // The waveform: separated stretches in the accent colour, the rest grey, and the playhead.
    Effect::new(move || {
        let coverage = state.coverage.get();
        let position = state.position.get();
        let Some(seconds) = state.file.get().map(|f| f.seconds) else { return };
        let Some(canvas) = canvas.get() else { return };
        state.peaks.with(|peaks| {
            let separated = coverage.columns(peaks.len());
            waveform::draw(&canvas, peaks, &separated, (seconds > 0.0).then(|| position / seconds));
        });
    });

    view! {
        <section class="card">
            <label
                class="drop"
                class:dragging=move || dragging.get()
                on:dragover=move |ev: DragEvent| {
                    ev.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=move |ev: DragEvent| {
                    ev.prevent_default();
                    dragging.set(false);
                    if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                        choose(file);
                    }
                }
            >
                <input
                    id="file-input"
                    type="file"
                    accept="audio/*,.wav,.mp3,.ogg,.flac,.m4a,.aac,.opus"
                    disabled=busy
                    on:change=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Some(file) = input.files().and_then(|f| f.get(0)) {
                            choose(file);
                        }
                        // Picking the same file again must fire `change` again.
                        input.set_value("");
                    }
                />
                <span class="drop-title">"Drop a song here, or click to choose one"</span>
                <span class="drop-hint">"WAV, MP3, OGG, FLAC, M4A: anything your browser can play"</span>
            </label>
            <div class="song" class:hidden=move || state.file.get().is_none()>
                <div class="song-meta">
                    <span id="file-name" class="song-name">
                        {move || state.file.get().map(|f| f.name).unwrap_or_default()}
                    </span>
                    <span id="file-details" class="song-details">
                        {move || {
                            state
                                .file
                                .get()
                                .map(|f| {
                                    format!(
                                        "{} · {} Hz · {}",
                                        clock(f.seconds),
                                        f.sample_rate,
                                        match f.channels {
                                            1 => "mono".to_string(),
                                            2 => "stereo".to_string(),
                                            n => format!("{n} channels"),
                                        },
                                    )
                                })
                                .unwrap_or_default()
                        }}
                    </span>
                </div>
                <canvas node_ref=canvas class="waveform" width="1200" height="120"></canvas>
            </div>
            <Show when=move || state.phase.get() == Phase::Decoding>
                <p class="muted">"Reading the file…"</p>
            </Show>
            <ModelChooser state />
        </section>
    }
}

/// Decodes `file`, shows it, and readies its player; errors go to the banner.
async fn load_song(state: State, file: File) {
    crate::js::test_hook("chosenAt", &super::player::now().into());
    state.error.set(None);
    state.notice.set(None);
    // A song being separated is dropped with its worker.
    state.job.set_value(None);
    state.close_song();
    state.file.set(None);
    state.decoded.set_value(None);
    state.phase.set(Phase::Decoding);
    match decode::decode_file(&file).await {
        Ok(song) => {
            if let Err(message) = limits::check_fits(song.frames as u64, song.channels as u64, song.sample_rate) {
                state.phase.set(Phase::Empty);
                state.fail(message);
                return;
            }
            state.coverage.set(Coverage::new(song.frames as usize));
            state.file.set(Some(FileInfo {
                name: file.name(),
                seconds: song.duration_seconds(),
                sample_rate: song.sample_rate,
                channels: song.channels,
            }));
            let decoded = song.buffer.clone();
            state.decoded.set_value(Some(song));
            state.phase.set(Phase::Ready);
            // Separate at once, before anything else: by the time Play is pressed the first stems
            // are (nearly) there.
            super::jobs::start(state, state.choice.get_untracked());
            let started = crate::js::now_ms();
            let player = state
                .decoded
                .with_value(|song| song.as_ref().map(|song| Player::new(song, super::player::on_first_sound)));
            let Some(player) = player else { return };
            let player = match player.await {
                Ok(player) => player,
                Err(message) => return state.fail(message),
            };
            // Another song may have been chosen meanwhile; this player is then not wanted.
            let current =
                state.decoded.with_value(|d| d.as_ref().is_some_and(|d| js_sys::Object::is(&d.buffer, &decoded)));
            if !current {
                return;
            }
            let _ = player.set_gains(state.mix.get_untracked().gains());
            for block in state.early_blocks.try_update_value(std::mem::take).unwrap_or_default() {
                let _ = player.add_block(&block);
            }
            crate::js::log_phase("started the player", started);
            state.player.set_value(Some(player));
            state.player_ready.set(true);
            let started = crate::js::now_ms();
            state.peaks.set(waveform::peaks(&decoded, 300));
            crate::js::log_phase("measured the waveform", started);
        }
        Err(message) => {
            state.phase.set(Phase::Empty);
            state.fail(message);
        }
    }
}

/// Whether `bytes` are a separator model this app can run (its header, configuration and every
/// weight, built on the CPU backend and dropped), and what the page shows of it.
fn check_model(bytes: &ArrayBuffer, name: &str) -> Result<StoredModel, String> {
    let model =
        svs_core::ModelFile::from_bytes(js_sys::Uint8Array::new(bytes).to_vec(), name).map_err(|e| e.to_string())?;
    model.separator(&burn::tensor::Device::flex()).map_err(|e| e.to_string())?;
    Ok(StoredModel {
        name: name.to_owned(),
        size: svs_core::model_file::human_size(model.byte_len()),
        sdr: model.metadata.sdr_summary(),
    })
}

/// Makes a checked model the one in use, and restarts a running separation with it.
fn use_model(state: State, bytes: ArrayBuffer, model: &StoredModel) {
    state.error.set(None);
    state.model.set_value(Some((bytes, model.name.clone())));
    state.model_name.set(Some(model.name.clone()));
    if matches!(state.phase.get_untracked(), Phase::Separating { .. }) {
        state.notice.set(Some(format!("Separating again with the model “{}”.", model.name)));
        super::jobs::start(state, state.choice.get_untracked());
    } else {
        state.notice.set(Some(format!("The model “{}” will be used for the next separation.", model.name)));
    }
}

/// "Use another model file": optional, for models trained with `svs train`. The chosen file is
/// kept in the browser and offered again on the next visit.
#[component]
fn ModelChooser(state: State) -> impl IntoView {
    let stored = RwSignal::new(model_store::stored());
    let on_change = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        // A new choice makes an earlier error about another file obsolete.
        state.error.set(None);
        spawn_local(async move {
            let name = file.name();
            let bytes = match JsFuture::from(file.array_buffer()).await {
                Ok(bytes) => bytes.unchecked_into::<ArrayBuffer>(),
                Err(e) => return state.fail(format!("“{name}” could not be read: {}", crate::js::error_text(&e))),
            };
            // Check it here, header and weights, so a wrong or damaged file is reported now
            // rather than after a song is sent (a model is a few MB: loading it is quick).
            match check_model(&bytes, &name) {
                Ok(model) => {
                    use_model(state, bytes.clone(), &model);
                    match model_store::store(&bytes, &model).await {
                        Ok(()) => stored.set(Some(model)),
                        Err(message) => state.notice.set(Some(message)),
                    }
                }
                Err(e) => state.fail(format!(
                    "“{name}” cannot be used as a model ({e}). Choose a .safetensors file made with `svs train` \
                     or `svs export`; the model in use has not changed."
                )),
            }
        });
    };
    let use_stored = move |_| {
        spawn_local(async move {
            let Some(model) = stored.get_untracked() else { return };
            let checked = match model_store::load().await {
                Ok(bytes) => check_model(&bytes, &model.name).map(|m| (bytes, m)),
                Err(message) => Err(message),
            };
            match checked {
                Ok((bytes, model)) => use_model(state, bytes, &model),
                Err(e) => {
                    model_store::forget().await;
                    stored.set(None);
                    state.fail(format!("The model kept from the last visit cannot be used ({e}); it was forgotten."));
                }
            }
        });
    };
    let forget = move |_| {
        spawn_local(async move {
            model_store::forget().await;
            stored.set(None);
        });
    };
    let offered = move || stored.get().filter(|m| state.model_name.get().as_ref() != Some(&m.name));
    // Opened when there is a model to offer; then the user's to open and close.
    let open_at_first = stored.get_untracked().is_some();
    view! {
        <details class="model" open=open_at_first>
            <summary>
                "Model: "
                <span id="model-name">
                    {move || state.model_name.get().unwrap_or_else(|| "built-in".into())}
                </span>
            </summary>
            <p class="muted">
                "The built-in model is small and was trained briefly on synthetic songs; expect a rough split. "
                "You can load a model file made with "
                <code>"svs train"</code>
                " / "
                <code>"svs export"</code>
                " (it stays on this computer too, and is offered again next time)."
            </p>
            <Show when=move || offered().is_some()>
                <div id="stored-model" class="stored-model row">
                    <span id="stored-model-text">
                        {move || {
                            offered()
                                .map(|m| format!("Your model from last time: “{}” · {} · {}", m.name, m.size, m.sdr))
                                .unwrap_or_default()
                        }}
                    </span>
                    <button id="use-stored-model" class="button secondary" on:click=use_stored>
                        "Use it"
                    </button>
                    <button id="forget-stored-model" class="button ghost" on:click=forget>
                        "Forget it"
                    </button>
                </div>
            </Show>
            <div class="row">
                <label class="button secondary">
                    "Load a model file…"
                    <input id="model-input" type="file" accept=".safetensors" class="visually-hidden" on:change=on_change />
                </label>
                <Show when=move || state.model_name.get().is_some()>
                    <button
                        id="use-built-in-model"
                        class="button ghost"
                        on:click=move |_| {
                            state.model.set_value(None);
                            state.model_name.set(None);
                        }
                    >
                        "Use the built-in model"
                    </button>
                </Show>
            </div>
        </details>
    }
}
