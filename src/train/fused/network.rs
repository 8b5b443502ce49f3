//! The fused engine's network: layers as plain `f32` vectors, the forward and backward passes
//! of `Linear` (+ ReLU) written out, the matrix products on the `gemm` crate (the kernel
//! burn's Flex backend calls, single-threaded), and Adam as one loop per layer.

use std::ops::Range;

use gemm::Parallelism;

use crate::model::LayerWeights;

/// One `Linear(d_in, d_out)`, with a ReLU after it unless it is the output layer.
#[derive(Clone)]
pub struct Layer {
    pub d_in: usize,
    pub d_out: usize,
    relu: bool,
    /// The weight, `[d_in, d_out]` row-major as burn stores it, then the bias: one vector, so
    /// that a layer's gradient and Adam moments are one vector each too.
    pub params: Vec<f32>,
}

impl Layer {
    pub fn new(initial: LayerWeights, relu: bool) -> Self {
        let mut params = initial.weight;
        params.extend(initial.bias);
        Self {
            d_in: initial.d_in,
            d_out: initial.d_out,
            relu,
            params,
        }
    }

    pub fn weights(&self) -> LayerWeights {
        let (weight, bias) = self.params.split_at(self.d_in * self.d_out);
        LayerWeights {
            d_in: self.d_in,
            d_out: self.d_out,
            weight: weight.to_vec(),
            bias: bias.to_vec(),
        }
    }

    fn weight(&self) -> Matrix<'_> {
        Matrix::rows(
            &self.params[..self.d_in * self.d_out],
            self.d_in,
            self.d_out,
        )
    }

    fn bias(&self) -> &[f32] {
        &self.params[self.d_in * self.d_out..]
    }

    /// `output = relu(input · W + b)` on `rows` rows.
    pub fn forward(&self, input: &[f32], rows: usize, output: &mut [f32]) {
        let output = &mut output[..rows * self.d_out];
        product(
            output,
            Matrix::rows(input, rows, self.d_in),
            self.weight(),
            false,
        );
        // Selects, not branches, so that the loops vectorise. As burn's relu, a NaN stays NaN,
        // so divergence still shows in the outputs.
        wide(|| {
            for row in output.chunks_exact_mut(self.d_out) {
                for (value, bias) in row.iter_mut().zip(self.bias()) {
                    let biased = *value + bias;
                    *value = if self.relu && biased <= 0.0 {
                        0.0
                    } else {
                        biased
                    };
                }
            }
        });
    }

    /// Backward through this layer, from `d_output`, ∂L/∂output. With `gradient`, the weight
    /// and bias gradients are written there (added to what it holds when `accumulate`); with
    /// `d_input`, ∂L/∂input is written there. `pre` takes ∂L/∂(the pre-activation).
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        input: &[f32],
        output: &[f32],
        rows: usize,
        d_output: &[f32],
        pre: &mut [f32],
        gradient: Option<(&mut [f32], bool)>,
        d_input: Option<&mut [f32]>,
    ) {
        let (d_in, d_out, size) = (self.d_in, self.d_out, rows * self.d_out);
        let d_output = &d_output[..size];
        // The ReLU's mask goes into a buffer of its own: masking in place, the compiler turns
        // the select into masked stores, several times slower here.
        let d_pre = if self.relu {
            let pre = &mut pre[..size];
            wide(|| {
                for ((p, &d), &out) in pre.iter_mut().zip(d_output).zip(output) {
                    *p = if out <= 0.0 { 0.0 } else { d };
                }
            });
            &*pre
        } else {
            d_output
        };
        if let Some((gradient, accumulate)) = gradient {
            let (weight, bias) = gradient.split_at_mut(d_in * d_out);
            if !accumulate {
                bias.fill(0.0);
            }
            wide(|| {
                for row in d_pre.chunks_exact(d_out) {
                    for (b, d) in bias.iter_mut().zip(row) {
                        *b += d;
                    }
                }
            });
            let input = Matrix::rows(input, rows, d_in).transposed();
            product(weight, input, Matrix::rows(d_pre, rows, d_out), accumulate);
        }
        if let Some(d_input) = d_input {
            let d_pre = Matrix::rows(d_pre, rows, d_out);
            product(
                &mut d_input[..rows * d_in],
                d_pre,
                self.weight().transposed(),
                false,
            );
        }
    }
}

/// One forward pass: every layer run on `input`, `outputs[i]` the output of layer `i`.
pub struct Pass<'a> {
    pub layers: &'a [Layer],
    pub input: &'a [f32],
    pub outputs: &'a [Vec<f32>],
    pub rows: usize,
}

/// Run every layer on `rows` rows of `input`, keeping each layer's output.
pub fn forward(layers: &[Layer], input: &[f32], rows: usize, outputs: &mut [Vec<f32>]) {
    for (i, layer) in layers.iter().enumerate() {
        let (below, here) = outputs.split_at_mut(i);
        let input = if i == 0 { input } else { &below[i - 1] };
        layer.forward(input, rows, &mut here[0]);
    }
}

impl Pass<'_> {
    /// Backpropagate through `layers` (the top ones), top down. `d` holds ∂L/∂(output of
    /// the top layer) on entry; `pre` and `below` are scratch. Only the layers `trains` names get weight gradients, and no
    /// gradient goes below the bottom layer: each half-step computes just what it needs.
    pub fn backward(
        &self,
        layers: Range<usize>,
        trains: impl Fn(usize) -> bool,
        gradients: &mut [Vec<f32>],
        accumulate: bool,
        [d, pre, below]: [&mut Vec<f32>; 3],
    ) {
        for i in layers.clone().rev() {
            let input = if i == 0 {
                self.input
            } else {
                &self.outputs[i - 1]
            };
            let gradient = trains(i).then(|| (&mut gradients[i][..], accumulate));
            let d_input = (i > layers.start).then_some(&mut below[..]);
            let layer = &self.layers[i];
            layer.backward(
                input,
                &self.outputs[i],
                self.rows,
                d,
                pre,
                gradient,
                d_input,
            );
            std::mem::swap(d, below);
        }
    }
}

/// Adam exactly as burn 0.22 computes it (burn-optim's adam.rs), with PyTorch's ε 1e-8, fused
/// into one pass over a layer's parameters, gradient and moments.
pub struct Adam {
    /// Steps taken, for the bias corrections.
    pub time: i32,
}

/// One layer's first and second moments.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    pub first: Vec<f32>,
    pub second: Vec<f32>,
}

impl Moments {
    pub fn new(layer: &Layer) -> Self {
        Self {
            first: vec![0.0; layer.params.len()],
            second: vec![0.0; layer.params.len()],
        }
    }
}

impl Adam {
    const BETA_1: f32 = 0.9;
    const BETA_2: f32 = 0.999;
    const EPSILON: f32 = 1e-8;

    pub fn new() -> Self {
        Self { time: 0 }
    }

    /// Start a step: the bias corrections of the layers' updates that follow.
    pub fn next_step(&mut self, learning_rate: f64) -> AdamStep {
        self.time += 1;
        let correction_2 = (1.0 - Self::BETA_2.powi(self.time)).sqrt();
        AdamStep {
            learning_rate: learning_rate as f32,
            factor: correction_2 / (1.0 - Self::BETA_1.powi(self.time)),
            epsilon: Self::EPSILON * correction_2,
        }
    }
}

/// One Adam step's constants.
pub struct AdamStep {
    learning_rate: f32,
    factor: f32,
    epsilon: f32,
}

impl AdamStep {
    pub fn update(&self, layer: &mut Layer, gradient: &[f32], moments: &mut Moments) {
        let (b1, b2) = (Adam::BETA_1, Adam::BETA_2);
        let values = layer
            .params
            .iter_mut()
            .zip(gradient)
            .zip(moments.first.iter_mut().zip(moments.second.iter_mut()));
        wide(|| {
            for ((param, &g), (m, v)) in values {
                *m = *m * b1 + g * (1.0 - b1);
                *v = *v * b2 + g * g * (1.0 - b2);
                *param -= (*m * self.factor / (v.sqrt() + self.epsilon)) * self.learning_rate;
            }
        });
    }
}

/// SGD as burn 0.22 computes it (burn-optim's sgd.rs and momentum.rs, dampening 0): the
/// velocity `v ← m·v + g` (the gradient itself at the first step, `v` starting at 0), then
/// `θ ← θ − lr·v`; without momentum, `θ ← θ − lr·g`.
pub fn sgd_update(
    layer: &mut Layer,
    gradient: &[f32],
    velocity: &mut [f32],
    momentum: f32,
    learning_rate: f64,
) {
    let learning_rate = learning_rate as f32;
    if momentum == 0.0 {
        for (param, &g) in layer.params.iter_mut().zip(gradient) {
            *param -= g * learning_rate;
        }
        return;
    }
    for ((param, &g), v) in layer.params.iter_mut().zip(gradient).zip(velocity) {
        *v = g + *v * momentum;
        *param -= *v * learning_rate;
    }
}

/// Run `f` compiled for AVX when the CPU has it: the same IEEE operations in the same order
/// (Rust fuses no multiply-add on its own), so the same numbers, eight floats at a time
/// instead of four.
#[inline(always)]
fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        #[target_feature(enable = "avx")]
        fn avx<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX, checked just above.
        return unsafe { avx(f) };
    }
    f()
}

/// A matrix view on a slice: `rows × cols`, with its strides, so a transpose is free.
#[derive(Clone, Copy)]
pub(crate) struct Matrix<'a> {
    values: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    /// Row-major.
    pub(crate) fn rows(values: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            values,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn last_index(&self) -> usize {
        (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
    }
}

/// `dst = a · b`, or `dst += a · b` when `accumulate`; `dst` row-major.
pub(crate) fn product(dst: &mut [f32], a: Matrix, b: Matrix, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        a.cols == b.rows && m > 0 && k > 0 && n > 0,
        "shapes [{m}×{k}]·[{}×{n}]",
        b.rows
    );
    assert!(
        dst.len() >= m * n && a.values.len() > a.last_index() && b.values.len() > b.last_index()
    );
    // SAFETY: the asserts above keep every index gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.values.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.values.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            // One thread per trial: a sweep runs trials side by side instead.
            Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_transposes_match_by_hand() {
        // a = [[1, 2, 3], [4, 5, 6]], b = [[1, 0], [0, 1], [1, 1]]: a·b = [[4, 5], [10, 11]].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut dst = [0.0; 4];
        product(
            &mut dst,
            Matrix::rows(&a, 2, 3),
            Matrix::rows(&b, 3, 2),
            false,
        );
        assert_eq!(dst, [4.0, 5.0, 10.0, 11.0]);
        // += aᵀ-free check: (a·b) again, accumulated.
        product(
            &mut dst,
            Matrix::rows(&a, 2, 3),
            Matrix::rows(&b, 3, 2),
            true,
        );
        assert_eq!(dst, [8.0, 10.0, 20.0, 22.0]);
        // aᵀ·a = [[17, 22, 27], [22, 29, 36], [27, 36, 45]].
        let mut gram = [0.0; 9];
        let a = Matrix::rows(&a, 2, 3);
        product(&mut gram, a.transposed(), a, false);
        assert_eq!(gram, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
    }

    #[test]
    fn adam_matches_its_formula_by_hand() {
        // First step: m = 0.1·g, v = 0.001·g², update = lr·m̂/(√v̂ + ε) ≈ lr·sign(g).
        let mut layer = Layer {
            d_in: 1,
            d_out: 1,
            relu: false,
            params: vec![1.0, -1.0],
        };
        let mut moments = Moments::new(&layer);
        let mut adam = Adam::new();
        adam.next_step(0.1)
            .update(&mut layer, &[0.5, -2.0], &mut moments);
        assert!((layer.params[0] - 0.9).abs() < 1e-6, "{:?}", layer.params);
        assert!((layer.params[1] + 0.9).abs() < 1e-6, "{:?}", layer.params);
        // Second step with g = 0 for the weight: m = 0.09·0.5 = 0.045, v = 0.999·0.00025;
        // m̂ = 0.045/0.19, v̂ = 0.00024975/0.001999: update = 0.1·0.23684/0.35347 = 0.067005.
        adam.next_step(0.1)
            .update(&mut layer, &[0.0, -2.0], &mut moments);
        assert!(
            (layer.params[0] - (0.9 - 0.067005)).abs() < 1e-5,
            "{:?}",
            layer.params
        );
    }
}
