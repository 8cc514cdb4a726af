//! Conversions the operations share: a burn `Tensor` to the backend's primitive and back and, on
//! the CPU backend, a tensor's f32 values and shape and a tensor made from them.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// A backend's float primitive as a burn tensor of rank D.
pub(crate) fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// A burn tensor's float primitive.
pub(crate) fn primitive<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

/// A CPU tensor's f32 values, row-major, borrowed where the tensor is laid out so already;
/// `None` for another element type.
#[cfg(feature = "flex")]
pub(crate) fn f32s(t: &burn::backend::flex::FlexTensor) -> Option<std::borrow::Cow<'_, [f32]>> {
    use std::borrow::Cow;
    match t.as_slice::<f32>() {
        Some(values) => Some(Cow::Borrowed(values)),
        None => t
            .to_contiguous()
            .as_slice::<f32>()
            .map(|v| Cow::Owned(v.to_vec())),
    }
}

/// A CPU tensor's four dimensions.
#[cfg(feature = "flex")]
pub(crate) fn dims4(t: &burn::backend::flex::FlexTensor) -> [usize; 4] {
    let shape = t.layout().shape();
    std::array::from_fn(|i| shape[i])
}

/// A CPU tensor of `shape` holding `values`, row-major, without a copy.
#[cfg(feature = "flex")]
pub(crate) fn flex(values: Vec<f32>, shape: &[usize]) -> burn::backend::flex::FlexTensor {
    burn::backend::flex::FlexTensor::from_data(burn::tensor::TensorData::new(
        values,
        shape.to_vec(),
    ))
}
