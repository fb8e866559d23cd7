//! The meeting-service's errors and the status each maps to. Causes of
//! 5xx are logged inside the request span; bodies carry a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::auth::AuthError;
use w2meet_platform::upstream::UpstreamError;
use w2meet_platform::{ApiError, ErrorDetail};

use crate::domain::access::Denied;
use crate::domain::transition::Refused;
use crate::store::{Busy, StoreError, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    /// 400: the request is malformed; every problem listed.
    #[error("invalid request")]
    Invalid(Vec<ErrorDetail>),
    /// 404: no such meeting (or one the caller may not know of).
    #[error("meeting not found")]
    NotFound(String),
    /// 404: the person has no invite to this meeting.
    #[error("no invite")]
    NotInvited(String),
    /// 401: a token is needed (or the one sent does not verify).
    #[error("unauthenticated")]
    Unauthenticated(AuthError),
    /// 403: the caller's token names someone who may not do this.
    #[error("forbidden")]
    Forbidden { loc: Vec<String>, msg: String },
    /// 409: someone's time is already held by another meeting; one entry
    /// per person and meeting.
    #[error("double booking")]
    Conflict(Vec<Busy>),
    /// 409: the meeting's state does not allow this (cancelled, not public).
    #[error("state conflict: {1}")]
    State(&'static str, String),
    /// 409: the `Idempotency-Key` was used for another booking.
    #[error("idempotency key reused")]
    KeyReused,
    /// 412: `If-Match` named another version.
    #[error("version mismatch")]
    PreconditionFailed { current: i32 },
    /// 502/503/504: user-service misbehaved, is down, or is slow.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// 503 when PostgreSQL is unreachable, 500 when it answered with an error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MeetingError {
    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> MeetingError {
        MeetingError::Invalid(vec![ErrorDetail::new(
            loc.iter().copied(),
            msg,
            "value_error",
        )])
    }

    /// A refusal by the access rules, located where the person was named.
    pub fn denied(denied: Denied, loc: &[&str], msg: impl Into<String>) -> MeetingError {
        match denied {
            Denied::Unauthenticated => MeetingError::Unauthenticated(AuthError::Required),
            Denied::Forbidden => MeetingError::Forbidden {
                loc: loc.iter().map(|s| s.to_string()).collect(),
                msg: msg.into(),
            },
        }
    }

    pub fn from_write(e: WriteError, id: &str) -> MeetingError {
        match e {
            WriteError::NotFound => MeetingError::NotFound(id.to_owned()),
            WriteError::Conflict(busy) => MeetingError::Conflict(busy),
            WriteError::KeyReused => MeetingError::KeyReused,
            WriteError::Store(e) => MeetingError::Store(e),
            WriteError::Refused(r) => match r {
                Refused::VersionMismatch { current } => {
                    MeetingError::PreconditionFailed { current }
                }
                Refused::Cancelled => {
                    MeetingError::State("cancelled", "the meeting was cancelled".to_owned())
                }
                Refused::NotPublic => MeetingError::State(
                    "not_public",
                    "only public meetings take RSVPs; invitees answer their invite".to_owned(),
                ),
                Refused::NotInvited => MeetingError::NotInvited(id.to_owned()),
                Refused::Invalid(detail) => MeetingError::Invalid(detail),
            },
        }
    }
}

impl IntoResponse for MeetingError {
    fn into_response(self) -> Response {
        let api = match self {
            MeetingError::Invalid(detail) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
            },
            MeetingError::NotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(
                    ["path", "id"],
                    format!("Meeting not found: {id}"),
                    "not_found",
                ),
            ),
            MeetingError::NotInvited(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(
                    ["path", "email"],
                    format!("this person has no invite to meeting {id}"),
                    "not_found",
                ),
            ),
            MeetingError::Unauthenticated(e) => return e.into_response(),
            MeetingError::Forbidden { loc, msg } => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorDetail::new(loc, msg, "forbidden"),
            ),
            MeetingError::Conflict(busy) => ApiError {
                status: StatusCode::CONFLICT,
                detail: if busy.is_empty() {
                    // The holder went away between the refusal and the look-up.
                    vec![ErrorDetail::new(
                        ["body", "start"],
                        "someone's time was taken by another meeting; try again",
                        "conflict",
                    )]
                } else {
                    busy.iter()
                        .map(|b| {
                            ErrorDetail::new(
                                ["body", "attendees", b.person.as_str()],
                                format!(
                                    "{} is busy with meeting {} from {} to {}",
                                    b.person,
                                    b.meeting_id,
                                    b.start.to_rfc3339(),
                                    b.end.to_rfc3339()
                                ),
                                "conflict",
                            )
                        })
                        .collect()
                },
            },
            MeetingError::State(kind, msg) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorDetail::new(["path", "id"], msg, kind),
            ),
            MeetingError::KeyReused => ApiError::new(
                StatusCode::CONFLICT,
                ErrorDetail::new(
                    ["header", "Idempotency-Key"],
                    "this Idempotency-Key was used for a different booking",
                    "conflict",
                ),
            ),
            MeetingError::PreconditionFailed { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                ErrorDetail::new(
                    ["header", "If-Match"],
                    format!("the meeting is at version {current}"),
                    "precondition_failed",
                ),
            ),
            MeetingError::Upstream(e) => {
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "user-service call failed"
                );
                match e {
                    // user-service refusing our own call is our fault, not the client's.
                    UpstreamError::Rejected { .. } => ApiError::server(
                        StatusCode::BAD_GATEWAY,
                        "user-service answered with an error",
                    ),
                    other => other.to_api_error(),
                }
            }
            MeetingError::Store(e) => {
                tracing::error!(error = &e as &dyn std::error::Error, "postgresql failed");
                if e.is_unavailable() {
                    ApiError::server(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the meeting database is unavailable",
                    )
                } else {
                    ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            }
        };
        api.into_response()
    }
}
