//! Outbound HTTP: suggestion-service ([`suggestion`]), meeting-service for
//! auto-booking ([`meetings`]), completion callbacks ([`callback`]) and
//! signed watch webhooks ([`webhook`]). All carry the Case-ID.

pub mod callback;
pub mod meetings;
pub mod suggestion;
pub mod webhook;

pub use callback::Callbacks;
pub use meetings::{BookError, MeetingClient};
pub use suggestion::{SuggestionClient, SuggestionError};
pub use webhook::Webhooks;
