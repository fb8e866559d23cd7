//! A W2Meet group request, parsed once at each service's edge, and the
//! typed wire format that carries a group between services.
//!
//! availability-, suggestion- and worker-service all accept "a group of
//! people and a window of days"; this crate is the one place that says what
//! a valid one is, so the three agree on every 400 (and user-service's email
//! rule is everybody's).
//!
//! # Layout
//! - [`email`]: [`Email`], the user id (user-service stores users under it).
//! - [`request`]: [`GroupQuery`]/[`GroupBody`] (what clients send) →
//!   [`GroupRequest`] (members, window, required members, quorum).
//! - [`suggest`]: the ranking options beside a group →
//!   [`SuggestionRequest`] (suggestion-service's requests and job bodies).
//! - [`wire`]: `POST /timelines` between suggestion- and
//!   availability-service: [`wire::TimelinesRequest`] and the compact
//!   [`wire::TimelinesAnswer`].
//! - `problems` (internal): collecting every problem with its location.

pub mod email;
mod problems;
pub mod request;
pub mod suggest;
pub mod wire;

pub use email::Email;
pub use problems::Source;
pub use request::{GroupBody, GroupQuery, GroupRequest};
pub use suggest::{RankBody, RankOptions, RankQuery, SuggestBody, SuggestQuery, SuggestionRequest};
