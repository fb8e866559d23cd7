//! Domain events: one per change, appended to the meeting's history and to
//! the outbox in the change's own transaction, then published to the topic
//! exchange with the event type as routing key.
//!
//! Every event carries the meeting's state after the change
//! ([`EventMeeting`], with `holders`: whose time it holds), so a consumer
//! never needs to call back: user-service keeps each person's busy time
//! from it alone. Events of one meeting are numbered (`seq`, 1, 2, …): a
//! consumer that keeps the highest `seq` it applied per meeting ignores a
//! redelivered or late event, which makes it idempotent and immune to
//! reordering by redelivery.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Answer, Meeting};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventKind {
    #[serde(rename = "meeting.booked")]
    Booked,
    /// New start or end: every answer went back to `PENDING`.
    #[serde(rename = "meeting.rescheduled")]
    Rescheduled,
    /// Title, description, visibility or invitees changed (not the time).
    #[serde(rename = "meeting.updated")]
    Updated,
    #[serde(rename = "meeting.cancelled")]
    Cancelled,
    #[serde(rename = "invite.answered")]
    InviteAnswered,
    #[serde(rename = "rsvp.answered")]
    RsvpAnswered,
}

impl EventKind {
    /// The routing key (and the `type` field).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Booked => "meeting.booked",
            EventKind::Rescheduled => "meeting.rescheduled",
            EventKind::Updated => "meeting.updated",
            EventKind::Cancelled => "meeting.cancelled",
            EventKind::InviteAnswered => "invite.answered",
            EventKind::RsvpAnswered => "rsvp.answered",
        }
    }
}

/// The meeting after the change, as events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventMeeting {
    pub id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `booked` or `cancelled`.
    pub status: String,
    pub organizer: String,
    /// Everyone whose time the meeting holds now (sorted); empty once
    /// cancelled.
    pub holders: Vec<String>,
    /// Everyone invited (sorted), whatever their answer.
    pub attendees: Vec<String>,
}

/// The answer an `invite.answered` or `rsvp.answered` event records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventAnswer {
    pub email: String,
    pub answer: Answer,
}

/// One event, as stored in the history and published (the message body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DomainEvent {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub meeting_id: Uuid,
    /// 1 for `meeting.booked`, +1 per event of the same meeting.
    pub seq: i32,
    /// The Case-ID of the request that made the change.
    pub case_id: String,
    pub occurred_at: DateTime<Utc>,
    /// Who made the change (an email), when a person did.
    pub actor: Option<String>,
    pub meeting: EventMeeting,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<EventAnswer>,
}

impl DomainEvent {
    /// The event recording `kind` on `meeting` (already changed).
    pub fn of(
        kind: EventKind,
        meeting: &Meeting,
        seq: i32,
        case_id: &str,
        actor: Option<&str>,
        answer: Option<EventAnswer>,
    ) -> DomainEvent {
        DomainEvent {
            event_id: Uuid::now_v7(),
            kind,
            meeting_id: meeting.id,
            seq,
            case_id: case_id.to_owned(),
            occurred_at: Utc::now(),
            actor: actor.map(str::to_owned),
            meeting: EventMeeting {
                id: meeting.id,
                start: meeting.start,
                end: meeting.end,
                status: meeting.status.as_str().to_owned(),
                organizer: meeting.organizer.clone(),
                holders: meeting.holders(),
                attendees: meeting.attendees.iter().map(|i| i.email.clone()).collect(),
            },
            answer,
        }
    }
}
