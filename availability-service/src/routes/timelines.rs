//! `/timelines`: the members' timelines in the core's own representation,
//! for suggestion-service (see `w2meet_group::wire`).

use axum::extract::State;
use w2meet_group::wire::{TimelinesAnswer, TimelinesRequest};
use w2meet_platform::CaseId;
use w2meet_platform::auth::{Auth, Caller};
use w2meet_platform::error::{ErrorBody, Json};

use crate::error::AvailabilityError;
use crate::state::AppState;

/// Each member's free time over a resolved window, as week bitsets (wire
/// format version 1). For the platform's services only (the service
/// credential, which the gateway strips from client requests): it carries
/// every member's free time, claimed or not. Unknown members are listed in `missing` (200), so the
/// caller reports them in its own client's terms.
#[utoipa::path(post, path = "/timelines", tag = "availability", security(("service" = [])), request_body = TimelinesRequest,
    responses(
        (status = 200, description = "Timelines, or the unknown members", body = TimelinesAnswer),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "No (or a wrong) service credential", body = ErrorBody),
        (status = 403, description = "A person's token: this route is for the platform's services", body = ErrorBody),
        (status = 502, description = "user-service answered wrongly", body = ErrorBody),
        (status = 503, description = "user-service unreachable", body = ErrorBody),
        (status = 504, description = "user-service too slow", body = ErrorBody)))]
pub async fn post_timelines(
    State(state): State<AppState>,
    case_id: CaseId,
    Auth(caller): Auth,
    Json(req): Json<TimelinesRequest>,
) -> Result<axum::Json<TimelinesAnswer>, AvailabilityError> {
    if !caller.is_service() {
        return Err(AvailabilityError::ServicesOnly {
            anonymous: caller == Caller::Anonymous,
        });
    }
    Ok(axum::Json(
        state
            .availability
            .timelines(req, &case_id, caller.viewer())
            .await?,
    ))
}
