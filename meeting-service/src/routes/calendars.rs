//! `/calendars/{email}`: a person's meetings as JSON or as a subscribable
//! iCalendar feed, and the feed's secret token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Path, Query};

use super::{Window, parse_email};
use crate::domain::{Answer, Meeting, MeetingView, ics};
use crate::error::MeetingError;
use crate::service::Meetings;

/// How the calendar's owner takes part in a meeting.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Organizer,
    Attendee,
    Rsvp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEntry {
    #[serde(flatten)]
    pub meeting: MeetingView,
    pub role: Role,
    /// The owner's own answer (`null` for the organizer).
    pub my_answer: Option<Answer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Calendar {
    pub email: String,
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// Meetings overlapping the window (cancelled ones included), by start.
    pub meetings: Vec<CalendarEntry>,
}

fn entry(m: &Meeting, email: &str) -> CalendarEntry {
    let (role, my_answer) = if m.organizer == email {
        (Role::Organizer, None)
    } else if let Some(i) = m.invite_of(email) {
        (Role::Attendee, Some(i.answer))
    } else {
        let rsvp = m.rsvps.iter().find(|r| r.email == email).map(|r| r.answer);
        (Role::Rsvp, rsvp)
    };
    CalendarEntry {
        meeting: m.view(role_sees_rsvps(role)),
        role,
        my_answer,
    }
}

fn role_sees_rsvps(role: Role) -> bool {
    matches!(role, Role::Organizer)
}

/// A person's meetings (owner, those they share with, services).
#[utoipa::path(get, path = "/calendars/{email}", operation_id = "get_calendar", tag = "calendars", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "Whose calendar"), Window),
    responses(
        (status = 200, description = "The meetings with the owner's role and answer", body = Calendar),
        (status = 400, description = "Bad email or window", body = ErrorBody),
        (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
        (status = 403, description = "Not shared with the caller", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn calendar(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(email): Path<String>,
    Query(window): Query<Window>,
) -> Result<axum::Json<Calendar>, MeetingError> {
    let email = parse_email(&email)?;
    let (from, to) = window.parse()?;
    let found = meetings
        .calendar(&caller, &case_id, &email, from, to)
        .await?;
    Ok(axum::Json(Calendar {
        email: email.to_string(),
        from,
        to,
        meetings: found.iter().map(|m| entry(m, email.as_str())).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FeedQuery {
    /// The feed token (for calendar apps that cannot send headers);
    /// without it the caller needs calendar access as for `/calendars/{email}`.
    pub token: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A person's meetings as a subscribable iCalendar feed.
#[utoipa::path(get, path = "/calendars/{email}/feed.ics", operation_id = "calendar_feed", tag = "calendars", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "Whose calendar"), FeedQuery),
    responses(
        (status = 200, description = "A VCALENDAR of the person's meetings", content_type = "text/calendar", body = String),
        (status = 400, description = "Bad email or window", body = ErrorBody),
        (status = 401, description = "A wrong or revoked feed token, or none and no access", body = ErrorBody),
        (status = 403, description = "Not shared with the caller", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn feed(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(email): Path<String>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, MeetingError> {
    let email = parse_email(&email)?;
    let (from, to) = Window {
        from: query.from,
        to: query.to,
    }
    .parse()?;
    let found = meetings
        .feed(&caller, &case_id, &email, query.token.as_deref(), from, to)
        .await?;
    Ok(super::meetings::calendar_response(
        ics::feed_calendar(email.as_str(), &found, chrono::Utc::now()),
        "w2meet.ics",
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedToken {
    /// The secret: whoever has it reads the feed. Shown once.
    pub token: String,
    /// The feed's path through the gateway, token included.
    pub feed_path: String,
}

/// Make a new feed token (the previous one stops working).
#[utoipa::path(post, path = "/calendars/{email}/feed-token", operation_id = "new_feed_token", tag = "calendars", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "Whose feed")),
    responses(
        (status = 201, description = "The new token", body = FeedToken),
        (status = 400, description = "Bad email", body = ErrorBody),
        (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's feed", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn new_token(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<Response, MeetingError> {
    let email = parse_email(&email)?;
    let token = meetings.new_feed_token(&caller, &case_id, &email).await?;
    let segment = crate::clients::users::path_segment(email.as_str());
    let feed_path = format!("/meetings/calendars/{segment}/feed.ics?token={token}");
    Ok((
        StatusCode::CREATED,
        axum::Json(FeedToken { token, feed_path }),
    )
        .into_response())
}

/// Revoke the feed token.
#[utoipa::path(delete, path = "/calendars/{email}/feed-token", operation_id = "revoke_feed_token", tag = "calendars", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "Whose feed")),
    responses(
        (status = 204, description = "Revoked (or there was none)"),
        (status = 400, description = "Bad email", body = ErrorBody),
        (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's feed", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn revoke_token(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<StatusCode, MeetingError> {
    let email = parse_email(&email)?;
    meetings
        .revoke_feed_token(&caller, &case_id, &email)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
