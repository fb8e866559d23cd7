//! Every change to a meeting as a pure function from the current state to
//! the next one and the event that records it. The store runs one of these
//! on the row it has locked, then writes the whole new state (meeting,
//! invites, RSVPs, held time) and the event in the same transaction, so the
//! rules live here and the store only persists.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use w2meet_group::Email;
use w2meet_platform::if_match::IfMatch;

use super::event::EventAnswer;
use super::{Answer, Change, EventKind, Invite, Meeting, NewMeeting, Status, Visibility};

/// The new state and what happened; `event: None` means nothing changed
/// (a repeated answer), so nothing is written.
#[derive(Debug, Clone)]
pub struct Transition {
    pub meeting: Meeting,
    pub event: Option<(EventKind, Option<EventAnswer>)>,
}

/// Why a change cannot be made to the meeting as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// 412: `If-Match` named another version.
    VersionMismatch { current: i32 },
    /// 409: the meeting was cancelled.
    Cancelled,
    /// 404: the person has no invite to answer.
    NotInvited,
    /// 409: RSVPs are for public meetings.
    NotPublic,
    /// 400: a change that is not valid against the current state.
    Invalid(Vec<w2meet_platform::ErrorDetail>),
}

/// The meeting a booking creates: every invitee `PENDING`.
pub fn book(id: Uuid, organizer: &Email, new: &NewMeeting, now: DateTime<Utc>) -> Meeting {
    Meeting {
        id,
        organizer: organizer.to_string(),
        title: new.title.clone(),
        description: new.description.clone(),
        start: new.span.start(),
        end: new.span.end(),
        tz: new.tz,
        visibility: new.visibility,
        status: Status::Booked,
        sequence: 0,
        version: 1,
        attendees: invites(&new.attendees, organizer.as_str(), &[]),
        rsvps: Vec::new(),
        created_at: now,
        updated_at: now,
    }
}

/// Invites for `emails` (without the organizer), keeping the answers of
/// those who were already invited.
fn invites(
    emails: &std::collections::BTreeSet<Email>,
    organizer: &str,
    current: &[Invite],
) -> Vec<Invite> {
    emails
        .iter()
        .filter(|e| e.as_str() != organizer)
        .map(|e| Invite {
            email: e.to_string(),
            answer: current
                .iter()
                .find(|i| i.email == e.as_str())
                .map_or(Answer::Pending, |i| i.answer),
        })
        .collect()
}

fn check_version(current: &Meeting, expected: Option<&IfMatch>) -> Result<(), Refused> {
    match expected {
        Some(m) if !m.matches(Some(i64::from(current.version))) => Err(Refused::VersionMismatch {
            current: current.version,
        }),
        _ => Ok(()),
    }
}

fn bumped(current: &Meeting, now: DateTime<Utc>) -> Meeting {
    Meeting {
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    }
}

/// The organizer's change. A new start or end is a reschedule: it sends
/// every answer back to `PENDING` (people agreed to the old time, not this
/// one). Any change bumps SEQUENCE; a change to nothing is not a change.
pub fn update(
    current: &Meeting,
    change: &Change,
    expected: Option<&IfMatch>,
    now: DateTime<Utc>,
) -> Result<Transition, Refused> {
    check_version(current, expected)?;
    if current.status == Status::Cancelled {
        return Err(Refused::Cancelled);
    }
    let span = change.span_from(current.span()).map_err(Refused::Invalid)?;
    let mut next = bumped(current, now);
    next.start = span.start();
    next.end = span.end();
    let rescheduled = next.start != current.start || next.end != current.end;
    if let Some(t) = &change.title {
        next.title = t.clone();
    }
    if let Some(d) = &change.description {
        next.description = d.clone();
    }
    if let Some(z) = change.tz {
        next.tz = z;
    }
    if let Some(v) = change.visibility {
        next.visibility = v;
        if v == Visibility::Private {
            next.rsvps.clear();
        }
    }
    if let Some(emails) = &change.attendees {
        next.attendees = invites(emails, &current.organizer, &current.attendees);
    }
    if rescheduled {
        for invite in &mut next.attendees {
            invite.answer = Answer::Pending;
        }
    }
    let changed = rescheduled
        || next.title != current.title
        || next.description != current.description
        || next.tz != current.tz
        || next.visibility != current.visibility
        || next.attendees != current.attendees;
    if !changed {
        return Ok(Transition {
            meeting: current.clone(),
            event: None,
        });
    }
    next.sequence = current.sequence + 1;
    let kind = if rescheduled {
        EventKind::Rescheduled
    } else {
        EventKind::Updated
    };
    Ok(Transition {
        meeting: next,
        event: Some((kind, None)),
    })
}

/// Cancelling keeps the meeting, frees everyone's time, and bumps
/// SEQUENCE (calendar apps then show it cancelled). Cancelling twice is
/// harmless.
pub fn cancel(
    current: &Meeting,
    expected: Option<&IfMatch>,
    now: DateTime<Utc>,
) -> Result<Transition, Refused> {
    check_version(current, expected)?;
    if current.status == Status::Cancelled {
        return Ok(Transition {
            meeting: current.clone(),
            event: None,
        });
    }
    let mut next = bumped(current, now);
    next.status = Status::Cancelled;
    next.sequence = current.sequence + 1;
    Ok(Transition {
        meeting: next,
        event: Some((EventKind::Cancelled, None)),
    })
}

/// An invitee answers. Saying no frees their time; saying yes or maybe
/// after a no holds it again (and can conflict).
pub fn answer_invite(
    current: &Meeting,
    email: &str,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<Transition, Refused> {
    if current.status == Status::Cancelled {
        return Err(Refused::Cancelled);
    }
    let Some(position) = current.attendees.iter().position(|i| i.email == email) else {
        return Err(Refused::NotInvited);
    };
    if current.attendees[position].answer == answer {
        return Ok(Transition {
            meeting: current.clone(),
            event: None,
        });
    }
    let mut next = bumped(current, now);
    next.attendees[position].answer = answer;
    Ok(Transition {
        meeting: next,
        event: Some((
            EventKind::InviteAnswered,
            Some(EventAnswer {
                email: email.to_owned(),
                answer,
            }),
        )),
    })
}

/// Anyone RSVPs to a public meeting (an invitee answers their invite
/// instead).
pub fn rsvp(
    current: &Meeting,
    email: &str,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<Transition, Refused> {
    if current.status == Status::Cancelled {
        return Err(Refused::Cancelled);
    }
    if current.visibility != Visibility::Public {
        return Err(Refused::NotPublic);
    }
    if current
        .rsvps
        .iter()
        .any(|r| r.email == email && r.answer == answer)
    {
        return Ok(Transition {
            meeting: current.clone(),
            event: None,
        });
    }
    let mut next = bumped(current, now);
    next.rsvps.retain(|r| r.email != email);
    next.rsvps.push(Invite {
        email: email.to_owned(),
        answer,
    });
    next.rsvps.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(Transition {
        meeting: next,
        event: Some((
            EventKind::RsvpAnswered,
            Some(EventAnswer {
                email: email.to_owned(),
                answer,
            }),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MeetingInput, MeetingPatch};

    fn meeting(visibility: &str) -> Meeting {
        let input = MeetingInput {
            title: Some("Sync".into()),
            description: None,
            start: Some("2027-01-04T09:00:00Z".into()),
            end: Some("2027-01-04T10:00:00Z".into()),
            tz: None,
            attendees: vec!["b@x.io".into(), "a@x.io".into(), "c@x.io".into()],
            visibility: Some(visibility.into()),
            organizer: None,
        };
        let new = NewMeeting::parse(&input).unwrap();
        book(
            Uuid::nil(),
            &Email::parse("a@x.io").unwrap(),
            &new,
            Utc::now(),
        )
    }

    fn change(patch: MeetingPatch) -> Change {
        Change::parse(&patch).unwrap()
    }

    #[test]
    fn the_organizer_is_not_invited_and_everyone_else_starts_pending() {
        let m = meeting("private");
        let emails: Vec<_> = m.attendees.iter().map(|i| i.email.as_str()).collect();
        assert_eq!(emails, ["b@x.io", "c@x.io"]);
        assert!(m.attendees.iter().all(|i| i.answer == Answer::Pending));
        assert_eq!(m.holders(), ["a@x.io", "b@x.io", "c@x.io"]);
    }

    #[test]
    fn declining_frees_the_time_and_answering_twice_changes_nothing() {
        let m = meeting("private");
        let t = answer_invite(&m, "b@x.io", Answer::No, Utc::now()).unwrap();
        assert_eq!(t.meeting.holders(), ["a@x.io", "c@x.io"]);
        assert_eq!(t.meeting.version, 2);
        assert_eq!(
            t.meeting.sequence, 0,
            "an answer is not the organizer's change"
        );
        let again = answer_invite(&t.meeting, "b@x.io", Answer::No, Utc::now()).unwrap();
        assert!(again.event.is_none());
        assert_eq!(
            answer_invite(&m, "z@x.io", Answer::Yes, Utc::now()).unwrap_err(),
            Refused::NotInvited
        );
    }

    #[test]
    fn a_reschedule_sends_every_answer_back_to_pending() {
        let m = meeting("private");
        let m = answer_invite(&m, "b@x.io", Answer::Yes, Utc::now())
            .unwrap()
            .meeting;
        let m = answer_invite(&m, "c@x.io", Answer::No, Utc::now())
            .unwrap()
            .meeting;
        let t = update(
            &m,
            &change(MeetingPatch {
                start: Some("2027-01-04T11:00:00Z".into()),
                end: Some("2027-01-04T12:00:00Z".into()),
                ..MeetingPatch::default()
            }),
            Some(&IfMatch::parse(&m.version.to_string())),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(t.event.unwrap().0, EventKind::Rescheduled);
        assert!(
            t.meeting
                .attendees
                .iter()
                .all(|i| i.answer == Answer::Pending)
        );
        assert_eq!(t.meeting.sequence, 1);
        assert_eq!(
            t.meeting.holders().len(),
            3,
            "the decliner holds the new time"
        );
    }

    #[test]
    fn a_retitle_keeps_answers_and_a_stale_version_is_refused() {
        let m = meeting("private");
        let m = answer_invite(&m, "b@x.io", Answer::Yes, Utc::now())
            .unwrap()
            .meeting;
        let retitle = change(MeetingPatch {
            title: Some("Sync 2".into()),
            ..MeetingPatch::default()
        });
        let t = update(&m, &retitle, None, Utc::now()).unwrap();
        assert_eq!(t.event.unwrap().0, EventKind::Updated);
        assert_eq!(t.meeting.invite_of("b@x.io").unwrap().answer, Answer::Yes);
        assert_eq!(
            update(&m, &retitle, Some(&IfMatch::parse("\"1\"")), Utc::now()).unwrap_err(),
            Refused::VersionMismatch { current: 2 }
        );
    }

    #[test]
    fn invitees_added_start_pending_and_kept_ones_keep_their_answer() {
        let m = meeting("private");
        let m = answer_invite(&m, "b@x.io", Answer::Maybe, Utc::now())
            .unwrap()
            .meeting;
        let t = update(
            &m,
            &change(MeetingPatch {
                attendees: Some(vec!["b@x.io".into(), "d@x.io".into()]),
                ..MeetingPatch::default()
            }),
            None,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            t.meeting.attendees,
            [
                Invite {
                    email: "b@x.io".into(),
                    answer: Answer::Maybe
                },
                Invite {
                    email: "d@x.io".into(),
                    answer: Answer::Pending
                },
            ]
        );
    }

    #[test]
    fn cancelling_frees_everyone_and_rsvps_need_a_public_meeting() {
        let m = meeting("private");
        assert_eq!(
            rsvp(&m, "z@x.io", Answer::Yes, Utc::now()).unwrap_err(),
            Refused::NotPublic
        );
        let t = cancel(&m, None, Utc::now()).unwrap();
        assert!(t.meeting.holders().is_empty());
        assert_eq!(t.meeting.sequence, 1);
        assert!(
            cancel(&t.meeting, None, Utc::now())
                .unwrap()
                .event
                .is_none()
        );
        assert_eq!(
            answer_invite(&t.meeting, "b@x.io", Answer::Yes, Utc::now()).unwrap_err(),
            Refused::Cancelled
        );
    }

    #[test]
    fn an_rsvp_replaces_the_persons_earlier_one() {
        let m = meeting("public");
        let m = rsvp(&m, "z@x.io", Answer::Yes, Utc::now()).unwrap().meeting;
        let m = rsvp(&m, "z@x.io", Answer::No, Utc::now()).unwrap().meeting;
        assert_eq!(m.rsvps.len(), 1);
        assert_eq!(m.rsvps[0].answer, Answer::No);
    }
}
