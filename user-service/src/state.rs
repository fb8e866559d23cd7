//! The state every handler receives: cheap handles, cloned per request.
//!
//! user-service's state is its use-case type, [`Users`] (the PostgreSQL
//! store and the Redis cache behind it); handlers extract it directly.

pub use crate::service::Users as AppState;
