//! Choosing a burn backend at run time. Commands implement [`WithBackend`] (inference) or
//! [`WithAutodiff`] (training) once, generically, and [`dispatch`] / [`dispatch_autodiff`]
//! instantiate it for the backend the user picked.

use anyhow::Result;
use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use mirl::ModelBackend;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// burn-flex on the CPU (all cores).
    Cpu,
    /// burn-wgpu: Vulkan, Metal or DX12.
    Wgpu,
    /// burn-cuda on an NVIDIA GPU (builds with `--features cuda`).
    Cuda,
}

/// `--version`: the version and the backends this build has (scripts check for `cuda`).
#[cfg(all(feature = "wgpu", feature = "cuda"))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: cpu, wgpu, cuda)");
#[cfg(all(feature = "wgpu", not(feature = "cuda")))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: cpu, wgpu)");
#[cfg(all(not(feature = "wgpu"), feature = "cuda"))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: cpu, cuda)");
#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: cpu)");

impl BackendKind {
    /// Parts of a training batch run side by side: one per core on the CPU, whose kernels
    /// leave cores idle on the small tensors of a training step; one on a GPU.
    pub fn shards(self) -> usize {
        match self {
            BackendKind::Cpu => rayon::current_num_threads(),
            BackendKind::Wgpu | BackendKind::Cuda => 1,
        }
    }
}

/// Work to run on some backend.
pub trait WithBackend {
    type Output;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// A backend to train on: autodiff over a backend the network runs on.
pub trait TrainBackend: AutodiffBackend<InnerBackend: ModelBackend> + ModelBackend {}

impl<AB: AutodiffBackend<InnerBackend: ModelBackend> + ModelBackend> TrainBackend for AB {}

/// Work that needs gradients.
pub trait WithAutodiff {
    fn run<AB: TrainBackend>(self, device: AB::Device) -> Result<()>;
}

pub fn dispatch<W: WithBackend>(kind: BackendKind, work: W) -> Result<W::Output> {
    match kind {
        BackendKind::Cpu => work.run::<burn::backend::Flex>(Default::default()),
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            return work.run::<burn::backend::Wgpu>(Default::default());
            #[cfg(not(feature = "wgpu"))]
            missing("wgpu")
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            return work.run::<burn::backend::Cuda>(Default::default());
            #[cfg(not(feature = "cuda"))]
            missing("cuda")
        }
    }
}

/// Runs `work` with gradients on `kind`, on its GPU number `gpu` where it has several (one
/// per rank of a machine; the CPU backend has one device).
pub fn dispatch_autodiff<W: WithAutodiff>(kind: BackendKind, gpu: usize, work: W) -> Result<()> {
    let _ = gpu;
    match kind {
        BackendKind::Cpu => work.run::<Autodiff<burn::backend::Flex>>(Default::default()),
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            return work.run::<Autodiff<burn::backend::Wgpu>>(match gpu {
                0 => Default::default(),
                n => burn::backend::wgpu::WgpuDevice::DiscreteGpu(n),
            });
            #[cfg(not(feature = "wgpu"))]
            missing("wgpu")
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            return work
                .run::<Autodiff<burn::backend::Cuda>>(burn::backend::cuda::CudaDevice::new(gpu));
            #[cfg(not(feature = "cuda"))]
            missing("cuda")
        }
    }
}

#[allow(dead_code)]
fn missing<T>(feature: &str) -> Result<T> {
    anyhow::bail!(
        "this build has no {feature} backend; rebuild with `cargo build -p native-trainer --features {feature}`"
    )
}
