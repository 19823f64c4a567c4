//! The page's side of the separation worker: starts a module worker running this same wasm
//! module (`www/worker.js`), sends it the job once it is ready, and turns its messages, and its
//! crashes, into [`Event`]s. Dropping the [`Job`] terminates the worker: that is Cancel.

use crate::js;
use crate::protocol::{self, BackendChoice};
use js_sys::{Array, ArrayBuffer, Float32Array, Uint8Array};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// What the page sends: planar samples (transferred, so the caller's copies become empty).
pub struct Request {
    pub sample_rate: u32,
    pub channels: Vec<Float32Array>,
    pub backend: BackendChoice,
    /// A model file the user chose, with its name; `None` for the built-in model.
    pub model: Option<(ArrayBuffer, String)>,
    /// The frame to start separating at (where the listener is).
    pub from: u32,
    /// Test hook: make a WebGPU run fail as if the device were lost (see the worker).
    pub simulate_gpu_loss: bool,
    /// Test hook: seconds of wall time the worker spends per second of audio at least (0: none).
    pub slowdown: f64,
}

/// Separated samples from frame `start` on, planar.
pub struct Block {
    pub start: u32,
    pub vocals: Vec<Float32Array>,
    pub accompaniment: Vec<Float32Array>,
}

impl Block {
    /// The song's frames it covers.
    pub fn frames(&self) -> std::ops::Range<usize> {
        let len = self.vocals.first().map_or(0, |c| c.length()) as usize;
        self.start as usize..self.start as usize + len
    }
}

/// The finished separation's files.
pub struct Stems {
    pub vocals_wav: Uint8Array,
    pub accompaniment_wav: Uint8Array,
    pub seconds: f64,
    /// Which model separated them, in words ("built-in model", "model “x.safetensors”").
    pub model: String,
}

pub enum Event {
    Backend {
        name: String,
        note: Option<String>,
    },
    Block(Block),
    Progress {
        fraction: f64,
        seconds_left: Option<f64>,
    },
    Done(Stems),
    /// The stems as FLAC files (after [`Job::encode_flac`]).
    Flac {
        vocals: Uint8Array,
        accompaniment: Uint8Array,
    },
    /// The job failed; the worker is finished.
    Failed(String),
}

/// A running separation.
pub struct Job {
    worker: Worker,
    /// The job's message until the worker is ready for it.
    pending: Rc<RefCell<Option<(JsValue, Array)>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

fn new_worker() -> Result<Worker, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    Worker::new_with_options("./worker.js", &options)
        .map_err(|e| format!("The separation worker could not be started: {}", js::error_text(&e)))
}

/// A worker started ahead of its job, so a song's separation does not wait for the worker to
/// load the module and the built-in model (a few hundred ms each). Dropped unused, it is
/// terminated.
pub struct Spare {
    /// `None` once a job took it.
    worker: Option<Worker>,
    ready: Rc<Cell<bool>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Spare {
    /// A worker that loads the built-in model on `backend` as soon as it is ready.
    pub fn start(backend: BackendChoice) -> Result<Spare, String> {
        let worker = new_worker()?;
        let ready = Rc::new(Cell::new(false));
        let on_message = {
            let (ready, worker) = (ready.clone(), worker.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                match js::get_str(&event.data(), "kind").as_deref() {
                    Some(protocol::READY) => {
                        ready.set(true);
                        let warm = js::message(protocol::WARM);
                        js::set(&warm, "backend", &backend.as_str().into());
                        let _ = worker.post_message(&warm);
                    }
                    // For the tests, which choose a song after the page has settled, as a person would.
                    Some(protocol::WARMED) => js::test_hook("workerWarm", &true.into()),
                    _ => {}
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(Spare { worker: Some(worker), ready, _on_message: on_message })
    }

    /// The worker, and whether it has said it is ready.
    fn take(mut self) -> (Worker, bool) {
        let worker = self.worker.take().expect("a spare is taken once");
        worker.set_onmessage(None);
        (worker, self.ready.get())
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        if let Some(worker) = &self.worker {
            worker.set_onmessage(None);
            worker.terminate();
        }
    }
}

impl Job {
    /// Starts `request` on `spare` (a worker started earlier) if given, else on a new worker.
    pub fn start(request: Request, spare: Option<Spare>, on_event: impl FnMut(Event) + 'static) -> Result<Job, String> {
        let (worker, ready) = match spare {
            Some(spare) => spare.take(),
            None => (new_worker()?, false),
        };
        let on_event = Rc::new(RefCell::new(on_event));
        // Set once the worker has reported an error itself, so its crash that follows is not
        // reported a second time with a vaguer message.
        let reported = Rc::new(Cell::new(false));

        let pending = Rc::new(RefCell::new(Some(separate_message(request))));
        let started = js::now_ms();
        let on_message = {
            let (worker, on_event, reported, pending) =
                (worker.clone(), on_event.clone(), reported.clone(), pending.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let kind = js::get_str(&data, "kind").unwrap_or_default();
                let event = match kind.as_str() {
                    protocol::READY => {
                        js::log_phase("the worker started", started);
                        hand_over(&worker, &pending, &reported, &on_event);
                        return;
                    }
                    protocol::BACKEND => Event::Backend {
                        name: js::get_str(&data, "name").unwrap_or_default(),
                        note: js::get_str(&data, "note"),
                    },
                    protocol::BLOCK => Event::Block(Block {
                        start: js::get_f64(&data, "start").unwrap_or(0.0) as u32,
                        vocals: js::get_channels(&data, "vocals"),
                        accompaniment: js::get_channels(&data, "accompaniment"),
                    }),
                    protocol::PROGRESS => Event::Progress {
                        fraction: js::get_f64(&data, "fraction").unwrap_or(0.0),
                        seconds_left: js::get_f64(&data, "secondsLeft"),
                    },
                    protocol::DONE => {
                        js::log_phase("received the stems", js::get_f64(&data, "sentAt").unwrap_or_else(js::now_ms));
                        Event::Done(Stems {
                            vocals_wav: js::get(&data, "vocalsWav").unchecked_into(),
                            accompaniment_wav: js::get(&data, "accompanimentWav").unchecked_into(),
                            seconds: js::get_f64(&data, "seconds").unwrap_or(0.0),
                            model: js::get_str(&data, "model").unwrap_or_default(),
                        })
                    }
                    protocol::FILES => Event::Flac {
                        vocals: js::get(&data, "vocals").unchecked_into(),
                        accompaniment: js::get(&data, "accompaniment").unchecked_into(),
                    },
                    protocol::ERROR => {
                        if reported.replace(true) {
                            return;
                        }
                        Event::Failed(js::get_str(&data, "message").unwrap_or_else(|| "The separation failed.".into()))
                    }
                    _ => return,
                };
                (on_event.borrow_mut())(event);
            })
        };
        let on_error = {
            let (reported, on_event) = (reported.clone(), on_event.clone());
            Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                event.prevent_default();
                if reported.replace(true) {
                    return;
                }
                (on_event.borrow_mut())(Event::Failed(crash_message(&event.message())));
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        if ready {
            js::log_phase("the worker was ready", started);
            hand_over(&worker, &pending, &reported, &on_event);
        }
        Ok(Job { worker, pending, _on_message: on_message, _on_error: on_error })
    }

    /// Asks the finished job's worker for the stems as FLAC files ([`Event::Flac`]).
    pub fn encode_flac(&self) {
        let _ = self.worker.post_message(&js::message(protocol::ENCODE));
    }

    /// The listener moved to `frame`: the worker separates from there next.
    pub fn focus(&self, frame: u32) {
        if let Some((job, _)) = self.pending.borrow().as_ref() {
            // Not sent yet: the job starts there.
            js::set(job.unchecked_ref(), "from", &frame.into());
            return;
        }
        let message = js::message(protocol::FOCUS);
        js::set(&message, "frame", &frame.into());
        let _ = self.worker.post_message(&message);
    }
}

/// Posts the job to its worker once the worker is ready (once only).
fn hand_over<F: FnMut(Event)>(
    worker: &Worker,
    pending: &RefCell<Option<(JsValue, Array)>>,
    reported: &Cell<bool>,
    on_event: &RefCell<F>,
) {
    let job = pending.borrow_mut().take();
    if let Some((message, transfer)) = job
        && let Err(e) = worker.post_message_with_transfer(&message, &transfer)
    {
        reported.set(true);
        (on_event.borrow_mut())(Event::Failed(format!(
            "The audio could not be handed to the separation worker: {}",
            js::error_text(&e)
        )));
    }
}

fn separate_message(request: Request) -> (JsValue, Array) {
    let message = js::message(protocol::SEPARATE);
    let transfer = Array::new();
    js::set(&message, "sampleRate", &request.sample_rate.into());
    js::set(&message, "channels", &js::channels_array(&request.channels, &transfer));
    js::set(&message, "backend", &request.backend.as_str().into());
    js::set(&message, "sentAt", &js::now_ms().into());
    js::set(&message, "simulateGpuLoss", &request.simulate_gpu_loss.into());
    js::set(&message, "from", &request.from.into());
    js::set(&message, "slowdown", &request.slowdown.into());
    match request.model {
        Some((bytes, name)) => {
            // Not transferred: the page keeps the model for the next song.
            js::set(&message, "model", &bytes);
            js::set(&message, "modelName", &name.into());
        }
        None => js::set(&message, "model", &JsValue::NULL),
    }
    (message.into(), transfer)
}

/// Plain words for a worker that died without explaining itself. A wasm module that cannot grow
/// its memory traps ("unreachable"); a panic would have posted its own message first.
fn crash_message(raw: &str) -> String {
    if raw.contains("unreachable") || raw.to_lowercase().contains("memory") {
        "The separation ran out of memory. The song may be too long for this browser tab: close other \
         tabs and try again, cut the song into parts, or use the `svs separate` command line."
            .into()
    } else if raw.is_empty() {
        "The separation worker could not start (this browser may not support module workers).".into()
    } else {
        format!("The separation stopped unexpectedly: {raw}")
    }
}
