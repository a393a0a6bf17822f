//! Unit tests of `core::data::csv`, in their own file to keep the module within the house size.

use super::*;
use std::io::Write;

/// Writes `content` to `<tempdir>/train.csv` and reads it (the dir lives through the call).
fn read_bytes(
    content: &[u8],
    task: Task,
    samples: Option<usize>,
) -> Result<Dataset<f64>, CsvError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("train.csv");
    File::create(&path)
        .and_then(|mut f| f.write_all(content))
        .expect("write temp csv");
    read(&path, task, None, samples)
}

/// Reads `content` as 3-class classification and checks the error names `train.csv` and `parts`.
fn assert_rejected(content: &[u8], parts: &[&str]) {
    let task = Task::Classification { classes: 3 };
    let message = read_bytes(content, task, None)
        .expect_err("a bad file")
        .to_string();
    for part in parts.iter().chain(&["train.csv"]) {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn reads_classification_with_inputs_first_and_the_class_last() {
    let text = b"x0, x1 ,label\n1.5,-2,0\n\n3e-1,4,2.0\r\n5,6,1\n";
    let data = read_bytes(text, Task::Classification { classes: 3 }, None).expect("valid");
    assert_eq!(data.x, ndarray::array![[1.5, -2.0], [0.3, 4.0], [5.0, 6.0]]);
    let Targets::Classes(labels) = data.targets else {
        panic!("classification targets")
    };
    assert_eq!(labels, vec![0, 2, 1]);
}

#[test]
fn reads_regression_from_the_last_outputs_columns_and_samples_as_a_prefix() {
    let text = b"a,b,c,y0,y1\n1,2,3,4,5\n6,7,8,9,10\n11,12,13,14,15\n";
    let data = read_bytes(text, Task::Regression { outputs: 2 }, Some(2)).expect("valid");
    assert_eq!(data.x, ndarray::array![[1.0, 2.0, 3.0], [6.0, 7.0, 8.0]]);
    let Targets::Values(y) = data.targets else {
        panic!("regression targets")
    };
    assert_eq!(y, ndarray::array![[4.0, 5.0], [9.0, 10.0]]);
}

#[test]
fn bad_cells_are_named_by_line_and_column() {
    assert_rejected(
        b"a,b,y\n1,2,0\n3,x,1\n",
        &["line 3, column 2 (`b`)", "found `x`"],
    );
    assert_rejected(b"a,b,y\n1,,0\n", &["line 2, column 2 (`b`)", "found ``"]);
    assert_rejected(
        b"a,b,y\n1,inf,0\n",
        &["line 2, column 2 (`b`): `inf` is not a finite"],
    );
    assert_rejected(
        b"a,b,y\n1,1e400,0\n",
        &["line 2, column 2 (`b`): `1e400` is not a finite"],
    );
    // Blank lines and CRLF still count: the NaN is on line 4.
    assert_rejected(
        b"a,b,y\r\n1,2,0\r\n\r\nNaN,2,0\r\n",
        &["line 4, column 1 (`a`): `NaN`"],
    );
    assert_rejected(
        b"a,b,y\n1,2,0\n1,2,\xff\n",
        &["line 3, column 3 (`y`)", "not valid UTF-8"],
    );
}

#[test]
fn bad_class_labels_are_named_by_line_and_column() {
    assert_rejected(
        b"a,b,y\n1,2,3\n",
        &["line 2, column 3 (`y`): class `3` is out", "0 to 2"],
    );
    assert_rejected(
        b"a,b,y\n1,2,-1\n",
        &["line 2, column 3 (`y`): class `-1` is out"],
    );
    assert_rejected(
        b"a,b,y\n1,2,0\n1,2,1.5\n",
        &["line 3, column 3 (`y`)", "integer class"],
    );
}

#[test]
fn ragged_rows_name_the_first_missing_or_extra_column() {
    assert_rejected(
        b"a,b,y\n1,2,0\n1,2\n",
        &["line 3, column 3 (`y`)", "ends after 2 fields"],
    );
    assert_rejected(
        b"a,b,y\n1,2,0,7\n",
        &["line 2, column 4: the row has 4 fields"],
    );
}

#[test]
fn empty_header_only_short_and_missing_files_are_rejected() {
    assert_rejected(b"", &["is empty"]);
    assert_rejected(b"a,b,y\n", &["line 1: the header has no data rows"]);
    let text = b"a,y0,y1\n1,2,3\n";
    let short = read_bytes(text, Task::Regression { outputs: 2 }, Some(5)).expect_err("short");
    assert!(
        short
            .to_string()
            .contains("train.csv: it has 1 data rows, but `data.samples` asks for 5")
    );
    let narrow = read_bytes(text, Task::Regression { outputs: 3 }, None).expect_err("narrow");
    assert!(
        narrow
            .to_string()
            .contains("train.csv, line 1: the header has 3 columns")
    );
    let path = Path::new("/nonexistent/dir/missing-data.csv");
    let missing = read(path, Task::Classification { classes: 2 }, None, None).expect_err("missing");
    assert!(
        missing
            .to_string()
            .contains("/nonexistent/dir/missing-data.csv: cannot read it")
    );
}

#[test]
fn input_columns_must_match_inputs_when_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("train.csv");
    std::fs::write(&path, b"a,b,y\n1,2,0\n").expect("write temp csv");
    let task = Task::Classification { classes: 3 };
    let message = read(&path, task, Some(3), None)
        .expect_err("wrong inputs")
        .to_string();
    assert!(
        message.contains("train.csv, line 1: the header has 2 input columns"),
        "{message}"
    );
    assert!(message.contains("`data.inputs` is 3"), "{message}");
    assert!(read(&path, task, Some(2), None).is_ok());
}
