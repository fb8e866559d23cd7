//! Collecting every problem with a request, each at its location.

use serde_json::Value;
use w2meet_platform::ErrorDetail;

/// Where a request's parameters came from: the first element of every
/// error location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Query,
    Body,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Query => "query",
            Source::Body => "body",
        }
    }
}

/// One `value_error` at `[source, path...]`.
pub(crate) fn detail(source: Source, path: &[&str], msg: impl Into<String>) -> ErrorDetail {
    ErrorDetail::new(
        std::iter::once(source.as_str()).chain(path.iter().copied()),
        msg,
        "value_error",
    )
}

/// The problems found so far in one request.
#[derive(Debug)]
pub(crate) struct Problems {
    source: Source,
    found: Vec<ErrorDetail>,
}

impl Problems {
    pub(crate) fn new(source: Source) -> Self {
        Self {
            source,
            found: Vec::new(),
        }
    }

    pub(crate) fn source(&self) -> Source {
        self.source
    }

    pub(crate) fn len(&self) -> usize {
        self.found.len()
    }

    pub(crate) fn push(&mut self, path: &[&str], msg: impl Into<String>) {
        self.found.push(detail(self.source, path, msg));
    }

    pub(crate) fn push_at(&mut self, path: Vec<String>, msg: impl Into<String>) {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        self.push(&path, msg);
    }

    /// A whole number (JSON number or digit string) in `field`; a malformed
    /// one is reported and read as absent.
    pub(crate) fn whole_number(&mut self, field: &'static str, v: Option<&Value>) -> Option<u64> {
        scheduling::whole_number(field, v)
            .map_err(|e| self.push(&[field], e.to_string()))
            .ok()
            .flatten()
    }

    /// The value of a core parameter check, or its error reported under
    /// `field`.
    pub(crate) fn accept<T>(
        &mut self,
        field: &str,
        checked: Result<T, scheduling::ParamError>,
    ) -> Option<T> {
        checked.map_err(|e| self.push(&[field], e.to_string())).ok()
    }

    /// `parsed` if nothing was found, else every problem.
    pub(crate) fn finish<T>(self, parsed: Option<T>) -> Result<T, Vec<ErrorDetail>> {
        match parsed {
            Some(v) if self.found.is_empty() => Ok(v),
            _ => Err(self.found),
        }
    }
}
