//! W2Meet meeting-service: a suggestion becomes a booked meeting.
//!
//! A booking holds the organizer's and every invitee's time; PostgreSQL's
//! exclusion constraint refuses a second meeting over the same person's
//! time, so double booking is impossible whatever the number of replicas.
//! Invitees answer (`PENDING` → `YES`/`MAYBE`/`NO`), anyone RSVPs to a
//! public meeting, people read their calendar as JSON or an iCalendar feed,
//! and every change is a domain event written with the change and relayed
//! to RabbitMQ, from where user-service feeds booked time back into
//! scheduling.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: the router and the application (relay beside it).
//! - [`state`]: the handlers' state.
//! - [`routes`]: thin HTTP handlers (`/meetings`, `/calendars`, `/health`).
//! - [`service`]: the use cases — who may, then the store's transaction.
//! - [`domain`]: meetings, access rules, transitions, events, ICS (pure).
//! - [`store`]: PostgreSQL (held time, history, outbox, feed tokens).
//! - [`relay`]: the outbox → RabbitMQ relay with publisher confirms.
//! - [`clients`]: user-service (who claimed a profile, who shares it).
//! - [`error`]: the service's errors and their status codes.

pub mod clients;
pub mod config;
pub mod domain;
pub mod error;
pub mod relay;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
