//! Model weights in and out as NumPy `.npz` files, so an init exported from PyTorch or NumPy can be
//! checked exactly, and a run's final weights inspected.
//!
//! Array names: `layer{L}.weight` (`[fan_in, fan_out]`, i.e. PyTorch's `Linear.weight`
//! transposed), `layer{L}.bias` (`[fan_out]`), and for normalized layers `layer{L}.norm_gain` and
//! `layer{L}.norm_shift` (`[width]`), with `L` the layer index (hidden `0..depth`, output `depth`).
//! Weights and biases are required; norm parameters are optional (default γ = 1, β = 0). Arrays
//! may be float32 or float64 whatever the run's precision (converted as a cast would). An array
//! the model has no place for is an error, so a misnamed file cannot be half-applied silently.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter};

use super::float::Real;
use super::params::{ParamKind, Params, Segment};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be opened, read or written (the OS reason in the message, not as
    /// `source()`, so a chain printer says it once).
    #[error("{}: {io}", path.display())]
    Io { path: PathBuf, io: std::io::Error },
    /// The file is not a readable `.npz` archive (or an array in it is not float32/float64).
    #[error("{}: not a readable .npz file of float32/float64 arrays: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// The file is larger than weight files may be.
    #[error("{}: {bytes} bytes is over the {limit}-byte limit for a weights file", path.display())]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    /// A required array is missing.
    #[error("{}: no array `{name}`; expected the arrays {expected}", path.display())]
    Missing {
        path: PathBuf,
        name: String,
        expected: String,
    },
    /// An array the model has no place for.
    #[error("{}: array `{name}` matches no parameter of this model; expected the arrays {expected}", path.display())]
    Unknown {
        path: PathBuf,
        name: String,
        expected: String,
    },
    /// An array with the wrong shape.
    #[error("{}: `{name}` (layer {layer}) has shape {found:?} but the model needs {expected:?}", path.display())]
    Shape {
        path: PathBuf,
        name: String,
        layer: usize,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
}

/// The array name and shape of a parameter segment.
pub fn array_name(seg: &Segment) -> (String, Vec<usize>) {
    let (kind, shape) = match seg.kind {
        ParamKind::Weight => ("weight", vec![seg.rows, seg.cols]),
        ParamKind::Bias => ("bias", vec![seg.cols]),
        ParamKind::NormGain => ("norm_gain", vec![seg.cols]),
        ParamKind::NormShift => ("norm_shift", vec![seg.cols]),
    };
    (format!("layer{}.{kind}", seg.layer), shape)
}

/// Overwrites `params` with the arrays of `path`.
pub fn load_npz<T: Real>(path: &Path, params: &mut Params<T>) -> Result<(), WeightsError> {
    let wanted: Vec<Wanted> = params
        .segments
        .iter()
        .map(|seg| {
            let (name, shape) = array_name(seg);
            let optional = matches!(seg.kind, ParamKind::NormGain | ParamKind::NormShift);
            Wanted {
                name,
                shape,
                layer: seg.layer,
                optional,
            }
        })
        .collect();
    let arrays = read_arrays(path, &wanted)?;
    for (seg, array) in params.segments.clone().iter().zip(arrays) {
        if let Some(array) = array {
            for (dst, &src) in params.values[seg.range()].iter_mut().zip(array.iter()) {
                *dst = T::of(src);
            }
        }
    }
    Ok(())
}

/// One array a model wants from a weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub name: String,
    pub shape: Vec<usize>,
    /// Reported with a wrong shape, so the message says where the array belongs.
    pub layer: usize,
    /// May be absent (the caller keeps its value).
    pub optional: bool,
}

/// Every `wanted` array of the file at `path` as f64, in `wanted`'s order (`None` for an absent
/// optional one). An array the file has but nobody wants is an error, so a misnamed file cannot
/// be half-applied silently.
pub fn read_arrays(
    path: &Path,
    wanted: &[Wanted],
) -> Result<Vec<Option<ArrayD<f64>>>, WeightsError> {
    let (mut shapes, mut npz) = open_npz(path)?;
    let names = npz.names().map_err(|e| format_error(path, &e))?;
    let expected = || {
        wanted
            .iter()
            .map(|w| format!("`{}`", w.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(extra) = names.iter().find(|n| !wanted.iter().any(|w| &w.name == *n)) {
        return Err(WeightsError::Unknown {
            path: path.to_owned(),
            name: extra.clone(),
            expected: expected(),
        });
    }
    wanted
        .iter()
        .map(|w| {
            if !names.contains(&w.name) {
                if w.optional {
                    return Ok(None);
                }
                return Err(WeightsError::Missing {
                    path: path.to_owned(),
                    name: w.name.clone(),
                    expected: expected(),
                });
            }
            read_array(path, (&mut shapes, &mut npz), &w.name, &w.shape, w.layer).map(Some)
        })
        .collect()
}

type Shapes = zip::ZipArchive<BufReader<File>>;

fn format_error(path: &Path, e: &dyn std::fmt::Display) -> WeightsError {
    WeightsError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// The file opened twice: as a zip archive (to read `.npy` headers alone) and as an npz.
fn open_npz(path: &Path) -> Result<(Shapes, NpzReader<BufReader<File>>), WeightsError> {
    let io = |io| WeightsError::Io {
        path: path.to_owned(),
        io,
    };
    let file = File::open(path).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    if bytes > MAX_NPZ_BYTES {
        return Err(WeightsError::TooLarge {
            path: path.to_owned(),
            bytes,
            limit: MAX_NPZ_BYTES,
        });
    }
    let shapes = zip::ZipArchive::new(BufReader::new(file.try_clone().map_err(io)?))
        .map_err(|e| format_error(path, &e))?;
    let npz = NpzReader::new(BufReader::new(file)).map_err(|e| format_error(path, &e))?;
    Ok((shapes, npz))
}

/// Array `name` as f64, refused unless its shape is `shape`. The header's shape is checked
/// first: ndarray-npy allocates whatever a header claims before reading.
fn read_array(
    path: &Path,
    (shapes, npz): (&mut Shapes, &mut NpzReader<BufReader<File>>),
    name: &str,
    shape: &[usize],
    layer: usize,
) -> Result<ArrayD<f64>, WeightsError> {
    let wrong_shape = |found: Vec<usize>| WeightsError::Shape {
        path: path.to_owned(),
        name: name.to_string(),
        layer,
        found,
        expected: shape.to_vec(),
    };
    let declared = declared_shape(shapes, name).map_err(|e| format_error(path, &e))?;
    if declared != shape {
        return Err(wrong_shape(declared));
    }
    let array = read_float(npz, name).map_err(|e| format_error(path, &e))?;
    if array.shape() != shape {
        return Err(wrong_shape(array.shape().to_vec()));
    }
    Ok(array)
}

/// Largest `.npz` file read: 4 GiB (2^28 parameters in float64 take 2 GiB).
pub const MAX_NPZ_BYTES: u64 = 4 << 30;
/// Largest `.npy` header accepted (NumPy writes under 1 KiB; version 2 headers may claim 4 GiB).
const MAX_NPY_HEADER_BYTES: usize = 1 << 16;

/// The shape an array's `.npy` header declares, read without reading (or allocating) its data.
fn declared_shape<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<usize>, String> {
    use std::io::Read;
    let mut entry = zip
        .by_name(&format!("{name}.npy"))
        .map_err(|e| e.to_string())?;
    // Magic (6 bytes), version (2), then the header length: u16 in version 1, u32 after.
    let mut prefix = vec![0u8; 10];
    entry.read_exact(&mut prefix).map_err(|e| e.to_string())?;
    let header_len = if prefix[6] == 1 {
        usize::from(u16::from_le_bytes([prefix[8], prefix[9]]))
    } else {
        let mut rest = [0u8; 2];
        entry.read_exact(&mut rest).map_err(|e| e.to_string())?;
        prefix.extend_from_slice(&rest);
        u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize
    };
    if header_len > MAX_NPY_HEADER_BYTES {
        return Err(format!(
            "the .npy header of `{name}` claims {header_len} bytes (at most {MAX_NPY_HEADER_BYTES})"
        ));
    }
    let mut reader = std::io::Cursor::new(prefix).chain(entry);
    let header = ndarray_npy::npy::header::Header::from_reader(&mut reader)
        .map_err(|e| format!("`{name}`: {e}"))?;
    Ok(header.shape)
}

/// Reads one array as f64, whether it is stored as float64 or float32.
fn read_float(
    npz: &mut NpzReader<BufReader<File>>,
    name: &str,
) -> Result<ArrayD<f64>, ndarray_npy::ReadNpzError> {
    match npz.by_name::<_, IxDyn>(name) {
        Ok(a) => Ok(a),
        Err(_) => npz
            .by_name::<ndarray::OwnedRepr<f32>, IxDyn>(name)
            .map(|a| a.mapv(f64::from)),
    }
}

/// Every parameter of `params` as the bytes of an `.npz` file (in the run's precision), built
/// in memory: the caller writes them, atomically, the one way every output file is written.
pub fn npz_bytes<T: Real>(params: &Params<T>) -> Result<Vec<u8>, WeightsError> {
    let format = |e: &dyn std::fmt::Display| WeightsError::Format {
        path: PathBuf::from("(in memory)"),
        message: e.to_string(),
    };
    let mut npz = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    for seg in &params.segments {
        let (name, shape) = array_name(seg);
        let values = params.values[seg.range()].to_vec();
        let array = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| format(&e))?;
        npz.add_array(name, &array).map_err(|e| format(&e))?;
    }
    Ok(npz.finish().map_err(|e| format(&e))?.into_inner())
}
