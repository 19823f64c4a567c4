//! The Separate button, the backend choice, and the progress bar with its time-left estimate
//! and Cancel.

use super::{Phase, State, jobs};
use crate::progress::describe_time_left;
use crate::protocol::BackendChoice;
use leptos::prelude::*;

#[component]
pub fn SeparatePanel(state: State) -> impl IntoView {
    let separating = move || matches!(state.phase.get(), Phase::Separating { .. });
    let can_start = move || matches!(state.phase.get(), Phase::Ready | Phase::Done);
    let fraction = move || match state.phase.get() {
        Phase::Separating { fraction, .. } => fraction,
        Phase::Done => 1.0,
        _ => 0.0,
    };
    view! {
        <section class="card" class:hidden=move || state.file.get().is_none()>
            <div class="row spread">
                <div class="row">
                    <button
                        id="separate"
                        class="button primary"
                        disabled=move || !can_start()
                        on:click=move |_| jobs::start(state, state.choice.get_untracked())
                    >
                        "Separate"
                    </button>
                    <button id="cancel" class="button ghost" class:hidden=move || !separating() on:click=move |_| jobs::cancel(state)>
                        "Cancel"
                    </button>
                </div>
                <label class="backend-choice">
                    "Run on "
                    <select
                        id="backend-choice"
                        on:change=move |ev| {
                            let choice = BackendChoice::parse(&event_target_value(&ev));
                            state.choice.set(choice);
                            // A running separation starts again on the chosen backend.
                            if matches!(state.phase.get_untracked(), Phase::Separating { .. }) {
                                jobs::start(state, choice);
                            }
                        }
                    >
                        <option value="auto" selected=true>"GPU (WebGPU) if available"</option>
                        <option value="cpu">"CPU only"</option>
                    </select>
                </label>
            </div>
            <div class="progress-area" class:hidden=move || !separating()>
                <div
                    id="progress"
                    class="progress"
                    role="progressbar"
                    aria-valuemin="0"
                    aria-valuemax="100"
                    aria-valuenow=move || format!("{:.0}", fraction() * 100.0)
                >
                    <div class="progress-fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
                </div>
                <div class="row spread muted">
                    <span id="progress-text">
                        {move || match state.phase.get() {
                            Phase::Separating { fraction, seconds_left } => {
                                format!("{:.0}% · {}", fraction * 100.0, describe_time_left(seconds_left))
                            }
                            _ => String::new(),
                        }}
                    </span>
                    <span>
                        "Running on: "
                        <strong id="backend">{move || state.backend.get().unwrap_or_else(|| "starting…".into())}</strong>
                    </span>
                </div>
            </div>
        </section>
    }
}
