//! A meeting as clients send it ([`MeetingInput`], [`MeetingPatch`]) and as
//! the rest of the service accepts it ([`NewMeeting`], [`Change`]): parsed
//! once here, every problem listed with its location.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use w2meet_group::Email;
use w2meet_platform::ErrorDetail;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5000;
/// Most invitees on one meeting.
pub const MAX_ATTENDEES: usize = 500;
/// Longest meeting.
pub const MAX_LENGTH_DAYS: i64 = 14;

/// `private` (participants only) or `public` (listed, open to RSVPs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Private,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }

    pub fn from_db(s: &str) -> Visibility {
        if s == "public" {
            Visibility::Public
        } else {
            Visibility::Private
        }
    }
}

/// `booked` until the organizer cancels it; a cancelled meeting is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Booked,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Booked => "booked",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn from_db(s: &str) -> Status {
        if s == "cancelled" {
            Status::Cancelled
        } else {
            Status::Booked
        }
    }
}

/// An invitee's answer. `PENDING` until they answer; an RSVP is never
/// `PENDING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Answer {
    Pending,
    Yes,
    Maybe,
    No,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Pending => "PENDING",
            Answer::Yes => "YES",
            Answer::Maybe => "MAYBE",
            Answer::No => "NO",
        }
    }

    pub fn from_db(s: &str) -> Answer {
        match s {
            "YES" => Answer::Yes,
            "MAYBE" => Answer::Maybe,
            "NO" => Answer::No,
            _ => Answer::Pending,
        }
    }

    /// Parses a client's answer: `YES`, `MAYBE` or `NO` (any case).
    /// `PENDING` is where an invite starts, never an answer.
    pub fn parse_reply(raw: &str) -> Result<Answer, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "YES" => Ok(Answer::Yes),
            "MAYBE" => Ok(Answer::Maybe),
            "NO" => Ok(Answer::No),
            _ => Err("answer must be YES, MAYBE or NO".to_owned()),
        }
    }

    /// Whether the person's time stays held: everyone but those who said no.
    pub fn holds_time(self) -> bool {
        self != Answer::No
    }
}

/// `POST /meetings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub title: Option<String>,
    pub description: Option<String>,
    /// RFC 3339, usually a suggestion's `start`.
    pub start: Option<String>,
    /// RFC 3339, after `start`.
    pub end: Option<String>,
    /// IANA zone the meeting is shown in (default `UTC`); times are absolute.
    pub tz: Option<String>,
    /// Invitees (the organizer is never invited to their own meeting).
    #[serde(default)]
    pub attendees: Vec<String>,
    /// `private` (default) or `public`.
    pub visibility: Option<String>,
    /// Who organizes it, when the caller has no token (open mode, an
    /// unclaimed profile); with a token the organizer is its subject.
    pub organizer: Option<String>,
}

/// `PATCH /meetings/{id}`: every field optional; absent means unchanged.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub tz: Option<String>,
    /// The whole new invitee list: added people get a `PENDING` invite,
    /// removed ones lose theirs.
    pub attendees: Option<Vec<String>>,
    pub visibility: Option<String>,
    /// Acting organizer without a token (open mode, unclaimed profile).
    pub organizer: Option<String>,
}

/// A validated booking.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMeeting {
    pub title: String,
    pub description: String,
    pub span: Span,
    pub tz: Tz,
    pub attendees: BTreeSet<Email>,
    pub visibility: Visibility,
}

/// A validated change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub title: Option<String>,
    pub description: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub tz: Option<Tz>,
    pub attendees: Option<BTreeSet<Email>>,
    pub visibility: Option<Visibility>,
}

/// `[start, end)`, start before end, at most [`MAX_LENGTH_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Span {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Span, String> {
        if end <= start {
            return Err("end must be after start".to_owned());
        }
        if end - start > chrono::Duration::days(MAX_LENGTH_DAYS) {
            return Err(format!("a meeting lasts at most {MAX_LENGTH_DAYS} days"));
        }
        Ok(Span { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

/// Collects every problem of a body, each with its location.
#[derive(Default)]
struct Problems(Vec<ErrorDetail>);

impl Problems {
    fn add(&mut self, loc: &[&str], msg: impl Into<String>) {
        self.0
            .push(ErrorDetail::new(loc.iter().copied(), msg, "value_error"));
    }

    fn take<T>(&mut self, loc: &[&str], r: Result<T, String>) -> Option<T> {
        r.map_err(|m| self.add(loc, m)).ok()
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<ErrorDetail>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 time, e.g. 2027-01-04T09:00:00Z".to_owned())
}

pub fn parse_tz(raw: &str) -> Result<Tz, String> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone {raw:?} (an IANA name such as Europe/Berlin)"))
}

fn parse_title(raw: &str) -> Result<String, String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err("title must not be empty".to_owned());
    }
    if title.chars().count() > MAX_TITLE {
        return Err(format!("title must be at most {MAX_TITLE} characters"));
    }
    if title.chars().any(char::is_control) {
        return Err("title must not contain control characters".to_owned());
    }
    Ok(title.to_owned())
}

fn parse_description(raw: &str) -> Result<String, String> {
    if raw.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "description must be at most {MAX_DESCRIPTION} characters"
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("description must not contain control characters".to_owned());
    }
    Ok(raw.to_owned())
}

fn parse_visibility(raw: &str) -> Result<Visibility, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "private" => Ok(Visibility::Private),
        "public" => Ok(Visibility::Public),
        _ => Err("visibility must be private or public".to_owned()),
    }
}

fn parse_attendees(raw: &[String], p: &mut Problems) -> BTreeSet<Email> {
    if raw.len() > MAX_ATTENDEES {
        p.add(
            &["body", "attendees"],
            format!("at most {MAX_ATTENDEES} attendees"),
        );
        return BTreeSet::new();
    }
    let mut out = BTreeSet::new();
    for (i, email) in raw.iter().enumerate() {
        let idx = i.to_string();
        if let Some(e) = p.take(&["body", "attendees", &idx], Email::parse(email)) {
            out.insert(e);
        }
    }
    out
}

/// The acting organizer named in a body (open mode), if any.
pub fn parse_organizer(raw: Option<&str>) -> Result<Option<Email>, Vec<ErrorDetail>> {
    raw.map(|o| {
        Email::parse(o).map_err(|m| vec![ErrorDetail::new(["body", "organizer"], m, "value_error")])
    })
    .transpose()
}

impl NewMeeting {
    pub fn parse(input: &MeetingInput) -> Result<NewMeeting, Vec<ErrorDetail>> {
        let mut p = Problems::default();
        let title = match &input.title {
            Some(t) => p.take(&["body", "title"], parse_title(t)),
            None => {
                p.add(&["body", "title"], "title is required");
                None
            }
        };
        let description = input
            .description
            .as_deref()
            .map(|d| p.take(&["body", "description"], parse_description(d)))
            .unwrap_or(Some(String::new()));
        let mut time = |name: &str, raw: &Option<String>| match raw {
            Some(t) => p.take(&["body", name], parse_time(t)),
            None => {
                p.add(&["body", name], format!("{name} is required"));
                None
            }
        };
        let (start, end) = (time("start", &input.start), time("end", &input.end));
        let span = match (start, end) {
            (Some(s), Some(e)) => p.take(&["body", "end"], Span::new(s, e)),
            _ => None,
        };
        let tz = input
            .tz
            .as_deref()
            .map(|z| p.take(&["body", "tz"], parse_tz(z)))
            .unwrap_or(Some(Tz::UTC));
        let visibility = input
            .visibility
            .as_deref()
            .map(|v| p.take(&["body", "visibility"], parse_visibility(v)))
            .unwrap_or(Some(Visibility::Private));
        let attendees = parse_attendees(&input.attendees, &mut p);
        p.finish(|| NewMeeting {
            title: title.expect("checked"),
            description: description.expect("checked"),
            span: span.expect("checked"),
            tz: tz.expect("checked"),
            attendees,
            visibility: visibility.expect("checked"),
        })
    }
}

impl Change {
    pub fn parse(patch: &MeetingPatch) -> Result<Change, Vec<ErrorDetail>> {
        let mut p = Problems::default();
        let title = patch
            .title
            .as_deref()
            .and_then(|t| p.take(&["body", "title"], parse_title(t)));
        let description = patch
            .description
            .as_deref()
            .and_then(|d| p.take(&["body", "description"], parse_description(d)));
        let start = patch
            .start
            .as_deref()
            .and_then(|t| p.take(&["body", "start"], parse_time(t)));
        let end = patch
            .end
            .as_deref()
            .and_then(|t| p.take(&["body", "end"], parse_time(t)));
        let tz = patch
            .tz
            .as_deref()
            .and_then(|z| p.take(&["body", "tz"], parse_tz(z)));
        let visibility = patch
            .visibility
            .as_deref()
            .and_then(|v| p.take(&["body", "visibility"], parse_visibility(v)));
        let attendees = patch
            .attendees
            .as_deref()
            .map(|a| parse_attendees(a, &mut p));
        p.finish(|| Change {
            title,
            description,
            start,
            end,
            tz,
            attendees,
            visibility,
        })
    }

    /// The meeting's span after this change (times are checked together,
    /// against the current ones for a field left out).
    pub fn span_from(&self, current: Span) -> Result<Span, Vec<ErrorDetail>> {
        Span::new(
            self.start.unwrap_or(current.start()),
            self.end.unwrap_or(current.end()),
        )
        .map_err(|m| vec![ErrorDetail::new(["body", "end"], m, "value_error")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(start: &str, end: &str) -> MeetingInput {
        MeetingInput {
            title: Some(" Planning ".into()),
            description: None,
            start: Some(start.into()),
            end: Some(end.into()),
            tz: None,
            attendees: vec!["B@x.io".into(), "b@x.io".into(), "c@x.io".into()],
            visibility: None,
            organizer: None,
        }
    }

    #[test]
    fn a_booking_is_trimmed_and_its_attendees_collapse() {
        let m =
            NewMeeting::parse(&input("2027-01-04T09:00:00Z", "2027-01-04T10:00:00+00:00")).unwrap();
        assert_eq!(m.title, "Planning");
        assert_eq!(m.attendees.len(), 2);
        assert_eq!(m.visibility, Visibility::Private);
        assert_eq!(m.tz, Tz::UTC);
    }

    #[test]
    fn every_problem_of_a_booking_is_listed_with_its_location() {
        let mut bad = input("monday", "2027-01-04T10:00:00Z");
        bad.title = None;
        bad.attendees = vec!["not-an-email".into()];
        bad.visibility = Some("secret".into());
        bad.tz = Some("Mars/Olympus".into());
        let problems = NewMeeting::parse(&bad).unwrap_err();
        let locs: Vec<String> = problems.iter().map(|d| d.loc.join(".")).collect();
        assert_eq!(
            locs,
            [
                "body.title",
                "body.start",
                "body.tz",
                "body.visibility",
                "body.attendees.0"
            ]
        );
    }

    #[test]
    fn an_end_before_the_start_is_refused() {
        let problems =
            NewMeeting::parse(&input("2027-01-04T10:00:00Z", "2027-01-04T09:00:00Z")).unwrap_err();
        assert_eq!(problems[0].loc, ["body", "end"]);
    }

    #[test]
    fn a_reply_is_yes_maybe_or_no_never_pending() {
        assert_eq!(Answer::parse_reply("yes"), Ok(Answer::Yes));
        assert_eq!(Answer::parse_reply(" Maybe "), Ok(Answer::Maybe));
        assert!(Answer::parse_reply("PENDING").is_err());
        assert!(!Answer::No.holds_time());
        assert!(Answer::Pending.holds_time());
    }

    #[test]
    fn a_patch_checks_its_times_against_the_current_ones() {
        let current = Span::new(
            parse_time("2027-01-04T09:00:00Z").unwrap(),
            parse_time("2027-01-04T10:00:00Z").unwrap(),
        )
        .unwrap();
        let change = Change::parse(&MeetingPatch {
            start: Some("2027-01-04T11:00:00Z".into()),
            ..MeetingPatch::default()
        })
        .unwrap();
        assert!(change.span_from(current).is_err());
    }
}
