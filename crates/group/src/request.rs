//! A group and its window as clients send them — a query string or a JSON
//! body, the original pair (`userId1`/`userId2`) or a list (`users`) —
//! parsed once into a [`GroupRequest`].
//!
//! Every problem is reported, all at once, where the client put it: the
//! location starts with `query` or `body` and names the client's own field
//! (`["query","userId2"]`, `["body","users","3"]`, `["query","required","0"]`).

use std::collections::HashSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use scheduling::params::{MAX_GROUP, MIN_GROUP};
use scheduling::{Attendance, Window, WindowDays};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::ErrorDetail;

use crate::email::Email;
use crate::problems::{Problems, Source};

/// The earliest first day of a window.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a real date");
/// The day after the latest last day of a window: every instant of every
/// window, in every zone, stays a four-digit-year RFC 3339 timestamp.
pub const LATEST_END: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a real date");

/// Days in a window when `days` is not given.
pub const DEFAULT_DAYS: u32 = 7;

/// The group parameters of a query string.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
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
    /// First day `YYYY-MM-DD` in `tz` (1970-01-01 to 9999-12-30, the whole
    /// window before 9999-12-31); default the first Monday on or after today.
    pub from: Option<String>,
    /// Days in the window, 1–366; default 7.
    pub days: Option<String>,
    /// IANA zone of the window; default UTC.
    pub tz: Option<String>,
    /// Comma-separated emails that must be free (members of the group);
    /// default everyone, or nobody when only `min_attendees` is given.
    pub required: Option<String>,
    /// At least this many users free (k of n, 1–n); default n.
    pub min_attendees: Option<String>,
}

/// The group parameters of a JSON body. Numbers may be JSON numbers or
/// strings of digits.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct GroupBody {
    /// First user (original form).
    #[serde(rename = "userId1", skip_serializing_if = "Option::is_none")]
    pub user_id1: Option<String>,
    /// Second user (original form).
    #[serde(rename = "userId2", skip_serializing_if = "Option::is_none")]
    pub user_id2: Option<String>,
    /// 2–1000 distinct emails (duplicates collapse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// First day `YYYY-MM-DD` in `tz`; default the first Monday on or after today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Days in the window, 1–366; default 7.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 366)]
    pub days: Option<Value>,
    /// IANA zone of the window; default UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Emails that must be free (members of the group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
    /// At least this many users free (k of n); default n.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1)]
    pub min_attendees: Option<Value>,
}

impl GroupBody {
    /// Every field's JSON name (a test keeps this true).
    pub const FIELDS: [&'static str; 8] = [
        "userId1",
        "userId2",
        "users",
        "from",
        "days",
        "tz",
        "required",
        "min_attendees",
    ];
}

/// A comma-separated query list, empty items dropped.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl From<GroupQuery> for GroupBody {
    fn from(q: GroupQuery) -> GroupBody {
        GroupBody {
            user_id1: q.user_id1,
            user_id2: q.user_id2,
            users: q.users.as_deref().map(split_list),
            from: q.from,
            days: q.days.map(Value::String),
            tz: q.tz,
            required: q.required.as_deref().map(split_list),
            min_attendees: q.min_attendees.map(Value::String),
        }
    }
}

/// A valid group and window: 2–1000 distinct members, a representable
/// window, required members inside the group, a quorum from 1 to n.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRequest {
    source: Source,
    /// Distinct, in the order given.
    members: Vec<Email>,
    /// Where the client named each member (below `source`): `["userId2"]`,
    /// `["users","3"]` — the first place, for a duplicate.
    member_locs: Vec<Vec<String>>,
    /// Named as `userId1`/`userId2` (the original form's fields).
    pair: bool,
    from: Option<NaiveDate>,
    days: Option<WindowDays>,
    tz: Option<Tz>,
    /// Indexes into `members`, in the order given, duplicates removed.
    required: Option<Vec<usize>>,
    min_attendees: Option<usize>,
}

impl GroupRequest {
    pub fn from_query(q: GroupQuery) -> Result<GroupRequest, Vec<ErrorDetail>> {
        let mut problems = Problems::new(Source::Query);
        let parsed = Self::parse(&mut problems, q.into());
        problems.finish(parsed)
    }

    pub fn from_body(b: GroupBody) -> Result<GroupRequest, Vec<ErrorDetail>> {
        let mut problems = Problems::new(Source::Body);
        let parsed = Self::parse(&mut problems, b);
        problems.finish(parsed)
    }

    /// Parses `b`, reporting into `problems`; `None` when any was found.
    pub(crate) fn parse(problems: &mut Problems, b: GroupBody) -> Option<GroupRequest> {
        let before = problems.len();
        let pair = b.users.is_none();
        let given: Vec<(Vec<String>, String)> = match (b.users, b.user_id1, b.user_id2) {
            (Some(list), None, None) => list
                .into_iter()
                .enumerate()
                .map(|(i, u)| (vec!["users".to_owned(), i.to_string()], u))
                .collect(),
            (Some(_), _, _) => {
                problems.push(&["users"], "give either users or userId1/userId2, not both");
                Vec::new()
            }
            (None, a, b) => {
                if a.is_none() && b.is_none() {
                    problems.push(
                        &["users"],
                        "give users (a list of emails) or userId1 and userId2",
                    );
                    Vec::new()
                } else {
                    let mut v = Vec::new();
                    for (name, u) in [("userId1", a), ("userId2", b)] {
                        match u {
                            Some(u) => v.push((vec![name.to_owned()], u)),
                            None => problems.push(&[name], "field required"),
                        }
                    }
                    v
                }
            }
        };
        let mut seen = HashSet::new();
        let mut members = Vec::with_capacity(given.len());
        let mut member_locs = Vec::with_capacity(given.len());
        let mut emails_ok = true;
        for (loc, raw) in &given {
            match Email::parse(raw) {
                Ok(e) => {
                    if seen.insert(e.clone()) {
                        members.push(e);
                        member_locs.push(loc.clone());
                    }
                }
                Err(msg) => {
                    emails_ok = false;
                    problems.push_at(loc.clone(), format!("{raw:?}: {msg}"));
                }
            }
        }
        if emails_ok
            && problems.len() == before
            && !(MIN_GROUP..=MAX_GROUP).contains(&members.len())
        {
            let field = if pair { "userId2" } else { "users" };
            problems.push(
                &[field],
                format!(
                    "a group needs from {MIN_GROUP} to {MAX_GROUP} distinct users, got {}",
                    members.len()
                ),
            );
        }
        let n = emails_ok.then_some(members.len());

        let tz = match b.tz.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => match name.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    problems.push(&["tz"], format!("unknown time zone {name:?}"));
                    None
                }
            },
        };
        let days = problems
            .whole_number("days", b.days.as_ref())
            .and_then(|d| {
                u32::try_from(d)
                    .ok()
                    .and_then(|d| WindowDays::new(d).ok())
                    .or_else(|| {
                        problems.push(&["days"], format!("days must be from 1 to 366, got {d}"));
                        None
                    })
            });
        let from = b
            .from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(&["from"], "from must be a real date as YYYY-MM-DD");
                    None
                }
            });
        if let Some(from) = from {
            let days = days.map_or(DEFAULT_DAYS, WindowDays::get);
            let end = from.checked_add_days(Days::new(u64::from(days)));
            if from < EARLIEST_DATE || end.is_none_or(|end| end > LATEST_END) {
                problems.push(
                    &["from"],
                    format!(
                        "a window must lie between {EARLIEST_DATE} and {LATEST_END}; \
                         {days} days from {from} do not"
                    ),
                );
            }
        }
        let min_attendees = problems
            .whole_number("min_attendees", b.min_attendees.as_ref())
            .and_then(|k| {
                let in_range = n.is_none_or(|n| (1..=n as u64).contains(&k));
                if !in_range {
                    problems.push(
                        &["min_attendees"],
                        format!(
                            "min_attendees must be from 1 to the group size {}, got {k}",
                            n.unwrap_or(0)
                        ),
                    );
                }
                usize::try_from(k).ok().filter(|_| in_range)
            });
        let required = b.required.map(|list| {
            let mut indexes = Vec::with_capacity(list.len());
            for (i, raw) in list.iter().enumerate() {
                let loc = vec!["required".to_owned(), i.to_string()];
                match Email::parse(raw) {
                    Err(msg) => problems.push_at(loc, format!("{raw:?}: {msg}")),
                    Ok(e) => match members.iter().position(|m| *m == e) {
                        Some(ix) if !indexes.contains(&ix) => indexes.push(ix),
                        Some(_) => {}
                        None if emails_ok => {
                            problems.push_at(loc, format!("required user {e} is not in the group"))
                        }
                        None => {}
                    },
                }
            }
            indexes
        });
        (problems.len() == before).then_some(GroupRequest {
            source: problems.source(),
            members,
            member_locs,
            pair,
            from,
            days,
            tz,
            required,
            min_attendees,
        })
    }

    /// Where the parameters came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The members, distinct, in the order given.
    pub fn members(&self) -> &[Email] {
        &self.members
    }

    /// The 404 detail for members user-service does not know: the original
    /// message, then one entry per unknown member, each where the client
    /// named it (`["query","userId2"]`, `["body","users","3"]`).
    pub fn unknown_members(&self, unknown: &[Email]) -> Vec<ErrorDetail> {
        let at = self.source.as_str();
        let loc_of = |e: &Email| -> Vec<String> {
            let path = self
                .members
                .iter()
                .position(|m| m == e)
                .map(|i| self.member_locs[i].clone())
                .unwrap_or_else(|| vec!["users".to_owned()]);
            std::iter::once(at.to_owned()).chain(path).collect()
        };
        let first = unknown
            .first()
            .filter(|_| self.pair)
            .map(loc_of)
            .unwrap_or_else(|| vec![at.to_owned(), "users".to_owned()]);
        std::iter::once(ErrorDetail::new(
            first,
            "One or both users not found",
            "not_found",
        ))
        .chain(
            unknown
                .iter()
                .map(|e| ErrorDetail::new(loc_of(e), format!("unknown user {e}"), "not_found")),
        )
        .collect()
    }

    /// Whether the members were named as `userId1`/`userId2`.
    pub fn is_pair(&self) -> bool {
        self.pair
    }

    /// The original W2Meet request: a query string naming `userId1` and
    /// `userId2` and none of the newer group parameters. A service adds its
    /// own newer parameters to this test.
    pub fn is_original_form(&self) -> bool {
        self.source == Source::Query
            && self.pair
            && self.from.is_none()
            && self.days.is_none()
            && self.tz.is_none()
            && self.required.is_none()
            && self.min_attendees.is_none()
    }

    /// The zone of the window (UTC by default).
    pub fn tz(&self) -> Tz {
        self.tz.unwrap_or(chrono_tz::UTC)
    }

    /// The first day, if given.
    pub fn from(&self) -> Option<NaiveDate> {
        self.from
    }

    /// The number of days (7 by default).
    pub fn days(&self) -> WindowDays {
        self.days
            .unwrap_or(WindowDays::new(DEFAULT_DAYS).expect("7 is a valid day count"))
    }

    /// The first day: as given, or the first Monday on or after today in
    /// the window's zone (the coming Monday-to-Sunday week).
    pub fn first_day(&self, now: DateTime<Utc>) -> NaiveDate {
        self.from.unwrap_or_else(|| {
            scheduling::first_monday_on_or_after(scheduling::today_in(self.tz(), now))
        })
    }

    /// The window at `now`. The dates were checked at parse time, so this
    /// fails only for a default window in the year 9999.
    pub fn window(&self, now: DateTime<Utc>) -> Result<Window, ErrorDetail> {
        Window::from_days(self.first_day(now), self.days(), self.tz())
            .map_err(|e| crate::problems::detail(self.source, &[e.field()], e.to_string()))
    }

    /// The required members' indexes as given (`None`: the default).
    pub fn required(&self) -> Option<&[usize]> {
        self.required.as_deref()
    }

    /// The quorum as given (`None`: the default).
    pub fn min_attendees(&self) -> Option<usize> {
        self.min_attendees
    }

    /// Who must attend, with the API's defaults (see
    /// [`Attendance::from_request`]).
    pub fn attendance(&self) -> Attendance {
        Attendance::from_request(
            self.members.len(),
            self.required.as_deref(),
            self.min_attendees,
        )
        .expect("group size, required members and quorum were checked at parse time")
    }

    /// The same request as a canonical JSON body (lists, normalised emails
    /// and dates): what a service forwards so the next one parses exactly
    /// what this one accepted.
    pub fn to_body(&self) -> GroupBody {
        let emails = |ix: &[usize]| ix.iter().map(|i| self.members[*i].to_string()).collect();
        GroupBody {
            user_id1: None,
            user_id2: None,
            users: Some(self.members.iter().map(ToString::to_string).collect()),
            from: self.from.map(|d| d.format("%Y-%m-%d").to_string()),
            days: self.days.map(|d| Value::from(d.get())),
            tz: self.tz.map(|tz| tz.name().to_owned()),
            required: self.required.as_deref().map(emails),
            min_attendees: self.min_attendees.map(Value::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(pairs: &[(&str, &str)]) -> Result<GroupRequest, Vec<ErrorDetail>> {
        let map: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        GroupRequest::from_query(serde_json::from_value(Value::Object(map)).expect("query shape"))
    }

    fn body(v: Value) -> Result<GroupRequest, Vec<ErrorDetail>> {
        GroupRequest::from_body(serde_json::from_value(v).expect("body shape"))
    }

    fn locs(errs: &[ErrorDetail]) -> Vec<String> {
        errs.iter().map(|e| e.loc.join(".")).collect()
    }

    #[test]
    fn the_original_form_names_two_users_and_nothing_else() {
        let r = query(&[("userId1", " A@x.io"), ("userId2", "b@x.io")]).expect("valid");
        assert_eq!(r.members()[0].as_str(), "a@x.io");
        assert!(r.is_pair() && r.is_original_form());
        assert_eq!((r.days().get(), r.tz()), (7, chrono_tz::UTC));
        let with_tz = query(&[("userId1", "a@x.io"), ("userId2", "b@x.io"), ("tz", "UTC")]);
        assert!(!with_tz.expect("valid").is_original_form());
        let posted = body(json!({"userId1": "a@x.io", "userId2": "b@x.io"})).expect("valid");
        assert!(posted.is_pair() && !posted.is_original_form());
    }

    #[test]
    fn duplicates_collapse_but_one_distinct_user_is_not_a_group() {
        let r = query(&[("users", "a@x.io,b@x.io,A@x.io")]).expect("valid");
        assert_eq!(r.members().len(), 2);
        assert_eq!(
            locs(&query(&[("users", "a@x.io,a@x.io")]).expect_err("one user")),
            ["query.users"]
        );
        assert_eq!(
            locs(&query(&[("userId1", "a@x.io"), ("userId2", "A@x.io")]).expect_err("one")),
            ["query.userId2"]
        );
    }

    #[test]
    fn every_problem_is_reported_where_the_client_put_it() {
        let errs = body(json!({
            "users": ["a@x.io", "a@b"], "days": 0, "tz": "Mars/Base",
            "from": "2026-02-30", "min_attendees": "many", "required": ["c@"]
        }))
        .expect_err("invalid");
        assert_eq!(
            locs(&errs),
            [
                "body.users.1",
                "body.tz",
                "body.days",
                "body.from",
                "body.min_attendees",
                "body.required.0"
            ]
        );
        let errs = query(&[("userId1", "a@x.io")]).expect_err("missing");
        assert_eq!(locs(&errs), ["query.userId2"]);
        let errs = query(&[]).expect_err("nobody");
        assert_eq!(locs(&errs), ["query.users"]);
    }

    #[test]
    fn the_email_rule_is_user_services() {
        // A domain without a dot passed the old looser rules.
        for bad in ["a@b", "a..b@x.io", "a b@x.io", "\"q\"@x.io"] {
            let errs = query(&[("users", &format!("ok@x.io,{bad}"))]).expect_err(bad);
            assert_eq!(locs(&errs), ["query.users.1"], "{bad}");
        }
    }

    #[test]
    fn a_thousand_users_are_allowed_and_a_thousand_and_one_are_not() {
        let list = |n: usize| (0..n).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>();
        assert!(body(json!({ "users": list(1000) })).is_ok());
        assert_eq!(
            locs(&body(json!({ "users": list(1001) })).expect_err("too many")),
            ["body.users"]
        );
    }

    #[test]
    fn windows_outside_the_supported_dates_are_refused() {
        for (from, days) in [
            ("9999-12-31", "1"),
            ("9999-12-01", "366"),
            ("1969-12-31", "1"),
            ("0000-01-01", "7"),
        ] {
            let errs = query(&[("users", "a@x.io,b@x.io"), ("from", from), ("days", days)])
                .expect_err(from);
            assert_eq!(locs(&errs), ["query.from"], "{from}");
        }
        let last = query(&[
            ("users", "a@x.io,b@x.io"),
            ("from", "9999-12-30"),
            ("days", "1"),
        ]);
        let window = last
            .expect("valid")
            .window(Utc::now())
            .expect("representable");
        assert_eq!(window.end().format("%Y").to_string(), "9999");
    }

    #[test]
    fn required_members_become_indexes_and_the_quorum_is_bounded_by_the_group() {
        let r = query(&[
            ("users", "a@x.io,b@x.io,c@x.io"),
            ("required", "C@x.io,a@x.io,c@x.io"),
            ("min_attendees", "2"),
        ])
        .expect("valid");
        assert_eq!(r.required(), Some(&[2, 0][..]));
        assert_eq!(r.attendance().min_attendees(), 2);
        let errs = query(&[("users", "a@x.io,b@x.io"), ("min_attendees", "3")]).expect_err("k>n");
        assert_eq!(locs(&errs), ["query.min_attendees"]);
        let errs = query(&[("users", "a@x.io,b@x.io"), ("required", "z@x.io")]).expect_err("out");
        assert_eq!(locs(&errs), ["query.required.0"]);
    }

    #[test]
    fn unknown_members_are_named_where_the_client_named_them() {
        let pair = query(&[("userId1", "a@x.io"), ("userId2", "B@x.io")]).expect("valid");
        let ghost = Email::parse("b@x.io").expect("email");
        assert_eq!(
            locs(&pair.unknown_members(std::slice::from_ref(&ghost))),
            ["query.userId2", "query.userId2"]
        );
        let list = body(json!({"users": ["a@x.io", "a@x.io", "b@x.io"]})).expect("valid");
        let detail = list.unknown_members(&[ghost]);
        assert_eq!(locs(&detail), ["body.users", "body.users.2"]);
        assert_eq!(detail[0].msg, "One or both users not found");
        assert_eq!(detail[1].msg, "unknown user b@x.io");
    }

    #[test]
    fn the_field_list_names_every_field() {
        let full = GroupBody {
            user_id1: Some(String::new()),
            user_id2: Some(String::new()),
            users: Some(vec![]),
            from: Some(String::new()),
            days: Some(Value::Null),
            tz: Some(String::new()),
            required: Some(vec![]),
            min_attendees: Some(Value::Null),
        };
        let value = serde_json::to_value(full).expect("serialises");
        let keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, GroupBody::FIELDS);
    }

    #[test]
    fn the_canonical_body_parses_back_to_the_same_request() {
        let r = query(&[
            ("users", "A@x.io,b@x.io"),
            ("from", "2027-03-01"),
            ("days", "14"),
            ("tz", "Europe/Paris"),
            ("required", "b@x.io"),
            ("min_attendees", "1"),
        ])
        .expect("valid");
        let again = GroupRequest::from_body(r.to_body()).expect("valid");
        assert_eq!(again.members(), r.members());
        assert_eq!(
            (
                again.from(),
                again.days(),
                again.tz(),
                again.required(),
                again.min_attendees()
            ),
            (r.from(), r.days(), r.tz(), r.required(), r.min_attendees())
        );
    }
}
