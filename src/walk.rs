//! One walk over a module's float parameters by path (`encoder_level1.0.attn.qkv.weight`, the
//! reference's names): burn's `ModuleVisitor` and `ModuleMapper`, with the path kept here once.
//! What a walk does at each parameter is a [`ParamVisitor`] or a [`ParamMapper`].

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// What a walk does at each float parameter, given its path.
pub trait ParamVisitor<B: Backend> {
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<B, D>>);

    /// Called as the walk leaves a module of `container_type` (burn's, e.g. `Struct:Upsample`).
    fn leave(&mut self, _container_type: &str) {}
}

/// What a mapping walk makes of each float parameter, given its path.
pub trait ParamMapper<B: Backend> {
    fn map<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>>;
}

/// Runs `visitor` at every float parameter of `module`, in field order.
pub fn visit_params<B: Backend, M: Module<B>>(module: &M, visitor: &mut impl ParamVisitor<B>) {
    module.visit(&mut Walk::new(visitor));
}

/// `module` with every float parameter replaced by what `mapper` makes of it, in field order.
pub fn map_params<B: Backend, M: Module<B>>(module: M, mapper: &mut impl ParamMapper<B>) -> M {
    module.map(&mut Walk::new(mapper))
}

struct Walk<'a, V> {
    path: Vec<String>,
    inner: &'a mut V,
}

impl<'a, V> Walk<'a, V> {
    fn new(inner: &'a mut V) -> Self {
        Self {
            path: Vec::new(),
            inner,
        }
    }
}

impl<B: Backend, V: ParamVisitor<B>> ModuleVisitor<B> for Walk<'_, V> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.path.pop();
        self.inner.leave(container_type);
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.inner.visit(&self.path.join("."), param);
    }
}

impl<B: Backend, V: ParamMapper<B>> ModuleMapper<B> for Walk<'_, V> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        self.inner.map(&self.path.join("."), param)
    }
}
