//! The prompt generation block: a learned, input-conditioned prompt injected into the decoder.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::Initializer;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::blocks::conv;
use super::sampling::resize_bilinear;
use crate::config::PromptSpec;
use crate::ops::tensor::conv_same;
use crate::ops::ModelBackend;

/// A Linear layer in PyTorch's layout (`weight` is out x in), so names and shapes match the
/// reference's checkpoints one to one.
#[derive(Module, Debug)]
pub struct TorchLinear<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> TorchLinear<B> {
    /// PyTorch's default init: weight and bias uniform(-1/sqrt(in), 1/sqrt(in)).
    pub fn new(inputs: usize, outputs: usize, device: &B::Device) -> Self {
        let bound = 1.0 / (inputs as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        Self {
            weight: init.init([outputs, inputs], device),
            bias: init.init([outputs], device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.val().transpose()) + self.bias.val().unsqueeze_dim(0)
    }
}

/// PGB: softmax(Linear(mean(x))) mixes `prompt_len` learned prompts, resized to x's size and
/// passed through a 3x3 conv.
#[derive(Module, Debug)]
pub struct PromptGenBlock<B: Backend> {
    pub prompt_param: Param<Tensor<B, 5>>,
    pub linear_layer: TorchLinear<B>,
    pub conv3x3: Conv2d<B>,
}

impl<B: ModelBackend> PromptGenBlock<B> {
    pub fn new(
        spec: &PromptSpec,
        prompt_len: usize,
        input_channels: usize,
        device: &B::Device,
    ) -> Self {
        let init = Initializer::Uniform { min: 0.0, max: 1.0 };
        Self {
            prompt_param: init.init([1, prompt_len, spec.dim, spec.size, spec.size], device),
            linear_layer: TorchLinear::new(input_channels, prompt_len, device),
            conv3x3: conv(spec.dim, spec.dim, 3, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let [_, len, p, s, _] = self.prompt_param.dims();
        let embedding = x.mean_dim(3).mean_dim(2).reshape([b, c]);
        let weights = softmax(self.linear_layer.forward(embedding), 1); // (B, L)
        let prompts = self.prompt_param.val().reshape([1, len, p * s * s]);
        let mixed = weights
            .unsqueeze_dim::<3>(1)
            .matmul(prompts.expand([b, len, p * s * s]));
        let prompt = resize_bilinear(mixed.reshape([b, p, s, s]), h, w);
        conv_same(self.conv3x3.weight.val(), prompt)
    }
}
