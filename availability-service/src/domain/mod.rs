//! What this service knows without I/O: its requests and its answers.
//!
//! - [`request`]: query/body → [`request::AvailabilityRequest`] (the group
//!   parsed by `w2meet-group`, plus `detail`).
//! - [`answer`]: the common availability and the wire-format timelines,
//!   computed with the `scheduling` core.

pub mod answer;
pub mod request;
