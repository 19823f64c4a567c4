//! The results: a player for the original and both stems kept in sync, the karaoke mixer, and
//! the downloads.

use super::State;
use crate::mix::Solo;
use crate::progress::clock;
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn Results(state: State) -> impl IntoView {
    // Follow the playing position; stop at the end.
    let ticker = set_interval_with_handle(
        move || {
            if !state.playing.get_untracked() {
                return;
            }
            let (position, duration) =
                state.mixer.with_value(|m| m.as_ref().map_or((0.0, 0.0), |m| (m.position(), m.duration())));
            state.position.set(position);
            if position >= duration {
                state.mixer.update_value(|m| {
                    if let Some(m) = m {
                        m.pause();
                        let _ = m.seek(0.0);
                    }
                });
                state.playing.set(false);
                state.position.set(0.0);
            }
        },
        Duration::from_millis(200),
    );
    on_cleanup(move || {
        if let Ok(ticker) = ticker {
            ticker.clear();
        }
    });

    let duration = move || state.file.get().map_or(0.0, |f| f.seconds);
    let toggle_play = move |_| {
        let mut failure = None;
        state.mixer.update_value(|m| {
            let Some(m) = m else { return };
            if m.is_playing() {
                m.pause();
            } else if let Err(e) = m.play(m.position()) {
                failure = Some(e);
            }
        });
        match failure {
            Some(message) => state.fail(message),
            None => state.playing.set(state.mixer.with_value(|m| m.as_ref().is_some_and(|m| m.is_playing()))),
        }
    };
    let seek = move |ev| {
        let to: f64 = event_target_value(&ev).parse().unwrap_or(0.0);
        state.position.set(to);
        state.mixer.update_value(|m| {
            if let Some(m) = m
                && let Err(e) = m.seek(to)
            {
                state.fail(e);
            }
        });
    };
    // Any change of the mixer settings goes straight to the gain nodes.
    Effect::new(move || {
        let gains = state.mix.get().gains();
        state.mixer.with_value(|m| {
            if let Some(m) = m {
                m.set_gains(gains);
            }
        });
    });

    view! {
        <section class="card results" class:hidden=move || state.outcome.get().is_none()>
            <div class="row spread">
                <h2>"Your stems"</h2>
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
                <button id="play" class="button round" on:click=toggle_play aria-label="Play or pause">
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
            <div class="downloads row">
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
