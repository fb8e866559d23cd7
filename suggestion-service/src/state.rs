//! The state every handler receives: cheap handles, cloned per request.

use crate::service::Suggestions;

#[derive(Clone, Debug)]
pub struct AppState {
    /// The use case, holding the availability-service client.
    pub suggestions: Suggestions,
}
