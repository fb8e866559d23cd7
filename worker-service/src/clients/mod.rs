//! Outbound HTTP: suggestion-service ([`suggestion`]) and completion
//! callbacks ([`callback`]). Both carry the job's Case-ID.

pub mod callback;
pub mod suggestion;

pub use callback::Callbacks;
pub use suggestion::{SuggestionClient, SuggestionError};
