//! Parameters by name: reading a module's weights into host memory under their reference names
//! (`encoder_level1.0.attn.qkv.weight`), and loading such a set back into a module; the
//! little-endian floats tensor files store them as.

use std::collections::BTreeMap;

use burn::module::{Module, Param, ParamId};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use half::{bf16, f16};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};
use crate::walk::{map_params, visit_params, ParamMapper, ParamVisitor};

/// One parameter in host memory, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }

    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![0.0; n],
        }
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// A floating-point safetensors tensor, converted to f32; `name` is for the error.
    pub fn from_safetensors(name: &str, view: &TensorView<'_>) -> Result<Self> {
        let float = StoredFloat::of(view.dtype()).ok_or_else(|| {
            Error::Weights(format!(
                "{name} has dtype {:?}; weights must be floating point",
                view.dtype()
            ))
        })?;
        Ok(Self::new(view.shape().to_vec(), float.decode(view.data())))
    }
}

/// A floating-point element type as tensor files store it: little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredFloat {
    F64,
    F32,
    F16,
    BF16,
}

impl StoredFloat {
    /// The safetensors dtype's float type, if it is one.
    pub fn of(dtype: Dtype) -> Option<Self> {
        Some(match dtype {
            Dtype::F64 => Self::F64,
            Dtype::F32 => Self::F32,
            Dtype::F16 => Self::F16,
            Dtype::BF16 => Self::BF16,
            _ => return None,
        })
    }

    /// Decodes little-endian values to f32 (f64 rounds to nearest); a trailing partial value
    /// is ignored (safetensors has already checked the length).
    pub fn decode(self, bytes: &[u8]) -> Vec<f32> {
        fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
            bytes
                .chunks_exact(N)
                .map(|c| f(c.try_into().expect("chunks of N bytes")))
                .collect()
        }
        match self {
            Self::F64 => each(bytes, |b| f64::from_le_bytes(b) as f32),
            Self::F32 => each(bytes, f32::from_le_bytes),
            Self::F16 => each(bytes, |b| f16::from_le_bytes(b).to_f32()),
            Self::BF16 => each(bytes, |b| bf16::from_le_bytes(b).to_f32()),
        }
    }
}

/// A tensor's values in host memory as f32, whatever float type the backend computed in.
pub fn host_values(data: TensorData) -> Result<Vec<f32>> {
    data.convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| Error::Readback(format!("{e:?}")))
}

/// f32 values as little-endian bytes: the layout of a safetensors F32 tensor.
pub fn f32_le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Parameters keyed by reference name, in name order.
pub type NamedParams = BTreeMap<String, HostTensor>;

/// Copies every float parameter of `module` to host memory, keyed by its path.
pub fn read_params<B: Backend, M: Module<B>>(module: &M) -> NamedParams {
    struct Reader(NamedParams);
    impl<B: Backend> ParamVisitor<B> for Reader {
        fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<B, D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            let data = host_values(tensor.into_data()).expect("a float parameter reads back");
            self.0
                .insert(path.to_string(), HostTensor::new(shape, data));
        }
    }
    let mut reader = Reader(BTreeMap::new());
    visit_params(module, &mut reader);
    reader.0
}

/// Replaces every float parameter of `module` with the tensor of the same name in `params`.
/// Each parameter must be present with the same shape; parameter ids and gradient settings are
/// kept, so a training loop's optimizer state stays attached.
pub fn load_params<B: Backend, M: Module<B>>(
    module: M,
    params: &NamedParams,
    device: &B::Device,
) -> Result<M> {
    let names = read_param_names(&module);
    check_names(
        names.iter().map(String::as_str),
        params.keys().map(String::as_str),
    )?;
    let mut loader = Loader {
        params,
        device,
        errors: Vec::new(),
    };
    let module = map_params(module, &mut loader);
    if !loader.errors.is_empty() {
        return Err(Error::Weights(loader.errors.join("; ")));
    }
    Ok(module)
}

/// The one check that a set of tensors is the one expected: `Err` names, in order, the
/// expected names that `found` lacks and the names `found` has beyond them.
pub fn check_names<'a>(
    expected: impl IntoIterator<Item = &'a str>,
    found: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let expected: std::collections::BTreeSet<&str> = expected.into_iter().collect();
    let found: std::collections::BTreeSet<&str> = found.into_iter().collect();
    let list = |names: Vec<&&str>, what: &str| {
        (!names.is_empty()).then(|| {
            let names: Vec<&str> = names.into_iter().copied().collect();
            format!("{what} {} tensors: {}", names.len(), names.join(", "))
        })
    };
    let problems: Vec<String> = [
        list(expected.difference(&found).collect(), "missing"),
        list(found.difference(&expected).collect(), "unexpected"),
    ]
    .into_iter()
    .flatten()
    .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Weights(problems.join("; "))),
    }
}

/// The names of every float parameter of `module`, without reading any data.
pub fn read_param_names<B: Backend, M: Module<B>>(
    module: &M,
) -> std::collections::BTreeSet<String> {
    struct Names(std::collections::BTreeSet<String>);
    impl<B: Backend> ParamVisitor<B> for Names {
        fn visit<const D: usize>(&mut self, path: &str, _param: &Param<Tensor<B, D>>) {
            self.0.insert(path.to_string());
        }
    }
    let mut names = Names(Default::default());
    visit_params(module, &mut names);
    names.0
}

struct Loader<'a, B: Backend> {
    params: &'a NamedParams,
    device: &'a B::Device,
    errors: Vec<String>,
}

impl<B: Backend> ParamMapper<B> for Loader<'_, B> {
    fn map<const D: usize>(
        &mut self,
        name: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>> {
        let expected = param.lazy_shape().dims::<D>().to_vec();
        // Every name is there: `load_params` checked the names first.
        match &self.params[name] {
            t if t.shape != expected => self.errors.push(format!(
                "{name}: shape {:?}, expected {expected:?}",
                t.shape
            )),
            t => {
                let tensor = Tensor::from_data(
                    TensorData::new(t.data.clone(), t.shape.clone()),
                    self.device,
                );
                let id: ParamId = param.id;
                return param.transform_for_load(tensor, id);
            }
        }
        param
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_lists_what_is_missing_and_what_is_extra() {
        assert!(check_names(["a.weight", "b.bias"], ["b.bias", "a.weight"]).is_ok());
        let msg = check_names(["a.weight", "b.bias", "c.weight"], ["b.bias", "d.weight"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("missing 2 tensors: a.weight, c.weight")
                && msg.contains("unexpected 1 tensors: d.weight"),
            "{msg}"
        );
    }
}
