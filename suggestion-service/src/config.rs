//! Configuration, read once from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;

use w2meet_platform::auth::ServiceToken;
use w2meet_platform::env::{ConfigError, millis_or, parse_or, string_or};
use w2meet_platform::http::HttpLimits;
use w2meet_platform::upstream::UpstreamTimeouts;

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR`, default `127.0.0.1:8003`.
    pub bind: SocketAddr,
    /// `LOG_DIR`, default `./logs`.
    pub log_dir: PathBuf,
    /// `AVAILABILITY_SERVICE_URL`, default `http://127.0.0.1:8002`.
    pub availability_service_url: String,
    /// `UPSTREAM_CONNECT_TIMEOUT_MS` (500), `UPSTREAM_TIMEOUT_MS` (7000: nested inside the caller's, so the
    /// innermost timeout fires first and its 504 travels out).
    pub upstream: UpstreamTimeouts,
    pub http: HttpLimits,
    /// `USER_SERVICE_URL`, default `http://127.0.0.1:8001`: where the public
    /// keys that verify access tokens are (`/.well-known/jwks.json`).
    pub user_service_url: String,
    /// `SERVICE_TOKEN` or `SERVICE_TOKEN_FILE`: presented to
    /// availability-service, accepted from the worker.
    pub service_token: Option<ServiceToken>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
            bind: parse_or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8003)))?,
            log_dir: PathBuf::from(string_or("LOG_DIR", "logs")),
            availability_service_url: string_or(
                "AVAILABILITY_SERVICE_URL",
                "http://127.0.0.1:8002",
            ),
            upstream: UpstreamTimeouts {
                connect: millis_or("UPSTREAM_CONNECT_TIMEOUT_MS", 500)?,
                request: millis_or("UPSTREAM_TIMEOUT_MS", 7000)?,
            },
            http: HttpLimits {
                // 1000 emails in a JSON body fit comfortably.
                body_limit_bytes: parse_or("BODY_LIMIT_BYTES", 256 * 1024)?,
                request_timeout: millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
                drain: millis_or("SHUTDOWN_DRAIN_MS", 2000)?,
            },
            user_service_url: string_or("USER_SERVICE_URL", "http://127.0.0.1:8001"),
            service_token: w2meet_platform::env::service_token()?,
        })
    }
}
