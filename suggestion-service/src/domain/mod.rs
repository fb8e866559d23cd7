//! What this service knows without I/O: ranking a decoded group into the
//! answer shapes.
//!
//! - [`ranking`]: the suggestions (original or full shape), with the pure
//!   `scheduling` core, from the timelines availability-service sent.

pub mod ranking;
