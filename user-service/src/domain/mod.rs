//! Domain types: everything that crosses into the service is parsed into one
//! of these, and the rest of the code accepts only these.
//!
//! - [`Email`]: the user id, trimmed, lower-cased, a plausible address
//!   (the one rule every service uses: it lives in `w2meet-group`).
//! - [`Preference`]: `first` | `last` | `random`.
//! - [`TimeZone`]: an IANA zone name known to the compiled-in tz database.
//! - [`UserDraft`]: a validated create/replace body.
//! - [`UserRecord`]: a stored user as the API (and the cache) represents it.
//! - [`IfMatch`]: the precondition of a replace.
//! - [`Access`], [`Profile`]: who owns a profile and may read or change it.
//! - [`Password`]: a password the registration policy accepts.
//! - [`dated`]: a person's dated overrides as clients send them.

pub mod access;
pub mod dated;
mod password;
pub mod user;

pub use access::{Access, AuthMode, Dated, Denied, Profile};
pub use password::Password;
pub use user::{
    AvailabilityRecord, InvalidField, Preference, TimeZone, UserDraft, UserInput, UserRecord,
};
pub use w2meet_group::Email;
pub use w2meet_platform::if_match::IfMatch;
