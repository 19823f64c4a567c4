//! The player and the results: play the song at once, separated as it plays (the karaoke
//! mixer's levels apply as soon as the stems arrive), and the downloads once the whole song is
//! separated.

use super::{Flac, State, jobs};
use crate::mix::Solo;
use crate::progress::clock;
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsValue;

/// `performance.now()`: the page's clock in ms, for the test hooks.
pub fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Called by the player when the first audible sample after a play leaves it.
pub fn on_first_sound() {
    let at = now();
    crate::js::test_hook("firstSoundAt", &at.into());
    web_sys::console::info_1(&"svs: first audible sample".into());
}

#[component]
pub fn Results(state: State) -> impl IntoView {
    // Follow the player: position, waiting at the separation's edge, the end.
    let ticker = set_interval_with_handle(
        move || {
            let Some((position, playing, waiting, ended, level)) = state.player.with_value(|p| {
                p.as_ref().map(|p| (p.position(), p.is_playing(), p.is_waiting(), p.has_ended(), p.level()))
            }) else {
                return;
            };
            crate::js::test_hook("level", &level.map_or(JsValue::NULL, JsValue::from));
            crate::js::test_hook("waiting", &waiting.into());
            if !state.playing.get_untracked() {
                return;
            }
            state.position.set(position);
            state.waiting.set(waiting);
            if ended || !playing {
                state.playing.set(false);
                state.waiting.set(false);
                if ended {
                    state.position.set(0.0);
                    state.player.with_value(|p| p.as_ref().map(|p| p.seek(0.0)));
                }
            }
        },
        Duration::from_millis(100),
    );
    on_cleanup(move || {
        if let Ok(ticker) = ticker {
            ticker.clear();
        }
    });

    let duration = move || state.file.get().map_or(0.0, |f| f.seconds);
    let toggle_play = move |_| {
        let playing = state.playing.get_untracked();
        if !playing && !jobs::separating_or_done(state) {
            // Play separates as it goes: start the separation where the listener is.
            jobs::start(state, state.choice.get_untracked());
        }
        let result = state.player.with_value(|p| match p {
            Some(p) if playing => p.pause(),
            Some(p) => {
                crate::js::test_hook("playAt", &now().into());
                p.play(state.position.get_untracked())
            }
            None => Err("The player is not ready yet.".into()),
        });
        match result {
            Ok(()) => state.playing.set(!playing),
            Err(message) => state.fail(message),
        }
        if playing {
            state.waiting.set(false);
        }
    };
    let seek = move |ev| {
        let to: f64 = event_target_value(&ev).parse().unwrap_or(0.0);
        state.position.set(to);
        if let Some(Err(e)) = state.player.with_value(|p| p.as_ref().map(|p| p.seek(to))) {
            state.fail(e);
        }
        jobs::follow(state, to);
    };
    // Any change of the mixer settings goes straight to the player.
    Effect::new(move || {
        let gains = state.mix.get().gains();
        if let Some(Err(e)) = state.player.with_value(|p| p.as_ref().map(|p| p.set_gains(gains))) {
            state.fail(e);
        }
    });

    view! {
        <section class="card results" class:hidden=move || state.file.get().is_none() || state.phase.get() == super::Phase::Decoding>
            <div class="row spread">
                <h2>"Listen"</h2>
                <span id="status" class="muted">
                    {move || {
                        state
                            .outcome
                            .get()
                            .map(|o| format!("Separated in {:.1} s on {} with the {}", o.seconds, o.backend, o.model))
                            .unwrap_or_default()
                    }}
                </span>
            </div>
            <div class="player">
                <button
                    id="play"
                    class="button round"
                    on:click=toggle_play
                    disabled=move || !state.player_ready.get()
                    aria-label="Play or pause"
                >
                    {move || if state.playing.get() { "❚❚" } else { "▶" }}
                </button>
                <input
                    id="seek"
                    class="seek"
                    type="range"
                    min="0"
                    step="0.1"
                    max=move || format!("{:.1}", duration())
                    prop:value=move || format!("{:.1}", state.position.get())
                    on:input=seek
                />
                <span class="time">{move || format!("{} / {}", clock(state.position.get()), clock(duration()))}</span>
            </div>
            <p id="waiting" class="waiting" role="status" class:hidden=move || !state.waiting.get()>
                <span class="spinner" aria-hidden="true"></span>
                "Separating… playback goes on as soon as the separation catches up."
            </p>
            <div class="listen row">
                <span class="muted">"Listen to:"</span>
                <label class="pill">
                    <input
                        type="radio"
                        name="listen"
                        prop:checked=move || !state.mix.get().original
                        on:change=move |_| state.mix.update(|m| m.original = false)
                    />
                    "the karaoke mix"
                </label>
                <label class="pill">
                    <input
                        type="radio"
                        name="listen"
                        prop:checked=move || state.mix.get().original
                        on:change=move |_| state.mix.update(|m| m.original = true)
                    />
                    "the original"
                </label>
            </div>
            <div class="mixer" class:disabled=move || state.mix.get().original>
                <Channel state label="Vocals" stem=Solo::Vocals />
                <Channel state label="Accompaniment" stem=Solo::Accompaniment />
            </div>
            <p class="muted" class:hidden=move || state.outcome.get().is_some()>
                "The downloads are ready once the whole song is separated."
            </p>
            <div class="downloads row" class:hidden=move || state.outcome.get().is_none()>
                <a
                    id="download-vocals"
                    class="button primary"
                    download="vocals.wav"
                    href=move || state.outcome.get().map(|o| o.vocals_url).unwrap_or_default()
                >
                    "⬇ vocals.wav"
                </a>
                <a
                    id="download-accompaniment"
                    class="button primary"
                    download="accompaniment.wav"
                    href=move || state.outcome.get().map(|o| o.accompaniment_url).unwrap_or_default()
                >
                    "⬇ accompaniment.wav"
                </a>
                <span class="muted">"WAV, 24-bit, at the song's own sample rate and channels"</span>
            </div>
            <div class="downloads row" class:hidden=move || state.outcome.get().is_none()>
                {move || match state.flac.get() {
                    Flac::NotAsked => {
                        view! {
                            <button id="make-flac" class="button secondary" on:click=move |_| jobs::make_flac(state)>
                                "Also as FLAC (lossless, about half the size)"
                            </button>
                        }
                            .into_any()
                    }
                    Flac::Preparing => view! { <span class="muted">"Preparing the FLAC files…"</span> }.into_any(),
                    Flac::Ready { vocals_url, accompaniment_url } => {
                        view! {
                            <a id="download-vocals-flac" class="button primary" download="vocals.flac" href=vocals_url>
                                "⬇ vocals.flac"
                            </a>
                            <a
                                id="download-accompaniment-flac"
                                class="button primary"
                                download="accompaniment.flac"
                                href=accompaniment_url
                            >
                                "⬇ accompaniment.flac"
                            </a>
                        }
                            .into_any()
                    }
                }}
            </div>
        </section>
    }
}

/// One mixer strip: level slider, mute and solo.
#[component]
fn Channel(state: State, label: &'static str, stem: Solo) -> impl IntoView {
    let vocals = stem == Solo::Vocals;
    let id = if vocals { "vocals" } else { "accompaniment" };
    let level = move || {
        let m = state.mix.get();
        if vocals { m.vocals_level } else { m.accompaniment_level }
    };
    let muted = move || {
        let m = state.mix.get();
        if vocals { m.vocals_muted } else { m.accompaniment_muted }
    };
    let soloed = move || state.mix.get().solo == stem;
    view! {
        <div class="strip">
            <span class="strip-name">{label}</span>
            <input
                id=format!("{id}-level")
                type="range"
                min="0"
                max="1"
                step="0.01"
                aria-label=format!("{label} level")
                prop:value=move || level().to_string()
                on:input=move |ev| {
                    let v: f32 = event_target_value(&ev).parse().unwrap_or(1.0);
                    state.mix.update(|m| if vocals { m.vocals_level = v } else { m.accompaniment_level = v });
                }
            />
            <span class="strip-level">{move || format!("{:.0}%", level() * 100.0)}</span>
            <button
                id=format!("{id}-mute")
                class="toggle"
                class:on=muted
                on:click=move |_| {
                    state.mix.update(|m| if vocals { m.vocals_muted = !m.vocals_muted } else { m.accompaniment_muted = !m.accompaniment_muted })
                }
            >
                "Mute"
            </button>
            <button
                id=format!("{id}-solo")
                class="toggle"
                class:on=soloed
                on:click=move |_| state.mix.update(|m| m.solo = if m.solo == stem { Solo::None } else { stem })
            >
                "Solo"
            </button>
        </div>
    }
}
