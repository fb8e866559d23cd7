//! W2Meet suggestion-service: ranked meeting times for a group.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: the router and [`startup::build`] (`main` and tests).
//! - [`state`]: the handlers' state.
//! - [`routes`]: thin handlers (`/suggestions`, `/health`); requests are
//!   parsed by `w2meet-group` (the group, its window, the ranking options).
//! - [`service`]: the use case: one `POST /timelines` to
//!   availability-service, then the ranking.
//! - [`domain`]: ranking the decoded timelines with the pure `scheduling`
//!   core into the original or the full answer.
//! - [`clients`]: the typed availability-service client.
//! - [`error`]: errors and their status codes.

pub mod clients;
pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
