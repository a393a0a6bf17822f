//! The CSV loading error: which file, the 1-based line and column (with the header's name), and what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// A CSV file that could not be loaded: which file, where in it, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub struct CsvError {
    pub path: PathBuf,
    /// 1-based line (the header is line 1), when the problem has one.
    pub line: Option<u64>,
    /// 1-based column, when the problem is in one cell or where a row is cut short or overlong.
    pub column: Option<usize>,
    /// The header's name of `column`, when the header has that column.
    pub header: Option<String>,
    /// Not a `#[source]`: `Display` already ends with it, and error reporters that print the
    /// source chain would say it twice.
    pub kind: CsvErrorKind,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CSV file {}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        if let Some(header) = &self.header {
            write!(f, " (`{header}`)")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What is wrong with a CSV file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// The file cannot be opened or read.
    #[error("cannot read it ({0})")]
    Io(std::io::Error),
    /// The file is larger than [`MAX_CSV_BYTES`].
    #[error("it is larger than the 1 GiB limit ({bytes} bytes or more)")]
    TooLarge { bytes: u64 },
    /// No header row.
    #[error("it is empty; it needs a header row and at least one data row")]
    Empty,
    /// A header but no data rows.
    #[error("the header has no data rows after it")]
    HeaderOnly,
    /// No column left for inputs after the targets.
    #[error(
        "the header has {columns} columns, but {targets} target(s) and at least one input are needed"
    )]
    TooFewColumns { columns: usize, targets: usize },
    /// The input columns disagree with the scenario's `inputs`.
    #[error(
        "the header has {found} input columns (all but the last {targets}), but `data.inputs` is {expected}"
    )]
    InputCount {
        found: usize,
        targets: usize,
        expected: usize,
    },
    /// Fewer data rows than `samples` asks for.
    #[error("it has {found} data rows, but `data.samples` asks for {wanted}")]
    TooFewRows { found: usize, wanted: usize },
    /// A row with fewer fields than the header (the column is the first missing one).
    #[error("the row ends after {found} fields, but the header has {expected} columns")]
    RowTooShort { found: usize, expected: usize },
    /// A row with more fields than the header (the column is the first extra one).
    #[error("the row has {found} fields, but the header has only {expected} columns")]
    RowTooLong { found: usize, expected: usize },
    /// A cell that does not parse as a number (an empty cell shows as ``).
    #[error("expected a number, found `{0}`")]
    NotANumber(String),
    /// NaN, an infinity, or a number too large for `f64`.
    #[error("`{0}` is not a finite number; inputs and targets must be finite")]
    NonFinite(String),
    /// A class cell with a fractional part.
    #[error("expected an integer class label, found `{0}`")]
    NotAClass(String),
    /// A class cell outside `0..classes`.
    #[error("class `{found}` is out of range; classes are 0 to {last}")]
    ClassOutOfRange { found: String, last: usize },
    /// Bytes that are not UTF-8 text.
    #[error("the text is not valid UTF-8")]
    NotUtf8,
    /// Any other failure of the `csv` reader.
    #[error("the CSV reader failed ({0})")]
    Reader(::csv::Error),
}

impl CsvError {
    pub(super) fn file(path: &Path, kind: CsvErrorKind) -> Self {
        CsvError {
            path: path.to_owned(),
            line: None,
            column: None,
            header: None,
            kind,
        }
    }
}
