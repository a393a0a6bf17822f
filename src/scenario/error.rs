//! The scenario error: where (origin, line, column, dotted key) and what (a typed kind).

use std::fmt;

use thiserror::Error;

/// A 1-based position in a scenario's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes).
    pub column: usize,
}

/// A scenario that could not be read, parsed or validated.
///
/// `Display` is one line: `scenarios/x.toml:12:9: model.width = -3 is not allowed: expected an
/// integer >= 1`. The line and column are absent only when the problem has no place in a text
/// (an unreadable file, a `--set` override, an unknown scenario name).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    /// Boxed so that `Result<_, ScenarioError>` stays one pointer wide on the success path.
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    origin: String,
    location: Option<Location>,
    key: Option<String>,
    kind: ScenarioErrorKind,
}

/// What went wrong. `found` is the offending value as written (TOML syntax); `expected` and
/// `allowed` say what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScenarioErrorKind {
    /// The file could not be read (missing, a directory, no permission, ...).
    Read {
        /// The operating system's error class.
        io_kind: std::io::ErrorKind,
        /// The operating system's message.
        reason: String,
    },
    /// The file is larger than scenario files may be.
    TooLarge {
        /// Bytes read before giving up (at least `limit + 1`).
        bytes: u64,
        /// The size limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text; the location points at the first invalid byte.
    NotUtf8,
    /// The text is not valid TOML (message from the TOML parser), or the TOML reader refused it
    /// for a reason that has no more specific kind.
    Syntax {
        /// The parser's description of the problem.
        message: String,
    },
    /// A key that no scenario table has.
    UnknownKey {
        /// The nearest valid key, when one is close enough to be a likely typo.
        suggestion: Option<String>,
        /// Every key valid in this table.
        allowed: Vec<String>,
    },
    /// A required key is absent.
    MissingKey {
        /// What the key should hold, and why it is required here.
        expected: String,
    },
    /// A value of the wrong TOML type (a string where an integer belongs, ...).
    WrongType {
        /// The value as written.
        found: String,
        /// The type that belongs here.
        expected: String,
    },
    /// A string that is not one of the choices of this key.
    UnknownChoice {
        /// The value as written.
        found: String,
        /// Every accepted value.
        allowed: Vec<String>,
        /// The nearest accepted value, when one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// A value of the right type outside the allowed range.
    OutOfRange {
        /// The value as written (or the default, marked as such).
        found: String,
        /// The allowed range, in words.
        expected: String,
    },
    /// A value that is fine alone but not together with another key.
    Conflict {
        /// The value as written.
        found: String,
        /// Which other key forbids it, and what to do instead.
        reason: String,
    },
    /// `resolve` was given a name that is neither a built-in scenario nor an existing file.
    UnknownScenario {
        /// Names of the built-in scenarios.
        builtins: Vec<String>,
        /// The built-in name nearest to a likely typo (`deep-mpl` → `deep-mlp`).
        suggestion: Option<String>,
        /// The target looks like a path (has a `/` or ends in `.toml`): it names a missing file.
        looks_like_path: bool,
    },
    /// A command-line override that cannot be applied.
    BadOverride {
        /// The override as given.
        found: String,
        /// What an override must look like.
        expected: String,
    },
}

impl ScenarioError {
    /// An error about `key` (dotted, e.g. `model.width`) in `origin`, at `location` if known.
    pub fn new(
        origin: impl Into<String>,
        location: Option<Location>,
        key: Option<String>,
        kind: ScenarioErrorKind,
    ) -> Self {
        let inner = Inner {
            origin: origin.into(),
            location,
            key,
            kind,
        };
        Self {
            inner: Box::new(inner),
        }
    }

    /// The file path, `<name> (built-in)`, or the `--set` argument the error comes from.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }
    /// 1-based line, when the error has a place in a text.
    pub fn line(&self) -> Option<usize> {
        self.inner.location.map(|l| l.line)
    }
    /// 1-based column (in characters), when the error has a place in a text.
    pub fn column(&self) -> Option<usize> {
        self.inner.location.map(|l| l.column)
    }
    /// The dotted key the error is about (`model.width`, `optimizer.groups[0].layers`).
    pub fn key(&self) -> Option<&str> {
        self.inner.key.as_deref()
    }
    /// What went wrong.
    pub fn kind(&self) -> &ScenarioErrorKind {
        &self.inner.kind
    }

    /// The same error reported against another origin with no text position (overrides).
    pub(crate) fn relocated(mut self, origin: String) -> Self {
        self.inner.origin = origin;
        self.inner.location = None;
        self
    }

    fn render(&self) -> String {
        let place = match self.inner.location {
            Some(Location { line, column }) => format!("{}:{line}:{column}", self.inner.origin),
            None => self.inner.origin.clone(),
        };
        format!("{place}: {}", Body(self))
    }
}

/// The sentence after `origin:line:column: `.
struct Body<'a>(&'a ScenarioError);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.0.key().unwrap_or("the value");
        match self.0.kind() {
            ScenarioErrorKind::Read { reason, .. } => write!(f, "cannot read the file: {reason}"),
            ScenarioErrorKind::TooLarge { bytes, limit } => write!(
                f,
                "the file has more than {limit} bytes (read {bytes}); scenario files are limited to 1 MiB"
            ),
            ScenarioErrorKind::NotUtf8 => write!(
                f,
                "the file is not UTF-8 text (invalid byte here); save it as UTF-8"
            ),
            ScenarioErrorKind::Syntax { message } => match self.0.key() {
                Some(key) => write!(f, "TOML syntax error in `{key}`: {message}"),
                None => write!(f, "TOML syntax error: {message}"),
            },
            ScenarioErrorKind::UnknownKey {
                suggestion,
                allowed,
            } => unknown_key(f, key, suggestion.as_deref(), allowed),
            ScenarioErrorKind::MissingKey { expected } => {
                write!(f, "missing required key `{key}`: expected {expected}")
            }
            ScenarioErrorKind::WrongType { found, expected } => {
                write!(f, "{key} = {found} has the wrong type: expected {expected}")
            }
            ScenarioErrorKind::UnknownChoice {
                found,
                allowed,
                suggestion,
            } => unknown_choice(f, key, found, suggestion.as_deref(), allowed),
            ScenarioErrorKind::OutOfRange { found, expected } => {
                write!(f, "{key} = {found} is not allowed: expected {expected}")
            }
            ScenarioErrorKind::Conflict { found, reason } => {
                write!(f, "{key} = {found} is not allowed: {reason}")
            }
            ScenarioErrorKind::UnknownScenario {
                suggestion: Some(name),
                ..
            } => write!(
                f,
                "no such built-in scenario or file; did you mean `{name}`? (`stabcheck list` shows them all)"
            ),
            ScenarioErrorKind::UnknownScenario {
                looks_like_path: true,
                ..
            } => write!(
                f,
                "no such file (`stabcheck list` shows the built-in scenarios)"
            ),
            ScenarioErrorKind::UnknownScenario { builtins, .. } => write!(
                f,
                "this is neither a built-in scenario ({}) nor an existing file",
                backticked(builtins)
            ),
            ScenarioErrorKind::BadOverride { found, expected } => {
                write!(f, "cannot apply override `{found}`: expected {expected}")
            }
        }
    }
}

fn unknown_key(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    suggestion: Option<&str>,
    allowed: &[String],
) -> fmt::Result {
    write!(f, "unknown key `{key}`")?;
    if let Some(s) = suggestion {
        write!(f, "; did you mean `{s}`?")?;
    }
    write!(f, " Allowed keys here: {}", backticked(allowed))
}

fn unknown_choice(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    found: &str,
    suggestion: Option<&str>,
    allowed: &[String],
) -> fmt::Result {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    let allowed = quoted.join(", ");
    write!(
        f,
        "{key} = {found} is not allowed: expected one of {allowed}"
    )?;
    match suggestion {
        Some(s) => write!(f, "; did you mean \"{s}\"?"),
        None => Ok(()),
    }
}

fn backticked(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
#[path = "error_unit_tests.rs"]
mod tests;
