//! The page's two tables of record: the first non-finite value with its inputs' statistics, and
//! every gate with its measured value and limit.

use std::fmt::Write as _;

use html_escape::encode_text as esc;

use crate::record::text::fmt;
use crate::record::trace::NanOrigin;
use crate::record::verdict::{GateStatus, Verdict};

pub(super) fn origin(out: &mut String, o: &NanOrigin) {
    let layer = match (&o.module, o.layer) {
        (Some(module), Some(l)) => format!("layer {l} ({module})"),
        (_, l) => l.map_or("the loss".to_string(), |l| format!("layer {l}")),
    };
    let _ = write!(
        out,
        "<section><h2>First non-finite value</h2><p class=\"summary\">{} at step {}, {}, op \
         <code>{}</code> ({:?} phase)</p><p>{}</p><table><tr><th>input</th><th>shape</th>\
         <th>min</th><th>max</th><th>max |x|</th><th>mean</th><th>non-finite</th></tr>",
        esc(&o.value),
        o.step,
        esc(&layer),
        esc(&o.op),
        o.phase,
        esc(&o.explanation)
    );
    for (i, t) in o.inputs.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{i}</td><td>{}×{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.rows,
            t.cols,
            fmt(t.min),
            fmt(t.max),
            fmt(t.max_abs),
            fmt(t.mean),
            t.nonfinite
        );
    }
    out.push_str("</table></section>\n");
}

pub(super) fn gates(out: &mut String, v: &Verdict) {
    out.push_str("<section><h2>Gates</h2><table><tr><th>gate</th><th>result</th><th>measured</th><th>limit</th><th>what it checks</th></tr>");
    for g in &v.gates {
        let class = match g.status {
            GateStatus::Pass => "ok",
            GateStatus::Fail => "bad",
            GateStatus::NotJudged => "unjudged",
        };
        let word = match &g.reason {
            Some(reason) => format!("not judged: {reason}"),
            None => g.word().to_string(),
        };
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            g.gate.key(),
            esc(&word),
            fmt(g.measured),
            fmt(g.threshold),
            esc(&g.description)
        );
    }
    out.push_str("</table></section>\n");
}
