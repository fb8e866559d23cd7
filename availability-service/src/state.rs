//! The state every handler receives: cheap handles, cloned per request.

use axum::extract::FromRef;
use w2meet_platform::auth::Verifier;

use crate::service::Availability;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// The use cases, holding the user-service client.
    pub availability: Availability,
    /// Verifies the caller's token (user-service's keys, fetched) or service
    /// credential: whose view of the group an answer is.
    pub verifier: Verifier,
}
