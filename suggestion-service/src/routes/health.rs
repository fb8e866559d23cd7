//! `/health`: the availability-service, timed.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::state::AppState;

/// 200 when the availability-service answers its own `/health` with 200.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "availability-service unhealthy or unreachable", body = Health)))]
pub async fn health(State(state): State<AppState>, case_id: CaseId) -> Health {
    let availability_service = health::check(
        Duration::from_secs(2),
        state.suggestions.availability.upstream().health(&case_id),
        |e| e.to_string(),
    )
    .await;
    Health::new(
        &case_id,
        "suggestion-service",
        BTreeMap::from([("availability-service".to_owned(), availability_service)]),
    )
}
