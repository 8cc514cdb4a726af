//! `infer`: run a ticket on a raw NCHW tensor (for conformance checks and scripting).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::{Tensor, TensorData};
use mirl::params::{f32_le_bytes, StoredFloat};
use mirl::ModelBackend;
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::fsio;

/// Run a ticket on the tensor `input` of a safetensors file and write tensor `output`.
#[derive(clap::Args)]
pub struct Args {
    /// The ticket (.mirl).
    #[arg(long)]
    ticket: PathBuf,
    /// safetensors file with an f32 tensor `input` of shape (N, 3, H, W); H, W multiples of 8.
    #[arg(long)]
    input: PathBuf,
    /// safetensors file to write with the f32 tensor `output`.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
}

struct Infer {
    ticket: mirl::ticket::Ticket,
    shape: [usize; 4],
    data: Vec<f32>,
}

impl WithBackend for Infer {
    type Output = Vec<f32>;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Vec<f32>> {
        let model = self.ticket.build::<B>(&device)?;
        let input = Tensor::<B, 4>::from_data(TensorData::new(self.data, self.shape), &device);
        Ok(mirl::params::host_values(model.forward(input).into_data())?)
    }
}

pub fn run(args: Args) -> Result<()> {
    let ticket = super::tickets::read_ticket(&args.ticket)?;
    let bytes = fsio::read(&args.input)?;
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not a safetensors file", args.input.display()))?;
    let view = st
        .tensor("input")
        .with_context(|| format!("{} has no tensor named `input`", args.input.display()))?;
    let shape: [usize; 4] = match view.shape() {
        &[n, 3, h, w] if n > 0 && h > 0 && w > 0 && h % 8 == 0 && w % 8 == 0 => [n, 3, h, w],
        other => bail!("`input` has shape {other:?}; expected (N, 3, H, W) with H and W positive multiples of 8"),
    };
    if view.dtype() != Dtype::F32 {
        bail!("`input` is {:?}; expected F32", view.dtype());
    }
    let data = StoredFloat::F32.decode(view.data());
    let out = dispatch(
        args.backend,
        Infer {
            ticket,
            shape,
            data,
        },
    )?;
    let out_bytes = f32_le_bytes(&out);
    let view = TensorView::new(Dtype::F32, shape.to_vec(), &out_bytes)?;
    let file = safetensors::serialize([("output", view)], None)?;
    fsio::write_atomic(&args.output, &file, &[&args.input, &args.ticket])?;
    println!("wrote {} ({:?})", args.output.display(), shape);
    Ok(())
}
