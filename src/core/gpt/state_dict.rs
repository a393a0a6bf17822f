//! A GPT's parameters (or gradients) as PyTorch state_dict arrays: the names, shapes and layouts `load_state_dict` takes.
//!
//! Our projections store `W` as `[in, out]`; PyTorch's `nn.Linear.weight` is `[out, in]`, so
//! those are transposed on the way out. Embeddings are `[rows, d_model]` in both; biases and norm
//! parameters are 1-D. A tied head has no `head.weight` entry (PyTorch's `named_parameters`
//! lists the shared tensor once, as `tok_emb.weight`).

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzWriter;

use super::Gpt;
use crate::core::float::Real;
use crate::core::params::ParamKind;

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
