//! `/health`: the user-service, timed.

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::state::AppState;

/// 200 when the user-service is ready (its `/readyz`: it can serve), so an
/// outage behind it — Redis, say — does not make this service unhealthy.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "user-service unhealthy or unreachable", body = Health)))]
pub async fn health(State(state): State<AppState>, case_id: CaseId) -> Health {
    let upstream = state.availability.users.upstream();
    health::of_upstream(&case_id, "availability-service", upstream).await
}
