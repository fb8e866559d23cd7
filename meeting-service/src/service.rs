//! The use cases: who may do it (domain::access, asking user-service only
//! when a token does not settle it), then the store's transaction with the
//! pure transition, then a nudge to the relay.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use uuid::Uuid;
use w2meet_group::Email;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Caller;
use w2meet_platform::if_match::IfMatch;

use crate::clients::UserClient;
use crate::domain::access::{self, AuthMode, PersonAccess};
use crate::domain::transition::{self, Transition};
use crate::domain::{
    Answer, Change, DomainEvent, EventKind, Meeting, MeetingInput, MeetingPatch, NewMeeting,
    Visibility,
};
use crate::error::MeetingError;
use crate::store::{Inserted, MeetingStore};

/// Most meetings one calendar or listing answer holds.
pub const LIST_LIMIT: i64 = 1000;

/// The meeting use cases. Cheap to clone.
#[derive(Clone)]
pub struct Meetings {
    pub store: MeetingStore,
    /// Whose profile is claimed or shared (asked only when a token does not
    /// settle a question).
    pub users: UserClient,
    pub mode: AuthMode,
    /// Wakes this replica's outbox relay after a commit.
    pub wake: Arc<Notify>,
}

/// A booking's answer.
pub struct Booked {
    pub meeting: Meeting,
    /// An earlier booking with the same `Idempotency-Key`.
    pub replayed: bool,
}

/// What the caller may see of a meeting.
pub struct Visible {
    pub meeting: Meeting,
    /// The organizer (or a service): sees who RSVP'd what.
    pub full: bool,
}

impl Meetings {
    /// Whether `caller` may act for `email`; 401/403 located at `loc`.
    async fn ensure_acts(
        &self,
        caller: &Caller,
        email: &str,
        case_id: &CaseId,
        loc: &[&str],
    ) -> Result<(), MeetingError> {
        if access::acts_by_token(caller, email) {
            return Ok(());
        }
        let person = match self.mode {
            // Nothing user-service says would let anyone else act.
            AuthMode::Required => PersonAccess {
                claimed: true,
                viewers: Vec::new(),
            },
            AuthMode::Open => self.users.access(email, case_id).await?,
        };
        access::may_act(caller, email, &person, self.mode).map_err(|d| {
            MeetingError::denied(
                d,
                loc,
                format!("only {email} (with their token) may do this"),
            )
        })
    }

    /// Books a meeting. The organizer is the body's `organizer`, else the
    /// token's subject.
    pub async fn book(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        input: &MeetingInput,
        key: Option<&str>,
    ) -> Result<Booked, MeetingError> {
        let named = crate::domain::meeting::parse_organizer(input.organizer.as_deref())
            .map_err(MeetingError::Invalid)?;
        let organizer = match (named, caller) {
            (Some(o), _) => o,
            (None, Caller::Person { email, .. })
            | (
                None,
                Caller::Service {
                    viewer: Some(email),
                },
            ) => Email::parse(email)
                .map_err(|m| MeetingError::invalid(&["header", "Authorization"], m))?,
            (None, _) => {
                return Err(MeetingError::invalid(
                    &["body", "organizer"],
                    "organizer is required without a token",
                ));
            }
        };
        let new = NewMeeting::parse(input).map_err(MeetingError::Invalid)?;
        self.ensure_acts(caller, organizer.as_str(), case_id, &["body", "organizer"])
            .await?;
        let meeting = transition::book(Uuid::new_v4(), &organizer, &new, Utc::now());
        let event = DomainEvent::of(
            EventKind::Booked,
            &meeting,
            1,
            case_id.as_str(),
            caller.viewer(),
            None,
        );
        let fingerprint = fingerprint(&new);
        let key = key.map(|k| (k, fingerprint.as_str()));
        let inserted = self
            .store
            .insert(&meeting, &event, key)
            .await
            .map_err(|e| MeetingError::from_write(e, &meeting.id.to_string()))?;
        Ok(match inserted {
            Inserted::Created(meeting) => {
                self.wake.notify_one();
                tracing::info!(meeting_id = %meeting.id, "meeting booked");
                Booked {
                    meeting,
                    replayed: false,
                }
            }
            Inserted::Replayed(meeting) => Booked {
                meeting,
                replayed: true,
            },
        })
    }

    /// A meeting as the caller may see it.
    pub async fn get(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
    ) -> Result<Visible, MeetingError> {
        let meeting = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| MeetingError::NotFound(id.to_string()))?;
        self.ensure_reads(caller, case_id, &meeting).await?;
        let full = access::acts_by_token(caller, &meeting.organizer);
        Ok(Visible { meeting, full })
    }

    /// A public meeting is everybody's; a private one its participants'
    /// and — as the organizer's calendar — of whoever may read that.
    async fn ensure_reads(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        meeting: &Meeting,
    ) -> Result<(), MeetingError> {
        if meeting.visibility == Visibility::Public || caller.is_service() {
            return Ok(());
        }
        if let Caller::Person { email, .. } = caller
            && meeting.is_participant(email)
        {
            return Ok(());
        }
        let organizer = self.users.access(&meeting.organizer, case_id).await?;
        access::may_read_calendar(caller, &meeting.organizer, &organizer).map_err(|d| {
            MeetingError::denied(d, &["path", "id"], "a private meeting of other people")
        })
    }

    /// The organizer changes the meeting.
    pub async fn update(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
        patch: &MeetingPatch,
        if_match: Option<&IfMatch>,
    ) -> Result<Meeting, MeetingError> {
        let change = Change::parse(patch).map_err(MeetingError::Invalid)?;
        let current = self.organizer_of(caller, case_id, id).await?;
        if let Some(o) = crate::domain::meeting::parse_organizer(patch.organizer.as_deref())
            .map_err(MeetingError::Invalid)?
            && o.as_str() != current
        {
            return Err(MeetingError::invalid(
                &["body", "organizer"],
                "the organizer of a meeting does not change",
            ));
        }
        self.modify(caller, case_id, id, |m| {
            transition::update(m, &change, if_match, Utc::now())
        })
        .await
    }

    /// The organizer cancels (the meeting is kept, marked cancelled).
    pub async fn cancel(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
        if_match: Option<&IfMatch>,
    ) -> Result<Meeting, MeetingError> {
        self.organizer_of(caller, case_id, id).await?;
        self.modify(caller, case_id, id, |m| {
            transition::cancel(m, if_match, Utc::now())
        })
        .await
    }

    /// `email` answers their invite.
    pub async fn answer_invite(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
        email: &Email,
        answer: Answer,
    ) -> Result<Meeting, MeetingError> {
        self.ensure_acts(caller, email.as_str(), case_id, &["path", "email"])
            .await?;
        self.modify(caller, case_id, id, |m| {
            transition::answer_invite(m, email.as_str(), answer, Utc::now())
        })
        .await
    }

    /// `email` RSVPs to a public meeting.
    pub async fn rsvp(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
        email: &Email,
        answer: Answer,
    ) -> Result<Meeting, MeetingError> {
        self.ensure_acts(caller, email.as_str(), case_id, &["path", "email"])
            .await?;
        self.modify(caller, case_id, id, |m| {
            transition::rsvp(m, email.as_str(), answer, Utc::now())
        })
        .await
    }

    /// The meeting's organizer, once the caller is known to act for them.
    async fn organizer_of(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
    ) -> Result<String, MeetingError> {
        let meeting = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| MeetingError::NotFound(id.to_string()))?;
        self.ensure_acts(caller, &meeting.organizer, case_id, &["path", "id"])
            .await?;
        Ok(meeting.organizer)
    }

    async fn modify(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
        change: impl FnOnce(&Meeting) -> Result<Transition, transition::Refused>,
    ) -> Result<Meeting, MeetingError> {
        let meeting = self
            .store
            .modify(id, case_id.as_str(), caller.viewer(), change)
            .await
            .map_err(|e| MeetingError::from_write(e, &id.to_string()))?;
        self.wake.notify_one();
        Ok(meeting)
    }

    /// The meeting's events, in order (as visible as the meeting).
    pub async fn history(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        id: Uuid,
    ) -> Result<Vec<serde_json::Value>, MeetingError> {
        let Visible { full, .. } = self.get(caller, case_id, id).await?;
        Ok(self
            .store
            .history(id)
            .await?
            .into_iter()
            .map(|e| {
                let mut body = e.body;
                // Who RSVP'd what is the organizer's to see (as in the meeting).
                if !full
                    && body["type"] == EventKind::RsvpAnswered.as_str()
                    && let Some(o) = body.as_object_mut()
                {
                    o.remove("answer");
                }
                body
            })
            .collect())
    }

    pub async fn public_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Meeting>, MeetingError> {
        Ok(self.store.public_between(from, to, LIST_LIMIT).await?)
    }

    /// `email`'s meetings, for the owner, their viewers and services.
    pub async fn calendar(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        email: &Email,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Meeting>, MeetingError> {
        if !access::acts_by_token(caller, email.as_str()) {
            let person = self.users.access(email.as_str(), case_id).await?;
            access::may_read_calendar(caller, email.as_str(), &person).map_err(|d| {
                MeetingError::denied(
                    d,
                    &["path", "email"],
                    "this calendar is not shared with you",
                )
            })?;
        }
        Ok(self
            .store
            .calendar(email.as_str(), from, to, LIST_LIMIT)
            .await?)
    }

    /// A new feed token for `email` (the old one stops working).
    pub async fn new_feed_token(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        email: &Email,
    ) -> Result<String, MeetingError> {
        self.ensure_acts(caller, email.as_str(), case_id, &["path", "email"])
            .await?;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| {
            MeetingError::Store(crate::store::StoreError::Unavailable(
                format!("no randomness: {e}").into(),
            ))
        })?;
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        self.store
            .set_feed_token(email.as_str(), &token_hash(&token))
            .await?;
        Ok(token)
    }

    /// Revokes `email`'s feed token.
    pub async fn revoke_feed_token(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        email: &Email,
    ) -> Result<bool, MeetingError> {
        self.ensure_acts(caller, email.as_str(), case_id, &["path", "email"])
            .await?;
        Ok(self.store.revoke_feed_token(email.as_str()).await?)
    }

    /// The feed: with `email`'s current feed token, or as [`Self::calendar`].
    pub async fn feed(
        &self,
        caller: &Caller,
        case_id: &CaseId,
        email: &Email,
        token: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Meeting>, MeetingError> {
        match token {
            Some(t) => {
                if !self
                    .store
                    .feed_token_matches(email.as_str(), &token_hash(t))
                    .await?
                {
                    return Err(MeetingError::Unauthenticated(
                        w2meet_platform::auth::AuthError::Invalid("unknown or revoked feed token"),
                    ));
                }
                Ok(self
                    .store
                    .calendar(email.as_str(), from, to, LIST_LIMIT)
                    .await?)
            }
            None => self.calendar(caller, case_id, email, from, to).await,
        }
    }
}

/// What a booking asks for, hashed: a repeat with the same
/// `Idempotency-Key` must ask for the same thing.
fn fingerprint(new: &NewMeeting) -> String {
    #[derive(Serialize)]
    struct Asked<'a> {
        title: &'a str,
        description: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tz: &'a str,
        attendees: Vec<&'a str>,
        visibility: &'a str,
    }
    let asked = Asked {
        title: &new.title,
        description: &new.description,
        start: new.span.start(),
        end: new.span.end(),
        tz: new.tz.name(),
        attendees: new.attendees.iter().map(Email::as_str).collect(),
        visibility: new.visibility.as_str(),
    };
    let bytes = serde_json::to_vec(&asked).expect("serialisable");
    hex(&Sha256::digest(bytes))
}

/// Feed tokens are stored hashed: the table does not let anyone read a feed.
fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
