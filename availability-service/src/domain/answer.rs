//! The answers this service computes from the members' schedules: pure, no
//! I/O (`service` fetches, this computes).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use scheduling::{Group, Window};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use w2meet_group::wire::TimelinesAnswer;
use w2meet_group::{Email, GroupRequest};

use crate::clients::UserSchedule;

/// The window actually used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowOut {
    /// First local date.
    pub from: NaiveDate,
    /// The day after the last local date (exclusive).
    pub to: NaiveDate,
    pub days: u32,
    pub tz: String,
    /// RFC 3339 UTC bounds of the window.
    pub start: String,
    pub end: String,
}

/// A maximal stretch of time with a constant set of free users.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntervalOut {
    pub start: String,
    pub end: String,
    /// Who is free, by address — except claimed profiles the caller may not
    /// see (SPEC §6), which are only counted in `hidden`.
    pub available: Vec<String>,
    /// Everyone free, named or not.
    pub count: usize,
    /// How many of `count` are not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden: usize,
    /// Those of `available` who are free only if need be here (SPEC §10),
    /// named like `available`. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub if_need_be: Vec<String>,
    /// How many if-need-be people are not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_if_need_be: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The answer to the original request (`?userId1=&userId2=` and nothing
/// newer): the original W2Meet fields and the Case-ID, nothing else.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OriginalAvailability {
    pub case_id: String,
    /// Day name → whole hours (UTC) when both users are free.
    #[schema(value_type = Object)]
    pub common_availabilities: Value,
    pub user1preference: String,
    pub user2preference: String,
}

/// The answer to a group request, or to one with any newer parameter. The
/// first three fields are the original ones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailabilityResponse {
    /// Day name → whole hours (in `tz`) when every user is free, on the
    /// first date of each weekday in the window.
    #[schema(value_type = Object)]
    pub common_availabilities: Value,
    /// With `userId1`/`userId2`: user 1's stored preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user1preference: Option<String>,
    /// With `userId1`/`userId2`: user 2's stored preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user2preference: Option<String>,
    pub case_id: String,
    /// The group, in the order asked, duplicates removed.
    pub users: Vec<String>,
    /// Email → stored preference (except the hidden members').
    #[schema(value_type = Object)]
    pub preferences: Map<String, Value>,
    pub window: WindowOut,
    /// Every maximal interval where the required users and at least
    /// `min_attendees` users are free.
    pub intervals: Vec<IntervalOut>,
    /// How many members are claimed profiles the caller may not see: they
    /// count in every interval but are named nowhere. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden: usize,
    /// With `detail=users`: each user's own free intervals `[start, end]`
    /// (except the hidden members').
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub free: Option<Map<String, Value>>,
}

/// `GET/POST /availabilities`: the original shape for the original request,
/// the full one otherwise.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AvailabilityAnswer {
    Original(OriginalAvailability),
    Full(Box<AvailabilityResponse>),
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The members' schedules in the order of `members`. `schedules` must hold
/// every member (the caller checked that none is missing).
pub fn in_member_order<'a>(
    members: &[Email],
    schedules: &'a [UserSchedule],
) -> Vec<&'a UserSchedule> {
    let by_email: HashMap<&Email, &UserSchedule> =
        schedules.iter().map(|s| (&s.email, s)).collect();
    members
        .iter()
        .filter_map(|e| by_email.get(e).copied())
        .collect()
}

/// Lays every member's pattern onto `window` in the member's own zone,
/// their if-need-be pattern below it, then their dated overrides and booked
/// busy time (`scheduling::dated`).
pub fn lay_out(window: Window, ordered: &[&UserSchedule]) -> Group {
    let mut group = Group::lay_out(window, ordered.iter().map(|s| (&s.pattern, s.tz)));
    for (i, s) in ordered.iter().enumerate() {
        group.add_if_need_be(i, &s.if_need_be, s.tz);
        if !s.dated.overrides.is_empty() || !s.dated.busy.is_empty() {
            group.apply_dated(i, s.tz, &s.dated.overrides, &s.dated.busy);
        }
    }
    group
}

/// The common availability of the group.
pub fn common(
    req: &GroupRequest,
    detail_users: bool,
    original_form: bool,
    window: Window,
    ordered: &[&UserSchedule],
    hidden: &HashSet<&Email>,
    case_id: &str,
) -> AvailabilityAnswer {
    let group = lay_out(window, ordered);
    let common_availabilities = scheduling::common_hours(&group, req.tz()).to_json();
    if original_form {
        let preference = |i: usize| ordered.get(i).map(|s| s.preference.clone());
        return AvailabilityAnswer::Original(OriginalAvailability {
            case_id: case_id.to_owned(),
            common_availabilities,
            user1preference: preference(0).unwrap_or_default(),
            user2preference: preference(1).unwrap_or_default(),
        });
    }
    let is_hidden = |i: usize| hidden.contains(&ordered[i].email);
    let intervals = scheduling::intersect(&group, &req.attendance())
        .into_iter()
        .map(|iv| {
            let name = |ix: &[usize]| {
                let (unnamed, named): (Vec<usize>, Vec<usize>) =
                    ix.iter().partition(|&&i| is_hidden(i));
                let named: Vec<String> = named
                    .into_iter()
                    .map(|i| ordered[i].email.to_string())
                    .collect();
                (named, unnamed.len())
            };
            let (available, hidden) = name(&iv.available);
            let (if_need_be, hidden_if_need_be) = name(&iv.if_need_be);
            IntervalOut {
                start: rfc3339(iv.start),
                end: rfc3339(iv.end),
                count: iv.available.len(),
                available,
                hidden,
                if_need_be,
                hidden_if_need_be,
            }
        })
        .collect();
    let free = detail_users.then(|| {
        ordered
            .iter()
            .zip(group.timelines())
            .filter(|(s, _)| !hidden.contains(&s.email))
            .map(|(s, t)| {
                let runs: Vec<Value> = t
                    .free_runs()
                    .into_iter()
                    .map(|(a, b)| {
                        Value::from(vec![
                            rfc3339(window.slot_start(a)),
                            rfc3339(window.slot_start(b)),
                        ])
                    })
                    .collect();
                (s.email.to_string(), Value::Array(runs))
            })
            .collect()
    });
    let (user1preference, user2preference) = if req.is_pair() {
        (
            ordered.first().map(|s| s.preference.clone()),
            ordered.get(1).map(|s| s.preference.clone()),
        )
    } else {
        (None, None)
    };
    AvailabilityAnswer::Full(Box::new(AvailabilityResponse {
        common_availabilities,
        user1preference,
        user2preference,
        case_id: case_id.to_owned(),
        users: ordered.iter().map(|s| s.email.to_string()).collect(),
        preferences: ordered
            .iter()
            .filter(|s| !hidden.contains(&s.email))
            .map(|s| (s.email.to_string(), Value::from(s.preference.clone())))
            .collect(),
        window: WindowOut {
            from: window.from(),
            to: window.from() + chrono::Days::new(u64::from(window.days())),
            days: window.days(),
            tz: window.tz().name().to_owned(),
            start: rfc3339(window.start()),
            end: rfc3339(window.end()),
        },
        intervals,
        hidden: ordered.iter().filter(|s| hidden.contains(&s.email)).count(),
        free,
    }))
}

/// The members' timelines in the wire format.
pub fn timelines(window: Window, ordered: &[&UserSchedule]) -> TimelinesAnswer {
    let group = lay_out(window, ordered);
    let maybe = group.if_need_be();
    TimelinesAnswer::encode(
        &window,
        ordered
            .iter()
            .zip(group.timelines())
            .enumerate()
            .map(|(i, (s, t))| {
                let m = maybe.map(|m| &m[i]);
                (s.email.clone(), s.preference.clone(), t, m)
            }),
    )
}
