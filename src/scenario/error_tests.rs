//! Every class of bad input yields an error naming the file, line, column and key; line and
//! column numbers are counted by hand from the test texts (values start after `key = `).

use super::*;

fn fails(text: &str) -> ScenarioError {
    match parse_str(text, "x.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// `text` fails at `line:column` about `key`, and the message contains `needle`.
fn assert_fails(text: &str, line: usize, column: usize, key: &str, needle: &str) {
    let err = fails(text);
    let shown = err.to_string();
    assert_eq!(
        (err.line(), err.column()),
        (Some(line), Some(column)),
        "{shown}"
    );
    assert_eq!(err.key(), Some(key), "{shown}");
    let prefix = format!("x.toml:{line}:{column}: ");
    assert!(shown.starts_with(&prefix), "{shown}");
    assert!(shown.contains(needle), "{shown:?} lacks {needle:?}");
}

#[test]
fn syntax_error_is_located() {
    let err = fails("name = \"t\"\n[model]\nwidth = \n");
    assert!(
        matches!(err.kind(), ScenarioErrorKind::Syntax { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("x.toml:3:9: TOML syntax error"),
        "{err}"
    );
    let err = fails("name = \"t\"\nname = \"u\"\n");
    assert_eq!(
        err.to_string(),
        "x.toml:2:1: TOML syntax error: duplicate key `name`"
    );
}

#[test]
fn misspelt_key_suggests_the_nearest() {
    let err = fails("name = \"t\"\n\n[model]\ndepth = 4\nwidht = 64\n");
    let shown = err.to_string();
    assert!(
        shown.starts_with("x.toml:5:1: unknown key `model.widht`; did you mean `width`?"),
        "{shown}"
    );
    assert!(
        shown.contains("Allowed keys here: `depth`, `width`, `hidden`"),
        "{shown}"
    );
    assert_fails(
        "name = \"t\"\nnmae = 1\n",
        2,
        1,
        "nmae",
        "did you mean `name`?",
    );
    assert_fails(
        "name = \"t\"\n[modle]\n",
        2,
        2,
        "modle",
        "did you mean `model`?",
    );
    let moved = "name = \"t\"\n[model]\nlr = 0.1\n";
    assert_fails(moved, 3, 1, "model.lr", "did you mean `optimizer.lr`?");
}

#[test]
fn wrong_types_name_the_expected_type() {
    let err = fails("name = \"t\"\n[model]\nwidth = \"big\"\n");
    assert_eq!(
        err.to_string(),
        "x.toml:3:9: model.width = \"big\" has the wrong type: expected an integer"
    );
    let flag = "name = \"t\"\n[model]\nresidual = 1\n";
    assert_fails(flag, 3, 12, "model.residual", "expected true or false");
    let table = "name = \"t\"\nmodel = 3\n";
    assert_fails(table, 2, 9, "model", "expected a table");
    let short = "name = \"t\"\n[optimizer]\nbetas = [0.9]\n";
    assert_fails(
        short,
        3,
        9,
        "optimizer.betas",
        "expected an array of length 2",
    );
}

#[test]
fn out_of_range_sizes_say_what_is_allowed() {
    let err = fails("name = \"t\"\n[model]\nwidth = -3\n");
    let expected = "x.toml:3:9: model.width = -3 is not allowed: expected an integer >= 1";
    assert_eq!(err.to_string(), expected);
    let err = fails("name = \"t\"\n[data]\nbatch = 0\n");
    let expected = "x.toml:3:9: data.batch = 0 is not allowed: expected an integer >= 1";
    assert_eq!(err.to_string(), expected);
    let err = fails("name = \"t\"\n[data]\nsamples = 100\nbatch = 128\n");
    assert_eq!(
        err.to_string(),
        "x.toml:4:9: data.batch = 128 is not allowed: expected an integer in 1..=data.samples (100)"
    );
    // The default batch (64) is too large: the error points at the samples that make it so.
    let err = fails("name = \"t\"\n[data]\nsamples = 32\n");
    assert_eq!(
        err.to_string(),
        "x.toml:3:11: data.batch = 64 (the default) is not allowed: expected an integer in 1..=data.samples (32)"
    );
}

#[test]
fn learning_rate_must_be_finite_and_positive() {
    for lr in ["nan", "inf", "+inf", "-inf", "0", "0.0", "-1e-3"] {
        let text = format!("name = \"t\"\n\n[optimizer]\nkind = \"sgd\"\nlr = {lr}\n");
        let err = fails(&text);
        let expected =
            format!("x.toml:5:6: optimizer.lr = {lr} is not allowed: expected a finite number > 0");
        assert_eq!(err.to_string(), expected);
    }
    let huge = parse_str("name = \"t\"\n[optimizer]\nlr = 1e30\n", "x.toml").unwrap();
    assert_eq!(huge.optimizer.lr, 1e30);
}

#[test]
fn bad_choice_lists_the_allowed_values() {
    let err = fails("name = \"t\"\n[model]\nactivation = \"relux\"\n");
    assert_eq!(
        err.to_string(),
        "x.toml:3:14: model.activation = \"relux\" is not allowed: expected one of \"relu\", \
         \"leaky-relu\", \"gelu\", \"tanh\", \"sigmoid\", \"softplus\", \"identity\"; did you mean \"relu\"?"
    );
    let loss = "name = \"t\"\n[loss]\nkind = \"crossentropy\"\n";
    assert_fails(loss, 3, 8, "loss.kind", "did you mean \"cross-entropy\"?");
}

#[test]
fn names_are_lowercase_words() {
    let err = fails("name = \"Deep-MLP\"\n");
    assert_eq!(
        err.to_string(),
        "x.toml:1:8: name = \"Deep-MLP\" is not allowed: expected 1 to 64 lowercase letters, \
         digits or '-' ([a-z0-9-]+), as it names the report folder"
    );
    assert_fails("name = \"\"\n", 1, 8, "name", "[a-z0-9-]+");
    assert_fails("name = \"a b\"\n", 1, 8, "name", "[a-z0-9-]+");
}

#[test]
fn csv_needs_a_path_and_others_refuse_one() {
    let err = fails("name = \"t\"\n[data]\nkind = \"csv\"\nclasses = 3\n");
    assert_eq!(
        err.to_string(),
        "x.toml:3:8: missing required key `data.path`: expected the CSV file to read \
         (required when data.kind = \"csv\")"
    );
    let teacher = "name = \"t\"\n[data]\npath = \"x.csv\"\n";
    assert_fails(teacher, 3, 8, "data.path", "only csv data reads a file");
    let no_task = "name = \"t\"\n[data]\nkind = \"csv\"\npath = \"x.csv\"\n";
    assert_fails(
        no_task,
        3,
        8,
        "data.classes",
        "missing required key `data.classes`",
    );
}

#[test]
fn required_keys_are_name_and_group_layers() {
    let expected = "x.toml:1:1: missing required key `name`: expected the scenario name, \
                    [a-z0-9-]+ (the only required top-level key)";
    assert_eq!(fails("").to_string(), expected);
    assert_eq!(fails("\n# only a comment\n").to_string(), expected);
    let group = "name = \"t\"\n[[optimizer.groups]]\nlr_scale = 2.0\n";
    assert_fails(
        group,
        2,
        1,
        "optimizer.groups[0].layers",
        "missing required key",
    );
}
