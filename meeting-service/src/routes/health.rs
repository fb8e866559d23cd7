//! `/health`: postgresql and rabbitmq, each timed.

use std::collections::BTreeMap;

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::state::AppState;

/// Service health: 200 when PostgreSQL and RabbitMQ answer, 503 naming the
/// one that does not.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "A dependency is unhealthy", body = Health)))]
pub async fn health(State(state): State<AppState>, case_id: CaseId) -> Health {
    let (postgres, rabbitmq) = tokio::join!(
        health::link(state.meetings.store.ping()),
        health::link(state.broker.ping())
    );
    let deps = BTreeMap::from([
        ("postgresql".to_owned(), postgres),
        ("rabbitmq".to_owned(), rabbitmq),
    ]);
    Health::new(&case_id, "meeting-service", deps)
}
