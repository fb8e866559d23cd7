//! Watches (SPEC §10): "tell me when this group reaches a quorum". Pure:
//! the body a client sends, what an evaluation found ([`Outcome`]), which
//! change of outcome is an event ([`transition`]), the webhook body and its
//! signature ([`sign`]).
//!
//! # What counts as a change
//! A watch's outcome is suggestion-service's best meeting for the watch's
//! group and window (`preference=best`, one suggestion: the most attendees,
//! then the fewest who come only if need be, then the earliest), or none.
//! Compared with the last outcome stored:
//! - none → some: `quorum_reached`;
//! - some → none: `quorum_lost`;
//! - some → some, but another slot or other people in it (start, end,
//!   attendees, missing, if-need-be attendees): `best_slot_changed`;
//! - anything else (the same best meeting, or still none) is no event, so
//!   a change that does not alter the outcome fires nothing.
//!
//! # Signature
//! `W2Meet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
//! with the watch's secret (Stripe's scheme): a receiver recomputes it over
//! the raw body, compares in constant time, and refuses old timestamps to
//! stop replays. Every attempt is signed afresh; the body (and its
//! `event_id`) is the same in every attempt, so receivers deduplicate by
//! `event_id`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;
use w2meet_group::{SuggestBody, SuggestionRequest};
use w2meet_platform::ErrorDetail;

/// `POST /watches`: the group and window to watch, and where to report.
/// Unknown fields are refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchInput {
    /// 2–1000 emails.
    pub users: Option<Vec<String>>,
    /// First local date (`YYYY-MM-DD`); default the coming Monday.
    pub from: Option<String>,
    /// Days in the window (1–366), default 7.
    #[schema(value_type = Option<u32>)]
    pub days: Option<Value>,
    /// IANA zone of the window, default UTC.
    pub tz: Option<String>,
    /// Meeting length in minutes (5–1440, a multiple of 5). Required.
    #[schema(value_type = u32)]
    pub duration: Option<Value>,
    /// Minutes between candidate starts, default 30.
    #[schema(value_type = Option<u32>)]
    pub step: Option<Value>,
    /// The quorum (k of n), default everyone.
    #[schema(value_type = Option<u32>)]
    pub min_attendees: Option<Value>,
    /// Who must attend, default everyone.
    pub required: Option<Vec<String>>,
    /// Where events are POSTed (http or https). Required.
    pub callback_url: Option<String>,
}

/// A valid watch: what suggestion-service is asked at each evaluation
/// (the window fixed at creation) and when the watch ends.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSpec {
    /// suggestion-service's body: `preference=best`, `count=1`, the window
    /// resolved to real dates.
    pub request: Value,
    /// The members, normalised (change events are matched against them).
    pub users: Vec<String>,
    pub callback_url: String,
    /// The end of the window: the watch expires then.
    pub expires_at: DateTime<Utc>,
}

impl WatchSpec {
    /// Checks every field (the same rules as `/suggestions`, reported at
    /// once) and fixes the window as of `now`.
    pub fn parse(input: WatchInput, now: DateTime<Utc>) -> Result<WatchSpec, Vec<ErrorDetail>> {
        let mut errors = Vec::new();
        let required = |field: &str, errors: &mut Vec<ErrorDetail>| {
            errors.push(ErrorDetail::new(
                ["body", field],
                "field required",
                "missing",
            ));
        };
        if input.duration.is_none() {
            required("duration", &mut errors);
        }
        let callback_url = match input.callback_url.as_deref() {
            None => {
                required("callback_url", &mut errors);
                None
            }
            Some(raw) => super::submission::parse_callback_url(raw)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        let body = json!({
            "users": input.users, "from": input.from, "days": input.days, "tz": input.tz,
            "duration": input.duration, "step": input.step,
            "min_attendees": input.min_attendees, "required": input.required,
            "preference": "best", "count": 1,
        });
        let request = serde_json::from_value::<SuggestBody>(body)
            .map_err(|e| vec![ErrorDetail::new(["body"], e.to_string(), "type_error")])
            .and_then(SuggestionRequest::from_body)
            .map_err(|e| errors.extend(e))
            .ok();
        let window = request.as_ref().and_then(|r| {
            r.group
                .window(now)
                .map_err(|e| errors.push(e))
                .ok()
                .filter(|w| {
                    let open = w.end() > now;
                    if !open {
                        errors.push(ErrorDetail::new(
                            ["body", "from"],
                            "the window is already over",
                            "value_error",
                        ));
                    }
                    open
                })
        });
        match (request, window, callback_url) {
            (Some(request), Some(window), Some(callback_url)) if errors.is_empty() => {
                let mut body = serde_json::to_value(request.to_body())
                    .expect("a suggestion body is plain JSON");
                body["from"] = Value::from(window.from().to_string());
                body["days"] = Value::from(window.days());
                body["tz"] = Value::from(window.tz().name());
                Ok(WatchSpec {
                    users: request
                        .group
                        .members()
                        .iter()
                        .map(|e| e.to_string())
                        .collect(),
                    request: body,
                    callback_url,
                    expires_at: window.end(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// `request` as of `now`: its window without the days already over in
/// its zone (a watch's best meeting must be one that can still happen;
/// earlier today still counts), or `None` when the whole window is over or
/// the request is not one [`WatchSpec::parse`] made.
pub fn request_as_of(request: &Value, now: DateTime<Utc>) -> Option<Value> {
    let from =
        chrono::NaiveDate::parse_from_str(request.get("from")?.as_str()?, "%Y-%m-%d").ok()?;
    let days = i64::try_from(request.get("days")?.as_u64()?).ok()?;
    let tz: chrono_tz::Tz = request.get("tz")?.as_str()?.parse().ok()?;
    let today = now.with_timezone(&tz).date_naive();
    let past = (today - from).num_days().max(0);
    if past >= days {
        return None;
    }
    let mut current = request.clone();
    current["from"] = Value::from((from + chrono::Days::new(past as u64)).to_string());
    current["days"] = Value::from(days - past);
    Some(current)
}

/// What one evaluation found: the best meeting, if any (suggestion-service's
/// rich suggestion object, named as the watch's owner may see people).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// Whether a meeting meets the quorum with everyone required.
    pub quorum: bool,
    #[schema(value_type = Option<Object>)]
    pub best: Option<Value>,
}

impl Outcome {
    /// The outcome in suggestion-service's answer (`None` if it is not one).
    pub fn of_answer(answer: &Value) -> Option<Outcome> {
        let best = answer.get("suggestions")?.as_array()?.first().cloned();
        Some(Outcome {
            quorum: best.is_some(),
            best,
        })
    }

    /// What identifies the best meeting for [`transition`]: its time and
    /// who comes, named or counted (score and reason follow from those).
    fn key(&self) -> Option<[&Value; 8]> {
        self.best.as_ref().map(|b| {
            [
                "start",
                "end",
                "attendees",
                "missing",
                "if_need_be",
                "hidden_attendees",
                "hidden_missing",
                "hidden_if_need_be",
            ]
            .map(|f| b.get(f).unwrap_or(&Value::Null))
        })
    }
}

/// A change worth telling the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    QuorumReached,
    BestSlotChanged,
    QuorumLost,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::QuorumReached => "quorum_reached",
            EventType::BestSlotChanged => "best_slot_changed",
            EventType::QuorumLost => "quorum_lost",
        }
    }
}

/// The event that going from `before` to `after` makes, if any (module doc).
pub fn transition(before: &Outcome, after: &Outcome) -> Option<EventType> {
    match (before.quorum, after.quorum) {
        (false, true) => Some(EventType::QuorumReached),
        (true, false) => Some(EventType::QuorumLost),
        (true, true) if before.key() != after.key() => Some(EventType::BestSlotChanged),
        _ => None,
    }
}

/// The webhook body of the `seq`th event of `watch_id`.
pub fn event_body(
    event_id: Uuid,
    watch_id: Uuid,
    seq: i32,
    kind: EventType,
    before: &Outcome,
    after: &Outcome,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "event_id": event_id,
        "type": kind.as_str(),
        "watch_id": watch_id,
        "seq": seq,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "best_slot": after.best,
        "previous_best_slot": before.best,
    })
}

/// The header name of the signature.
pub const SIGNATURE_HEADER: &str = "w2meet-signature";

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "t.body")>` (module doc).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// A receiver's check of [`sign`]'s header: the right secret, the exact
/// body, and a timestamp within `tolerance_secs` of `now` (constant-time
/// comparison of the MAC).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let fresh = now
        .checked_sub(t)
        .is_some_and(|age| age.abs() <= tolerance_secs);
    if !fresh || v1.len() != 64 || !v1.is_ascii() {
        return false;
    }
    let Some(expected) = (0..32)
        .map(|i| u8::from_str_radix(&v1[2 * i..2 * i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A new watch secret: two v4 UUIDs as 64 hex characters — 244 random bits
/// from the operating system's generator.
pub fn new_secret() -> String {
    let mut out = String::with_capacity(64);
    for _ in 0..2 {
        for b in Uuid::new_v4().as_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2031-03-01T12:00:00Z".parse().expect("instant")
    }

    fn outcome(start: Option<&str>, attendees: &[&str]) -> Outcome {
        Outcome {
            quorum: start.is_some(),
            best: start.map(|s| json!({"start": s, "end": "x", "attendees": attendees, "missing": [], "score": 1.0})),
        }
    }

    #[test]
    fn a_watch_fixes_its_window_and_asks_for_the_best_meeting() {
        let input: WatchInput = serde_json::from_value(json!({
            "users": ["A@x.io", "b@x.io"], "duration": 60, "min_attendees": 2,
            "callback_url": "https://example.com/hook", "tz": "Europe/Berlin"
        }))
        .expect("shape");
        let spec = WatchSpec::parse(input, now()).expect("valid");
        assert_eq!(spec.users, ["a@x.io", "b@x.io"]);
        assert_eq!(spec.request["preference"], "best");
        assert_eq!(spec.request["count"], 1);
        // 2031-03-01 is a Saturday: the coming Monday is 3 March.
        assert_eq!(spec.request["from"], "2031-03-03");
        assert_eq!(spec.request["days"], 7);
        assert_eq!(spec.expires_at.to_rfc3339(), "2031-03-09T23:00:00+00:00");
    }

    #[test]
    fn every_problem_is_reported_and_a_past_window_is_refused() {
        let input: WatchInput =
            serde_json::from_value(json!({"users": ["a@x.io", "nope"], "callback_url": "ftp://x"}))
                .expect("shape");
        let errs = WatchSpec::parse(input, now()).expect_err("invalid");
        let fields: Vec<String> = errs.iter().map(|e| e.loc[1..].join(".")).collect();
        for f in ["duration", "callback_url", "users.1"] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
        let past: WatchInput = serde_json::from_value(json!({
            "users": ["a@x.io", "b@x.io"], "duration": 60, "from": "2031-02-01",
            "callback_url": "http://127.0.0.1:9/"
        }))
        .expect("shape");
        let errs = WatchSpec::parse(past, now()).expect_err("over");
        assert_eq!(errs[0].loc, ["body", "from"]);
        assert!(serde_json::from_value::<WatchInput>(json!({"usres": []})).is_err());
    }

    #[test]
    fn only_a_change_of_the_outcome_is_an_event() {
        let none = outcome(None, &[]);
        let nine = outcome(Some("09:00"), &["a", "b"]);
        let ten = outcome(Some("10:00"), &["a", "b"]);
        let nine_a = outcome(Some("09:00"), &["a"]);
        assert_eq!(transition(&none, &nine), Some(EventType::QuorumReached));
        assert_eq!(transition(&nine, &none), Some(EventType::QuorumLost));
        assert_eq!(transition(&nine, &ten), Some(EventType::BestSlotChanged));
        assert_eq!(transition(&nine, &nine_a), Some(EventType::BestSlotChanged));
        assert_eq!(transition(&nine, &nine.clone()), None);
        assert_eq!(transition(&none, &none.clone()), None);
        // The score and the reason follow from the rest: no event.
        let mut reworded = nine.clone();
        reworded.best.as_mut().unwrap()["reason"] = json!("other words");
        assert_eq!(transition(&nine, &reworded), None);
        // Someone the owner may not see joins: the meeting changed.
        let mut joined = nine.clone();
        joined.best.as_mut().unwrap()["hidden_attendees"] = json!(1);
        assert_eq!(transition(&nine, &joined), Some(EventType::BestSlotChanged));
    }

    #[test]
    fn days_already_over_leave_the_window_and_a_window_over_ends_the_watch() {
        let request =
            json!({"users": ["a@x.io"], "from": "2031-03-03", "days": 7, "tz": "Europe/Berlin"});
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
        assert_eq!(
            request_as_of(&request, at("2031-03-01T12:00:00Z")),
            Some(request.clone())
        );
        let wednesday = request_as_of(&request, at("2031-03-05T08:00:00Z")).expect("open");
        assert_eq!(
            (wednesday["from"].clone(), wednesday["days"].clone()),
            (json!("2031-03-05"), json!(5))
        );
        // 23:30 UTC on Sunday is already Monday in Berlin.
        assert_eq!(request_as_of(&request, at("2031-03-09T23:30:00Z")), None);
        assert_eq!(
            request_as_of(&json!({"from": "soon"}), at("2031-03-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn a_signature_verifies_only_with_the_secret_the_body_and_a_fresh_timestamp() {
        let body = br#"{"event_id":"e"}"#;
        let header = sign("s3cret", 1_900_000_000, body);
        assert!(header.starts_with("t=1900000000,v1="));
        assert!(verify("s3cret", &header, body, 1_900_000_010, 300));
        assert!(!verify("other", &header, body, 1_900_000_010, 300));
        assert!(!verify(
            "s3cret",
            &header,
            br#"{"event_id":"f"}"#,
            1_900_000_010,
            300
        ));
        assert!(!verify("s3cret", &header, body, 1_900_001_000, 300));
        assert!(!verify("s3cret", "t=1,v1=zz", body, 1, 300));
        let wide = format!("t=1,v1={}", "é".repeat(32));
        assert!(!verify("s3cret", &wide, body, 1, 300));
        assert!(!verify(
            "s3cret",
            &format!("t={},v1={}", i64::MIN, "0".repeat(64)),
            body,
            1,
            300
        ));
        // Known answer (python3 hmac.new(b"key", b"1.{}", sha256)).
        assert_eq!(
            sign("key", 1, b"{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }

    #[test]
    fn secrets_are_64_hex_characters_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
