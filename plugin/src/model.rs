//! Loading the separator: the user's model file if one is set and valid, else the embedded
//! default, on the GPU when one is usable, else on the CPU. Never panics on a bad file: it falls
//! back and says why (host log / stderr through nice-plug's logger, and [`Loaded::status`]).

use std::path::Path;
use svs_core::{BackendKind, ModelFile, Separator};

/// Environment variable naming a model file, used when the plugin state has none (there is no
/// editor yet to pick one).
pub const MODEL_ENV: &str = "SVS_PLUGIN_MODEL";
/// Environment variable forcing a backend (`cpu` or `wgpu`).
pub const BACKEND_ENV: &str = "SVS_PLUGIN_BACKEND";

pub struct Loaded {
    pub separator: Option<Separator>,
    /// One line for the user: which model runs where, or why nothing runs.
    pub status: String,
    /// The requested model file could not be used (the status says why).
    pub fell_back: bool,
}

/// The model file to use: the saved path, else `$SVS_PLUGIN_MODEL`, else none (the default).
pub fn requested_path(saved: &str) -> Option<String> {
    let saved = saved.trim();
    if !saved.is_empty() {
        return Some(saved.to_owned());
    }
    std::env::var(MODEL_ENV).ok().filter(|p| !p.trim().is_empty())
}

/// Reads `path` (or the embedded default) and builds a separator with the plugin's settings.
pub fn load(path: Option<&str>) -> Loaded {
    let device = choose_device();
    let mut problems = Vec::new();
    let file = match path {
        Some(path) => match ModelFile::read(Path::new(path)) {
            Ok(file) => Some(file),
            Err(e) => {
                problems.push(format!("model file {path}: {e}; using the default model"));
                None
            }
        },
        None => None,
    };
    let candidates = file.into_iter().map(Ok).chain(std::iter::once_with(|| {
        svs_core::default_model::default_model().map_err(|e| format!("the default model: {e}"))
    }));
    for candidate in candidates {
        let result = candidate.and_then(|file| {
            let name = file.name().display().to_string();
            let (model, _) = file.separator(&device.1).map_err(|e| format!("{name}: {e}"))?;
            let separator = Separator::new(model, device.1.clone(), crate::engine::separator_config())
                .map_err(|e| format!("{name}: {e}"))?;
            Ok((name, separator))
        });
        match result {
            Ok((name, separator)) => {
                let mut status = format!("separating with {name} on {}", device.0);
                for p in &problems {
                    status = format!("{p}; {status}");
                }
                return Loaded { separator: Some(separator), status, fell_back: !problems.is_empty() };
            }
            Err(e) => problems.push(e),
        }
    }
    Loaded {
        separator: None,
        status: format!("no usable model ({}); passing the input through", problems.join("; ")),
        fell_back: true,
    }
}

/// The device inference runs on, and its name for the log. With the `wgpu` feature a GPU is used
/// when wgpu finds an adapter that can run a tensor operation; anything else (no adapter, a
/// driver error) falls back to the CPU.
fn choose_device() -> (String, burn::tensor::Device) {
    let forced = std::env::var(BACKEND_ENV).ok().and_then(|b| b.parse::<BackendKind>().ok());
    if forced != Some(BackendKind::Cpu) && cfg!(feature = "wgpu") {
        if let Some(device) = probe_gpu() {
            return ("the GPU (wgpu)".into(), device);
        }
    }
    ("the CPU".into(), BackendKind::Cpu.device(0).expect("the CPU backend is always compiled in"))
}

#[cfg(feature = "wgpu")]
fn probe_gpu() -> Option<burn::tensor::Device> {
    // burn panics when wgpu finds no adapter; contain it.
    std::panic::catch_unwind(|| {
        let device = BackendKind::Wgpu.device(0).ok()?;
        let t = burn::tensor::Tensor::<1>::from_floats([1.0f32, 2.0].as_slice(), &device);
        let sum: Vec<f32> = t.sum().into_data().try_to_vec::<f32>().ok()?;
        (sum == [3.0]).then_some(device)
    })
    .ok()
    .flatten()
}

#[cfg(not(feature = "wgpu"))]
fn probe_gpu() -> Option<burn::tensor::Device> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_bad_model_file_falls_back_to_the_default_and_says_why() {
        let garbage = std::env::temp_dir().join(format!("svs-plugin-garbage-{}.safetensors", std::process::id()));
        std::fs::write(&garbage, b"not a model").unwrap();
        for path in ["/nonexistent/model.safetensors", garbage.to_str().unwrap()] {
            let loaded = load(Some(path));
            assert!(loaded.separator.is_some() && loaded.fell_back, "{path}: {}", loaded.status);
            assert!(
                loaded.status.contains(path) && loaded.status.contains("using the default model"),
                "{}",
                loaded.status
            );
            assert!(loaded.status.contains("embedded default model"), "{}", loaded.status);
        }
        std::fs::remove_file(garbage).unwrap();
        let loaded = load(None);
        assert!(loaded.status.starts_with("separating with embedded default model on "), "{}", loaded.status);
    }

    #[test]
    fn the_saved_path_wins_over_the_environment() {
        assert_eq!(requested_path("  /a/model.safetensors "), Some("/a/model.safetensors".into()));
    }
}
