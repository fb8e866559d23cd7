//! Ranked suggestions from the group's timelines: pure, no I/O.

use chrono::{Datelike, SecondsFormat, Timelike};
use chrono_tz::Tz;
use scheduling::{Count, EmptyReason, Explanation, Group, Preference, SuggestRequest, Suggestion};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use w2meet_group::{Email, SuggestionRequest};

/// One suggested meeting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionOut {
    /// Weekday of the start in `tz` (original shape).
    pub day: String,
    /// `[start_hour, end_hour]` in `tz` (original shape; fractional off the
    /// hour, e.g. `[9.5, 10.5]`; the end read from the end instant, so a
    /// meeting across a clock change ends at the hour the clock shows, and
    /// one ending at midnight ends at 24).
    #[schema(value_type = Vec<f64>)]
    pub slot: [Value; 2],
    /// RFC 3339 UTC.
    pub start: String,
    pub end: String,
    /// Who can attend, by address — except claimed profiles the caller may
    /// not see (SPEC §6), counted in `hidden_attendees` instead.
    pub attendees: Vec<String>,
    /// Who cannot, likewise (`hidden_missing`).
    pub missing: Vec<String>,
    /// Attendees not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_attendees: usize,
    /// Missing people not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_missing: usize,
    /// Those of `attendees` who can come only if need be (SPEC §10).
    /// Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub if_need_be: Vec<String>,
    /// If-need-be attendees not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_if_need_be: usize,
    /// Share of the group that can attend, in (0, 1].
    pub score: f64,
    /// Why this one: the ranking that chose it.
    pub reason: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The group's members as an answer may name them: member `i` is
/// `members[i]` (with its stored preference), named unless `hidden[i]`.
pub struct Members<'a> {
    pub members: &'a [(Email, String)],
    pub hidden: Vec<bool>,
}

impl Members<'_> {
    /// The named members among `ix`, and how many others.
    fn names(&self, ix: &[usize]) -> (Vec<String>, usize) {
        let named: Vec<String> = ix
            .iter()
            .filter(|&&i| !self.hidden[i])
            .map(|&i| self.members[i].0.to_string())
            .collect();
        let others = ix.len() - named.len();
        (named, others)
    }
}

/// A meeting that fits if one constraint is relaxed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlternativeOut {
    /// What was relaxed: `duration`, `step` or `attendees`.
    pub relaxed: String,
    pub description: String,
    pub suggestion: SuggestionOut,
}

/// A required person who keeps the group's best slots off the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockerOut {
    pub email: String,
    /// How many of the best slots (those the most people can attend) they
    /// cannot make.
    pub best_slots_missed: usize,
}

/// The fewest people whose extra availability would give a meeting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeopleChangeOut {
    /// Who would have to become free, named as the caller may see them.
    pub users: Vec<String>,
    /// How many more, not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden: usize,
    /// The meeting they would make possible (RFC 3339 UTC).
    pub start: String,
    pub end: String,
}

/// The smallest changes that would give a meeting every required person
/// can attend; each `null` when it cannot help.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmallestChangeOut {
    pub people: Option<PeopleChangeOut>,
    /// The longest shorter duration that fits, in minutes.
    pub duration: Option<u32>,
    /// The largest smaller `min_attendees` that fits.
    pub min_attendees: Option<usize>,
    /// The fewest days from the window's first date that would hold a
    /// meeting, looking up to [`LOOKAHEAD_DAYS`] past the window (at most
    /// 366 in all); `null` when none do.
    pub days: Option<u32>,
}

/// How far past the window `smallest_change.days` looks.
pub const LOOKAHEAD_DAYS: u32 = 28;

/// The core's request for one ranking run of `req` (what the explanation
/// and the window relaxation evaluate: the preference does not matter to
/// them).
pub fn core_request(
    req: &SuggestionRequest,
    preference: Preference,
    count: Count,
) -> SuggestRequest {
    let options = &req.options;
    SuggestRequest {
        duration: options.duration,
        step: options.step,
        count,
        preference,
        seed: options.seed.unwrap_or(0),
        attendance: req.group.attendance(),
    }
}

/// The answer to a group request or one with any newer parameter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionsResponse {
    pub case_id: String,
    pub suggestions: Vec<SuggestionOut>,
    /// `null`, or why nothing fits (`no_common_availability`,
    /// `duration_exceeds_common_windows`, `required_attendee_unavailable`,
    /// `step_misses_common_windows`).
    pub empty_reason: Option<String>,
    /// A sentence for people, with `empty_reason` (naming people by email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_reason_detail: Option<String>,
    /// Up to three nearest relaxations when nothing fits.
    pub alternatives: Vec<AlternativeOut>,
    /// Required people missing from every one of the best slots (those the
    /// most people can attend), most slots first; empty when a best slot
    /// has everyone required.
    pub blockers: Vec<BlockerOut>,
    /// Blockers not named. Absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_blockers: usize,
    /// When nothing fits: the smallest change of people, duration or
    /// quorum that would give a meeting; `null` otherwise.
    pub smallest_change: Option<SmallestChangeOut>,
}

/// One suggestion in the original shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OriginalSuggestion {
    pub day: String,
    #[schema(value_type = Vec<f64>)]
    pub slot: [Value; 2],
}

/// The answer to the original request (`?userId1=&userId2=` and nothing
/// newer): exactly the original body plus the Case-ID.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OriginalSuggestions {
    pub case_id: String,
    pub suggestions: Vec<OriginalSuggestion>,
}

/// `GET/POST /suggestions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SuggestionsAnswer {
    Original(OriginalSuggestions),
    Full(Box<SuggestionsResponse>),
}

impl SuggestionsAnswer {
    pub fn suggestions(&self) -> usize {
        match self {
            SuggestionsAnswer::Original(o) => o.suggestions.len(),
            SuggestionsAnswer::Full(f) => f.suggestions.len(),
        }
    }
}

/// Ranks `group` (member `i` = `members[i]`, with its stored preference).
pub fn rank(
    req: &SuggestionRequest,
    group: &Group,
    named: &Members<'_>,
    case_id: &str,
) -> SuggestionsAnswer {
    let members = named.members;
    let options = &req.options;
    let tz = group.window().tz();
    let stored = |i: usize| members[i].1.parse::<Preference>().unwrap_or_default();
    let one = Count::new(1).expect("1 is a valid count");
    // The original: one suggestion per distinct stored preference, user 1's
    // first. Otherwise the top `count` in the asked (or user 1's) order.
    let runs: Vec<(Preference, Count)> = if options.one_per_stored_preference() {
        let mut prefs: Vec<Preference> = Vec::new();
        for p in (0..members.len()).map(stored) {
            if !prefs.contains(&p) {
                prefs.push(p);
            }
        }
        prefs.into_iter().map(|p| (p, one)).collect()
    } else {
        let p = options.preference.unwrap_or_else(|| stored(0));
        vec![(p, options.count.unwrap_or(one))]
    };
    let request = |preference, count| core_request(req, preference, count);
    let mut suggestions = Vec::new();
    let mut first_empty = None;
    for (preference, count) in runs {
        let result = scheduling::suggest(group, &request(preference, count));
        suggestions.extend(
            result
                .suggestions
                .iter()
                .map(|s| (s.clone(), reason(preference, s, members.len()))),
        );
        if first_empty.is_none() && result.suggestions.is_empty() {
            first_empty = Some(result);
        }
    }
    if req.is_original_form() {
        return SuggestionsAnswer::Original(OriginalSuggestions {
            case_id: case_id.to_owned(),
            suggestions: suggestions
                .iter()
                .map(|(s, _)| {
                    let (day, slot) = day_and_slot(s, tz);
                    OriginalSuggestion { day, slot }
                })
                .collect(),
        });
    }
    let out = |s: &Suggestion, reason: String| suggestion_out(s, tz, named, reason);
    let (empty_reason, empty_reason_detail, alternatives) =
        match (&first_empty, suggestions.is_empty()) {
            (Some(r), true) => (
                r.empty_reason.as_ref().map(|e| e.code().to_owned()),
                r.empty_reason.as_ref().map(|e| describe(e, named)),
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
    // The explanation does not depend on the preference: the grid, the
    // duration and who is required are the same in every run.
    let explanation = scheduling::explain(
        group,
        &request(Preference::First, one),
        !suggestions.is_empty(),
    );
    let (blockers, hidden_blockers, smallest_change) = explanation_out(&explanation, named);
    SuggestionsAnswer::Full(Box::new(SuggestionsResponse {
        case_id: case_id.to_owned(),
        suggestions: suggestions.iter().map(|(s, r)| out(s, r.clone())).collect(),
        empty_reason,
        empty_reason_detail,
        alternatives,
        blockers,
        hidden_blockers,
        smallest_change,
    }))
}

/// The explanation as the caller may see it: blockers and people named
/// only where they may be (SPEC §6), the rest counted.
fn explanation_out(
    explanation: &Explanation,
    named: &Members<'_>,
) -> (Vec<BlockerOut>, usize, Option<SmallestChangeOut>) {
    let blockers: Vec<BlockerOut> = explanation
        .blockers
        .iter()
        .filter(|b| !named.hidden[b.user])
        .map(|b| BlockerOut {
            email: named.members[b.user].0.to_string(),
            best_slots_missed: b.slots,
        })
        .collect();
    let hidden_blockers = explanation.blockers.len() - blockers.len();
    let rfc3339 = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let smallest_change = explanation
        .smallest_change
        .as_ref()
        .map(|c| SmallestChangeOut {
            people: c.people.as_ref().map(|p| {
                let (users, hidden) = named.names(&p.users);
                PeopleChangeOut {
                    users,
                    hidden,
                    start: rfc3339(p.start),
                    end: rfc3339(p.end),
                }
            }),
            duration: c.duration.map(|d| d.minutes()),
            min_attendees: c.min_attendees,
            // Needs more of the group's time than this answer holds: the
            // service fills it in (`Suggestions::suggest`).
            days: None,
        });
    (blockers, hidden_blockers, smallest_change)
}

/// The reason in words, naming people by email (as far as the caller may
/// see them).
fn describe(reason: &EmptyReason, named: &Members<'_>) -> String {
    match reason {
        EmptyReason::RequiredAttendeeUnavailable { users } => {
            let (mut names, others) = named.names(users);
            if others > 0 {
                names.push(format!("{others} other(s)"));
            }
            format!(
                "required attendee(s) {} are never free in the window",
                names.join(", ")
            )
        }
        other => other.to_string(),
    }
}

fn reason(preference: Preference, s: &Suggestion, n: usize) -> String {
    let mut who = if s.attendees.len() == n {
        format!("all {n} attendees free")
    } else {
        format!("{} of {n} attendees free", s.attendees.len())
    };
    if !s.if_need_be.is_empty() {
        who.push_str(&format!(" ({} only if need be)", s.if_need_be.len()));
    }
    let order = match preference {
        Preference::First => "earliest fitting slot",
        Preference::Last => "latest fitting slot",
        Preference::Random => "random fitting slot (seeded)",
        Preference::Best => "most attendees, then earliest",
    };
    format!("{order}; {who}")
}

/// An hour count as the original wrote it: whole hours as integers,
/// others rounded to two decimals.
fn hours_value(h: f64) -> Value {
    if h.fract() == 0.0 {
        Value::from(h as i64)
    } else {
        Value::from((h * 100.0).round() / 100.0)
    }
}

/// The weekday of the start and `[start_hour, end_hour]` on the start's
/// local date, both read off the wall clock in `tz` (an end on a later
/// date counts 24 hours per date, so 23:00–00:00 is `[23, 24]`).
fn day_and_slot(s: &Suggestion, tz: Tz) -> (String, [Value; 2]) {
    let start = s.start.with_timezone(&tz);
    let end = s.end.with_timezone(&tz);
    let clock = |t: &chrono::DateTime<Tz>| f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
    let later_days = (end.date_naive() - start.date_naive()).num_days() as f64;
    (
        scheduling::pattern::weekday_name(start.weekday()).to_owned(),
        [
            hours_value(clock(&start)),
            hours_value(later_days * 24.0 + clock(&end)),
        ],
    )
}

fn suggestion_out(s: &Suggestion, tz: Tz, named: &Members<'_>, reason: String) -> SuggestionOut {
    let (attendees, hidden_attendees) = named.names(&s.attendees);
    let (missing, hidden_missing) = named.names(&s.missing);
    let (if_need_be, hidden_if_need_be) = named.names(&s.if_need_be);
    let (day, slot) = day_and_slot(s, tz);
    SuggestionOut {
        day,
        slot,
        start: s.start.to_rfc3339_opts(SecondsFormat::Secs, true),
        end: s.end.to_rfc3339_opts(SecondsFormat::Secs, true),
        attendees,
        missing,
        hidden_attendees,
        hidden_missing,
        if_need_be,
        hidden_if_need_be,
        score: s.score,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn meeting(start: &str, end: &str) -> Suggestion {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        Suggestion {
            start: at(start),
            end: at(end),
            attendees: vec![0, 1],
            missing: vec![],
            if_need_be: vec![],
            score: 1.0,
        }
    }

    #[test]
    fn the_end_hour_is_read_from_the_end_instant_across_a_clock_change() {
        // 01:00 EST → 03:00 EDT on 2027-03-14.
        let (day, slot) = day_and_slot(
            &meeting("2027-03-14T06:00:00Z", "2027-03-14T07:00:00Z"),
            chrono_tz::America::New_York,
        );
        assert_eq!(
            (day.as_str(), slot),
            ("sunday", [Value::from(1), Value::from(3)])
        );
        // Lord Howe falls back half an hour: 01:00 (+11) → 01:30 (+10:30).
        let (_, slot) = day_and_slot(
            &meeting("2027-04-03T14:00:00Z", "2027-04-03T15:00:00Z"),
            chrono_tz::Australia::Lord_Howe,
        );
        assert_eq!(slot, [Value::from(1), Value::from(1.5)]);
    }

    #[test]
    fn a_hidden_member_is_counted_and_never_named() {
        let members = vec![
            (Email::parse("a@x.io").expect("email"), "first".to_owned()),
            (Email::parse("b@x.io").expect("email"), "first".to_owned()),
        ];
        let named = Members {
            members: &members,
            hidden: vec![false, true],
        };
        let mut m = meeting("2027-01-04T09:00:00Z", "2027-01-04T10:00:00Z");
        let out = suggestion_out(&m, chrono_tz::UTC, &named, String::new());
        assert_eq!(out.attendees, ["a@x.io"]);
        assert_eq!(out.hidden_attendees, 1);
        m.attendees = vec![0];
        m.missing = vec![1];
        let out = suggestion_out(&m, chrono_tz::UTC, &named, String::new());
        assert_eq!((out.missing.len(), out.hidden_missing), (0, 1));
        let json = serde_json::to_value(&out).expect("json");
        assert!(!json.to_string().contains("b@x.io"), "{json}");
        assert!(json.get("hidden_attendees").is_none(), "absent when zero");
        let why = describe(
            &EmptyReason::RequiredAttendeeUnavailable { users: vec![0, 1] },
            &named,
        );
        assert_eq!(
            why,
            "required attendee(s) a@x.io, 1 other(s) are never free in the window"
        );
    }

    #[test]
    fn an_explanation_names_only_the_people_the_caller_may_see() {
        let members: Vec<(Email, String)> = ["a@x.io", "b@x.io", "c@x.io"]
            .iter()
            .map(|e| (Email::parse(e).expect("email"), "first".to_owned()))
            .collect();
        let named = Members {
            members: &members,
            hidden: vec![false, true, false],
        };
        let m = meeting("2027-01-04T09:00:00Z", "2027-01-04T10:00:00Z");
        let explanation = Explanation {
            blockers: vec![
                scheduling::Blocker { user: 1, slots: 3 },
                scheduling::Blocker { user: 2, slots: 1 },
            ],
            smallest_change: Some(scheduling::SmallestChange {
                people: Some(scheduling::PeopleChange {
                    users: vec![1, 2],
                    start: m.start,
                    end: m.end,
                }),
                duration: None,
                min_attendees: Some(2),
            }),
        };
        let (blockers, hidden, change) = explanation_out(&explanation, &named);
        let json = serde_json::to_value((&blockers, hidden, &change)).expect("json");
        assert!(!json.to_string().contains("b@x.io"), "{json}");
        assert_eq!(blockers.len(), 1);
        assert_eq!((blockers[0].email.as_str(), hidden), ("c@x.io", 1));
        let people = change.and_then(|c| c.people).expect("people");
        assert_eq!(
            (people.users, people.hidden),
            (vec!["c@x.io".to_owned()], 1)
        );
    }

    #[test]
    fn a_meeting_ending_at_midnight_ends_at_24() {
        let (_, slot) = day_and_slot(
            &meeting("2027-01-04T23:00:00Z", "2027-01-05T00:00:00Z"),
            chrono_tz::UTC,
        );
        assert_eq!(slot, [Value::from(23), Value::from(24)]);
        let (_, slot) = day_and_slot(
            &meeting("2027-01-04T09:30:00Z", "2027-01-04T10:30:00Z"),
            chrono_tz::UTC,
        );
        assert_eq!(slot, [Value::from(9.5), Value::from(10.5)]);
    }
}
