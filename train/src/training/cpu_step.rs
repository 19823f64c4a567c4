//! One optimisation step on the CPU implementation of the network
//! ([`svs_core::model::cpu::train`]): the hand-written forward and backward give the loss and
//! the gradients, which go to burn's Adam like autodiff's would. The model stays a burn
//! [`PoCoNet`] on the plain CPU device (no autodiff), so checkpoints, the optimiser's state,
//! resume and validation are the tensor path's.

use super::data::Batch;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use svs_core::model::cpu::train::{CpuTrainer, StepGradients, Waveforms};
use svs_core::model::{PoCoNet, SeparationLoss};

/// Which implementation computes a training step's gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StepPath {
    /// The CPU implementation with its hand-written backward pass (CPU backend only).
    #[default]
    Cpu,
    /// burn autodiff on the tensor graph (any device; data-parallel over several).
    Tensor,
}

impl StepPath {
    /// The path `svs train` takes: the CPU implementation on one CPU device; the tensor graph
    /// on GPUs and for data parallelism over several devices.
    pub fn for_run(backend: svs_core::BackendKind, devices: &[usize]) -> Self {
        if backend == svs_core::BackendKind::Cpu && devices.len() == 1 { Self::Cpu } else { Self::Tensor }
    }
}

impl std::fmt::Display for StepPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Tensor => "tensor",
        })
    }
}

/// The loss and gradients of `batch` on the CPU implementation, as burn gradients of `model`'s
/// parameters on `device` (the plain device under the model's autodiff one, where autodiff's
/// own gradients live). Moves the batch norms' running statistics.
pub fn cpu_gradients(
    trainer: &CpuTrainer,
    model: &PoCoNet,
    loss: &SeparationLoss,
    batch: &Batch,
    device: &Device,
) -> (f64, GradientsParams) {
    let waveforms = Waveforms {
        batch: batch.batch,
        samples: batch.samples,
        mixture: &batch.mixture,
        vocals: &batch.vocals,
        accompaniment: &batch.accompaniment,
    };
    let StepGradients { loss, gradients } = trainer.gradients(model, loss.config(), &waveforms);
    let mut params = GradientsParams::new();
    for g in &gradients {
        match g.shape.len() {
            1 => params.register(g.id, g.tensor::<1>(device)),
            2 => params.register(g.id, g.tensor::<2>(device)),
            4 => params.register(g.id, g.tensor::<4>(device)),
            rank => unreachable!("PoCoNet has no rank-{rank} parameters"),
        }
    }
    (loss, params)
}

/// One Adam step on the CPU implementation. `model` lives on an autodiff CPU device (burn's
/// optimiser keeps its parameters' autodiff state). Returns the model and the batch's loss.
pub fn cpu_train_step(
    trainer: &CpuTrainer,
    model: PoCoNet,
    optimizer: &mut ModuleOptimizer,
    loss: &SeparationLoss,
    batch: &Batch,
    lr: f64,
) -> (PoCoNet, f64) {
    let device = model.devices().first().cloned().unwrap_or_else(Device::flex).inner();
    let (value, grads) = cpu_gradients(trainer, &model, loss, batch, &device);
    (optimizer.step(lr, model, grads), value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::trainer::batch_loss;
    use burn::optim::AdamConfig;
    use svs_core::model::{PoCoNetConfig, SeparationLossConfig};

    fn batch(n: usize, samples: usize) -> Batch {
        let wave = |k: usize| -> Vec<f32> {
            (0..n * samples)
                .map(|i| {
                    let h = ((i + 7919 * k) as u64).wrapping_mul(2_654_435_761) >> 9;
                    (h % 2000) as f32 / 10_000.0 - 0.1 + 0.3 * ((i as f32) * 0.003 * (k + 2) as f32).sin()
                })
                .collect()
        };
        let vocals = wave(1);
        let accompaniment = wave(2);
        let mixture = vocals.iter().zip(&accompaniment).map(|(v, a)| v + a).collect();
        Batch { batch: n, samples, mixture, vocals, accompaniment }
    }

    #[test]
    fn a_short_run_follows_the_tensor_paths_loss_curve() {
        // Eight Adam steps from the same initialisation on the same batches: the CPU path's
        // losses stay within 1e-3 (relative) of autodiff's on the tensor graph.
        let cpu = Device::flex();
        let autodiff = cpu.clone().autodiff();
        let config = PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8);
        let mut tensor_model = svs_core::device::seeded(&autodiff, 7, || config.init(&autodiff)).train();
        // A second model from the same seed (a clone would share the running statistics).
        let mut cpu_model = svs_core::device::seeded(&autodiff, 7, || config.init(&autodiff)).train();
        let (mut tensor_opt, mut cpu_opt) = (AdamConfig::new().init(), AdamConfig::new().init());
        let loss = SeparationLossConfig::new().init();
        let trainer = CpuTrainer::default();
        let lr = 3e-3; // large enough for the curve to move in eight steps
        let mut curves = (Vec::new(), Vec::new());
        for step in 0..8 {
            let b = batch(2, 4000 + 256 * (step % 2));
            let l = batch_loss(&tensor_model, &loss, &b, &autodiff);
            curves.0.push(l.clone().into_scalar::<f32>() as f64);
            let grads = GradientsParams::from_grads(l.backward(), &tensor_model);
            tensor_model = tensor_opt.step(lr, tensor_model, grads);
            let (stepped, value) = cpu_train_step(&trainer, cpu_model, &mut cpu_opt, &loss, &b, lr);
            cpu_model = stepped;
            curves.1.push(value);
        }
        for (i, (t, c)) in curves.0.iter().zip(&curves.1).enumerate() {
            assert!((t - c).abs() <= 1e-3 * t, "step {i}: tensor {t} vs cpu {c} ({curves:?})");
        }
        assert!(curves.0[7] < curves.0[0] * 0.98, "the loss did not move: {curves:?}");
    }
}
