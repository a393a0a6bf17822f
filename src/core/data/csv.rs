//! CSV datasets: a header row, inputs in the leading columns, targets in the last (see DESIGN's conventions).
//!
//! Classification: the last column is an integer class in `0..classes` (`3` and `3.0` both read as 3).
//! Regression: the last `outputs` columns are targets. Every other column is an input, and their
//! count must equal `inputs` when given. `samples = Some(n)` reads the first `n` data rows only.
//! Every rejected cell is reported with the file, its 1-based line (the header is line 1; a quoted
//! field spanning lines counts from the row's first line) and its 1-based column with the header's
//! name. Files over [`MAX_CSV_BYTES`] are refused.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use ::csv::{Reader, ReaderBuilder, StringRecord, Trim};
use ndarray::Array2;

use super::csv_error::{CsvError, CsvErrorKind};
use super::{Dataset, Targets, Task};

/// Largest CSV file read: 1 GiB.
pub const MAX_CSV_BYTES: u64 = 1 << 30;

/// Reads `path` as a dataset for `task`, in `f64`.
pub(super) fn read(
    path: &Path,
    task: Task,
    inputs: Option<usize>,
    samples: Option<usize>,
) -> Result<Dataset<f64>, CsvError> {
    let text = read_capped(path)?;
    parse_bytes(path, &text, task, inputs, samples)
}

/// Parses CSV `text` as a dataset for `task`, in `f64`; `path` names the source in errors.
/// (The fuzz target and [`read`] share it; the size cap is the reader's job.)
pub fn parse_bytes(
    path: &Path,
    text: &[u8],
    task: Task,
    inputs: Option<usize>,
    samples: Option<usize>,
) -> Result<Dataset<f64>, CsvError> {
    let mut at = Locator {
        path,
        headers: Vec::new(),
        text,
        byte: 0,
        line: 1,
    };
    let mut reader = ReaderBuilder::new()
        .flexible(true)
        .trim(Trim::All)
        .from_reader(text);
    let layout = Layout::from_header(&mut reader, &mut at, task, inputs)?;
    let mut columns = Columns::default();
    let mut record = StringRecord::new();
    while samples.is_none_or(|wanted| columns.rows < wanted) {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let line = at.line_of(record.position());
                layout.parse_row(&record, line, &at, &mut columns)?;
            }
            Ok(false) => break,
            Err(e) => return Err(at.reader_error(e)),
        }
    }
    layout.finish(&at, samples, columns)
}

/// The whole file, refusing files over [`MAX_CSV_BYTES`] (the `take` also bounds pipes and devices,
/// whose metadata has no length).
fn read_capped(path: &Path) -> Result<Vec<u8>, CsvError> {
    let io_error = |e| CsvError::file(path, CsvErrorKind::Io(e));
    let file = File::open(path).map_err(io_error)?;
    let too_large = |bytes| CsvError::file(path, CsvErrorKind::TooLarge { bytes });
    let bytes = file.metadata().map_err(io_error)?.len();
    if bytes > MAX_CSV_BYTES {
        return Err(too_large(bytes));
    }
    let mut text = Vec::new();
    file.take(MAX_CSV_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io_error)?;
    match text.len() as u64 > MAX_CSV_BYTES {
        true => Err(too_large(text.len() as u64)),
        false => Ok(text),
    }
}

/// Turns reader positions into 1-based lines and columns into header names, for error messages.
struct Locator<'a> {
    path: &'a Path,
    headers: Vec<String>,
    text: &'a [u8],
    /// Bytes before `byte` have been counted into `line`.
    byte: usize,
    line: u64,
}

impl Locator<'_> {
    /// The line of the first byte of the record whose reading began at `position` (which only grows).
    ///
    /// The `csv` crate's positions point where reading began, before any blank lines and before the
    /// `\n` of a `\r\n`, so its own line number can be one or more too small.
    fn line_of(&mut self, position: Option<&::csv::Position>) -> u64 {
        let byte = position.map_or(0, |p| p.byte() as usize);
        let mut start = byte.clamp(self.byte, self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        // `\n` ends a line, and so does a `\r` not followed by `\n` (old Mac files).
        let text = self.text;
        let ends = (self.byte..start)
            .filter(|&i| text[i] == b'\n' || (text[i] == b'\r' && text.get(i + 1) != Some(&b'\n')));
        self.line += ends.count() as u64;
        self.byte = start;
        self.line
    }

    /// An error at `line`, in 0-based `column` when given.
    fn at(&self, line: u64, column: Option<usize>, kind: CsvErrorKind) -> CsvError {
        CsvError {
            line: Some(line),
            column: column.map(|c| c + 1),
            header: column.and_then(|c| self.headers.get(c).cloned()),
            ..CsvError::file(self.path, kind)
        }
    }

    fn reader_error(&mut self, error: ::csv::Error) -> CsvError {
        let line = self.line_of(error.position());
        match error.kind() {
            ::csv::ErrorKind::Utf8 { err, .. } => {
                self.at(line, Some(err.field()), CsvErrorKind::NotUtf8)
            }
            _ => self.at(line, None, CsvErrorKind::Reader(error)),
        }
    }
}

/// Parsed values, row-major, and the number of rows.
#[derive(Default)]
struct Columns {
    rows: usize,
    x: Vec<f64>,
    classes: Vec<usize>,
    values: Vec<f64>,
}

/// What the header says: where it is, and how many leading columns are inputs.
struct Layout {
    header_line: u64,
    inputs: usize,
    task: Task,
}

impl Layout {
    /// Reads the header row into `at.headers` and checks its column count against the task.
    fn from_header(
        reader: &mut Reader<&[u8]>,
        at: &mut Locator,
        task: Task,
        expected_inputs: Option<usize>,
    ) -> Result<Layout, CsvError> {
        let header = reader.headers().map_err(|e| at.reader_error(e))?.clone();
        let columns = header.len();
        if columns == 0 {
            return Err(CsvError::file(at.path, CsvErrorKind::Empty));
        }
        let header_line = at.line_of(header.position());
        let targets = match task {
            Task::Classification { .. } => 1,
            Task::Regression { outputs } => outputs,
        };
        if columns <= targets {
            return Err(at.at(
                header_line,
                None,
                CsvErrorKind::TooFewColumns { columns, targets },
            ));
        }
        let inputs = columns - targets;
        if let Some(expected) = expected_inputs.filter(|&expected| expected != inputs) {
            let kind = CsvErrorKind::InputCount {
                found: inputs,
                targets,
                expected,
            };
            return Err(at.at(header_line, None, kind));
        }
        at.headers = header.iter().map(str::to_owned).collect();
        Ok(Layout {
            header_line,
            inputs,
            task,
        })
    }

    /// Appends one data row's inputs and targets to `out`.
    fn parse_row(
        &self,
        record: &StringRecord,
        line: u64,
        at: &Locator,
        out: &mut Columns,
    ) -> Result<(), CsvError> {
        let (found, expected) = (record.len(), at.headers.len());
        if found != expected {
            let (column, kind) = match found < expected {
                true => (found, CsvErrorKind::RowTooShort { found, expected }),
                false => (expected, CsvErrorKind::RowTooLong { found, expected }),
            };
            return Err(at.at(line, Some(column), kind));
        }
        for (column, field) in record.iter().enumerate() {
            let cell_error = |kind| at.at(line, Some(column), kind);
            let value = parse_number(field).map_err(cell_error)?;
            match self.task {
                _ if column < self.inputs => out.x.push(value),
                Task::Classification { classes } => out
                    .classes
                    .push(parse_class(value, field, classes).map_err(cell_error)?),
                Task::Regression { .. } => out.values.push(value),
            }
        }
        out.rows += 1;
        Ok(())
    }

    #[allow(clippy::expect_used)] // invariant: parse_row pushes a full row or returns an error
    fn finish(
        self,
        at: &Locator,
        samples: Option<usize>,
        columns: Columns,
    ) -> Result<Dataset<f64>, CsvError> {
        let rows = columns.rows;
        if rows == 0 {
            return Err(at.at(self.header_line, None, CsvErrorKind::HeaderOnly));
        }
        if let Some(wanted) = samples.filter(|&wanted| wanted > rows) {
            return Err(CsvError::file(
                at.path,
                CsvErrorKind::TooFewRows {
                    found: rows,
                    wanted,
                },
            ));
        }
        let invariant = "parse_row pushes exactly `inputs` values and the targets for every row";
        let x = Array2::from_shape_vec((rows, self.inputs), columns.x).expect(invariant);
        let targets = match self.task {
            Task::Classification { .. } => Targets::Classes(columns.classes),
            Task::Regression { outputs } => Targets::Values(
                Array2::from_shape_vec((rows, outputs), columns.values).expect(invariant),
            ),
        };
        Ok(Dataset {
            x,
            targets,
            task: self.task,
        })
    }
}

fn parse_number(field: &str) -> Result<f64, CsvErrorKind> {
    match field.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(CsvErrorKind::NonFinite(field.to_owned())),
        Err(_) => Err(CsvErrorKind::NotANumber(field.to_owned())),
    }
}

fn parse_class(value: f64, field: &str, classes: usize) -> Result<usize, CsvErrorKind> {
    if value.fract() != 0.0 {
        return Err(CsvErrorKind::NotAClass(field.to_owned()));
    }
    match value >= 0.0 && value < classes as f64 {
        true => Ok(value as usize),
        false => Err(CsvErrorKind::ClassOutOfRange {
            found: field.to_owned(),
            last: classes.saturating_sub(1),
        }),
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
