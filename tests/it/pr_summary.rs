//! `stabcheck scenario --summary FILE`: the markdown parses (pulldown-cmark, GitHub's table
//! extension) and holds the verdict, the failed gates and the first finding with its fix; text
//! from records is escaped so it can neither break the table nor inject HTML.

use assert_cmd::Command;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use stabcheck::record::Record as _;
use stabcheck::record::RunRecord;
use stabcheck::record::markdown::{SummaryFacts, escape, summary_markdown};
use tempfile::TempDir;

/// `(heading texts by level, table cell texts, plain text, code spans, whether any HTML)`.
struct Parsed {
    headings: Vec<(HeadingLevel, String)>,
    cells: Vec<String>,
    text: String,
    code: Vec<String>,
    html: bool,
}

fn parse(md: &str) -> Parsed {
    let mut p = Parsed {
        headings: vec![],
        cells: vec![],
        text: String::new(),
        code: vec![],
        html: false,
    };
    let (mut heading, mut cell): (Option<(HeadingLevel, String)>, Option<String>) = (None, None);
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => p.headings.extend(heading.take()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => p.cells.extend(cell.take()),
            Event::Code(t) => {
                p.code.push(t.to_string());
                push(&mut p.text, &mut heading, &mut cell, &t);
            }
            Event::Text(t) => push(&mut p.text, &mut heading, &mut cell, &t),
            Event::Html(_) | Event::InlineHtml(_) => p.html = true,
            _ => {}
        }
    }
    p
}

fn push(
    text: &mut String,
    heading: &mut Option<(HeadingLevel, String)>,
    cell: &mut Option<String>,
    t: &str,
) {
    for s in [heading.as_mut().map(|h| &mut h.1), cell.as_mut()]
        .into_iter()
        .flatten()
    {
        s.push_str(t);
    }
    text.push_str(t);
}

fn scenario(name: &str, dir: &TempDir) -> (Option<i32>, String, RunRecord) {
    let summary = dir.path().join("summary.md");
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args(["scenario", name, "--summary"])
        .arg(&summary)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let md = std::fs::read_to_string(&summary).unwrap();
    (
        out.status.code(),
        md,
        RunRecord::read(&dir.path().join("run.json")).unwrap(),
    )
}

#[test]
fn a_failing_run_summary_holds_the_verdict_the_failed_gate_and_the_first_finding_with_its_fix() {
    let dir = TempDir::new().unwrap();
    let (code, md, record) = scenario("gpt-adam-eps-large", &dir);
    assert_eq!(code, Some(1));
    let p = parse(&md);
    assert!(!p.html, "{md}");
    let (level, title) = &p.headings[0];
    assert_eq!(*level, HeadingLevel::H2);
    assert!(
        title.contains("gpt-adam-eps-large") && title.contains("FAIL (no progress)"),
        "{title}"
    );
    assert!(
        p.cells
            .windows(2)
            .any(|w| w[0] == "min_grad_rms_over_eps" && w[1] == "failed"),
        "{:?}",
        p.cells
    );
    let verdict = record.verdict.unwrap();
    let first = verdict.errors().next().unwrap();
    assert!(
        p.headings.iter().any(|h| h.1.contains("adam-epsilon")),
        "{:?}",
        p.headings
    );
    assert!(
        p.text.contains(&first.summary),
        "the summary text survives escaping:\n{md}"
    );
    let fix = &first.suggestion.as_ref().unwrap().set[0];
    assert!(
        p.code.iter().any(|c| c.contains(fix.as_str())),
        "{:?}",
        p.code
    );
    assert!(
        p.text
            .contains(&dir.path().join("index.html").display().to_string())
    );
}

#[test]
fn a_passing_run_summary_says_pass_and_lists_no_gate_table() {
    let dir = TempDir::new().unwrap();
    let (code, md, _) = scenario("tiny-gpt-fast", &dir);
    assert_eq!(code, Some(0));
    let p = parse(&md);
    assert!(p.headings[0].1.contains("PASS"), "{md}");
    assert!(p.cells.is_empty(), "{md}");
}

#[test]
fn record_text_cannot_break_the_table_or_inject_html() {
    let nasty = "a | b <script>alert(1)</script> *bold* _x_ `code` [link](http://x) # h\nnext";
    let p = parse(&format!("| h |\n|---|\n| {} |\n", escape(nasty)));
    assert!(!p.html);
    assert_eq!(p.cells, ["h", &nasty.replace('\n', " ")]);
    // And through the whole summary: an empty verdict still names the scenario, escaped.
    let v = passing_verdict();
    let facts = SummaryFacts {
        scenario: "<b>x</b>",
        steps: 0,
        initial_loss: f64::NAN,
        final_loss: f64::NAN,
        report: None,
        diff: None,
    };
    let p = parse(&summary_markdown(&v, &facts));
    assert!(!p.html && p.headings[0].1.contains("<b>x</b>"));
}

/// With `--baseline`, the summary adds the diff: a passing verdict with a failed diff heads as a
/// failure against the baseline, the first excursion is named, the others are a table, and
/// layers only one side has are listed.
#[test]
fn the_summary_holds_the_diff_against_the_baseline() {
    use stabcheck::record::diff::{DiffRecord, DiffStat, Excursion};
    let excursion = |stat, layer: &str, ratio| Excursion {
        stat,
        layer: Some(layer.to_string()),
        first_steps: [0, 0],
        excess: -2.5,
        ratio,
        max_excess: 2.5,
    };
    let first = excursion(DiffStat::WeightNorm, "layer 3", 0.5);
    let diff = DiffRecord {
        schema: 1,
        baseline_seeds: vec![1, 2, 3, 4, 5],
        head_seed: 9,
        max_regression: 1.0,
        max_excess: 2.5,
        half_width: 30.0,
        std_floor: 0.01,
        windows: vec![[0, 0]],
        added_layers: vec!["blocks.4.attn.qkv".to_string()],
        removed_layers: vec![],
        excursions: vec![
            first.clone(),
            excursion(DiffStat::UpdateRatio, "layer 3", 1.9),
        ],
        first: Some(first),
        passed: false,
        overlays: vec![],
    };
    let v = passing_verdict();
    let facts = SummaryFacts {
        scenario: "deep-mlp",
        steps: 300,
        initial_loss: 2.5,
        final_loss: 1.0,
        report: None,
        diff: Some(&diff),
    };
    let p = parse(&summary_markdown(&v, &facts));
    assert!(
        p.headings[0].1.contains("FAIL (against the baseline)"),
        "{:?}",
        p.headings
    );
    assert!(p.headings.iter().any(|h| h.1 == "Against the baseline"));
    assert!(
        p.text
            .contains("First: layer 3 weight_norm at steps 0-0, 0.5x the baseline"),
        "{}",
        p.text
    );
    assert!(p.code.iter().any(|c| c == "update_ratio") && p.cells.iter().any(|c| c == "layer 3"));
    assert!(
        p.text
            .contains("Layers only in the head: blocks.4.attn.qkv"),
        "{}",
        p.text
    );
    assert!(!p.html);
}

/// A passing verdict with no gates and no findings.
fn passing_verdict() -> stabcheck::diagnose::Verdict {
    stabcheck::diagnose::Verdict {
        status: stabcheck::diagnose::Status::Pass,
        outcome: stabcheck::diagnose::Outcome::Stable,
        gates: vec![],
        findings: vec![],
    }
}
