//! Helpers for tests that talk to the real PostgreSQL, Redis and RabbitMQ.
//! Every test gets its own schema, key prefix and names, and cleans up on
//! drop, so tests run in parallel and beside other runs on the same servers.
//! Fault tests never touch the shared servers: they start private ones
//! ([`PrivateRedis`]) or cut a connection in between ([`TcpProxy`]).
//!
//! # Layout
//! - [`postgres`]: [`TestSchema`], a fresh schema per test.
//! - [`redis`]: [`RedisPrefix`] and [`PrivateRedis`].
//! - [`http`]: [`assert_error`], the shared error-body contract, and
//!   [`assert_upstream_faults`], how a caller answers a failing upstream.
//! - [`net`]: [`TcpProxy`], free ports, stub upstream servers.
//! - [`rabbitmq`]: queue names per test, a private RabbitMQ node.
//! - [`tls`]: [`tls::TestCa`], a CA of the test's own, and HTTPS stubs.

pub mod http;
pub mod net;
pub mod postgres;
pub mod rabbitmq;
pub mod redis;
pub mod tls;

pub use http::{assert_error, assert_upstream_faults};
pub use net::{TcpProxy, free_port, spawn_stub};
pub use postgres::TestSchema;
pub use redis::{PrivateRedis, RedisPrefix};

/// A reqwest client for tests (reqwest needs the process's TLS provider
/// installed first: see w2meet-tls).
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().unwrap()
}

/// [`http_client`]'s builder, for tests that set timeouts.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    w2meet_tls::install_provider();
    reqwest::Client::builder()
}

/// A name no other test or run uses: `{prefix}_{uuid}` (lower case, `_` only,
/// valid as a schema, queue or key fragment).
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Polls `check` every 20 ms until it returns true or `timeout` passes; the
/// way to wait for something in a test without sleeping blindly.
pub async fn wait_until<F, Fut>(timeout: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
