//! mirl: photo restoration with pruned "winning ticket" PromptIR networks (MIR-L), shared by
//! the native trainer and the WebAssembly library.

pub mod bundled;
pub mod config;
pub mod degrade;
pub mod detect;
pub mod error;
pub mod jpeg_constraint;
pub mod jpeg_file;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod orientation;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod tasks;
pub mod ticket;
pub mod tone;
pub mod walk;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use config::{PromptIrConfig, PromptSpec};
pub use error::{Error, Result};
pub use model::PromptIr;
pub use ops::ModelBackend;
