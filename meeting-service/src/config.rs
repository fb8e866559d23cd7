//! Configuration, read once from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use w2meet_platform::auth::ServiceToken;
use w2meet_platform::env::{ConfigError, millis_or, parse_or, path_or_none, string_or, tls_ca_pem};
use w2meet_platform::http::HttpLimits;
use w2meet_platform::upstream::UpstreamTimeouts;

use crate::domain::access::AuthMode;
use crate::store::{DbConfig, MigrateMode};

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR`, default `127.0.0.1:8005`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `LOG_DIR`, default `./logs`.
    pub log_dir: PathBuf,
    /// `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/w2meet_meetings`),
    /// `DATABASE_SCHEMA`, `DB_POOL_SIZE` (16), `DB_TIMEOUT_MS` (2000), `DB_MIGRATE` (`start`; `external`: the `migrate` command does it).
    pub db: DbConfig,
    pub amqp: AmqpConfig,
    /// `USER_SERVICE_URL`, default `http://127.0.0.1:8001` (comma-separated
    /// replicas): the public keys that verify tokens, and whose profile is
    /// claimed or shared.
    pub user_service_url: String,
    /// `USER_SERVICE_CONNECT_TIMEOUT_MS` (1000), `USER_SERVICE_TIMEOUT_MS` (3000).
    pub upstream: UpstreamTimeouts,
    pub http: HttpLimits,
    /// `SERVICE_TOKEN` or `SERVICE_TOKEN_FILE`: presented to user-service.
    pub service_token: Option<ServiceToken>,
    /// `AUTH_MODE`, `open` (default) or `required`: whether anyone may act
    /// for a person whose profile nobody has claimed.
    pub auth_mode: AuthMode,
}

/// RabbitMQ and the outbox relay.
#[derive(Debug, Clone)]
pub struct AmqpConfig {
    /// `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// `MEETING_EXCHANGE`, default `w2meet.meetings`: the durable topic
    /// exchange domain events are published to.
    pub exchange: String,
    /// `AMQP_TIMEOUT_MS`, default 3000: connecting and each confirm.
    pub timeout: Duration,
    /// `OUTBOX_POLL_MS`, default 500: how often the relay looks for events
    /// it was not woken for.
    pub outbox_poll: Duration,
    /// `OUTBOX_RELAY`, default `true`: `false` runs no relay in this
    /// process (events wait in the outbox for another replica's).
    pub relay: bool,
    /// `TLS_CA_FILE` (PEM text): with an `amqps://` URL, a CA trusted
    /// beside the bundled public roots.
    pub ca_pem: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
            bind: parse_or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8005)))?,
            log_dir: PathBuf::from(string_or("LOG_DIR", "logs")),
            db: DbConfig {
                url: string_or(
                    "DATABASE_URL",
                    "postgres://postgres@127.0.0.1:5432/w2meet_meetings",
                ),
                schema: Some(string_or("DATABASE_SCHEMA", "")).filter(|s| !s.is_empty()),
                pool_size: parse_or("DB_POOL_SIZE", 16)?,
                timeout: millis_or("DB_TIMEOUT_MS", 2000)?,
                migrate: parse_or("DB_MIGRATE", MigrateMode::AtStart)?,
                ca_file: path_or_none("TLS_CA_FILE"),
            },
            amqp: AmqpConfig {
                url: string_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
                exchange: string_or("MEETING_EXCHANGE", "w2meet.meetings"),
                timeout: millis_or("AMQP_TIMEOUT_MS", 3000)?,
                outbox_poll: millis_or("OUTBOX_POLL_MS", 500)?,
                relay: parse_or("OUTBOX_RELAY", true)?,
                ca_pem: tls_ca_pem()?,
            },
            user_service_url: string_or("USER_SERVICE_URL", "http://127.0.0.1:8001"),
            upstream: UpstreamTimeouts {
                connect: millis_or("USER_SERVICE_CONNECT_TIMEOUT_MS", 1000)?,
                request: millis_or("USER_SERVICE_TIMEOUT_MS", 3000)?,
            },
            http: HttpLimits {
                body_limit_bytes: parse_or("BODY_LIMIT_BYTES", 256 * 1024)?,
                request_timeout: millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
                drain: millis_or("SHUTDOWN_DRAIN_MS", 2000)?,
            },
            service_token: w2meet_platform::env::service_token()?,
            auth_mode: {
                let raw = string_or("AUTH_MODE", "open");
                AuthMode::parse(&raw).map_err(|reason| ConfigError {
                    name: "AUTH_MODE".into(),
                    value: raw.clone(),
                    reason,
                })?
            },
        })
    }
}
