//! W2Meet worker-service: suggestion jobs that are never lost and never done
//! twice.
//!
//! A client submits a job over HTTP; the API stores it in PostgreSQL (the
//! source of truth for a job's state), publishes it persistently to RabbitMQ
//! with publisher confirms, and answers 202 only once the broker has it.
//! Consumer processes compete on the queue, compute the suggestion through
//! suggestion-service, store the result, and only then acknowledge.
//!
//! # Layout
//! - [`config`]: settings from the environment.
//! - [`startup`]: the HTTP application ([`startup::build`]) and the
//!   consumer process ([`startup::ConsumerApp`]); `main` and tests use both.
//! - [`state`]: the HTTP handlers' state (the [`service::Tasks`] handle).
//! - [`routes`]: thin HTTP handlers (`/tasks`, `/watches`, `/health`).
//! - [`service`]: submitting a job (store → publish → confirm) and reading it.
//! - [`consumer`]: the consume loop (prefetch, reconnect, drain on SIGTERM)
//!   and [`consumer::handler`], which turns one delivery into an outcome.
//! - [`broker`]: the RabbitMQ connection, queue topology (retry and dead
//!   letter queues) and confirmed publishing.
//! - [`store`]: the PostgreSQL job table and its conditional state changes.
//! - [`watches`]: the watch use cases behind `/watches` (SPEC §10), and
//!   [`watcher`]: change events → dirty watches → evaluations → signed,
//!   ordered, retried webhooks, in the consumer processes.
//! - [`clients`]: suggestion-service, completion callbacks and watch
//!   webhooks over HTTP.
//! - [`domain`]: the parsed submission, job status, the AMQP message.
//! - [`error`]: the service's errors and their status codes.
//! - [`job_metrics`]: the job metric names, in one place.

pub mod broker;
pub mod clients;
pub mod config;
pub mod consumer;
pub mod domain;
pub mod error;
pub mod job_metrics;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod watcher;
pub mod watches;
