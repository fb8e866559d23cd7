//! `/health`: rabbitmq and postgresql, each timed.

use std::collections::BTreeMap;

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::service::Tasks;

/// Service health: 200 when RabbitMQ and PostgreSQL answer, 503 naming the
/// one that does not.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "A dependency is unhealthy", body = Health)))]
pub async fn health(State(tasks): State<Tasks>, case_id: CaseId) -> Health {
    let (rabbitmq, postgres) = tokio::join!(
        health::link(tasks.broker.ping()),
        health::link(tasks.store.ping())
    );
    let deps = BTreeMap::from([
        ("rabbitmq".to_owned(), rabbitmq),
        ("postgresql".to_owned(), postgres),
    ]);
    Health::new(&case_id, "worker-service", deps)
}
