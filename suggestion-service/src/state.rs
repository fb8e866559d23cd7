//! The state every handler receives: cheap handles, cloned per request.

use axum::extract::FromRef;
use w2meet_platform::auth::Verifier;

use crate::service::Suggestions;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// The use case, holding the availability-service client.
    pub suggestions: Suggestions,
    /// Verifies the caller's token (user-service's keys, fetched) or service
    /// credential: whose view of the group the answer is.
    pub verifier: Verifier,
}
