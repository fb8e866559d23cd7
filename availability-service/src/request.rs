//! A group request as clients send it — query string or JSON body, original
//! (`userId1`/`userId2`) or new (`users`) form — parsed into a validated
//! [`GroupRequest`]. Every problem is reported with its location.

use std::collections::HashSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::ErrorDetail;

/// Most users in one request (SPEC §4).
pub const MAX_USERS: usize = 1000;

/// The query-string form (`GET /availabilities`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// First user (original form).
    #[serde(rename = "userId1")]
    #[param(rename = "userId1")]
    pub user_id1: Option<String>,
    /// Second user (original form).
    #[serde(rename = "userId2")]
    #[param(rename = "userId2")]
    pub user_id2: Option<String>,
    /// Comma-separated emails, 2–1000 distinct (duplicates collapse).
    pub users: Option<String>,
    /// First day `YYYY-MM-DD` in `tz`; default the first Monday on or after today.
    pub from: Option<String>,
    /// Days in the window, 1–366; default 7.
    pub days: Option<String>,
    /// IANA zone for the window and `common_availabilities`; default UTC.
    pub tz: Option<String>,
    /// Comma-separated emails that must be free; default everyone.
    pub required: Option<String>,
    /// At least this many users free (k of n); default n.
    pub min_attendees: Option<String>,
    /// `users` adds each user's own free intervals (`free`).
    pub detail: Option<String>,
}

/// The JSON form (`POST /availabilities`), for large groups.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GroupBody {
    #[serde(rename = "userId1")]
    pub user_id1: Option<String>,
    #[serde(rename = "userId2")]
    pub user_id2: Option<String>,
    pub users: Option<Vec<String>>,
    pub from: Option<String>,
    #[schema(value_type = Option<u32>)]
    pub days: Option<Value>,
    pub tz: Option<String>,
    pub required: Option<Vec<String>>,
    #[schema(value_type = Option<u32>)]
    pub min_attendees: Option<Value>,
    pub detail: Option<String>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRequest {
    /// Distinct, lower-cased, in the order given.
    pub users: Vec<String>,
    /// Whether the original two-user form was used (adds
    /// `user1preference`/`user2preference` to the answer).
    pub original_form: bool,
    /// `None`: the first Monday on or after today in `tz`.
    pub from: Option<NaiveDate>,
    pub days: u32,
    pub tz: Tz,
    /// Indexes into `users`; `None` = default.
    pub required: Option<Vec<usize>>,
    pub min_attendees: Option<usize>,
    pub detail_users: bool,
}

fn bad(loc: &[&str], msg: impl Into<String>) -> ErrorDetail {
    ErrorDetail::new(loc.iter().copied(), msg, "value_error")
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A whole number (JSON number or string); a malformed one is reported
/// under `at` and read as absent.
fn number(
    at: &str,
    field: &'static str,
    v: Option<&Value>,
    errors: &mut Vec<ErrorDetail>,
) -> Option<u64> {
    scheduling::whole_number(field, v)
        .map_err(|e| errors.push(bad(&[at, e.field()], e.to_string())))
        .ok()
        .flatten()
}

/// A plausible email (the user-service validates fully): one `@`, no
/// whitespace or control characters, at most 254 bytes.
fn looks_like_email(s: &str) -> bool {
    s.len() <= 254
        && s.split('@').count() == 2
        && !s.starts_with('@')
        && !s.ends_with('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
}

impl GroupRequest {
    pub fn from_query(q: GroupQuery) -> Result<GroupRequest, Vec<ErrorDetail>> {
        Self::parse(
            "query",
            q.user_id1,
            q.user_id2,
            q.users.map(|u| split_list(&u)),
            q.from,
            q.days.map(Value::String),
            q.tz,
            q.required.map(|r| split_list(&r)),
            q.min_attendees.map(Value::String),
            q.detail,
        )
    }

    pub fn from_body(b: GroupBody) -> Result<GroupRequest, Vec<ErrorDetail>> {
        Self::parse(
            "body",
            b.user_id1,
            b.user_id2,
            b.users,
            b.from,
            b.days,
            b.tz,
            b.required,
            b.min_attendees,
            b.detail,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn parse(
        at: &str,
        user_id1: Option<String>,
        user_id2: Option<String>,
        users: Option<Vec<String>>,
        from: Option<String>,
        days: Option<Value>,
        tz: Option<String>,
        required: Option<Vec<String>>,
        min_attendees: Option<Value>,
        detail: Option<String>,
    ) -> Result<GroupRequest, Vec<ErrorDetail>> {
        let mut errors = Vec::new();
        let original_form = users.is_none();
        let raw: Vec<(String, Vec<String>)> = match (users, user_id1, user_id2) {
            (Some(list), None, None) => list
                .into_iter()
                .enumerate()
                .map(|(i, u)| (u, vec![at.to_owned(), "users".to_owned(), i.to_string()]))
                .collect(),
            (Some(_), _, _) => {
                errors.push(bad(
                    &[at, "users"],
                    "give either users or userId1/userId2, not both",
                ));
                vec![]
            }
            (None, a, b) => {
                let mut v = Vec::new();
                for (name, u) in [("userId1", a), ("userId2", b)] {
                    match u {
                        Some(u) => v.push((u, vec![at.to_owned(), name.to_owned()])),
                        None => errors.push(bad(&[at, name], "field required")),
                    }
                }
                v
            }
        };
        let mut seen = HashSet::new();
        let mut emails = Vec::with_capacity(raw.len());
        for (u, loc) in raw {
            let e = u.trim().to_ascii_lowercase();
            if !looks_like_email(&e) {
                errors.push(ErrorDetail::new(loc, "not a valid email", "value_error"));
            } else if seen.insert(e.clone()) {
                emails.push(e);
            }
        }
        if errors.is_empty() && !(2..=MAX_USERS).contains(&emails.len()) {
            errors.push(bad(
                &[at, "users"],
                format!(
                    "a group needs from 2 to {MAX_USERS} distinct users, got {}",
                    emails.len()
                ),
            ));
        }
        let tz = match tz.as_deref().map(str::trim) {
            None | Some("") => Some(chrono_tz::UTC),
            Some(name) => match name.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    errors.push(bad(&[at, "tz"], format!("unknown time zone {name:?}")));
                    None
                }
            },
        };
        let from = from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| {
                        errors.push(bad(&[at, "from"], "from must be a real date as YYYY-MM-DD"))
                    })
                    .ok()
            });
        let days = match number(at, "days", days.as_ref(), &mut errors) {
            None => 7,
            Some(d) if (1..=366).contains(&d) => d as u32,
            Some(d) => {
                errors.push(bad(
                    &[at, "days"],
                    format!("days must be from 1 to 366, got {d}"),
                ));
                7
            }
        };
        let min_attendees =
            number(at, "min_attendees", min_attendees.as_ref(), &mut errors).map(|k| k as usize);
        if let Some(k) = min_attendees {
            if errors.is_empty() && !(1..=emails.len()).contains(&k) {
                errors.push(bad(
                    &[at, "min_attendees"],
                    format!(
                        "min_attendees must be from 1 to the group size {}, got {k}",
                        emails.len()
                    ),
                ));
            }
        }
        let required = required.map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    let r = r.trim().to_ascii_lowercase();
                    let found = emails.iter().position(|e| *e == r);
                    if found.is_none() {
                        errors.push(ErrorDetail::new(
                            [at, "required", &i.to_string()],
                            format!("required user {r} is not in the group"),
                            "value_error",
                        ));
                    }
                    found
                })
                .collect::<Vec<usize>>()
        });
        let detail_users = match detail.as_deref() {
            None | Some("") => false,
            Some("users") => true,
            Some(other) => {
                errors.push(bad(
                    &[at, "detail"],
                    format!("unknown detail {other:?}; expected users"),
                ));
                false
            }
        };
        match tz {
            Some(tz) if errors.is_empty() => Ok(GroupRequest {
                users: emails,
                original_form,
                from,
                days,
                tz,
                required,
                min_attendees,
                detail_users,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<GroupRequest, Vec<ErrorDetail>> {
        let qs: String = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        GroupRequest::from_query(serde_urlencoded_like(&qs))
    }

    // Tests go through serde like axum does.
    fn serde_urlencoded_like(qs: &str) -> GroupQuery {
        let map: serde_json::Map<String, Value> = qs
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), Value::String(v.to_owned()))
            })
            .collect();
        serde_json::from_value(Value::Object(map)).unwrap()
    }

    #[test]
    fn the_original_form_names_two_users() {
        let r = query(&[("userId1", "A@x.io"), ("userId2", "b@x.io")]).unwrap();
        assert_eq!(r.users, ["a@x.io", "b@x.io"]);
        assert!(r.original_form);
        assert_eq!(r.days, 7);
        assert_eq!(r.tz, chrono_tz::UTC);
    }

    #[test]
    fn duplicates_collapse_but_one_distinct_user_is_not_a_group() {
        let r = query(&[("users", "a@x.io,b@x.io,A@x.io")]).unwrap();
        assert_eq!(r.users, ["a@x.io", "b@x.io"]);
        assert!(query(&[("users", "a@x.io,a@x.io")]).is_err());
        assert!(query(&[("userId1", "a@x.io"), ("userId2", "a@x.io")]).is_err());
    }

    #[test]
    fn bad_parameters_are_each_reported_where_they_are() {
        for (pairs, field) in [
            (vec![("users", "a@x.io")], "users"),
            (vec![("users", "")], "users"),
            (vec![("userId1", "a@x.io")], "userId2"),
            (vec![("users", "a@x.io,b@x.io"), ("days", "0")], "days"),
            (vec![("users", "a@x.io,b@x.io"), ("days", "367")], "days"),
            (vec![("users", "a@x.io,b@x.io"), ("days", "seven")], "days"),
            (
                vec![("users", "a@x.io,b@x.io"), ("from", "2026-02-30")],
                "from",
            ),
            (
                vec![("users", "a@x.io,b@x.io"), ("from", "next week")],
                "from",
            ),
            (vec![("users", "a@x.io,b@x.io"), ("tz", "Mars/Base")], "tz"),
            (
                vec![("users", "a@x.io,b@x.io"), ("min_attendees", "3")],
                "min_attendees",
            ),
            (
                vec![("users", "a@x.io,b@x.io"), ("min_attendees", "0")],
                "min_attendees",
            ),
            (
                vec![("users", "a@x.io,b@x.io"), ("required", "c@x.io")],
                "required",
            ),
            (vec![("users", "a@x.io,not an email")], "users"),
            (
                vec![("users", "a@x.io,b@x.io"), ("detail", "all")],
                "detail",
            ),
        ] {
            let errs = query(&pairs).expect_err(&format!("{pairs:?}"));
            assert_eq!(errs[0].loc[1], field, "{pairs:?}");
        }
    }

    #[test]
    fn a_thousand_users_are_allowed_and_a_thousand_and_one_are_not() {
        let list = |n: usize| (0..n).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>();
        let body = |n| GroupBody {
            users: Some(list(n)),
            ..GroupBody::default()
        };
        assert!(GroupRequest::from_body(body(1000)).is_ok());
        assert!(GroupRequest::from_body(body(1001)).is_err());
    }

    #[test]
    fn required_users_become_indexes() {
        let r = query(&[
            ("users", "a@x.io,b@x.io,c@x.io"),
            ("required", "C@x.io,a@x.io"),
            ("min_attendees", "2"),
        ])
        .unwrap();
        assert_eq!(r.required, Some(vec![2, 0]));
        assert_eq!(r.min_attendees, Some(2));
    }
}
