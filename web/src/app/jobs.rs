//! Connects the page's state to the separation worker: starting, cancelling, progress, results,
//! and the fall-back to the CPU when WebGPU fails part-way.

use super::{Outcome, Phase, State};
use crate::export;
use crate::mixer::Mixer;
use crate::protocol::{self, BackendChoice};
use crate::worker_client::{Event, Job, Request, Stems};
use leptos::prelude::*;
use std::time::Duration;

pub fn start(state: State, choice: BackendChoice) {
    let started = crate::js::now_ms();
    let Some(request) = state.decoded.with_value(|song| {
        song.as_ref().map(|song| Request {
            sample_rate: song.sample_rate,
            channels: song.planar_copy(),
            backend: choice,
            model: state.model.with_value(|m| m.clone()),
            simulate_gpu_loss: simulate_gpu_loss(),
        })
    }) else {
        return;
    };
    crate::js::log_phase("copied the samples for the worker", started);
    state.error.set(None);
    state.clear_results();
    state.backend.set(None);
    state.phase.set(Phase::Separating { fraction: 0.0, seconds_left: None });
    match Job::start(request, move |event| on_event(state, choice, event)) {
        Ok(job) => state.job.set_value(Some(job)),
        Err(message) => {
            state.phase.set(Phase::Ready);
            state.fail(message);
        }
    }
}

/// The `?simulate=webgpu-loss` test hook in the page's address (see the worker): the end-to-end
/// tests use it to check the fall-back to the CPU, which a headless browser cannot trigger.
fn simulate_gpu_loss() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|query| query.trim_start_matches('?').split('&').any(|p| p == "simulate=webgpu-loss"))
}

pub fn cancel(state: State) {
    // Dropping the job terminates the worker at once, mid-window if need be.
    state.job.set_value(None);
    state.phase.set(Phase::Ready);
    state.notice.set(Some("Separation cancelled.".into()));
}

/// Ends the job after the current callback returns: the job owns the callback running now.
fn finish_job(state: State) {
    set_timeout(move || state.job.set_value(None), Duration::ZERO);
}

fn on_event(state: State, choice: BackendChoice, event: Event) {
    match event {
        Event::Backend { name, note } => {
            state.backend.set(Some(name));
            if note.is_some() {
                state.notice.set(note);
            }
        }
        Event::Progress { fraction, seconds_left } => {
            state.phase.set(Phase::Separating { fraction, seconds_left });
        }
        Event::Done(stems) => {
            finish_job(state);
            let started = crate::js::now_ms();
            let shown = show_results(state, stems);
            crate::js::log_phase("prepared the players and downloads", started);
            match shown {
                Ok(()) => state.phase.set(Phase::Done),
                Err(message) => {
                    state.phase.set(Phase::Ready);
                    state.fail(message);
                }
            }
        }
        Event::Failed(message) => {
            finish_job(state);
            let on_gpu = state.backend.get_untracked().as_deref() == Some(protocol::WEBGPU_LABEL);
            if on_gpu && choice == BackendChoice::Auto {
                // WebGPU can be lost mid-way (driver reset, another tab, memory): the CPU still works.
                state.notice.set(Some(format!(
                    "WebGPU stopped working part-way ({message}). Separating again on the CPU, which is slower."
                )));
                set_timeout(move || start(state, BackendChoice::Cpu), Duration::ZERO);
            } else {
                state.phase.set(Phase::Ready);
                state.fail(message);
            }
        }
    }
}

fn show_results(state: State, stems: Stems) -> Result<(), String> {
    let mixer = state.decoded.with_value(|song| {
        let song = song.as_ref().ok_or("The song was closed before the separation finished.")?;
        Mixer::new(&song.buffer, &stems.vocals, &stems.accompaniment)
    })?;
    mixer.set_gains(state.mix.get_untracked().gains());
    let vocals_url = export::wav_url(&stems.vocals_wav)?;
    let accompaniment_url = export::wav_url(&stems.accompaniment_wav)?;
    state.mixer.set_value(Some(mixer));
    state.outcome.set(Some(Outcome {
        vocals_url,
        accompaniment_url,
        seconds: stems.seconds,
        model: stems.model,
        backend: state.backend.get_untracked().unwrap_or_default(),
    }));
    Ok(())
}
