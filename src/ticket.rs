//! The `.mirl` ticket: a safetensors file carrying a (pruned) network. Pruned weights are
//! stored as a bit-packed mask plus their non-zero values; the rest dense. See
//! docs/ticket-format.md for the byte-level layout.

use std::collections::{BTreeMap, HashMap};

use half::f16;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::config::{is_prunable, PromptIrConfig};
use crate::degrade::Degradation;
use crate::error::{Error, Result};
use crate::model::PromptIr;
use crate::params::{
    check_names, f32_le_bytes, load_params, read_params, HostTensor, NamedParams, StoredFloat,
};
use crate::tasks::{AUTO_JPEG_QUALITY, JPEG_TICKET_AUTO_QUALITY};
use crate::ModelBackend;

/// Value of the `format` metadata key.
pub const FORMAT_NAME: &str = "mirl-ticket";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How the values of a ticket are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 4 bytes a value; every non-zero value round-trips bit-exactly (zeros decode as +0.0).
    F32,
    /// 2 bytes a value (IEEE half); the default.
    #[default]
    F16,
    /// 1 byte a value, symmetric per-tensor scale: value = q * scale, q in -127..=127.
    Int8,
}

impl Precision {
    /// Every precision; [`Precision::name`] is the one spelling of each (the file, the
    /// command line, `mirl.d.ts`, which a test compares).
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Int8];

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }

    fn bytes_per_value(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
            Precision::Int8 => 1,
        }
    }

    fn dtype(self) -> Dtype {
        match self {
            Precision::F32 => Dtype::F32,
            Precision::F16 => Dtype::F16,
            Precision::Int8 => Dtype::I8,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
                Error::Ticket(format!(
                    "unknown precision {s:?} (use {})",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(feature = "clap")]
impl clap::ValueEnum for Precision {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// How a ticket was made. Known fields are typed; anything else is kept as free-form JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// What produced the weights, e.g. "native-trainer train" or "import weights.ckpt".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Pruning rounds applied (0 for a dense network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Fraction of the remaining weights removed per round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_rate: Option<f64>,
    /// Where survivors were rewound to: "init" or "step:K".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Training data used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Degradations trained for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Provenance {
    /// The highest JPEG quality `auto` restores with this ticket: [`JPEG_TICKET_AUTO_QUALITY`]
    /// for a ticket trained only to remove compression (every training task JPEG, a social
    /// network's processing or a clean photo, as the OSN ticket), [`AUTO_JPEG_QUALITY`] for
    /// any other, or one whose provenance does not say.
    pub fn auto_jpeg_quality(&self) -> u8 {
        let compression_only = |task: &String| {
            // As training records its mix: `osn@5`.
            let name = task.split('@').next().unwrap_or_default();
            name.parse::<Degradation>()
                .is_ok_and(|d| d.compression_only())
        };
        match &self.tasks {
            Some(tasks)
                if tasks.iter().all(compression_only)
                    && tasks.iter().any(|t| !t.starts_with("clean")) =>
            {
                JPEG_TICKET_AUTO_QUALITY
            }
            _ => AUTO_JPEG_QUALITY,
        }
    }
}

/// A network's config and weights, with where they came from.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub config: PromptIrConfig,
    pub provenance: Provenance,
    pub precision: Precision,
    /// Every parameter, dense, under its reference name.
    pub params: NamedParams,
}

/// How a ticket stores one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Every value, under the parameter's name.
    Dense,
    /// A bit mask (`.mask`) and the values it keeps (`.values`).
    Sparse,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        })
    }
}

/// Per-parameter facts of a ticket, as reported by `inspect`.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub parameters: usize,
    pub nonzero: usize,
    pub density: f64,
    pub prunable: bool,
    pub encoding: Encoding,
    /// Bytes of tensor data this parameter takes in the file.
    pub bytes: usize,
}

/// Everything `inspect` reports about a ticket: the figures of the whole, and per layer.
#[derive(Debug, Clone, Serialize)]
pub struct TicketInfo {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub layers: Vec<LayerInfo>,
}

/// A ticket's figures as a whole: what `inspect` prints first and the browser's `info()` gives.
#[derive(Debug, Clone, Serialize)]
pub struct TicketSummary {
    pub format_version: u32,
    pub precision: Precision,
    pub config: PromptIrConfig,
    pub provenance: Provenance,
    pub parameters: usize,
    pub nonzero: usize,
    pub prunable: usize,
    pub prunable_nonzero: usize,
    /// nonzero / parameters
    pub density: f64,
    /// prunable_nonzero / prunable
    pub prunable_density: f64,
    /// Size of the ticket file.
    pub file_bytes: usize,
}

fn ticket_err(msg: impl Into<String>) -> Error {
    Error::Ticket(msg.into())
}

/// Whether a weight survives pruning. Both zeros count as pruned: masking in PyTorch
/// (`w * mask`) leaves -0.0 wherever a negative weight was cut.
fn nonzero(v: f32) -> bool {
    v != 0.0
}

impl Ticket {
    /// A ticket from a network's current weights.
    pub fn from_module<B: ModelBackend>(
        config: PromptIrConfig,
        module: &PromptIr<B>,
        precision: Precision,
        provenance: Provenance,
    ) -> Result<Self> {
        Self::new(config, read_params(module), precision, provenance)
    }

    /// A ticket from named weights; checks them against the config.
    pub fn new(
        config: PromptIrConfig,
        params: NamedParams,
        precision: Precision,
        provenance: Provenance,
    ) -> Result<Self> {
        config.validate()?;
        check_params(&config, &params)?;
        Ok(Self {
            config,
            provenance,
            precision,
            params,
        })
    }

    /// Builds the network on `device` with this ticket's weights.
    pub fn build<B: ModelBackend>(&self, device: &B::Device) -> Result<PromptIr<B>> {
        load_params(self.config.init(device), &self.params, device)
    }

    /// Serialises to the `.mirl` (safetensors) format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let precision = self.precision;
        let mut buffers: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> = BTreeMap::new();
        let mut shapes = BTreeMap::new();
        for (name, t) in &self.params {
            let nnz = t.data.iter().filter(|&&v| nonzero(v)).count();
            let sparse_bytes = t.numel().div_ceil(8) + nnz * precision.bytes_per_value();
            let sparse =
                is_prunable(name) && sparse_bytes < t.numel() * precision.bytes_per_value();
            // Sparse tensors store (and scale by) their survivors only; dense ones every value.
            let encoded = if sparse {
                encode_values(
                    name,
                    t.data.iter().copied().filter(|&v| nonzero(v)),
                    precision,
                )?
            } else {
                encode_values(name, t.data.iter().copied(), precision)?
            };
            if let Some(s) = encoded.scale {
                let scale = (Dtype::F32, vec![1], s.to_le_bytes().to_vec());
                buffers.insert(format!("{name}.scale"), scale);
            }
            if sparse {
                let mut mask = vec![0u8; t.numel().div_ceil(8)];
                for (i, &v) in t.data.iter().enumerate() {
                    if nonzero(v) {
                        mask[i / 8] |= 1 << (i % 8);
                    }
                }
                buffers.insert(format!("{name}.mask"), (Dtype::U8, vec![mask.len()], mask));
                let values = (precision.dtype(), vec![nnz], encoded.bytes);
                buffers.insert(format!("{name}.values"), values);
                shapes.insert(name.clone(), t.shape.clone());
            } else {
                let dense = (precision.dtype(), t.shape.clone(), encoded.bytes);
                buffers.insert(name.clone(), dense);
            }
        }
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT_NAME.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("precision".to_string(), precision.name().to_string()),
            ("config".to_string(), self.config.to_json()),
            (
                "provenance".to_string(),
                serde_json::to_string(&self.provenance).expect("provenance serialises"),
            ),
            (
                "sparse_shapes".to_string(),
                serde_json::to_string(&shapes).expect("shapes serialise"),
            ),
        ]);
        let views = buffers
            .iter()
            .map(|(k, (dtype, shape, bytes))| {
                TensorView::new(*dtype, shape.clone(), bytes)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| Error::ticket_write(format!("cannot store {k}"), e))
            })
            .collect::<Result<Vec<_>>>()?;
        metadata.insert(
            "checksum".to_string(),
            checksum(&metadata, views.iter().map(|(k, v)| (k.as_str(), v))),
        );
        safetensors::serialize(views, Some(metadata))
            .map(sort_header)
            .map_err(|e| Error::ticket_write("cannot serialise", e))
    }

    /// Reads and fully validates a `.mirl` file: structure, version, checksum, config bounds
    /// (before allocating any weights), names, shapes, mask popcounts and finite values.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(decode(bytes)?.0)
    }

    /// Reads a ticket and describes it.
    pub fn inspect(bytes: &[u8]) -> Result<TicketInfo> {
        Ok(Self::read(bytes)?.1)
    }

    /// Reads a ticket and its description in one pass over the file.
    pub fn read(bytes: &[u8]) -> Result<(Self, TicketInfo)> {
        let (ticket, stored) = decode(bytes)?;
        let info = ticket.info(bytes.len(), &stored);
        Ok((ticket, info))
    }

    fn info(&self, file_bytes: usize, stored: &Stored) -> TicketInfo {
        let mut layers = Vec::new();
        let (mut parameters, mut nz, mut prunable, mut prunable_nz) = (0, 0, 0, 0);
        for (name, t) in &self.params {
            let n = t.numel();
            let count = t.data.iter().filter(|&&v| nonzero(v)).count();
            let is_p = is_prunable(name);
            parameters += n;
            nz += count;
            if is_p {
                prunable += n;
                prunable_nz += count;
            }
            let (sparse, bytes) = stored.get(name).copied().unwrap_or((false, 0));
            layers.push(LayerInfo {
                name: name.clone(),
                shape: t.shape.clone(),
                parameters: n,
                nonzero: count,
                density: count as f64 / n.max(1) as f64,
                prunable: is_p,
                encoding: if sparse {
                    Encoding::Sparse
                } else {
                    Encoding::Dense
                },
                bytes,
            });
        }
        let summary = TicketSummary {
            format_version: FORMAT_VERSION,
            precision: self.precision,
            config: self.config.clone(),
            provenance: self.provenance.clone(),
            parameters,
            nonzero: nz,
            prunable,
            prunable_nonzero: prunable_nz,
            density: nz as f64 / parameters.max(1) as f64,
            prunable_density: prunable_nz as f64 / prunable.max(1) as f64,
            file_bytes,
        };
        TicketInfo { summary, layers }
    }
}

/// Checks that `params` holds exactly the config's parameters, with their shapes, all finite.
pub fn check_params(config: &PromptIrConfig, params: &NamedParams) -> Result<()> {
    let expected = config.parameter_shapes();
    check_names(
        expected.iter().map(|(n, _)| n.as_str()),
        params.keys().map(String::as_str),
    )?;
    for (name, shape) in &expected {
        let t = &params[name];
        if &t.shape != shape {
            return Err(Error::Weights(format!(
                "{name} has shape {:?}, the config needs {shape:?}",
                t.shape
            )));
        }
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Weights(format!(
                "{name} holds a non-finite value ({}) at index {i}",
                t.data[i]
            )));
        }
    }
    Ok(())
}

struct Encoded {
    bytes: Vec<u8>,
    scale: Option<f32>,
}

fn encode_values(
    name: &str,
    values: impl Iterator<Item = f32> + Clone,
    precision: Precision,
) -> Result<Encoded> {
    Ok(match precision {
        Precision::F32 => Encoded {
            bytes: f32_le_bytes(&values.collect::<Vec<_>>()),
            scale: None,
        },
        Precision::F16 => {
            let mut bytes = Vec::new();
            for v in values {
                let h = f16::from_f32(v);
                if !h.is_finite() {
                    return Err(ticket_err(format!(
                        "{name}: value {v} does not fit in f16; use --precision f32"
                    )));
                }
                bytes.extend(h.to_le_bytes());
            }
            Encoded { bytes, scale: None }
        }
        Precision::Int8 => {
            let max = values.clone().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let bytes = values
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8)
                .collect();
            Encoded {
                bytes,
                scale: Some(scale),
            }
        }
    })
}

/// safetensors writes the metadata in `HashMap` order, so one ticket could be written as
/// different bytes. Rewriting the header with its keys sorted (the same JSON entries, so the
/// same length) makes a ticket's file a function of the ticket alone.
fn sort_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let Ok(mut header) =
        serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&bytes[8..8 + n])
    else {
        return bytes;
    };
    if let Some(meta) = header.get_mut("__metadata__") {
        if let Ok(sorted) = serde_json::from_value::<BTreeMap<String, String>>(meta.clone()) {
            *meta = serde_json::to_value(sorted).expect("strings serialise");
        }
    }
    let json = serde_json::to_vec(&header).expect("JSON serialises");
    if json.len() <= n {
        bytes[8..8 + json.len()].copy_from_slice(&json);
        bytes[8 + json.len()..8 + n].fill(b' ');
    }
    bytes
}

/// The `checksum` metadata value: CRC-32 over every metadata entry but the checksum and every tensor's name, dtype, shape and
/// bytes, in name order: any flipped byte in the file changes it.
pub fn checksum<'a>(
    metadata: &HashMap<String, String>,
    tensors: impl Iterator<Item = (&'a str, &'a TensorView<'a>)>,
) -> String {
    let mut hasher = crc32fast::Hasher::new();
    let mut keys: Vec<&String> = metadata.keys().filter(|k| *k != "checksum").collect();
    keys.sort();
    for k in keys {
        hasher.update(k.as_bytes());
        hasher.update(&[0]);
        hasher.update(metadata[k].as_bytes());
        hasher.update(&[0]);
    }
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort_by(|a, b| a.0.cmp(b.0));
    for (name, view) in tensors {
        hasher.update(name.as_bytes());
        hasher.update(dtype_and_shape(view.dtype(), view.shape()).as_bytes());
        hasher.update(view.data());
    }
    format!("crc32:{:08x}", hasher.finalize())
}

/// A tensor's dtype and shape as the checksum hashes them: `F32[3, 48, 3, 3]`. Written out
/// here, not taken from the `Debug` text of safetensors' types, which a dependency update may
/// change; the text is what that `Debug` gave when the format was made, so tickets keep
/// their checksums.
fn dtype_and_shape(dtype: Dtype, shape: &[usize]) -> String {
    let name = match dtype {
        Dtype::U8 => "U8",
        Dtype::I8 => "I8",
        Dtype::F16 => "F16",
        Dtype::F32 => "F32",
        // No ticket holds another dtype (decode refuses it): any stable name will do.
        other => return format!("{other:?}{shape:?}"),
    };
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("{name}[{}]", dims.join(", "))
}

/// How each tensor is stored in a file: (sparse, bytes).
type Stored = BTreeMap<String, (bool, usize)>;

/// The metadata of a ticket file, checked: what it says of the tensors.
struct Header {
    precision: Precision,
    config: PromptIrConfig,
    provenance: Provenance,
    /// The dense shape of each parameter stored sparse.
    sparse_shapes: BTreeMap<String, Vec<usize>>,
}

/// Decodes a ticket and, per parameter, whether it was stored sparse and its bytes in the file.
fn decode(bytes: &[u8]) -> Result<(Ticket, Stored)> {
    let unreadable = |e| Error::ticket_parse("not a readable safetensors file (truncated?)", e);
    let st = SafeTensors::deserialize(bytes).map_err(unreadable)?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(unreadable)?;
    let header = read_header(&metadata.metadata().clone().unwrap_or_default(), &st)?;
    let mut params = NamedParams::new();
    let mut stored = Stored::new();
    let mut used = 0;
    for (name, shape) in header.config.parameter_shapes() {
        let param = decode_param(&st, &header, &name, &shape)?;
        used += param.tensors;
        stored.insert(name.clone(), (param.sparse, param.file_bytes));
        params.insert(name, HostTensor::new(shape, param.data));
    }
    if used != st.len() {
        return Err(unexpected_tensors(&header.config, &st));
    }
    let Header {
        precision,
        config,
        provenance,
        ..
    } = header;
    let ticket = Ticket {
        config,
        provenance,
        precision,
        params,
    };
    Ok((ticket, stored))
}

/// Checks the metadata (format, version, checksum over `st`) and parses what it says.
fn read_header(metadata: &HashMap<String, String>, st: &SafeTensors<'_>) -> Result<Header> {
    let get = |key: &str| {
        metadata
            .get(key)
            .ok_or_else(|| ticket_err(format!("metadata has no {key:?}: not a mirl ticket")))
    };
    if get("format")? != FORMAT_NAME {
        return Err(ticket_err(format!(
            "metadata format is {:?}, not {FORMAT_NAME:?}",
            metadata["format"]
        )));
    }
    let version = get("format_version")?;
    if version.parse::<u32>().ok() != Some(FORMAT_VERSION) {
        return Err(Error::TicketVersion {
            found: version.clone(),
            supported: FORMAT_VERSION,
        });
    }
    let views = st.tensors();
    let expected_sum = checksum(metadata, views.iter().map(|(k, v)| (k.as_str(), v)));
    // Fuzzing builds skip the comparison so that mutated files reach the checks behind it.
    if get("checksum")? != &expected_sum && !cfg!(fuzzing) {
        return Err(ticket_err(format!(
            "checksum mismatch (file says {}, content gives {expected_sum}): the file is corrupt",
            get("checksum")?
        )));
    }
    Ok(Header {
        precision: get("precision")?.parse()?,
        config: PromptIrConfig::from_json(get("config")?)?,
        provenance: serde_json::from_str(get("provenance")?)
            .map_err(|e| Error::ticket_parse("provenance is not valid JSON", e))?,
        sparse_shapes: serde_json::from_str(get("sparse_shapes")?)
            .map_err(|e| Error::ticket_parse("sparse_shapes is not valid JSON", e))?,
    })
}

/// One parameter as a ticket stores it, decoded.
struct DecodedParam {
    data: Vec<f32>,
    sparse: bool,
    /// Bytes of tensor data it takes in the file.
    file_bytes: usize,
    /// Tensors of the file it takes (dense or mask and values, and an int8 scale).
    tensors: usize,
}

/// Decodes parameter `name` of `shape`: dense, or from its mask and values.
fn decode_param(
    st: &SafeTensors<'_>,
    header: &Header,
    name: &str,
    shape: &[usize],
) -> Result<DecodedParam> {
    let precision = header.precision;
    let tensor = |suffix: &str| st.tensor(&format!("{name}{suffix}")).ok();
    let scale = if precision == Precision::Int8 {
        let s = tensor(".scale")
            .ok_or_else(|| ticket_err(format!("{name}: int8 ticket lacks {name}.scale")))?;
        match decode_values(name, ".scale", &s, Precision::F32, 1.0)?.as_slice() {
            [s] if s.is_finite() && *s > 0.0 => *s,
            _ => {
                return Err(ticket_err(format!(
                    "{name}.scale must be one positive finite f32"
                )))
            }
        }
    } else {
        1.0
    };
    let (scale_tensors, scale_bytes) = if precision == Precision::Int8 {
        (1, 4)
    } else {
        (0, 0)
    };
    if let Some(dense) = tensor("") {
        if dense.shape() != shape {
            return Err(ticket_err(format!(
                "{name} has shape {:?}, the config needs {shape:?}",
                dense.shape()
            )));
        }
        return Ok(DecodedParam {
            data: decode_values(name, "", &dense, precision, scale)?,
            sparse: false,
            file_bytes: dense.data().len() + scale_bytes,
            tensors: 1 + scale_tensors,
        });
    }
    let (Some(mask), Some(values)) = (tensor(".mask"), tensor(".values")) else {
        return Err(ticket_err(format!(
            "missing tensor {name} (neither dense nor {name}.mask + {name}.values)"
        )));
    };
    if header.sparse_shapes.get(name).map(Vec::as_slice) != Some(shape) {
        return Err(ticket_err(format!(
            "{name} has shape {:?} in sparse_shapes, the config needs {shape:?}",
            header.sparse_shapes.get(name)
        )));
    }
    let n: usize = shape.iter().product();
    if mask.dtype() != Dtype::U8 || mask.shape() != [n.div_ceil(8)] {
        return Err(ticket_err(format!(
            "{name}.mask must be U8 [{}], found {:?} {:?}",
            n.div_ceil(8),
            mask.dtype(),
            mask.shape()
        )));
    }
    let bits = mask.data();
    let popcount: usize = bits.iter().map(|b| b.count_ones() as usize).sum();
    if !n.is_multiple_of(8) && bits[n / 8] >> (n % 8) != 0 {
        return Err(ticket_err(format!(
            "{name}.mask has bits set past the tensor's {n} elements"
        )));
    }
    let vals = decode_values(name, ".values", &values, precision, scale)?;
    if vals.len() != popcount {
        return Err(ticket_err(format!(
            "{name}: mask has {popcount} set bits but there are {} values",
            vals.len()
        )));
    }
    let mut data = vec![0.0f32; n];
    let mut it = vals.into_iter();
    for (i, slot) in data.iter_mut().enumerate() {
        if bits[i / 8] >> (i % 8) & 1 == 1 {
            *slot = it.next().expect("popcount checked");
        }
    }
    Ok(DecodedParam {
        data,
        sparse: true,
        file_bytes: bits.len() + values.data().len() + scale_bytes,
        tensors: 2 + scale_tensors,
    })
}

/// The error for a file holding tensors that no parameter of `config` explains.
fn unexpected_tensors(config: &PromptIrConfig, st: &SafeTensors<'_>) -> Error {
    let known: std::collections::HashSet<String> = config
        .parameter_shapes()
        .into_iter()
        .flat_map(|(n, _)| ["", ".mask", ".values", ".scale"].map(|s| format!("{n}{s}")))
        .collect();
    let extra: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !known.contains(*n))
        .map(str::to_string)
        .collect();
    ticket_err(format!(
        "unexpected tensors for this config: {}",
        extra.join(", ")
    ))
}

fn decode_values(
    name: &str,
    suffix: &str,
    view: &TensorView<'_>,
    precision: Precision,
    scale: f32,
) -> Result<Vec<f32>> {
    if view.dtype() != precision.dtype() {
        return Err(ticket_err(format!(
            "{name}{suffix} is {:?}, expected {:?}",
            view.dtype(),
            precision.dtype()
        )));
    }
    let bytes = view.data();
    let values: Vec<f32> = match precision {
        Precision::F32 => StoredFloat::F32.decode(bytes),
        Precision::F16 => StoredFloat::F16.decode(bytes),
        Precision::Int8 => bytes.iter().map(|&b| b as i8 as f32 * scale).collect(),
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(ticket_err(format!(
            "{name}{suffix} holds a non-finite value ({}) at index {i}",
            values[i]
        )));
    }
    Ok(values)
}
