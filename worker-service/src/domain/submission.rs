//! `POST /tasks` bodies: the original `{"userId1","userId2","preference"}`
//! and the full `{"users":[...], ...suggestion parameters}`, parsed into one
//! [`Submission`] with the same parser suggestion-service uses
//! (`w2meet_group::SuggestionRequest`): a body the synchronous endpoint
//! refuses with 400 is refused here with the same 400, before any job
//! exists. Only what needs user-service (do these people exist?) is left
//! to the job.

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use w2meet_group::{SuggestBody, SuggestionRequest};
use w2meet_platform::ErrorDetail;

use crate::domain::job::JobKind;

/// What a client may send: suggestion-service's body plus `callback_url`.
/// Unknown fields are refused, so a misspelt parameter is a 400, not a
/// silently ignored option.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TaskInput {
    #[serde(flatten)]
    pub suggestion: SuggestBody,
    /// Where to POST the finished job (http or https).
    pub callback_url: Option<String>,
    /// Book the best slot that can be had as a meeting: the worker tries
    /// the ranked candidates in order until meeting-service accepts one.
    pub book: Option<BookInput>,
    /// Every field, again: serde cannot tell a flattened struct's fields
    /// from the rest, so the unknown ones are those not in
    /// [`SuggestBody::has_field`] (refused).
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, Value>,
}

/// `book`: the meeting to make of the best slot that can be had.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    /// 1–200 characters.
    pub title: Option<String>,
    pub description: Option<String>,
    /// `private` (default) or `public`.
    pub visibility: Option<String>,
    /// Who organizes it; default the submitter (the token's subject).
    pub organizer: Option<String>,
}

/// Candidates asked for when a booking job names no `count`.
pub const BOOKING_CANDIDATES: u64 = 5;

/// A valid submission: what suggestion-service will receive, the shape of
/// the stored result, and where to report the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    kind: JobKind,
    request: Value,
    callback_url: Option<String>,
    /// `{"title","description","visibility","organizer"}`, checked; the
    /// organizer may still be missing (then it is the submitter).
    book: Option<Value>,
}

impl Submission {
    /// suggestion-service's `POST /suggestions` body, canonical (normalised
    /// emails, `users` as a list, defaults made explicit).
    pub fn request(&self) -> &Value {
        &self.request
    }

    /// Which result shape the job stores.
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    pub fn callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref()
    }

    /// What to book, for an auto-book job.
    pub fn book(&self) -> Option<&Value> {
        self.book.as_ref()
    }

    /// Checks every field and reports every problem at once.
    pub fn parse(input: TaskInput) -> Result<Submission, Vec<ErrorDetail>> {
        let original = is_original_body(&input.suggestion);
        let mut errors: Vec<ErrorDetail> = input
            .unknown
            .keys()
            .filter(|k| {
                !SuggestBody::has_field(k) && !matches!(k.as_str(), "callback_url" | "book")
            })
            .map(|k| ErrorDetail::new(["body", k.as_str()], "unknown field", "value_error"))
            .collect();
        let request = SuggestionRequest::from_body(input.suggestion)
            .map_err(|e| errors.extend(e))
            .ok();
        let callback_url = input
            .callback_url
            .as_deref()
            .and_then(|raw| parse_callback_url(raw).map_err(|e| errors.push(e)).ok());
        let book = input.book.as_ref().and_then(|b| parse_book(b, &mut errors));
        match request {
            Some(request) if errors.is_empty() => {
                let mut request = serde_json::to_value(request.to_body())
                    .expect("a suggestion body is plain JSON");
                // A booking needs candidates to fall back on.
                if book.is_some() && request["count"].is_null() {
                    request["count"] = Value::from(BOOKING_CANDIDATES);
                }
                Ok(Submission {
                    kind: if original && book.is_none() {
                        JobKind::OriginalSuggestion
                    } else {
                        JobKind::Suggestion
                    },
                    request,
                    callback_url,
                    book,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A callback URL: absolute, `http` or `https`, with a host.
pub fn parse_callback_url(raw: &str) -> Result<String, ErrorDetail> {
    match Url::parse(raw.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        _ => Err(ErrorDetail::new(
            ["body", "callback_url"],
            "callback_url must be an absolute http or https URL",
            "value_error",
        )),
    }
}

/// Checks `book`; its problems go to `errors`.
fn parse_book(b: &BookInput, errors: &mut Vec<ErrorDetail>) -> Option<Value> {
    let before = errors.len();
    let mut problem = |field: &str, msg: &str| {
        errors.push(ErrorDetail::new(
            ["body", "book", field],
            msg,
            "value_error",
        ));
    };
    let title = b.title.as_deref().map(str::trim).unwrap_or("");
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        problem(
            "title",
            "book.title is required: 1-200 characters, no control characters",
        );
    }
    if b.description
        .as_deref()
        .is_some_and(|d| d.chars().count() > 5000)
    {
        problem(
            "description",
            "book.description must be at most 5000 characters",
        );
    }
    let visibility = b
        .visibility
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase());
    if visibility
        .as_deref()
        .is_some_and(|v| v != "private" && v != "public")
    {
        problem("visibility", "book.visibility must be private or public");
    }
    let organizer = match b.organizer.as_deref().map(w2meet_group::Email::parse) {
        Some(Ok(e)) => Some(e.to_string()),
        Some(Err(msg)) => {
            problem("organizer", &msg);
            None
        }
        None => None,
    };
    (errors.len() == before).then(|| {
        serde_json::json!({
            "title": title,
            "description": b.description.clone().unwrap_or_default(),
            "visibility": visibility.unwrap_or_else(|| "private".to_owned()),
            "organizer": organizer,
        })
    })
}

/// The original job body: `userId1`, `userId2` and at most `preference`.
fn is_original_body(b: &SuggestBody) -> bool {
    let (g, r) = (&b.group, &b.rank);
    g.user_id1.is_some()
        && g.user_id2.is_some()
        && g.users.is_none()
        && g.from.is_none()
        && g.days.is_none()
        && g.tz.is_none()
        && g.required.is_none()
        && g.min_attendees.is_none()
        && r.duration.is_none()
        && r.count.is_none()
        && r.step.is_none()
        && r.seed.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Submission, Vec<ErrorDetail>> {
        Submission::parse(serde_json::from_value(v).expect("shape"))
    }

    fn fields(errs: &[ErrorDetail]) -> Vec<String> {
        errs.iter().map(|e| e.loc[1..].join(".")).collect()
    }

    #[test]
    fn the_original_form_becomes_a_two_user_group_with_the_original_result() {
        let s = parse(json!({"userId1": " A@x.io", "userId2": "b@x.io", "preference": "last"}))
            .expect("valid");
        assert_eq!(s.request()["users"], json!(["a@x.io", "b@x.io"]));
        assert_eq!(s.request()["preference"], "last");
        assert_eq!(s.kind(), JobKind::OriginalSuggestion);
        assert_eq!(s.callback_url(), None);
        let full = parse(json!({"users": ["a@x.io", "b@x.io"], "preference": "last"}));
        assert_eq!(full.expect("valid").kind(), JobKind::Suggestion);
    }

    #[test]
    fn the_full_form_keeps_its_parameters_and_collapses_duplicates() {
        let s = parse(json!({
            "users": ["a@x.io", "b@x.io", "A@X.io"], "duration": 30, "count": 3,
            "preference": "best", "step": 15, "seed": 7, "required": ["b@x.io"],
            "min_attendees": 2, "from": "2026-03-02", "days": 14, "tz": "Europe/Paris",
            "callback_url": "http://127.0.0.1:9/done"
        }))
        .expect("valid");
        let r = s.request();
        assert_eq!(r["users"], json!(["a@x.io", "b@x.io"]));
        assert_eq!(r["duration"], 30);
        assert_eq!(r["tz"], "Europe/Paris");
        assert_eq!(r["required"], json!(["b@x.io"]));
        assert_eq!(s.callback_url(), Some("http://127.0.0.1:9/done"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errs = parse(json!({
            "users": ["a@x.io", "not-an-email"], "duration": 7, "count": 0,
            "preference": "soonest", "from": "tomorrow", "tz": "Mars/Base",
            "callback_url": "ftp://x", "durations": 5
        }))
        .expect_err("invalid");
        let found = fields(&errs);
        for f in [
            "users.1",
            "duration",
            "count",
            "preference",
            "from",
            "tz",
            "callback_url",
            "durations",
        ] {
            assert!(found.iter().any(|x| x == f), "{f} missing from {found:?}");
        }
    }

    #[test]
    fn groups_must_have_two_distinct_users() {
        let errs = parse(json!({"userId1": "a@x.io", "userId2": "A@x.io"})).expect_err("one user");
        assert!(errs[0].msg.contains("got 1"), "{errs:?}");
        assert!(parse(json!({"userId1": "a@x.io"})).is_err());
        assert!(parse(json!({})).is_err());
        assert!(parse(json!({"users": []})).is_err());
        assert!(parse(json!({"users": ["a@x.io", "b@x.io"], "userId1": "c@x.io"})).is_err());
        let many: Vec<String> = (0..1001).map(|i| format!("u{i}@x.io")).collect();
        assert!(parse(json!({ "users": many })).is_err());
    }

    #[test]
    fn the_email_rule_is_user_services() {
        let errs = parse(json!({"users": ["a@x.io", "a@b"]})).expect_err("no dot");
        assert_eq!(fields(&errs), ["users.1"]);
    }
}
