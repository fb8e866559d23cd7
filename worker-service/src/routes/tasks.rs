//! `/tasks`: submit a suggestion job, read its state.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path};
use w2meet_platform::http::{IDEMPOTENT_REPLAYED, idempotency_key};

use crate::domain::{JobView, Submission, TaskInput};
use crate::error::TaskError;
use crate::service::Tasks;

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

/// Read a job's state.
#[utoipa::path(get, path = "/tasks/{job_id}", tag = "tasks", security((), ("bearer" = [])),
    params(("job_id" = String, Path, description = "The job id from the 202")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 401, description = "A job submitted with a token, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's job", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn get_task(
    State(tasks): State<Tasks>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
) -> Result<axum::Json<JobView>, TaskError> {
    let id = Uuid::parse_str(job_id.trim())
        .map_err(|_| TaskError::invalid(&["path", "job_id"], "job_id must be a UUID"))?;
    Ok(axum::Json(tasks.get(id, &caller).await?.view()))
}
