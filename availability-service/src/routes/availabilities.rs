//! `/availabilities`: the common free time of a group.

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::error::{ErrorBody, Json, Query};

use crate::error::AvailabilityError;
use crate::request::{GroupBody, GroupQuery, GroupRequest};
use crate::service::{self, AvailabilityResponse};
use crate::startup::AppState;

/// Common availability of 2–1000 users (query-string form; the original
/// `userId1`/`userId2` or `users=a,b,c`).
#[utoipa::path(get, path = "/availabilities", tag = "availability", params(GroupQuery),
    responses(
        (status = 200, description = "Common availability", body = AvailabilityResponse),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "user-service answered wrongly", body = ErrorBody),
        (status = 503, description = "user-service unreachable", body = ErrorBody),
        (status = 504, description = "user-service too slow", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    case_id: CaseId,
    Query(q): Query<GroupQuery>,
) -> Result<axum::Json<AvailabilityResponse>, AvailabilityError> {
    let req = GroupRequest::from_query(q).map_err(AvailabilityError::Invalid)?;
    answer(state, case_id, req, "query").await
}

/// The same with a JSON body, for large groups.
#[utoipa::path(post, path = "/availabilities", tag = "availability", request_body = GroupBody,
    responses(
        (status = 200, description = "Common availability", body = AvailabilityResponse),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    case_id: CaseId,
    Json(body): Json<GroupBody>,
) -> Result<axum::Json<AvailabilityResponse>, AvailabilityError> {
    let req = GroupRequest::from_body(body).map_err(AvailabilityError::Invalid)?;
    answer(state, case_id, req, "body").await
}

async fn answer(
    state: AppState,
    case_id: CaseId,
    req: GroupRequest,
    at: &'static str,
) -> Result<axum::Json<AvailabilityResponse>, AvailabilityError> {
    let fetched = state.users.schedules(&req.users, &case_id).await?;
    if !fetched.missing.is_empty() {
        return Err(AvailabilityError::UnknownUsers {
            at,
            emails: fetched.missing,
        });
    }
    let today = scheduling::today_in(req.tz, chrono::Utc::now());
    let answer = service::compute(&req, &fetched.users, case_id.as_str(), today).map_err(|e| {
        AvailabilityError::Invalid(vec![w2meet_platform::ErrorDetail::new(
            [at, e.field()],
            e.to_string(),
            "value_error",
        )])
    })?;
    tracing::info!(
        users = req.users.len(),
        intervals = answer.intervals.len(),
        "availability computed"
    );
    Ok(axum::Json(answer))
}
