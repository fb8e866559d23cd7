//! W2Meet availability-service: the common free time of a group.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: the router and [`startup::build`] (`main` and tests).
//! - [`state`]: the handlers' state.
//! - [`routes`]: thin handlers (`/availabilities`, `/timelines`, `/health`).
//! - [`service`]: the use cases: one batch read from user-service, then the
//!   pure computations.
//! - [`domain`]: the requests (the group parsed by `w2meet-group`) and the
//!   answers, computed with the pure `scheduling` core.
//! - [`clients`]: the typed user-service client.
//! - [`error`]: errors and their status codes.

pub mod clients;
pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
