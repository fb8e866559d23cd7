//! `/health`: redis and postgresql, each timed.

use std::collections::BTreeMap;

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::health::{self, Health};

use crate::service::Users;

/// Service health: 200 when Redis and PostgreSQL answer, 503 naming the one
/// that does not.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Healthy", body = Health),
              (status = 503, description = "A dependency is unhealthy", body = Health)))]
pub async fn health(State(users): State<Users>, case_id: CaseId) -> Health {
    let (redis, postgres) = tokio::join!(
        health::link(users.cache.ping()),
        health::link(users.store.ping())
    );
    let deps = BTreeMap::from([
        ("redis".to_owned(), redis),
        ("postgresql".to_owned(), postgres),
    ]);
    Health::new(&case_id, "user-service", deps)
}
