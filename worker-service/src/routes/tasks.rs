//! `/tasks`: submit a suggestion job, read its state.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path, Query};
use w2meet_platform::http::{IDEMPOTENT_REPLAYED, idempotency_key};

use crate::domain::{JobView, Submission, TaskInput};
use crate::error::TaskError;
use crate::service::{MAX_WAIT, Tasks};

/// The 202 answer: the job is stored and the broker has confirmed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enqueued {
    pub case_id: String,
    /// Always `enqueued`.
    pub status: &'static str,
    pub job_id: Uuid,
    /// The queue the job waits in.
    pub queue: String,
}

/// Submit a suggestion job.
///
/// Answers only after RabbitMQ confirmed the message is stored. Send the
/// same `Idempotency-Key` again (after a timeout, say) to get the same job
/// back instead of a second one.
#[utoipa::path(post, path = "/tasks", operation_id = "submit_task", request_body = TaskInput, tag = "tasks", security((), ("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a repeated submission return the first one's job (1–255 visible ASCII characters)")),
    responses(
        (status = 202, description = "Stored and enqueued (`Idempotent-Replayed: true` for a repeat)", body = Enqueued, headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier submission with the same Idempotency-Key"))),
        (status = 400, description = "Invalid submission", body = ErrorBody),
        (status = 401, description = "A token that does not verify", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used for another submission", body = ErrorBody),
        (status = 503, description = "RabbitMQ or PostgreSQL unavailable; the job was not accepted", body = ErrorBody)))]
pub async fn submit(
    State(tasks): State<Tasks>,
    case_id: CaseId,
    Auth(caller): Auth,
    headers: HeaderMap,
    Json(input): Json<TaskInput>,
) -> Result<Response, TaskError> {
    let key = idempotency_key(&headers).map_err(|d| TaskError::Invalid(vec![d]))?;
    let submission = Submission::parse(input).map_err(TaskError::Invalid)?;
    if submission.book().is_some_and(|b| b["organizer"].is_null()) && caller.viewer().is_none() {
        return Err(TaskError::invalid(
            &["body", "book", "organizer"],
            "book.organizer is required without a token (with one, the organizer is you)",
        ));
    }
    let accepted = tasks
        .submit(
            case_id.as_str(),
            &submission,
            key.as_deref(),
            caller.viewer(),
        )
        .await?;
    let body = Enqueued {
        case_id: case_id.to_string(),
        status: "enqueued",
        job_id: accepted.job.id,
        queue: tasks.broker.topology().main().to_owned(),
    };
    let mut res = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if accepted.replayed {
        res.headers_mut()
            .insert(&IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// `GET /tasks/{job_id}`'s query: all optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReadQuery {
    /// Seconds to wait for an unfinished job to finish.
    pub wait: Option<String>,
}

/// Read a job's state; with `wait`, wait for it to finish first.
///
/// With `wait=S` (seconds, 0–30, fractions allowed) an unfinished job is
/// answered as soon as it finishes, or with its state when `S` seconds have
/// passed (never later than a second before the service's request
/// timeout) — one request instead of polling. The answer is the same
/// object either way.
#[utoipa::path(get, path = "/tasks/{job_id}", tag = "tasks", security((), ("bearer" = [])),
    params(("job_id" = String, Path, description = "The job id from the 202"),
        ("wait" = Option<f64>, Query, description = "Seconds (0–30) to wait for an unfinished job to finish before answering")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Not a job id, or `wait` outside 0–30", body = ErrorBody),
        (status = 401, description = "A job submitted with a token, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's job", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn get_task(
    State(tasks): State<Tasks>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Result<axum::Json<JobView>, TaskError> {
    let id = Uuid::parse_str(job_id.trim())
        .map_err(|_| TaskError::invalid(&["path", "job_id"], "job_id must be a UUID"))?;
    let wait = parse_wait(query.wait.as_deref())?;
    Ok(axum::Json(
        tasks.get_waiting(id, &caller, wait).await?.view(),
    ))
}

/// `wait`: seconds from 0 to [`MAX_WAIT`]; absent is 0.
fn parse_wait(raw: Option<&str>) -> Result<Duration, TaskError> {
    let Some(raw) = raw else {
        return Ok(Duration::ZERO);
    };
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=MAX_WAIT.as_secs_f64()).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            TaskError::invalid(
                &["query", "wait"],
                format!(
                    "wait must be a number of seconds from 0 to {}",
                    MAX_WAIT.as_secs()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_seconds_from_zero_to_the_most() {
        assert_eq!(parse_wait(None).unwrap(), Duration::ZERO);
        assert_eq!(parse_wait(Some("10")).unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_wait(Some(" 0.25")).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_wait(Some("30")).unwrap(), MAX_WAIT);
        for bad in ["", "-1", "30.5", "NaN", "inf", "1e9", "soon"] {
            assert!(parse_wait(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
