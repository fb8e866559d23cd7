//! W2Meet user-service: users and their weekly availability.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: builds the router and the application (`main` and tests).
//! - [`state`]: the handlers' state (the [`service::Users`] handle).
//! - [`routes`]: thin HTTP handlers, one file per resource.
//! - [`service`]: the logic — cache-aside reads, writes that invalidate.
//! - [`store`]: PostgreSQL, the Redis cache (and why it is never stale),
//!   single-flight loads.
//! - [`domain`]: parsed, validated types (`Email`, `UserDraft`, ...).
//! - [`error`]: the service's errors and their status codes.
//! - [`events`]: booked time from meeting-service's events.
//! - [`changes`]: `user.changed` events after every write that can change
//!   when people are free (for worker-service's watches).
//! - `testing` (feature `testing`, dev-only): a real instance for other
//!   services' tests.

pub mod changes;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
