//! The meeting-service's domain: what a meeting is, who may do what with
//! it, what each change tells the rest of the platform, and its calendar
//! form. No I/O here.
//!
//! - [`meeting`]: client bodies parsed into [`NewMeeting`] and [`Change`].
//! - [`access`]: who may act for a person and read their calendar.
//! - [`event`]: the domain events and their wire form on the exchange.
//! - [`transition`]: every change as a pure function of the current state.
//! - [`ics`]: RFC 5545 output.

pub mod access;
pub mod event;
pub mod ics;
pub mod meeting;
pub mod transition;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use event::{DomainEvent, EventKind};
pub use meeting::{
    Answer, Change, MeetingInput, MeetingPatch, NewMeeting, Span, Status, Visibility,
};

/// One invitee and their answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Invite {
    pub email: String,
    pub answer: Answer,
}

/// A meeting as stored.
#[derive(Debug, Clone)]
pub struct Meeting {
    pub id: Uuid,
    pub organizer: String,
    pub title: String,
    pub description: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tz: Tz,
    pub visibility: Visibility,
    pub status: Status,
    /// RFC 5545's SEQUENCE: bumped by each change the organizer makes.
    pub sequence: i32,
    /// The ETag: bumped by every change, answers included.
    pub version: i32,
    /// Sorted by email.
    pub attendees: Vec<Invite>,
    /// Sorted by email.
    pub rsvps: Vec<Invite>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Meeting {
    pub fn span(&self) -> Span {
        Span::new(self.start, self.end).expect("stored spans are valid")
    }

    pub fn invite_of(&self, email: &str) -> Option<&Invite> {
        self.attendees.iter().find(|i| i.email == email)
    }

    pub fn is_participant(&self, email: &str) -> bool {
        self.organizer == email || self.invite_of(email).is_some()
    }

    /// Whose time the meeting holds: the organizer and every invitee who
    /// has not declined, while it is booked; nobody once cancelled.
    pub fn holders(&self) -> Vec<String> {
        if self.status == Status::Cancelled {
            return Vec::new();
        }
        let mut holders: Vec<String> = std::iter::once(self.organizer.clone())
            .chain(
                self.attendees
                    .iter()
                    .filter(|i| i.answer.holds_time())
                    .map(|i| i.email.clone()),
            )
            .collect();
        holders.sort();
        holders.dedup();
        holders
    }

    /// The JSON answer; the RSVP list only for those who may see it
    /// (`full`: the organizer and the platform's services).
    pub fn view(&self, full: bool) -> MeetingView {
        let count = |a: Answer| self.rsvps.iter().filter(|r| r.answer == a).count();
        MeetingView {
            id: self.id,
            title: self.title.clone(),
            description: self.description.clone(),
            start: self.start,
            end: self.end,
            tz: self.tz.name().to_owned(),
            visibility: self.visibility,
            status: self.status,
            organizer: self.organizer.clone(),
            attendees: self.attendees.clone(),
            rsvp_counts: RsvpCounts {
                yes: count(Answer::Yes),
                maybe: count(Answer::Maybe),
                no: count(Answer::No),
            },
            rsvps: full.then(|| self.rsvps.clone()),
            sequence: self.sequence,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A meeting as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// RFC 3339, UTC.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The zone it is shown in.
    pub tz: String,
    pub visibility: Visibility,
    pub status: Status,
    pub organizer: String,
    /// Invitees and their answers, sorted by email.
    pub attendees: Vec<Invite>,
    /// RSVPs to a public meeting, counted.
    pub rsvp_counts: RsvpCounts,
    /// Who RSVP'd what: for the organizer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsvps: Option<Vec<Invite>>,
    /// RFC 5545 SEQUENCE.
    pub sequence: i32,
    /// Also the ETag.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RsvpCounts {
    pub yes: usize,
    pub maybe: usize,
    pub no: usize,
}
