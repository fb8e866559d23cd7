//! `/meetings`: book, read, change, cancel, list public ones, history, ICS.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path, Query};
use w2meet_platform::http::{IDEMPOTENT_REPLAYED, idempotency_key};

use super::{Window, etag, if_match, parse_id};
use crate::domain::{DomainEvent, MeetingInput, MeetingPatch, MeetingView, ics};
use crate::error::MeetingError;
use crate::service::{Meetings, Visible};

/// 200 with the meeting and its `ETag`.
pub fn with_etag_ok(view: MeetingView) -> Response {
    with_etag(StatusCode::OK, view)
}

fn with_etag(status: StatusCode, view: MeetingView) -> Response {
    let tag = etag(view.version);
    let mut res = (status, axum::Json(view)).into_response();
    res.headers_mut().insert(header::ETAG, tag);
    res
}

/// Book a meeting.
///
/// Everyone's time is held at once: if the organizer or an invitee is
/// already held by another meeting at an overlapping time, nothing is
/// booked and the 409 names each of them with the meeting holding them.
/// Two bookings racing for the same person cannot both succeed, on any
/// number of replicas (the database decides).
#[utoipa::path(post, path = "/meetings", operation_id = "book_meeting", request_body = MeetingInput, tag = "meetings", security((), ("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a repeated booking (same organizer, same body) return the first one")),
    responses(
        (status = 201, description = "Booked", body = MeetingView, headers(("ETag" = String, description = "The version"))),
        (status = 200, description = "The booking this Idempotency-Key made before", body = MeetingView, headers(("Idempotent-Replayed" = String, description = "`true`"))),
        (status = 400, description = "Invalid booking", body = ErrorBody),
        (status = 401, description = "The organizer's profile is claimed and no valid token was sent", body = ErrorBody),
        (status = 403, description = "The token names someone else than the organizer", body = ErrorBody),
        (status = 409, description = "Someone is busy then (each named), or the Idempotency-Key was used for another booking", body = ErrorBody),
        (status = 502, description = "user-service answered wrongly", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn book(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    headers: HeaderMap,
    Json(input): Json<MeetingInput>,
) -> Result<Response, MeetingError> {
    let key = idempotency_key(&headers).map_err(|d| MeetingError::Invalid(vec![d]))?;
    let booked = meetings
        .book(&caller, &case_id, &input, key.as_deref())
        .await?;
    // The booker is the organizer (or a service): they see everything.
    let view = booked.meeting.view(true);
    if booked.replayed {
        let mut res = with_etag(StatusCode::OK, view);
        res.headers_mut()
            .insert(&IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
        return Ok(res);
    }
    Ok(with_etag(StatusCode::CREATED, view))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Must be `true`: only public meetings are listed here (a person's own
    /// meetings are their calendar, `/calendars/{email}`).
    pub public: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingList {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// Booked public meetings overlapping the window, by start.
    pub meetings: Vec<MeetingView>,
}

/// List public meetings.
#[utoipa::path(get, path = "/meetings", operation_id = "list_public_meetings", tag = "meetings",
    params(ListQuery),
    responses(
        (status = 200, description = "Public meetings in the window (at most 1000)", body = MeetingList),
        (status = 400, description = "public is not true, or a bad window", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn list_public(
    State(meetings): State<Meetings>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<MeetingList>, MeetingError> {
    if query.public.as_deref().map(str::trim) != Some("true") {
        return Err(MeetingError::invalid(
            &["query", "public"],
            "only public meetings are listed: send public=true (your own are at /calendars/{email})",
        ));
    }
    let (from, to) = Window {
        from: query.from,
        to: query.to,
    }
    .parse()?;
    let found = meetings.public_between(from, to).await?;
    Ok(axum::Json(MeetingList {
        from,
        to,
        meetings: found.iter().map(|m| m.view(false)).collect(),
    }))
}

/// Read a meeting.
#[utoipa::path(get, path = "/meetings/{id}", operation_id = "get_meeting", tag = "meetings", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingView, headers(("ETag" = String, description = "The version: send it in If-Match"))),
        (status = 400, description = "Not a meeting id", body = ErrorBody),
        (status = 401, description = "A private meeting, and no valid token", body = ErrorBody),
        (status = 403, description = "A private meeting of other people", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn get(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, MeetingError> {
    let Visible { meeting, full } = meetings.get(&caller, &case_id, parse_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, meeting.view(full)))
}

/// Change a meeting (organizer).
///
/// A new `start` or `end` reschedules it: every answer goes back to
/// `PENDING`, and everyone's time is held again at the new time (409 if
/// someone is busy then). `attendees` replaces the invitee list.
#[utoipa::path(patch, path = "/meetings/{id}", operation_id = "update_meeting", request_body = MeetingPatch, tag = "meetings", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id"),
           ("If-Match" = Option<String>, Header, description = "Change only this version (`\"3\"`); 412 otherwise")),
    responses(
        (status = 200, description = "The changed meeting", body = MeetingView, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "Invalid change", body = ErrorBody),
        (status = 401, description = "The organizer's profile is claimed, and no valid token", body = ErrorBody),
        (status = 403, description = "Not the organizer", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Someone is busy at the new time, or the meeting was cancelled", body = ErrorBody),
        (status = 412, description = "If-Match names another version", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn update(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<MeetingPatch>,
) -> Result<Response, MeetingError> {
    let id = parse_id(&id)?;
    let condition = if_match(&headers)?;
    let meeting = meetings
        .update(&caller, &case_id, id, &patch, condition.as_ref())
        .await?;
    Ok(with_etag(StatusCode::OK, meeting.view(true)))
}

/// Cancel a meeting (organizer). It is kept, marked `cancelled`, and
/// frees everyone's time. Cancelling again changes nothing.
#[utoipa::path(delete, path = "/meetings/{id}", operation_id = "cancel_meeting", tag = "meetings", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id"),
           ("If-Match" = Option<String>, Header, description = "Cancel only this version; 412 otherwise")),
    responses(
        (status = 200, description = "The cancelled meeting", body = MeetingView),
        (status = 400, description = "Not a meeting id", body = ErrorBody),
        (status = 401, description = "The organizer's profile is claimed, and no valid token", body = ErrorBody),
        (status = 403, description = "Not the organizer", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 412, description = "If-Match names another version", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn cancel(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, MeetingError> {
    let id = parse_id(&id)?;
    let condition = if_match(&headers)?;
    let meeting = meetings
        .cancel(&caller, &case_id, id, condition.as_ref())
        .await?;
    Ok(with_etag(StatusCode::OK, meeting.view(true)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub meeting_id: Uuid,
    /// Every change, oldest first.
    pub events: Vec<DomainEvent>,
}

/// A meeting's history: its domain events in order.
#[utoipa::path(get, path = "/meetings/{id}/history", operation_id = "meeting_history", tag = "meetings", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    responses(
        (status = 200, description = "The events", body = History),
        (status = 400, description = "Not a meeting id", body = ErrorBody),
        (status = 401, description = "A private meeting, and no valid token", body = ErrorBody),
        (status = 403, description = "A private meeting of other people", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn history(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<History>, MeetingError> {
    let id = parse_id(&id)?;
    let events = meetings
        .history(&caller, &case_id, id)
        .await?
        .into_iter()
        .filter_map(|body| serde_json::from_value(body).ok())
        .collect();
    Ok(axum::Json(History {
        meeting_id: id,
        events,
    }))
}

/// The meeting as an iCalendar file (RFC 5545).
#[utoipa::path(get, path = "/meetings/{id}/event.ics", operation_id = "meeting_ics", tag = "calendars", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    responses(
        (status = 200, description = "A VCALENDAR with one VEVENT", content_type = "text/calendar", body = String),
        (status = 400, description = "Not a meeting id", body = ErrorBody),
        (status = 401, description = "A private meeting, and no valid token", body = ErrorBody),
        (status = 403, description = "A private meeting of other people", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "PostgreSQL or user-service unavailable", body = ErrorBody)))]
pub async fn event_ics(
    State(meetings): State<Meetings>,
    case_id: CaseId,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, MeetingError> {
    let Visible { meeting, .. } = meetings.get(&caller, &case_id, parse_id(&id)?).await?;
    Ok(calendar_response(
        ics::event_calendar(&meeting, chrono::Utc::now()),
        &format!("{}.ics", meeting.id),
    ))
}

/// `text/calendar`, as a download named `file`.
pub fn calendar_response(body: String, file: &str) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
