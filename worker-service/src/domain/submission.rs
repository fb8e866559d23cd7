//! `POST /tasks` bodies: the original `{"userId1","userId2","preference"}`
//! and the full `{"users":[...], ...suggestion parameters}`, parsed into one
//! [`Submission`].
//!
//! This checks the shape — group size, email syntax, known preference,
//! numbers in range, a real date and time zone — so that a client learns of
//! a typo at once rather than from a failed job. suggestion-service still
//! validates everything (it knows which users exist); its 400 fails the job
//! without retries.

use std::collections::HashSet;

use chrono::NaiveDate;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use scheduling::params::{MAX_GROUP, MIN_GROUP};
use scheduling::{Count, DurationMinutes, Preference, StepMinutes, WindowDays};

/// One problem with a submission, for a 400's `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub loc: Vec<String>,
    pub msg: String,
}

impl InvalidField {
    fn body(field: &str, msg: impl Into<String>) -> InvalidField {
        InvalidField {
            loc: vec!["body".to_owned(), field.to_owned()],
            msg: msg.into(),
        }
    }
}

/// What a client may send. Unknown fields are refused so a misspelt
/// parameter is a 400, not a silently ignored option.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    /// Original form: the first user's email.
    #[serde(rename = "userId1")]
    pub user_id1: Option<String>,
    /// Original form: the second user's email.
    #[serde(rename = "userId2")]
    pub user_id2: Option<String>,
    /// Full form: 2–1000 emails (duplicates collapse).
    pub users: Option<Vec<String>>,
    /// `first`, `last`, `random` or `best`.
    pub preference: Option<String>,
    /// Meeting length in minutes (5–1440, multiple of 5).
    pub duration: Option<u32>,
    /// How many suggestions (1–50).
    pub count: Option<u32>,
    /// Minutes between candidate starts (5–1440, multiple of 5).
    pub step: Option<u32>,
    /// Makes `random` reproducible.
    pub seed: Option<u64>,
    /// Emails that must attend (members of `users`).
    pub required: Option<Vec<String>>,
    /// Quorum: at least this many attendees (1–group size).
    pub min_attendees: Option<u32>,
    /// First day of the window, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Window length in days (1–366).
    pub days: Option<u32>,
    /// IANA time zone of the window.
    pub tz: Option<String>,
    /// Where to POST the finished job (http or https).
    pub callback_url: Option<String>,
}

/// A valid submission: the body suggestion-service will receive, and where
/// to report the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    request: Value,
    callback_url: Option<String>,
}

impl Submission {
    /// suggestion-service's `POST /suggestions` body: `users` (normalised,
    /// duplicates collapsed) plus every parameter the client gave.
    pub fn request(&self) -> &Value {
        &self.request
    }

    pub fn callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref()
    }

    /// Checks every field and reports every problem at once.
    pub fn parse(input: TaskInput) -> Result<Submission, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let mut body = Map::new();

        let raw_users: Vec<(String, String)> =
            match (&input.users, &input.user_id1, &input.user_id2) {
                (Some(users), None, None) => users
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (i.to_string(), u.clone()))
                    .collect(),
                (None, Some(a), Some(b)) => vec![
                    ("userId1".to_owned(), a.clone()),
                    ("userId2".to_owned(), b.clone()),
                ],
                (None, None, None) => {
                    errors.push(InvalidField::body(
                        "users",
                        "give either users (a list of emails) or userId1 and userId2",
                    ));
                    vec![]
                }
                (Some(_), _, _) => {
                    errors.push(InvalidField::body(
                        "users",
                        "give either users or userId1/userId2, not both",
                    ));
                    vec![]
                }
                (None, a, _) => {
                    let missing = if a.is_none() { "userId1" } else { "userId2" };
                    errors.push(InvalidField::body(missing, "field required"));
                    vec![]
                }
            };

        let mut seen = HashSet::new();
        let mut users = Vec::new();
        let mut users_ok = true;
        for (pos, raw) in &raw_users {
            match normalise_email(raw) {
                Some(e) => {
                    if seen.insert(e.clone()) {
                        users.push(e);
                    }
                }
                None => {
                    users_ok = false;
                    let loc = if pos.starts_with("userId") {
                        vec!["body".to_owned(), pos.clone()]
                    } else {
                        vec!["body".to_owned(), "users".to_owned(), pos.clone()]
                    };
                    errors.push(InvalidField {
                        loc,
                        msg: format!("{raw:?} is not a valid email address"),
                    });
                }
            }
        }
        if users_ok && !raw_users.is_empty() && !(MIN_GROUP..=MAX_GROUP).contains(&users.len()) {
            errors.push(InvalidField::body(
                if input.users.is_some() {
                    "users"
                } else {
                    "userId2"
                },
                format!(
                    "a group needs from {MIN_GROUP} to {MAX_GROUP} distinct users, got {}",
                    users.len()
                ),
            ));
        }
        body.insert("users".into(), json!(users));

        if let Some(p) = &input.preference {
            match p.parse::<Preference>() {
                Ok(p) => {
                    body.insert("preference".into(), json!(p.as_str()));
                }
                Err(e) => errors.push(InvalidField::body("preference", e.to_string())),
            }
        }
        let mut number =
            |field: &str, v: Option<u32>, check: &dyn Fn(u32) -> Result<(), String>| {
                if let Some(v) = v {
                    match check(v) {
                        Ok(()) => {
                            body.insert(field.into(), json!(v));
                        }
                        Err(msg) => errors.push(InvalidField::body(field, msg)),
                    }
                }
            };
        number("duration", input.duration, &|v| {
            DurationMinutes::new(v).map(drop).map_err(|e| e.to_string())
        });
        number("count", input.count, &|v| {
            Count::new(v).map(drop).map_err(|e| e.to_string())
        });
        number("step", input.step, &|v| {
            StepMinutes::new(v).map(drop).map_err(|e| e.to_string())
        });
        number("days", input.days, &|v| {
            WindowDays::new(v).map(drop).map_err(|e| e.to_string())
        });
        let n = users.len();
        number("min_attendees", input.min_attendees, &|v| {
            if v >= 1 && (v as usize) <= n.max(1) {
                Ok(())
            } else {
                Err(format!(
                    "min_attendees must be from 1 to the group size {n}, got {v}"
                ))
            }
        });
        if let Some(seed) = input.seed {
            body.insert("seed".into(), json!(seed));
        }
        if let Some(required) = &input.required {
            let mut req = Vec::new();
            for (i, raw) in required.iter().enumerate() {
                match normalise_email(raw) {
                    Some(e) if seen.contains(&e) || !users_ok => {
                        if !req.contains(&e) {
                            req.push(e);
                        }
                    }
                    Some(_) => errors.push(InvalidField {
                        loc: vec!["body".into(), "required".into(), i.to_string()],
                        msg: format!("required user {raw:?} is not in the group"),
                    }),
                    None => errors.push(InvalidField {
                        loc: vec!["body".into(), "required".into(), i.to_string()],
                        msg: format!("{raw:?} is not a valid email address"),
                    }),
                }
            }
            body.insert("required".into(), json!(req));
        }
        if let Some(from) = &input.from {
            match NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d") {
                Ok(d) => {
                    body.insert("from".into(), json!(d.format("%Y-%m-%d").to_string()));
                }
                Err(_) => errors.push(InvalidField::body(
                    "from",
                    format!("{from:?} is not a date in the form YYYY-MM-DD"),
                )),
            }
        }
        if let Some(tz) = &input.tz {
            match tz.trim().parse::<chrono_tz::Tz>() {
                Ok(zone) => {
                    body.insert("tz".into(), json!(zone.name()));
                }
                Err(_) => errors.push(InvalidField::body(
                    "tz",
                    format!("{tz:?} is not an IANA time zone name"),
                )),
            }
        }
        let callback_url = match &input.callback_url {
            None => None,
            Some(raw) => match Url::parse(raw.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Some(u.to_string())
                }
                _ => {
                    errors.push(InvalidField::body(
                        "callback_url",
                        "callback_url must be an absolute http or https URL",
                    ));
                    None
                }
            },
        };

        if errors.is_empty() {
            Ok(Submission {
                request: Value::Object(body),
                callback_url,
            })
        } else {
            Err(errors)
        }
    }
}

/// Trimmed and lower-cased, as user-service stores emails, if it looks like
/// an address: one `@`, a non-empty local part, a dotted domain, no spaces.
fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = e.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    ok.then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Submission, Vec<InvalidField>> {
        Submission::parse(serde_json::from_value(v).expect("shape"))
    }

    #[test]
    fn the_original_form_becomes_a_two_user_group() {
        let s = parse(json!({"userId1": " A@x.io", "userId2": "b@x.io", "preference": "last"}))
            .expect("valid");
        assert_eq!(
            s.request(),
            &json!({"users": ["a@x.io", "b@x.io"], "preference": "last"})
        );
        assert_eq!(s.callback_url(), None);
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
            "callback_url": "ftp://x"
        }))
        .expect_err("invalid");
        let fields: Vec<String> = errs.iter().map(|e| e.loc[1].clone()).collect();
        for f in [
            "users",
            "duration",
            "count",
            "preference",
            "from",
            "tz",
            "callback_url",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn groups_must_have_two_distinct_users() {
        let errs = parse(json!({"userId1": "a@x.io", "userId2": "A@x.io"})).expect_err("one user");
        assert!(errs[0].msg.contains("got 1"), "{errs:?}");
        assert!(parse(json!({"userId1": "a@x.io"})).is_err());
        assert!(parse(json!({})).is_err());
        assert!(parse(json!({"users": ["a@x.io", "b@x.io"], "userId1": "c@x.io"})).is_err());
        let many: Vec<String> = (0..1001).map(|i| format!("u{i}@x.io")).collect();
        assert!(parse(json!({ "users": many })).is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_value::<TaskInput>(json!({"users": [], "durations": 5})).is_err());
    }

    #[test]
    fn email_syntax_is_checked_loosely_but_usefully() {
        assert_eq!(
            normalise_email(" Ann@Example.COM "),
            Some("ann@example.com".into())
        );
        for bad in [
            "", "a", "a@b", "@b.io", "a@@b.io", "a b@c.io", "a@.io", "a@b..io", "a,b@c.io",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }
}
