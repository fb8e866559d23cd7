//! `/meetings/{id}/invites/{email}` and `/meetings/{id}/rsvps/{email}`:
//! a person answers.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path};

use super::{parse_email, parse_id};
use crate::domain::{Answer, MeetingView};
use crate::error::MeetingError;
use crate::service::Meetings;

/// An answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// `YES`, `MAYBE` or `NO`.
    pub answer: String,
}

fn parse_reply(reply: &Reply) -> Result<Answer, MeetingError> {
    Answer::parse_reply(&reply.answer).map_err(|m| MeetingError::invalid(&["body", "answer"], m))
}

/// Answer an invite (only the invitee).
///
/// `NO` frees the invitee's time; `YES` or `MAYBE` after a `NO` holds it
/// again (409 if they have booked something else since).
#[utoipa::path(put, path = "/meetings/{id}/invites/{email}", operation_id = "answer_invite", request_body = Reply, tag = "invites", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id"),
           ("email" = String, Path, description = "The invitee")),
    responses(
        (status = 200, description = "The meeting with the answer", body = MeetingView),
        (status = 400, description = "Bad id, email or answer", body = ErrorBody),
        (status = 401, description = "The invitee's profile is claimed, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's invite", body = ErrorBody),
        (status = 404, description = "No such meeting, or no invite for this person", body = ErrorBody),
        (status = 409, description = "The meeting was cancelled, or the invitee is busy then", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn answer(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path((id, email)): Path<(String, String)>,
    Json(reply): Json<Reply>,
) -> Result<Response, MeetingError> {
    let (id, email) = (parse_id(&id)?, parse_email(&email)?);
    let answer = parse_reply(&reply)?;
    let meeting = meetings
        .answer_invite(&caller, &case_id, id, &email, answer)
        .await?;
    let full = crate::domain::access::acts_by_token(&caller, &meeting.organizer);
    Ok(super::meetings::with_etag_ok(meeting.view(full)))
}

/// RSVP to a public meeting (anyone, for themselves).
#[utoipa::path(put, path = "/meetings/{id}/rsvps/{email}", operation_id = "rsvp", request_body = Reply, tag = "invites", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id"),
           ("email" = String, Path, description = "Who answers")),
    responses(
        (status = 200, description = "The meeting with the RSVP counted", body = MeetingView),
        (status = 400, description = "Bad id, email or answer", body = ErrorBody),
        (status = 401, description = "The person's profile is claimed, and no valid token", body = ErrorBody),
        (status = 403, description = "Answering for someone else", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Not a public meeting, or cancelled", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn rsvp(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path((id, email)): Path<(String, String)>,
    Json(reply): Json<Reply>,
) -> Result<Response, MeetingError> {
    let (id, email) = (parse_id(&id)?, parse_email(&email)?);
    let answer = parse_reply(&reply)?;
    let meeting = meetings.rsvp(&caller, &case_id, id, &email, answer).await?;
    let full = crate::domain::access::acts_by_token(&caller, &meeting.organizer);
    Ok(super::meetings::with_etag_ok(meeting.view(full)))
}
