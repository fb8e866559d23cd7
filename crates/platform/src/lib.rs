//! What must be identical in every W2Meet service for one request to be
//! followed through all of them — and nothing else (no domain types, no
//! database or broker clients).
//!
//! # Layout
//! - [`auth`]: who is calling — access tokens, the service credential.
//! - [`case_id`]: the `Case-ID` type, its validation and extractor.
//! - [`http`]: the layer stack and common routes every router is finished with.
//! - [`error`]: the JSON error body (`{"case_id","detail":[...]}`), and `Json`/
//!   `Query` extractors whose rejections use it.
//! - [`if_match`]: `If-Match` against an integer version ETag.
//! - [`health`]: the `/health` body and a timed dependency check.
//! - [`probes`]: `/livez`, `/readyz` (own links only), draining on shutdown.
//! - [`metrics`]: the Prometheus recorder, request metrics, `/metrics`.
//! - [`telemetry`]: JSON log lines to stdout and a per-process file.
//! - [`trace_context`]: W3C `traceparent`/`tracestate` beside the Case-ID:
//!   accepted, propagated, and the `trace_id` on every log line.
//! - [`docs`]: the `/docs` page rendered from the OpenAPI document.
//! - [`server`]: bind, serve until shutdown, background loops beside it.
//! - [`env`]: configuration from environment variables.
//! - [`shutdown`]: Ctrl-C / SIGTERM.
//! - `upstream` (feature `client`): calling another service with the Case-ID
//!   and the SPEC's error mapping.

pub mod auth;
pub mod case_id;
pub mod docs;
pub mod env;
pub mod error;
pub mod health;
pub mod http;
pub mod if_match;
pub mod memory;
pub mod metrics;
pub mod otlp;
pub mod probes;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;
#[cfg(feature = "client")]
pub mod upstream;

pub use case_id::CaseId;
pub use error::{ApiError, ErrorDetail};
pub use server::Server;
