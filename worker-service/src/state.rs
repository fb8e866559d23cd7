//! The state every HTTP handler receives: cheap handles, cloned per request.
//!
//! worker-service's state is its use-case type, [`Tasks`] (the job store
//! and the confirming broker connection); handlers extract it directly.

pub use crate::service::Tasks as AppState;
