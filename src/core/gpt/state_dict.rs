//! A GPT's parameters (or gradients) as PyTorch state_dict arrays: the names, shapes and layouts `load_state_dict` takes.
//!
//! Our projections store `W` as `[in, out]`; PyTorch's `nn.Linear.weight` is `[out, in]`, so
//! those are transposed on the way out. Embeddings are `[rows, d_model]` in both; biases and norm
//! parameters are 1-D. A tied head has no `head.weight` entry (PyTorch's `named_parameters`
//! lists the shared tensor once, as `tok_emb.weight`).

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzWriter;

use super::Gpt;
use crate::core::float::Real;
use crate::core::params::{ParamKind, Params};
use crate::core::weights::{Wanted, WeightsError, read_arrays};

/// Which buffer of the parameters to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    Values,
    Grads,
}

impl<T: Real> Gpt<T> {
    /// Segment `i` of `buffer` as a PyTorch-layout array.
    #[allow(clippy::expect_used)] // invariant: a segment's length is rows · cols
    pub fn torch_array(&self, i: usize, buffer: Buffer) -> ArrayD<T> {
        let seg = self.params.segments[i];
        let data = match buffer {
            Buffer::Values => &self.params.values[seg.range()],
            Buffer::Grads => &self.params.grads[seg.range()],
        };
        let matrix =
            ndarray::ArrayView2::from_shape((seg.rows, seg.cols), data).expect("segment shape");
        let embedding = self.names[i].ends_with("_emb.weight");
        match seg.kind {
            ParamKind::Weight if embedding => matrix.to_owned().into_dyn(),
            ParamKind::Weight => matrix.t().as_standard_layout().into_owned().into_dyn(),
            _ => ArrayD::from_shape_vec(IxDyn(&[seg.cols]), data.to_vec()).expect("1-D"),
        }
    }

    /// The PyTorch-layout shape of segment `i` (see [`Gpt::torch_array`]).
    pub fn torch_shape(&self, i: usize) -> Vec<usize> {
        let seg = self.params.segments[i];
        match seg.kind {
            ParamKind::Weight if self.names[i].ends_with("_emb.weight") => vec![seg.rows, seg.cols],
            ParamKind::Weight => vec![seg.cols, seg.rows],
            _ => vec![seg.cols],
        }
    }

    /// Overwrites every parameter with the arrays of the `.npz` file at `path`, named and laid
    /// out as [`Gpt::state_dict`] writes them (PyTorch's `load_state_dict(strict=True)`: every
    /// parameter is required, an unknown or misshapen array is an error and nothing is changed).
    pub fn load_state_dict(&mut self, path: &Path) -> Result<(), WeightsError> {
        let wanted: Vec<Wanted> = (0..self.names.len())
            .map(|i| Wanted {
                name: self.names[i].clone(),
                shape: self.torch_shape(i),
                layer: self.params.segments[i].layer,
                optional: false,
            })
            .collect();
        let arrays = read_arrays(path, &wanted)?;
        for (i, array) in arrays.into_iter().enumerate() {
            let Some(array) = array else { continue };
            let seg = self.params.segments[i];
            let values = &mut self.params.values[seg.range()];
            // PyTorch's [out, in] back to our [in, out]: element (o, i) goes to i·out + o.
            let transposed =
                seg.kind == ParamKind::Weight && !self.names[i].ends_with("_emb.weight");
            for (k, &v) in array.iter().enumerate() {
                let at = if transposed {
                    (k % seg.rows) * seg.cols + k / seg.rows
                } else {
                    k
                };
                values[at] = T::of(v);
            }
        }
        Ok(())
    }

    /// `(name, array)` for every parameter, names prefixed by `prefix` (`""` or `"grad."`).
    pub fn state_dict(&self, buffer: Buffer, prefix: &str) -> Vec<(String, ArrayD<T>)> {
        (0..self.names.len())
            .map(|i| {
                (
                    format!("{prefix}{}", self.names[i]),
                    self.torch_array(i, buffer),
                )
            })
            .collect()
    }
}

/// Named arrays as the bytes of an `.npz` file, built in memory so the caller writes it atomically.
pub fn npz_bytes<T: ndarray_npy::WritableElement>(
    arrays: &[(String, ArrayD<T>)],
) -> Result<Vec<u8>, ndarray_npy::WriteNpzError> {
    let mut npz = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, array) in arrays {
        npz.add_array(name.as_str(), array)?;
    }
    Ok(npz.finish()?.into_inner())
}

/// Names every segment pushed since the last call `{prefix}.weight` / `{prefix}.bias`, as
/// PyTorch names a module's parameters (a norm's γ is its `weight`, β its `bias`).
pub(super) fn name_new<T: Real>(params: &Params<T>, names: &mut Vec<String>, prefix: &str) {
    for seg in &params.segments[names.len()..] {
        let leaf = match seg.kind {
            ParamKind::Weight | ParamKind::NormGain => "weight",
            ParamKind::Bias | ParamKind::NormShift => "bias",
        };
        names.push(format!("{prefix}.{leaf}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gpt::GptSpec;

    fn small(seed: u64) -> Gpt<f32> {
        let spec = GptSpec {
            qk_norm: true,
            ..GptSpec::for_tests()
        };
        Gpt::new(spec, seed)
    }

    fn write(dir: &Path, name: &str, arrays: &[(String, ArrayD<f32>)]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, npz_bytes(arrays).unwrap()).unwrap();
        path
    }

    #[test]
    fn state_dict_round_trips_through_npz_in_pytorch_layout() {
        let dir = tempfile::tempdir().unwrap();
        let from = small(1);
        let (i, seg) = from.segment("blocks.0.attn.qkv.weight").unwrap();
        let a = from.torch_array(i, Buffer::Values);
        assert_eq!(
            a.shape(),
            &[seg.cols, seg.rows],
            "nn.Linear.weight is [out, in]"
        );
        assert_eq!(a[[2, 1]], from.params.value(i)[(1, 2)]);
        let path = write(dir.path(), "w.npz", &from.state_dict(Buffer::Values, ""));
        let mut to = small(2);
        assert_ne!(to.params.values, from.params.values);
        to.load_state_dict(&path).unwrap();
        assert_eq!(to.params.values, from.params.values);
    }

    #[test]
    fn unknown_missing_and_misshapen_arrays_are_errors_that_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = small(1).state_dict(Buffer::Values, "");
        let mut to = small(2);
        let before = to.params.values.clone();
        let mut extra = good.clone();
        extra.push((
            "blocks.9.attn.qkv.weight".into(),
            ArrayD::zeros(IxDyn(&[1])),
        ));
        let e = to
            .load_state_dict(&write(dir.path(), "a.npz", &extra))
            .unwrap_err();
        assert!(
            matches!(&e, WeightsError::Unknown { name, .. } if name == "blocks.9.attn.qkv.weight"),
            "{e}"
        );
        let e = to
            .load_state_dict(&write(dir.path(), "b.npz", &good[1..]))
            .unwrap_err();
        assert!(
            matches!(&e, WeightsError::Missing { name, .. } if name == "tok_emb.weight"),
            "{e}"
        );
        let mut bad = good.clone();
        let (i, _) = to.segment("head.weight").unwrap();
        bad[i].1 = bad[i].1.t().to_owned();
        let e = to
            .load_state_dict(&write(dir.path(), "c.npz", &bad))
            .unwrap_err();
        assert!(
            matches!(&e, WeightsError::Shape { name, .. } if name == "head.weight"),
            "{e}"
        );
        assert_eq!(to.params.values, before);
    }
}
