//! `/availabilities`: the common free time of a group.

use axum::extract::State;
use w2meet_group::GroupQuery;
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Query};

use crate::domain::answer::AvailabilityAnswer;
use crate::domain::request::{
    AvailabilityBody, AvailabilityQuery, AvailabilityRequest, DetailQuery,
};
use crate::error::AvailabilityError;
use crate::state::AppState;

/// Common availability of 2–1000 users (query-string form: the original
/// `userId1`/`userId2`, or `users=a,b,c`). The original request, with no
/// newer parameter, gets the original fields only.
#[utoipa::path(get, path = "/availabilities", tag = "availability", security((), ("bearer" = [])), params(GroupQuery, DetailQuery),
    responses(
        (status = 200, description = "Common availability", body = AvailabilityAnswer),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "user-service answered wrongly", body = ErrorBody),
        (status = 503, description = "user-service unreachable", body = ErrorBody),
        (status = 504, description = "user-service too slow", body = ErrorBody)))]
pub async fn get_availabilities(
    State(state): State<AppState>,
    case_id: CaseId,
    Auth(caller): Auth,
    Query(q): Query<AvailabilityQuery>,
) -> Result<axum::Json<AvailabilityAnswer>, AvailabilityError> {
    let req = AvailabilityRequest::from_query(q).map_err(AvailabilityError::Invalid)?;
    Ok(axum::Json(
        state
            .availability
            .common(&req, &case_id, caller.viewer())
            .await?,
    ))
}

/// The same with a JSON body, for large groups (always the full answer).
#[utoipa::path(post, path = "/availabilities", tag = "availability", security((), ("bearer" = [])), request_body = AvailabilityBody,
    responses(
        (status = 200, description = "Common availability", body = AvailabilityAnswer),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "user-service answered wrongly", body = ErrorBody),
        (status = 503, description = "user-service unreachable", body = ErrorBody),
        (status = 504, description = "user-service too slow", body = ErrorBody)))]
pub async fn post_availabilities(
    State(state): State<AppState>,
    case_id: CaseId,
    Auth(caller): Auth,
    Json(body): Json<AvailabilityBody>,
) -> Result<axum::Json<AvailabilityAnswer>, AvailabilityError> {
    let req = AvailabilityRequest::from_body(body).map_err(AvailabilityError::Invalid)?;
    Ok(axum::Json(
        state
            .availability
            .common(&req, &case_id, caller.viewer())
            .await?,
    ))
}
