//! The user-service's errors and the status each maps to. Causes of 5xx are
//! logged inside the request span; bodies carry a generic message only.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use w2meet_platform::auth::AuthError;
use w2meet_platform::{ApiError, ErrorDetail};

use crate::domain::{Denied, Email, user::InvalidField};
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
    /// 401: no credential where one is needed, one that does not verify, or
    /// the owner's email with a token of an account that no longer exists.
    #[error("unauthenticated")]
    Unauthenticated(AuthError),
    /// 403: a valid credential of someone who may not do this.
    #[error("forbidden")]
    Forbidden { email: String, reason: &'static str },
    /// 401: login refused. Identical for an unknown email and a wrong
    /// password (body, status, headers), so it tells nobody which it was.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 401: a refresh token that is unknown, expired, revoked or reused.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// 409: the email already has an account.
    #[error("already registered")]
    AlreadyRegistered(Email),
    /// 429: too many login attempts for the account or from the client.
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    /// 503: every password-hashing permit stayed busy for the whole wait.
    #[error("password hashing busy")]
    HashingBusy,
    /// 500: stored data that cannot be read back (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl UserError {
    /// The error for a refused read or write of `email`'s profile.
    pub fn denied(denied: Denied, email: &Email) -> UserError {
        match denied {
            Denied::Unauthenticated => UserError::Unauthenticated(AuthError::Required),
            Denied::Forbidden => UserError::Forbidden {
                email: email.to_string(),
                reason: "this profile belongs to someone else",
            },
        }
    }

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
            UserError::Unauthenticated(e) => return e.into_response(),
            UserError::Forbidden { email, reason } => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorDetail::new(PATH_EMAIL, format!("{reason} ({email})"), "forbidden"),
            ),
            UserError::InvalidCredentials => {
                let mut res = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorDetail::new(["body"], "invalid email or password", "invalid_credentials"),
                )
                .into_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"w2meet\""),
                );
                return res;
            }
            UserError::InvalidRefreshToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorDetail::new(
                    ["body", "refresh_token"],
                    "the refresh token is not valid; log in again",
                    "invalid_refresh_token",
                ),
            ),
            UserError::AlreadyRegistered(email) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorDetail::new(
                    ["body", "email"],
                    format!("{email} already has an account; log in instead"),
                    "conflict",
                ),
            ),
            UserError::RateLimited { retry_after } => {
                let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                let mut res = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorDetail::new(
                        ["body"],
                        format!("too many attempts; try again in {secs} s"),
                        "rate_limited",
                    ),
                )
                .into_response();
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return res;
            }
            UserError::HashingBusy => {
                let mut res = ApiError::server(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many logins at once; try again shortly",
                )
                .into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return res;
            }
            UserError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        api.into_response()
    }
}
