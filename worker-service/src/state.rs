//! The state every HTTP handler receives: cheap handles, cloned per request.

use axum::extract::FromRef;
use w2meet_platform::auth::Verifier;

use crate::service::Tasks;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// The use cases: the job store and the confirming broker connection.
    pub tasks: Tasks,
    /// The watch use cases (SPEC §10).
    pub watches: crate::watches::Watches,
    /// Verifies the caller's token (user-service's keys, fetched): who
    /// submits a job, and who may read it.
    pub verifier: Verifier,
}
