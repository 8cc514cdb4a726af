//! The network on one of the browser's backends. The package builds two modules: the CPU one
//! (feature `flex`) and the WebGPU one (feature `wgpu`), so a page downloads only what it runs.

#[cfg(feature = "flex")]
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use wasm_bindgen::prelude::*;

use super::js_error;
use crate::ticket::Ticket;
use crate::PromptIr;

#[cfg(feature = "wgpu")]
use burn::backend::wgpu::{graphics::WebGpu, init_setup_async, Wgpu, WgpuDevice};

#[cfg(feature = "wgpu")]
thread_local! {
    static WEBGPU: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The page's WebGPU device, set up on first use. burn can set a device up only once per
/// page (a second setup panics), so every Engine shares it.
#[cfg(feature = "wgpu")]
pub async fn webgpu_device() -> WgpuDevice {
    let device = WgpuDevice::default();
    if !WEBGPU.with(|ready| ready.get()) {
        init_setup_async::<WebGpu>(&device, Default::default()).await;
        WEBGPU.with(|ready| ready.set(true));
    }
    device
}

/// One per Engine, behind an Rc: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Model {
    #[cfg(feature = "flex")]
    Cpu(PromptIr<Flex>),
    #[cfg(feature = "wgpu")]
    Gpu(PromptIr<Wgpu>, WgpuDevice),
}

impl Model {
    pub fn cpu(ticket: &Ticket) -> Result<Self, JsValue> {
        #[cfg(feature = "flex")]
        {
            Ok(Model::Cpu(
                ticket
                    .build::<Flex>(&Default::default())
                    .map_err(js_error)?,
            ))
        }
        #[cfg(not(feature = "flex"))]
        {
            let _ = ticket;
            Err(super::bad_input("this build has no CPU backend"))
        }
    }

    pub async fn webgpu(ticket: &Ticket) -> Result<Self, JsValue> {
        #[cfg(feature = "wgpu")]
        {
            let device = webgpu_device().await;
            let model = ticket.build::<Wgpu>(&device).map_err(js_error)?;
            Ok(Model::Gpu(model, device))
        }
        #[cfg(not(feature = "wgpu"))]
        {
            let _ = ticket;
            Err(super::bad_input("this build has no WebGPU backend"))
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "flex")]
            Model::Cpu(_) => "cpu",
            #[cfg(feature = "wgpu")]
            Model::Gpu(..) => "webgpu",
        }
    }

    /// Runs the network on one NCHW tile.
    pub async fn forward(&self, data: Vec<f32>, shape: [usize; 4]) -> Result<Vec<f32>, JsValue> {
        let out = match self {
            #[cfg(feature = "flex")]
            Model::Cpu(m) => {
                let x =
                    Tensor::<Flex, 4>::from_data(TensorData::new(data, shape), &Default::default());
                m.forward(x).into_data()
            }
            #[cfg(feature = "wgpu")]
            Model::Gpu(m, device) => {
                let x = Tensor::<Wgpu, 4>::from_data(TensorData::new(data, shape), device);
                m.forward(x).into_data_async().await.map_err(|e| {
                    js_error(crate::Error::Readback(format!("WebGPU failed: {e:?}")))
                })?
            }
        };
        crate::params::host_values(out).map_err(js_error)
    }
}
