//! The user-service's errors and the status each maps to. Causes of 5xx are
//! logged inside the request span; bodies carry a generic message only.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::{ApiError, ErrorDetail};

use crate::domain::{Email, user::InvalidField};
use crate::store::StoreError;

/// Where most requests name their user.
pub const PATH_EMAIL: [&str; 2] = ["path", "email"];

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// 400: the request is malformed or invalid; every problem listed.
    #[error("invalid request")]
    Invalid(Vec<InvalidField>),
    /// 404: no such user(s); `loc` is where the request named them.
    #[error("user not found")]
    NotFound {
        loc: [&'static str; 2],
        emails: Vec<String>,
    },
    /// 409: the email is taken by a user with different data.
    #[error("user already exists with different data")]
    Conflict(Email),
    /// 412: `If-Match` named another version.
    #[error("version mismatch")]
    PreconditionFailed { current: Option<i64> },
    /// 503 when PostgreSQL is unreachable, 500 when it answered with an error.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// 500: stored data that cannot be read back (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl UserError {
    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> UserError {
        UserError::Invalid(vec![InvalidField {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
        }])
    }
}

impl IntoResponse for UserError {
    fn into_response(self) -> Response {
        let api = match self {
            UserError::Invalid(fields) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail: fields
                    .into_iter()
                    .map(|f| ErrorDetail::new(f.loc, f.msg, "value_error"))
                    .collect(),
            },
            UserError::NotFound { loc, emails } => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(
                    loc,
                    format!("User not found: {}", emails.join(", ")),
                    "not_found",
                ),
            ),
            UserError::Conflict(email) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorDetail::new(
                    ["body", "email"],
                    format!("a user with email {email} already exists with different data"),
                    "conflict",
                ),
            ),
            UserError::PreconditionFailed { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                ErrorDetail::new(
                    ["header", "If-Match"],
                    match current {
                        Some(v) => format!("the user has changed; current version is \"{v}\""),
                        None => "no such user, so no version can match".to_owned(),
                    },
                    "precondition_failed",
                ),
            ),
            UserError::Store(e) => match &*e {
                StoreError::Unavailable(_) => {
                    tracing::error!(
                        error = &*e as &dyn std::error::Error,
                        "postgresql unavailable"
                    );
                    ApiError::server(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the user database is unavailable",
                    )
                }
                StoreError::Query(_) => {
                    tracing::error!(
                        error = &*e as &dyn std::error::Error,
                        "postgresql query failed"
                    );
                    ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            },
            UserError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        api.into_response()
    }
}
