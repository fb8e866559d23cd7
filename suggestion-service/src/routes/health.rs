//! `/health`: the availability-service, timed.

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::state::AppState;

/// 200 when the availability-service is ready (its `/readyz`), whatever
/// the state of the services behind it.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "availability-service unhealthy or unreachable", body = Health)))]
pub async fn health(State(state): State<AppState>, case_id: CaseId) -> Health {
    let upstream = state.suggestions.availability.upstream();
    health::of_upstream(&case_id, "suggestion-service", upstream).await
}
