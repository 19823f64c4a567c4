//! Connects the page's state to the separation worker: starting (from where the listener is),
//! following seeks, cancelling, the stems as they arrive, the results, and the fall-back to the
//! CPU when WebGPU fails part-way.

use super::{Flac, Outcome, Phase, State};
use crate::export;
use crate::protocol::{self, BackendChoice};
use crate::worker_client::{Event, Job, Request, Spare, Stems};
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
            from: (state.position.get_untracked() * song.sample_rate as f64) as u32,
            simulate_gpu_loss: simulate("webgpu-loss"),
            // Half real time: the separation falls behind playback, so the tests see the wait.
            slowdown: if simulate("slow-worker") { 2.0 } else { 0.0 },
        })
    }) else {
        return;
    };
    crate::js::log_phase("copied the samples for the worker", started);
    state.error.set(None);
    state.clear_results();
    state.backend.set(None);
    state.phase.set(Phase::Separating { fraction: 0.0, seconds_left: None });
    let spare = state.spare.try_update_value(Option::take).flatten();
    let job = Job::start(request, spare, move |event| on_event(state, choice, event));
    match job {
        Ok(job) => state.job.set_value(Some(job)),
        Err(message) => {
            state.phase.set(Phase::Ready);
            state.fail(message);
        }
    }
}

/// The page's `?simulate=…` test hooks (see the worker): `webgpu-loss` checks the fall-back to
/// the CPU, which a headless browser cannot trigger; `slow-worker` makes the separation slower
/// than playback.
fn simulate(what: &str) -> bool {
    let wanted = format!("simulate={what}");
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|query| query.trim_start_matches('?').split('&').any(|p| p == wanted))
}

/// Starts the next job's worker (loading the module and the built-in model) if none is waiting:
/// after a job, not during one, whose first window it would slow down.
pub fn ensure_spare(state: State) {
    if state.spare.with_value(Option::is_none) {
        state.spare.set_value(Spare::start(state.choice.get_untracked()).ok());
    }
}

pub fn cancel(state: State) {
    // Dropping the job terminates the worker at once, mid-window if need be.
    state.job.set_value(None);
    ensure_spare(state);
    state.clear_results();
    state.phase.set(Phase::Ready);
    state.notice.set(Some("Separation cancelled.".into()));
}

/// The listener moved to `seconds`: the separation follows (a seek past the separated part
/// restarts it there; the rest is filled in after).
pub fn follow(state: State, seconds: f64) {
    let rate = state.file.get_untracked().map_or(0, |f| f.sample_rate);
    state.job.with_value(|job| {
        if let Some(job) = job {
            job.focus((seconds * rate as f64) as u32);
        }
    });
}

/// Asks the finished separation's worker for FLAC files.
pub fn make_flac(state: State) {
    if state.flac.get_untracked() != Flac::NotAsked {
        return;
    }
    let asked = state.job.with_value(|job| job.as_ref().map(|job| job.encode_flac()).is_some());
    if asked {
        state.flac.set(Flac::Preparing);
    } else {
        state.fail("The separated stems are no longer in memory: separate the song again for FLAC files.".into());
    }
}

/// Whether a separation is running or finished for the current song.
pub fn separating_or_done(state: State) -> bool {
    matches!(state.phase.get_untracked(), Phase::Separating { .. } | Phase::Done)
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
        Event::Block(block) => {
            if state.coverage.with_untracked(|c| c.covered() == 0) {
                crate::js::test_hook("firstBlockAt", &super::player::now().into());
            }
            let frames = block.frames();
            let sent = state.player.with_value(|p| p.as_ref().map(|p| p.add_block(&block)));
            match sent {
                Some(Err(message)) => state.fail(message),
                Some(Ok(())) => {}
                None => state.early_blocks.update_value(|b| b.push(block)),
            }
            state.coverage.update(|c| c.add(frames));
            let rate = state.file.get_untracked().map_or(1, |f| f.sample_rate) as f64;
            let stretches = state.coverage.with_untracked(|c| {
                c.ranges()
                    .iter()
                    .map(|r| format!("{:.3}-{:.3}", r.start as f64 / rate, r.end as f64 / rate))
                    .collect::<Vec<_>>()
            });
            crate::js::test_hook("separated", &stretches.join(",").into());
        }
        Event::Progress { fraction, seconds_left } => {
            state.phase.set(Phase::Separating { fraction, seconds_left });
        }
        Event::Done(stems) => {
            // The job stays: its worker keeps the stems for the FLAC files, if asked for.
            ensure_spare(state);
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
        Event::Flac { vocals, accompaniment } => {
            let urls = export::file_url(&vocals, "audio/flac")
                .and_then(|v| export::file_url(&accompaniment, "audio/flac").map(|a| (v, a)));
            match urls {
                Ok((vocals_url, accompaniment_url)) => state.flac.set(Flac::Ready { vocals_url, accompaniment_url }),
                Err(message) => {
                    state.flac.set(Flac::NotAsked);
                    state.fail(message);
                }
            }
        }
        Event::Failed(message) => {
            finish_job(state);
            ensure_spare(state);
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
    let vocals_url = export::wav_url(&stems.vocals_wav)?;
    let accompaniment_url = export::wav_url(&stems.accompaniment_wav)?;
    state.outcome.set(Some(Outcome {
        vocals_url,
        accompaniment_url,
        seconds: stems.seconds,
        model: stems.model,
        backend: state.backend.get_untracked().unwrap_or_default(),
    }));
    Ok(())
}
