//! The answer to an availability request, computed from the users'
//! schedules: pure, no I/O (the handler fetches, this computes).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use scheduling::{Attendance, Group, ParamError, Window};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::clients::UserSchedule;
use crate::request::GroupRequest;

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
    pub available: Vec<String>,
    pub count: usize,
}

/// `GET/POST /availabilities` answer. The first three fields are the
/// original W2Meet response, unchanged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailabilityResponse {
    /// Day name → whole hours (in `tz`) when every user is free.
    #[schema(value_type = Object)]
    pub common_availabilities: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user1preference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user2preference: Option<String>,
    pub case_id: String,
    /// The group, in the order asked, duplicates removed.
    pub users: Vec<String>,
    /// Email → stored preference.
    #[schema(value_type = Object)]
    pub preferences: Map<String, Value>,
    pub window: WindowOut,
    /// Every maximal interval where the required users and at least
    /// `min_attendees` users are free.
    pub intervals: Vec<IntervalOut>,
    /// With `detail=users`: each user's own free intervals `[start, end]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub free: Option<Map<String, Value>>,
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Intersects the group's schedules. `schedules` must hold exactly the
/// request's users (in any order); `today` gives the default start.
pub fn compute(
    req: &GroupRequest,
    schedules: &[UserSchedule],
    case_id: &str,
    today: NaiveDate,
) -> Result<AvailabilityResponse, ParamError> {
    let ordered: Vec<&UserSchedule> = req
        .users
        .iter()
        .filter_map(|e| schedules.iter().find(|s| s.email == *e))
        .collect();
    let from = req
        .from
        .unwrap_or_else(|| scheduling::first_monday_on_or_after(today));
    let window = Window::new(from, req.days, req.tz)?;
    let attendance =
        Attendance::from_request(ordered.len(), req.required.as_deref(), req.min_attendees)?;
    let group = Group::lay_out(window, ordered.iter().map(|s| (&s.pattern, s.tz)));
    let email = |i: usize| ordered[i].email.clone();
    let intervals = scheduling::intersect(&group, &attendance)
        .into_iter()
        .map(|iv| IntervalOut {
            start: rfc3339(iv.start),
            end: rfc3339(iv.end),
            count: iv.available.len(),
            available: iv.available.into_iter().map(email).collect(),
        })
        .collect();
    let free = req.detail_users.then(|| {
        ordered
            .iter()
            .zip(group.timelines())
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
                (s.email.clone(), Value::Array(runs))
            })
            .collect()
    });
    let (user1preference, user2preference) = if req.original_form {
        (
            ordered.first().map(|s| s.preference.clone()),
            ordered.get(1).map(|s| s.preference.clone()),
        )
    } else {
        (None, None)
    };
    Ok(AvailabilityResponse {
        common_availabilities: scheduling::common_hours(&group, req.tz).to_json(),
        user1preference,
        user2preference,
        case_id: case_id.to_owned(),
        users: ordered.iter().map(|s| s.email.clone()).collect(),
        preferences: ordered
            .iter()
            .map(|s| (s.email.clone(), Value::from(s.preference.clone())))
            .collect(),
        window: WindowOut {
            from,
            to: from + chrono::Days::new(u64::from(req.days)),
            days: req.days,
            tz: req.tz.name().to_owned(),
            start: rfc3339(window.start()),
            end: rfc3339(window.end()),
        },
        intervals,
        free,
    })
}
