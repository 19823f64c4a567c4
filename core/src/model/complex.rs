//! Complex arithmetic on tensors whose last dimension holds (real, imaginary).

use burn::tensor::Tensor;

fn parts<const D: usize>(x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    let last = D - 1;
    (x.clone().narrow(last, 0, 1), x.narrow(last, 1, 1))
}

/// Element-wise complex product.
pub fn complex_mul<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (ar, ai) = parts(a);
    let (br, bi) = parts(b);
    let re = ar.clone().mul(br.clone()).sub(ai.clone().mul(bi.clone()));
    let im = ar.mul(bi).add(ai.mul(br));
    Tensor::cat(vec![re, im], D - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn product_of_known_numbers() {
        let d = Device::flex();
        let a = Tensor::<2>::from_floats([[1.0, 2.0], [0.0, 1.0]], &d);
        let b = Tensor::<2>::from_floats([[3.0, -1.0], [0.0, 1.0]], &d);
        // (1+2i)(3-i) = 5+5i ; i*i = -1
        let p: Vec<f32> = complex_mul(a, b).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(p, vec![5.0, 5.0, -1.0, 0.0]);
    }
}
