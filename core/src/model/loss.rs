//! The training loss (paper Eq. 2 and 3): per source,
//! `lambda_audio * L1(waveform) + lambda_spec * L1(|STFT|)`, and
//! `lambda_vocals * L_vocals + lambda_accompaniment * L_accompaniment` in total.

use crate::dsp::tensor_stft::{magnitude, model_stft};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct SeparationLossConfig {
    #[config(default = 1.0)]
    pub lambda_audio: f32,
    #[config(default = 1.0)]
    pub lambda_spec: f32,
    #[config(default = 1.0)]
    pub lambda_vocals: f32,
    #[config(default = 1.0)]
    pub lambda_accompaniment: f32,
}

#[derive(Clone, Debug)]
pub struct SeparationLoss {
    config: SeparationLossConfig,
}

impl SeparationLossConfig {
    pub fn init(&self) -> SeparationLoss {
        SeparationLoss { config: self.clone() }
    }
}

impl SeparationLoss {
    pub fn config(&self) -> &SeparationLossConfig {
        &self.config
    }

    /// Eq. 2 for one source; waveforms `[batch, samples]`. Returns a scalar tensor.
    pub fn source_loss(&self, estimate: Tensor<2>, reference: Tensor<2>) -> Tensor<1> {
        let audio = estimate.clone().sub(reference.clone()).abs().mean();
        let est_mag: Tensor<3> = magnitude(model_stft(estimate));
        let ref_mag: Tensor<3> = magnitude(model_stft(reference));
        let spec = est_mag.sub(ref_mag).abs().mean();
        audio.mul_scalar(self.config.lambda_audio).add(spec.mul_scalar(self.config.lambda_spec))
    }

    /// Eq. 3 over both sources.
    pub fn forward(
        &self,
        est_vocals: Tensor<2>,
        est_accompaniment: Tensor<2>,
        ref_vocals: Tensor<2>,
        ref_accompaniment: Tensor<2>,
    ) -> Tensor<1> {
        let vocals = self.source_loss(est_vocals, ref_vocals);
        let accompaniment = self.source_loss(est_accompaniment, ref_accompaniment);
        vocals.mul_scalar(self.config.lambda_vocals).add(accompaniment.mul_scalar(self.config.lambda_accompaniment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Stft;
    use crate::{HOP, N_FFT};

    fn tensor(x: &[f32], device: &Device) -> Tensor<2> {
        Tensor::<1>::from_floats(x, device).reshape([1, x.len()])
    }

    #[test]
    fn perfect_estimates_cost_nothing() {
        let d = Device::flex();
        let s: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
        let loss = SeparationLossConfig::new().init();
        let l = loss.forward(tensor(&s, &d), tensor(&s, &d), tensor(&s, &d), tensor(&s, &d)).into_scalar::<f32>();
        assert!(l.abs() < 1e-3, "{l}");
    }

    #[test]
    fn silent_estimate_costs_the_reference_l1_norms() {
        // Estimating silence for a reference s: L_audio = mean|s| and L_spec = mean |STFT(s)|
        // (plus the tiny floor inside the magnitude), computed here independently on the CPU.
        let d = Device::flex();
        let s: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let zero = vec![0.0; s.len()];
        let mean_abs = s.iter().map(|x| x.abs()).sum::<f32>() / s.len() as f32;
        let spec = Stft::new(N_FFT, HOP).forward(&s);
        let mean_mag = spec.bins.iter().map(|c| c.norm()).sum::<f32>() / spec.bins.len() as f32;
        let floor = 1e-5; // sqrt(1e-10) on the silent side
        let config =
            SeparationLossConfig::new().with_lambda_audio(2.0).with_lambda_spec(0.5).with_lambda_accompaniment(3.0);
        let loss = config.init();
        let got =
            loss.forward(tensor(&zero, &d), tensor(&zero, &d), tensor(&s, &d), tensor(&s, &d)).into_scalar::<f32>();
        let per_source = 2.0 * mean_abs + 0.5 * (mean_mag - floor);
        let expected = per_source * 1.0 + per_source * 3.0;
        assert!((got - expected).abs() / expected < 2e-3, "got {got}, expected {expected}");
    }
}
