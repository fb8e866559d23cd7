//! Outbound HTTP: suggestion-service ([`suggestion`]), meeting-service for
//! auto-booking ([`meetings`]) and completion callbacks ([`callback`]). All
//! carry the job's Case-ID.

pub mod callback;
pub mod meetings;
pub mod suggestion;

pub use callback::Callbacks;
pub use meetings::{BookError, MeetingClient};
pub use suggestion::{SuggestionClient, SuggestionError};
