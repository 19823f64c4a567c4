//! Loading the separator: the user's model file if one is set and valid, else the embedded
//! default, on the GPU when one is usable, else on the CPU. Never panics on a bad file: it falls
//! back and says why (host log / stderr through nice-plug's logger, and [`Loaded::status`]).

use crate::status::{LoadedModel, ModelInfo};
use burn::module::Module;
use std::path::Path;
use svs_core::{BackendKind, ModelFile, PoCoNet, Separator, SeparatorConfig};

/// Environment variable naming a model file, used when the plugin state has none (the editor's
/// choice is saved in the state and wins; this stays as an override for hosts without one).
pub const MODEL_ENV: &str = "SVS_PLUGIN_MODEL";
/// Environment variable forcing a backend (`cpu` or `wgpu`).
pub const BACKEND_ENV: &str = "SVS_PLUGIN_BACKEND";

pub struct Loaded {
    pub separator: Option<Separator>,
    /// The same model on the CPU, for the live mode (`svs_core::LiveSeparator`).
    pub live_model: Option<PoCoNet>,
    /// What loaded, where it runs, and the status line (also what the editor shows).
    pub model: LoadedModel,
}

/// The model file to use: the saved path, else `$SVS_PLUGIN_MODEL`, else none (the default).
pub fn requested_path(saved: &str) -> Option<String> {
    let saved = saved.trim();
    if !saved.is_empty() {
        return Some(saved.to_owned());
    }
    std::env::var(MODEL_ENV).ok().filter(|p| !p.trim().is_empty())
}

/// Reads `path` (or the embedded default) and builds a separator with `config` (the plugin's
/// realtime or offline settings, `engine::separator_config_for`).
pub fn load(path: Option<&str>, config: SeparatorConfig) -> Loaded {
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
    let candidates = file.map(|f| Ok((f, path.map(str::to_owned)))).into_iter().chain(std::iter::once_with(|| {
        svs_core::default_model::default_model().map(|f| (f, None)).map_err(|e| format!("the default model: {e}"))
    }));
    for candidate in candidates {
        let result = candidate.and_then(|(file, path)| {
            let name = file.name().display().to_string();
            let separator = Separator::from_model_file(&file, device.1.clone(), config.clone())
                .map_err(|e| format!("{name}: {e}"))?;
            let cpu = BackendKind::Cpu.device(0).map_err(|e| format!("the CPU: {e}"))?;
            let (live_model, _) = file.separator(&cpu).map_err(|e| format!("{name}: {e}"))?;
            let info = ModelInfo {
                name: file.name().file_name().map_or(name.clone(), |n| n.to_string_lossy().into_owned()),
                path,
                parameters: live_model.num_params(),
                file_bytes: file.byte_len(),
                metadata: file.metadata.clone(),
            };
            Ok((name, separator, live_model, info))
        });
        match result {
            Ok((name, separator, live_model, info)) => {
                let mut status = format!("separating with {name} on {}", device.0);
                for p in &problems {
                    status = format!("{p}; {status}");
                }
                let model = LoadedModel { info: Some(info), device: device.0, status, fell_back: !problems.is_empty() };
                return Loaded { separator: Some(separator), live_model: Some(live_model), model };
            }
            Err(e) => problems.push(e),
        }
    }
    let status = format!("no usable model ({}); passing the input through", problems.join("; "));
    Loaded {
        separator: None,
        live_model: None,
        model: LoadedModel { info: None, device: device.0, status, fell_back: true },
    }
}

/// The device inference runs on, and its name for the log. A hardware GPU (discrete, integrated
/// or virtual) that wgpu finds and that runs a tensor operation is used; anything else (no
/// adapter, only a software rasteriser such as lavapipe, a driver error) falls back to the CPU,
/// which is faster than a software GPU. `SVS_PLUGIN_BACKEND=cpu` forces the CPU;
/// `SVS_PLUGIN_BACKEND=wgpu` forces wgpu on whatever adapter it picks, software included (how the
/// tests run the GPU path on lavapipe).
fn choose_device() -> (String, burn::tensor::Device) {
    let forced = std::env::var(BACKEND_ENV).ok().and_then(|b| b.parse::<BackendKind>().ok());
    let gpu = match forced {
        Some(BackendKind::Cpu) => None,
        Some(BackendKind::Wgpu) => probe_any_wgpu_adapter().map(|d| ("wgpu (forced by SVS_PLUGIN_BACKEND)".into(), d)),
        _ => hardware_gpu(),
    };
    gpu.unwrap_or_else(|| {
        ("the CPU".into(), BackendKind::Cpu.device(0).expect("the CPU backend is always compiled in"))
    })
}

/// The first hardware GPU that works, probed once per process: probing creates graphics API
/// instances, too slow to repeat on every `activate()`. The adapters are listed through wgpu
/// first, so that burn is only asked for a kind of GPU the machine has (burn panics on one it
/// lacks, and the host's log would show it).
#[cfg(feature = "wgpu")]
fn hardware_gpu() -> Option<(String, burn::tensor::Device)> {
    use burn::backend::wgpu::wgpu::{self, DeviceType};
    use burn::tensor::DeviceKind;
    static CHOSEN: std::sync::OnceLock<Option<(String, burn::tensor::Device)>> = std::sync::OnceLock::new();
    CHOSEN
        .get_or_init(|| {
            let backends = wgpu::Backends::PRIMARY;
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends,
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            let types: Vec<DeviceType> = futures_lite::future::block_on(instance.enumerate_adapters(backends))
                .iter()
                .map(|adapter| adapter.get_info().device_type)
                .collect();
            drop(instance);
            [
                (DeviceType::DiscreteGpu, DeviceKind::DiscreteGpu(0), "the GPU (wgpu, discrete)"),
                (DeviceType::IntegratedGpu, DeviceKind::IntegratedGpu(0), "the GPU (wgpu, integrated)"),
                (DeviceType::VirtualGpu, DeviceKind::VirtualGpu(0), "the GPU (wgpu, virtual)"),
            ]
            .into_iter()
            .filter(|(ty, _, _)| types.contains(ty))
            .find_map(|(_, kind, name)| works(burn::tensor::Device::wgpu(kind)).map(|d| (name.to_owned(), d)))
        })
        .clone()
}

#[cfg(not(feature = "wgpu"))]
fn hardware_gpu() -> Option<(String, burn::tensor::Device)> {
    None
}

#[cfg(feature = "wgpu")]
fn probe_any_wgpu_adapter() -> Option<burn::tensor::Device> {
    works(BackendKind::Wgpu.device(0).ok()?)
}

#[cfg(not(feature = "wgpu"))]
fn probe_any_wgpu_adapter() -> Option<burn::tensor::Device> {
    None
}

/// `device` if a tensor operation runs on it. burn panics when wgpu finds no adapter of the
/// requested kind or the driver fails; the panic is contained.
#[cfg(feature = "wgpu")]
fn works(device: burn::tensor::Device) -> Option<burn::tensor::Device> {
    std::panic::catch_unwind(|| {
        let t = burn::tensor::Tensor::<1>::from_floats([1.0f32, 2.0].as_slice(), &device);
        let sum: Vec<f32> = t.sum().into_data().try_to_vec::<f32>().ok()?;
        (sum == [3.0]).then_some(device.clone())
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_bad_model_file_falls_back_to_the_default_and_says_why() {
        let garbage = std::env::temp_dir().join(format!("svs-plugin-garbage-{}.safetensors", std::process::id()));
        std::fs::write(&garbage, b"not a model").unwrap();
        for path in ["/nonexistent/model.safetensors", garbage.to_str().unwrap()] {
            let loaded = load(Some(path), crate::engine::separator_config());
            assert!(loaded.separator.is_some() && loaded.model.fell_back, "{path}: {}", loaded.model.status);
            assert!(
                loaded.model.status.contains(path) && loaded.model.status.contains("using the default model"),
                "{}",
                loaded.model.status
            );
            assert!(loaded.model.status.contains("embedded default model"), "{}", loaded.model.status);
        }
        std::fs::remove_file(garbage).unwrap();
        let loaded = load(None, crate::engine::separator_config());
        assert!(
            loaded.model.status.starts_with("separating with embedded default model on "),
            "{}",
            loaded.model.status
        );
        let info = loaded.model.info.expect("the default model's description");
        assert_eq!((info.name.as_str(), info.path), ("embedded default model", None));
        let default = svs_core::default_model::default_model().unwrap();
        assert_eq!(info.file_bytes, default.byte_len());
        assert_eq!(info.metadata, default.metadata);
        assert_eq!(info.parameters, loaded.live_model.unwrap().num_params());
        assert!(info.parameters > 100_000, "{}", info.parameters);
    }

    #[test]
    fn a_chosen_model_file_is_described_with_its_path() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.safetensors");
        let loaded = load(Some(path), crate::engine::separator_config());
        assert!(!loaded.model.fell_back, "{}", loaded.model.status);
        let info = loaded.model.info.unwrap();
        assert_eq!((info.name.as_str(), info.path.as_deref()), ("default.safetensors", Some(path)));
        assert_eq!(info.file_bytes as u64, std::fs::metadata(path).unwrap().len());
        assert!(loaded.model.status.ends_with(&format!(" on {}", loaded.model.device)), "{}", loaded.model.status);
    }

    #[test]
    fn a_damaged_model_file_is_refused_in_the_status_line() {
        // The embedded model with one weight's byte flipped: it still parses, but its checksum
        // no longer matches, and the status (the host log's line) says so.
        let model = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.safetensors")).unwrap();
        let mut damaged = model.clone();
        let last = damaged.len() - 3;
        damaged[last] ^= 0x40;
        let path = std::env::temp_dir().join(format!("svs-plugin-damaged-{}.safetensors", std::process::id()));
        std::fs::write(&path, &damaged).unwrap();
        let loaded = load(Some(path.to_str().unwrap()), crate::engine::separator_config());
        std::fs::remove_file(&path).unwrap();
        assert!(loaded.separator.is_some() && loaded.model.fell_back, "{}", loaded.model.status);
        assert!(loaded.model.status.contains("the weights do not match the checksum"), "{}", loaded.model.status);
    }

    #[test]
    fn the_saved_path_wins_over_the_environment() {
        assert_eq!(requested_path("  /a/model.safetensors "), Some("/a/model.safetensors".into()));
    }
}
