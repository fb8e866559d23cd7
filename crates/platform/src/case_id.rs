//! The Case-ID: one id that follows a request through every service, queue
//! and log line.
//!
//! A client may send `Case-ID` (matched case-insensitively, as all HTTP
//! headers are). A valid one — 1 to 128 characters of `A-Z a-z 0-9 . _ : -` —
//! is kept; anything else is replaced with a fresh UUID and the replacement is
//! logged. tower-http's request-id layers set and echo the header; they trust
//! whatever arrives, so [`sanitize_case_id`] runs in front of them.

use std::fmt;

use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderName, HeaderValue, request::Parts};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header that carries the Case-ID, in every request, response and
/// outbound call.
pub const CASE_ID_HEADER: HeaderName = HeaderName::from_static("case-id");

/// Longest Case-ID kept as it is; longer ones are replaced.
pub const MAX_CASE_ID_LEN: usize = 128;

/// A validated Case-ID.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CaseId(String);

impl CaseId {
    /// Accepts 1–128 characters of `A-Z a-z 0-9 . _ : -`.
    pub fn parse(s: &str) -> Option<CaseId> {
        let ok = !s.is_empty()
            && s.len() <= MAX_CASE_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then(|| CaseId(s.to_owned()))
    }

    /// A fresh id (a UUID v4).
    pub fn generate() -> CaseId {
        CaseId(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a header value (always valid: the charset is a subset of
    /// visible ASCII).
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).expect("case ids are visible ASCII")
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseId({})", self.0)
    }
}

/// Marks a request whose incoming Case-ID was invalid and dropped, so the
/// replacement can be logged inside the request's span.
#[derive(Clone, Debug)]
pub struct ReplacedCaseId {
    /// Length in bytes of what the client sent (the value itself is not
    /// logged: it may be huge or binary).
    pub original_len: usize,
}

/// Drops an invalid incoming Case-ID so that [`MakeCaseId`] replaces it.
/// Runs before tower-http's `SetRequestIdLayer`.
pub fn sanitize_case_id(mut req: Request) -> Request {
    let invalid_len = req.headers().get(&CASE_ID_HEADER).and_then(|v| {
        let valid = v.to_str().ok().and_then(CaseId::parse).is_some();
        (!valid).then(|| v.len())
    });
    if let Some(original_len) = invalid_len {
        req.headers_mut().remove(&CASE_ID_HEADER);
        req.extensions_mut().insert(ReplacedCaseId { original_len });
    }
    req
}

/// Makes a fresh Case-ID for requests that arrive without a valid one.
#[derive(Clone, Copy, Default)]
pub struct MakeCaseId;

impl MakeRequestId for MakeCaseId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        Some(RequestId::new(CaseId::generate().header_value()))
    }
}

/// The request's Case-ID, as set by the platform layers. Handlers take it to
/// put in response bodies and outbound calls.
impl<S: Send + Sync> FromRequestParts<S> for CaseId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(case_id_of(parts))
    }
}

/// The Case-ID of a request's parts; a fresh one if the layers are missing
/// (only in handler unit tests).
pub fn case_id_of(parts: &Parts) -> CaseId {
    parts
        .headers
        .get(&CASE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(CaseId::parse)
        .unwrap_or_else(CaseId::generate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_kept() {
        for s in ["a", "abc-123", "A.b_c:d-e", &"x".repeat(128)] {
            assert_eq!(CaseId::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn invalid_ids_are_refused() {
        for s in [
            "",
            " ",
            "a b",
            "ü",
            "a/b",
            "a\"b",
            &"x".repeat(129),
            "<script>",
        ] {
            assert!(CaseId::parse(s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn generated_ids_are_valid() {
        let id = CaseId::generate();
        assert!(CaseId::parse(id.as_str()).is_some());
    }
}
