//! The state every handler receives: cheap handles, cloned per request.

use crate::service::Availability;

#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases, holding the user-service client.
    pub availability: Availability,
}
