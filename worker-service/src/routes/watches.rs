//! `/watches`: be told when a group reaches a quorum (SPEC §10).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path};

use crate::domain::watch::{Outcome, WatchInput};
use crate::error::TaskError;
use crate::store::watches::{EventState, WatchRecord};
use crate::watches::Watches;

/// A watch as `GET` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchView {
    pub watch_id: Uuid,
    /// `active` until the window ends, then `expired`.
    pub status: &'static str,
    /// The suggestion request evaluated (`preference=best`, `count=1`, the
    /// window fixed at creation).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub callback_url: String,
    pub case_id: String,
    pub expires_at: DateTime<Utc>,
    /// The last evaluation's outcome.
    pub outcome: Outcome,
    pub evaluations: i64,
    pub created_at: DateTime<Utc>,
    pub evaluated_at: DateTime<Utc>,
    /// Every event so far, oldest first, with its delivery state.
    pub events: Vec<EventState>,
}

/// The 201 answer: the watch, and the secret its webhooks are signed with
/// (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWatch {
    pub case_id: String,
    pub watch_id: Uuid,
    /// 64 hex characters: the HMAC-SHA256 key of `W2Meet-Signature`.
    pub secret: String,
    pub status: &'static str,
    pub expires_at: DateTime<Utc>,
    /// Where the group stands now; events report changes from here.
    pub outcome: Outcome,
}

fn status(w: &WatchRecord) -> &'static str {
    if w.expires_at > Utc::now() {
        "active"
    } else {
        "expired"
    }
}

fn watch_id(raw: &str) -> Result<Uuid, TaskError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| TaskError::invalid(&["path", "watch_id"], "watch_id must be a UUID"))
}

/// Watch a group: be told when it reaches a quorum, when its best meeting
/// changes, and when it loses the quorum.
///
/// The group is evaluated once now (the answer's `outcome`); afterwards it
/// is re-evaluated whenever a member's availability, overrides or meetings
/// change, and each change of outcome is POSTed to `callback_url`, signed
/// (`W2Meet-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` with the
/// returned `secret`), retried with backoff, in order per watch. The watch
/// expires with its window.
#[utoipa::path(post, path = "/watches", operation_id = "create_watch", request_body = WatchInput, tag = "watches", security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Watching", body = CreatedWatch),
        (status = 400, description = "Invalid watch", body = ErrorBody),
        (status = 401, description = "A token that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown users", body = ErrorBody),
        (status = 503, description = "The group could not be evaluated, or PostgreSQL is unavailable; nothing stored", body = ErrorBody)))]
pub async fn create_watch(
    State(watches): State<Watches>,
    case_id: CaseId,
    Auth(caller): Auth,
    Json(input): Json<WatchInput>,
) -> Result<(StatusCode, axum::Json<CreatedWatch>), TaskError> {
    let created = watches.create(input, case_id.as_str(), &caller).await?;
    let w = &created.watch;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWatch {
            case_id: case_id.to_string(),
            watch_id: w.id,
            secret: created.secret,
            status: status(w),
            expires_at: w.expires_at,
            outcome: w.outcome.clone(),
        }),
    ))
}

/// Read a watch: its last outcome and its events' delivery state.
#[utoipa::path(get, path = "/watches/{watch_id}", operation_id = "get_watch", tag = "watches", security((), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id from the 201")),
    responses(
        (status = 200, description = "The watch", body = WatchView),
        (status = 400, description = "Not a watch id", body = ErrorBody),
        (status = 401, description = "A watch made with a token, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's watch", body = ErrorBody),
        (status = 404, description = "No such watch", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn get_watch(
    State(watches): State<Watches>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
) -> Result<axum::Json<WatchView>, TaskError> {
    let (w, events) = watches.get(watch_id(&raw)?, &caller).await?;
    Ok(axum::Json(WatchView {
        watch_id: w.id,
        status: status(&w),
        request: w.request.clone(),
        callback_url: w.callback_url.clone(),
        case_id: w.case_id.clone(),
        expires_at: w.expires_at,
        outcome: w.outcome.clone(),
        evaluations: w.evaluations,
        created_at: w.created_at,
        evaluated_at: w.evaluated_at,
        events,
    }))
}

/// Stop watching: no more evaluations or deliveries.
#[utoipa::path(delete, path = "/watches/{watch_id}", operation_id = "delete_watch", tag = "watches", security((), ("bearer" = [])),
    params(("watch_id" = String, Path, description = "The watch id from the 201")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a watch id", body = ErrorBody),
        (status = 401, description = "A watch made with a token, and no valid token", body = ErrorBody),
        (status = 403, description = "Someone else's watch", body = ErrorBody),
        (status = 404, description = "No such watch", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn delete_watch(
    State(watches): State<Watches>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
) -> Result<StatusCode, TaskError> {
    watches.delete(watch_id(&raw)?, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
