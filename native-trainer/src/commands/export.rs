//! `export`: `.mirl` ticket -> dense f32 safetensors with the reference's parameter names, the
//! reverse of `import`, for PyTorch (`load_state_dict`) and ONNX tools.

use std::path::PathBuf;

use anyhow::Result;
use mirl::params::f32_le_bytes;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

use super::tickets::TicketArg;
use crate::fsio;

/// Write a ticket's weights as a dense f32 safetensors file under the reference's names.
///
/// The file's metadata holds the network config (key "config", as docs/ticket-format.md
/// describes it) and the ticket's provenance (key
/// "provenance"); `--config` also writes the config as a file of its own, as `import --config`
/// reads it.
#[derive(clap::Args)]
pub struct Args {
    /// Ticket to export: a .mirl file, or a bundled one by name (allinone, osn).
    #[arg(default_value = "allinone")]
    ticket: TicketArg,
    /// Where to write the weights (.safetensors).
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the network's config.json here.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let ticket = args.ticket.load_one()?;
    let config = serde_json::to_string(&ticket.config)?;
    let bytes: Vec<(&String, Vec<u8>, &[usize])> = ticket
        .params
        .iter()
        .map(|(name, t)| (name, f32_le_bytes(&t.data), t.shape.as_slice()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, le, shape)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.to_vec(), le)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = [
        ("config".to_string(), config.clone()),
        (
            "provenance".to_string(),
            serde_json::to_string(&ticket.provenance)?,
        ),
    ]
    .into();
    let file = safetensors::serialize(views, Some(metadata))?;
    let inputs: Vec<&std::path::Path> = args.ticket.path().into_iter().collect();
    fsio::write_atomic(&args.output, &file, &inputs)?;
    println!(
        "wrote {} ({} tensors, {} parameters, f32, {} bytes)",
        args.output.display(),
        ticket.params.len(),
        ticket.config.num_parameters(),
        file.len()
    );
    if let Some(path) = &args.config {
        fsio::write_atomic(path, config.as_bytes(), &inputs)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
