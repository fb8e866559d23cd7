//! W2Meet availability-service: the common free time of a group.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: state, router, application (`main` and tests).
//! - [`routes`]: thin handlers (`/availabilities`, `/health`).
//! - [`request`]: query/body → validated [`request::GroupRequest`].
//! - [`service`]: the answer, computed with the pure `scheduling` core.
//! - [`clients`]: the typed user-service client (one batch read per request).
//! - [`error`]: errors and their status codes.

pub mod clients;
pub mod config;
pub mod error;
pub mod request;
pub mod routes;
pub mod service;
pub mod startup;
