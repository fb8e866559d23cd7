//! The worker-service's errors and the status each maps to. Causes of 5xx
//! are logged inside the request span; bodies carry a generic message only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::auth::AuthError;
use w2meet_platform::{ApiError, ErrorDetail};

use crate::broker::BrokerError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// 400: the submission or the job id is malformed; every problem listed.
    #[error("invalid request")]
    Invalid(Vec<ErrorDetail>),
    /// 404: no such job.
    #[error("job not found")]
    NotFound(String),
    /// 403: someone else's watch.
    #[error("forbidden")]
    WatchForbidden,
    /// 404: no such watch.
    #[error("watch not found")]
    WatchNotFound(String),
    /// 404: a watch names people user-service does not know.
    #[error("unknown users: {0}")]
    UnknownUsers(String),
    /// 503: a watch's first evaluation could not be made (suggestion-service
    /// or one behind it failed); nothing was stored.
    #[error("first evaluation failed: {0}")]
    Upstream(String),
    /// 401: a job submitted with a token, read without one.
    #[error("unauthenticated")]
    Unauthenticated(AuthError),
    /// 403: someone else's job.
    #[error("forbidden")]
    Forbidden,
    /// 409: the `Idempotency-Key` names a different submission.
    #[error("idempotency conflict: {0}")]
    Conflict(String),
    /// 503: RabbitMQ did not confirm the message, so the job was not taken.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// 503 when PostgreSQL is unreachable, 500 when it answered with an error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TaskError {
    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> TaskError {
        TaskError::Invalid(vec![ErrorDetail::new(
            loc.iter().copied(),
            msg,
            "value_error",
        )])
    }
}

impl IntoResponse for TaskError {
    fn into_response(self) -> Response {
        let api = match self {
            TaskError::Invalid(detail) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
            },
            TaskError::Unauthenticated(e) => return e.into_response(),
            TaskError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorDetail::new(
                    ["path", "job_id"],
                    "this job was submitted by someone else",
                    "forbidden",
                ),
            ),
            TaskError::NotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(
                    ["path", "job_id"],
                    format!("Job not found: {id}"),
                    "not_found",
                ),
            ),
            TaskError::WatchForbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorDetail::new(
                    ["path", "watch_id"],
                    "this watch was made by someone else",
                    "forbidden",
                ),
            ),
            TaskError::WatchNotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(
                    ["path", "watch_id"],
                    format!("Watch not found: {id}"),
                    "not_found",
                ),
            ),
            TaskError::UnknownUsers(msg) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorDetail::new(["body", "users"], msg, "not_found"),
            ),
            TaskError::Upstream(cause) => {
                tracing::error!(cause, "watch not created");
                ApiError::server(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the group could not be evaluated now; the watch was not created",
                )
            }
            TaskError::Conflict(msg) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorDetail::new(["header", "Idempotency-Key"], msg, "conflict"),
            ),
            TaskError::Broker(e) => {
                tracing::error!(error = &e as &dyn std::error::Error, "job not enqueued");
                ApiError::server(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the job queue is unavailable; the job was not accepted",
                )
            }
            TaskError::Store(e) => match &e {
                StoreError::Unavailable(_) => {
                    tracing::error!(
                        error = &e as &dyn std::error::Error,
                        "postgresql unavailable"
                    );
                    ApiError::server(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the job database is unavailable",
                    )
                }
                StoreError::Query(_) => {
                    tracing::error!(
                        error = &e as &dyn std::error::Error,
                        "postgresql query failed"
                    );
                    ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            },
        };
        api.into_response()
    }
}
