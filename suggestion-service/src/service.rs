//! Turning the availability answer into ranked suggestions: pure, no I/O.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use scheduling::{
    Attendance, Count, Group, Preference, SuggestRequest, Suggestion, Timeline, Window,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use w2meet_platform::ErrorDetail;

use crate::clients::AvailabilityAnswer;
use crate::request::SuggestParams;

/// One suggested meeting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionOut {
    /// Weekday of the start in `tz` (original shape).
    pub day: String,
    /// `[start_hour, end_hour]` in `tz` (original shape; fractional for
    /// starts off the hour, e.g. `[9.5, 10.5]`).
    #[schema(value_type = Vec<f64>)]
    pub slot: [Value; 2],
    /// RFC 3339 UTC.
    pub start: String,
    pub end: String,
    pub attendees: Vec<String>,
    pub missing: Vec<String>,
    /// Share of the group that can attend, in (0, 1].
    pub score: f64,
    /// Why this one: the ranking that chose it.
    pub reason: String,
}

/// A meeting that fits if one constraint is relaxed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlternativeOut {
    /// What was relaxed: `duration`, `step` or `attendees`.
    pub relaxed: String,
    pub description: String,
    pub suggestion: SuggestionOut,
}

/// The `/suggestions` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionsResponse {
    pub case_id: String,
    pub suggestions: Vec<SuggestionOut>,
    /// `null`, or why nothing fits (`no_common_availability`,
    /// `duration_exceeds_common_windows`, `required_attendee_unavailable`,
    /// `step_misses_common_windows`).
    pub empty_reason: Option<String>,
    /// A sentence for people, with `empty_reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_reason_detail: Option<String>,
    /// Up to three nearest relaxations when nothing fits.
    pub alternatives: Vec<AlternativeOut>,
}

/// Rebuilds the group's timelines from the availability answer and ranks.
pub fn rank(
    params: &SuggestParams,
    answer: &AvailabilityAnswer,
    case_id: &str,
) -> Result<SuggestionsResponse, Vec<ErrorDetail>> {
    let bad_upstream = |msg: String| vec![ErrorDetail::new(["upstream"], msg, "bad_gateway")];
    let tz: Tz = answer
        .window
        .tz
        .parse()
        .map_err(|_| bad_upstream(format!("unknown zone {}", answer.window.tz)))?;
    let window = Window::new(answer.window.from, answer.window.days, tz)
        .map_err(|e| bad_upstream(e.to_string()))?;
    let timelines = answer
        .users
        .iter()
        .map(|email| timeline_of(&window, answer.free.get(email)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(bad_upstream)?;
    let group = Group::from_timelines(window, timelines)
        .ok_or_else(|| bad_upstream("timelines do not match the window".into()))?;

    let at = params.at;
    let required = params
        .required
        .as_ref()
        .map(|r| {
            r.iter()
                .map(|e| {
                    answer.users.iter().position(|u| u == e).ok_or_else(|| {
                        vec![ErrorDetail::new(
                            [at, "required"],
                            format!("required user {e} is not in the group"),
                            "value_error",
                        )]
                    })
                })
                .collect::<Result<Vec<usize>, _>>()
        })
        .transpose()?;
    let attendance = Attendance::from_request(
        answer.users.len(),
        required.as_deref(),
        params.min_attendees,
    )
    .map_err(|e| {
        vec![ErrorDetail::new(
            [at, e.field()],
            e.to_string(),
            "value_error",
        )]
    })?;

    let stored = |email: &String| {
        answer
            .preferences
            .get(email)
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<Preference>().ok())
            .unwrap_or_default()
    };
    // The original: one suggestion per distinct stored preference, user 1's
    // first. Otherwise the top `count` in the asked (or user 1's) order.
    let runs: Vec<(Preference, Count)> = if params.original_mode() {
        let mut prefs: Vec<Preference> = Vec::new();
        for p in answer.users.iter().map(stored) {
            if !prefs.contains(&p) {
                prefs.push(p);
            }
        }
        prefs
            .into_iter()
            .map(|p| (p, Count::new(1).expect("1 is a valid count")))
            .collect()
    } else {
        let p = params
            .preference
            .unwrap_or_else(|| answer.users.first().map(stored).unwrap_or_default());
        vec![(
            p,
            params
                .count
                .unwrap_or(Count::new(1).expect("1 is a valid count")),
        )]
    };

    let n = answer.users.len();
    let out = |s: &Suggestion, reason: String| suggestion_out(s, tz, &answer.users, reason);
    let mut suggestions = Vec::new();
    let mut first_empty = None;
    for (preference, count) in runs {
        let result = scheduling::suggest(
            &group,
            &SuggestRequest {
                duration: params.duration,
                step: params.step,
                count,
                preference,
                seed: params.seed,
                attendance: attendance.clone(),
            },
        );
        suggestions.extend(
            result
                .suggestions
                .iter()
                .map(|s| out(s, reason(preference, s, n))),
        );
        if first_empty.is_none() && result.suggestions.is_empty() {
            first_empty = Some(result);
        }
    }
    let (empty_reason, empty_reason_detail, alternatives) =
        match (&first_empty, suggestions.is_empty()) {
            (Some(r), true) => (
                r.empty_reason.as_ref().map(|e| e.code().to_owned()),
                r.empty_reason.as_ref().map(ToString::to_string),
                r.alternatives
                    .iter()
                    .map(|a| AlternativeOut {
                        relaxed: a.relaxed.code().to_owned(),
                        description: a.relaxed.to_string(),
                        suggestion: out(&a.suggestion, a.relaxed.to_string()),
                    })
                    .collect(),
            ),
            _ => (None, None, Vec::new()),
        };
    Ok(SuggestionsResponse {
        case_id: case_id.to_owned(),
        suggestions,
        empty_reason,
        empty_reason_detail,
        alternatives,
    })
}

fn reason(preference: Preference, s: &Suggestion, n: usize) -> String {
    let who = if s.attendees.len() == n {
        format!("all {n} attendees free")
    } else {
        format!("{} of {n} attendees free", s.attendees.len())
    };
    let order = match preference {
        Preference::First => "earliest fitting slot",
        Preference::Last => "latest fitting slot",
        Preference::Random => "random fitting slot (seeded)",
        Preference::Best => "most attendees, then earliest",
    };
    format!("{order}; {who}")
}

/// A user's timeline from their free intervals (RFC 3339 pairs).
fn timeline_of(window: &Window, runs: Option<&Value>) -> Result<Timeline, String> {
    let runs = runs
        .and_then(Value::as_array)
        .ok_or("a user's free intervals are missing")?;
    let start = window.start();
    let mut slots: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for r in runs {
        let pair = r
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or("a free interval is not a pair")?;
        let slot = |v: &Value| -> Result<usize, String> {
            let t = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or("a free interval bound is not RFC 3339")?;
            let minutes = (t.with_timezone(&Utc) - start).num_minutes();
            usize::try_from(minutes / 5)
                .map_err(|_| "a free interval starts before the window".to_owned())
        };
        slots.push((slot(&pair[0])?, slot(&pair[1])?));
    }
    let mut next = 0;
    Ok(Timeline::from_fn(window.slots(), |i| {
        while next < slots.len() && slots[next].1 <= i {
            next += 1;
        }
        next < slots.len() && slots[next].0 <= i
    }))
}

fn hours_value(h: f64) -> Value {
    if h.fract() == 0.0 {
        Value::from(h as i64)
    } else {
        Value::from((h * 100.0).round() / 100.0)
    }
}

fn suggestion_out(s: &Suggestion, tz: Tz, users: &[String], reason: String) -> SuggestionOut {
    let local = s.start.with_timezone(&tz);
    let start_h = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
    let duration_h = (s.end - s.start).num_minutes() as f64 / 60.0;
    let names = |ix: &[usize]| ix.iter().map(|i| users[*i].clone()).collect();
    SuggestionOut {
        day: scheduling::pattern::weekday_name(local.weekday()).to_owned(),
        slot: [hours_value(start_h), hours_value(start_h + duration_h)],
        start: s.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end: s.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        attendees: names(&s.attendees),
        missing: names(&s.missing),
        score: s.score,
        reason,
    }
}
