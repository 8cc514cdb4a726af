//! Choosing a burn backend at run time. Commands implement [`WithBackend`] once, generically,
//! and [`dispatch`] instantiates it for the backend the user picked.

use anyhow::Result;
use burn::tensor::backend::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// burn-flex on the CPU (all cores).
    Cpu,
    /// burn-wgpu: Vulkan, Metal or DX12.
    Wgpu,
}

/// Work to run on some backend.
pub trait WithBackend {
    type Output;
    fn run<B: Backend>(self, device: B::Device) -> Result<Self::Output>;
}

pub fn dispatch<W: WithBackend>(kind: BackendKind, work: W) -> Result<W::Output> {
    match kind {
        BackendKind::Cpu => work.run::<burn::backend::Flex>(Default::default()),
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            return work.run::<burn::backend::Wgpu>(Default::default());
            #[cfg(not(feature = "wgpu"))]
            anyhow::bail!("this build has no wgpu backend; rebuild with `--features wgpu`")
        }
    }
}
