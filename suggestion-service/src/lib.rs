//! W2Meet suggestion-service: ranked meeting times for a group.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: state, router, application (`main` and tests).
//! - [`routes`]: thin handlers (`/suggestions`, `/health`).
//! - [`request`]: query/body → [`request::SuggestParams`]; group and window
//!   parameters are forwarded to the availability-service, which owns them.
//! - [`service`]: ranking with the pure `scheduling` core, from the
//!   availability answer (each user's free intervals).
//! - [`clients`]: the typed availability-service client.
//! - [`error`]: errors and their status codes.

pub mod clients;
pub mod config;
pub mod error;
pub mod request;
pub mod routes;
pub mod service;
pub mod startup;
