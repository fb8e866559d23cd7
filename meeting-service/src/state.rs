//! The state every HTTP handler receives: cheap handles, cloned per request.

use std::sync::Arc;

use axum::extract::FromRef;
use w2meet_platform::auth::Verifier;

use crate::relay::Broker;
use crate::service::Meetings;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// The use cases: the store, user-service, the relay's wake-up.
    pub meetings: Meetings,
    /// The relay's RabbitMQ link, which `/health` checks.
    pub broker: Arc<Broker>,
    /// Verifies the caller's token with user-service's published keys.
    pub verifier: Verifier,
}
