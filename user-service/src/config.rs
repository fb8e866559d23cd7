//! Configuration, read once from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use w2meet_platform::auth::ServiceToken;
use w2meet_platform::env::{
    self, ConfigError, Secret, millis_or, parse_or, path_or_none, string_or, tls_ca_pem,
};
use w2meet_platform::http::HttpLimits;

use crate::domain::AuthMode;
use crate::service::accounts::Lifetimes;
use crate::store::limits::{Limit, LoginLimits};
use crate::store::{CacheConfig, DbConfig, MigrateMode, NearConfig};

/// Accounts and tokens (SPEC §6).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `AUTH_MODE`: `open` (default) or `required`.
    pub mode: AuthMode,
    /// `AUTH_SIGNING_KEY` or `AUTH_SIGNING_KEY_FILE`: an Ed25519 private
    /// key, PKCS#8 PEM. Unset: a key is made up at start (tokens then die
    /// with the process; fine for tests, wrong for replicas).
    pub signing_key: Option<Secret>,
    /// `AUTH_EXTRA_KEY_FILES`: comma-separated PEM files of keys that still
    /// verify (published in the JWKS) but no longer sign — for rotation.
    pub extra_keys: Vec<Secret>,
    /// `SERVICE_TOKEN` or `SERVICE_TOKEN_FILE`.
    pub service_token: Option<ServiceToken>,
    /// `AUTH_ACCESS_TTL_SECS` (900), `AUTH_REFRESH_TTL_SECS` (2592000).
    pub lifetimes: Lifetimes,
    /// `AUTH_HASH_CONCURRENCY` (1): Argon2id hashes at once.
    pub hash_concurrency: usize,
    /// `AUTH_HASH_WAIT_MS` (2000): longest wait for a hashing permit.
    pub hash_wait: Duration,
    /// `LOGIN_ACCOUNT_LIMIT` per `LOGIN_ACCOUNT_WINDOW_SECS` (10 per 300),
    /// `LOGIN_CLIENT_LIMIT` per `LOGIN_CLIENT_WINDOW_SECS` (30 per 60).
    pub login_limits: LoginLimits,
}

impl AuthConfig {
    pub fn from_env() -> Result<AuthConfig, ConfigError> {
        let mode_raw = string_or("AUTH_MODE", "open");
        let mode = AuthMode::parse(&mode_raw).map_err(|reason| ConfigError {
            name: "AUTH_MODE".into(),
            value: mode_raw.clone(),
            reason,
        })?;
        let extra_files = string_or("AUTH_EXTRA_KEY_FILES", "");
        let extra_keys = extra_files
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                std::fs::read_to_string(f)
                    .map(Secret::new)
                    .map_err(|e| ConfigError {
                        name: "AUTH_EXTRA_KEY_FILES".into(),
                        value: f.to_owned(),
                        reason: format!("cannot read the file: {e}"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuthConfig {
            mode,
            signing_key: env::secret("AUTH_SIGNING_KEY", "AUTH_SIGNING_KEY_FILE")?,
            extra_keys,
            service_token: env::service_token()?,
            lifetimes: Lifetimes {
                access: Duration::from_secs(parse_or("AUTH_ACCESS_TTL_SECS", 900)?),
                refresh: Duration::from_secs(parse_or("AUTH_REFRESH_TTL_SECS", 30 * 24 * 3600)?),
            },
            hash_concurrency: parse_or("AUTH_HASH_CONCURRENCY", 1)?,
            hash_wait: millis_or("AUTH_HASH_WAIT_MS", 2000)?,
            login_limits: LoginLimits {
                per_account: Limit {
                    max: parse_or("LOGIN_ACCOUNT_LIMIT", 10)?,
                    window: Duration::from_secs(parse_or("LOGIN_ACCOUNT_WINDOW_SECS", 300)?),
                },
                per_client: Limit {
                    max: parse_or("LOGIN_CLIENT_LIMIT", 30)?,
                    window: Duration::from_secs(parse_or("LOGIN_CLIENT_WINDOW_SECS", 60)?),
                },
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR`, default `127.0.0.1:8001`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `LOG_DIR`, default `./logs`.
    pub log_dir: PathBuf,
    pub db: DbConfig,
    pub cache: CacheConfig,
    pub http: HttpLimits,
    pub auth: AuthConfig,
    /// Meeting events (SPEC §7) that keep people's busy time; `None` when
    /// `MEETING_EVENTS=false`.
    pub events: Option<EventsConfig>,
    /// Change events this service publishes (`changes`); `None` when
    /// `USER_EVENTS=false`.
    pub changes: Option<crate::changes::ChangesConfig>,
}

/// Where booked time comes from: meeting-service's topic exchange.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// `MEETING_EXCHANGE`, default `w2meet.meetings`.
    pub exchange: String,
    /// `MEETING_EVENTS_QUEUE`, default `{exchange}.user-service`: the
    /// durable queue every replica consumes from (competing consumers).
    pub queue: String,
    /// `AMQP_RECONNECT_MAX_MS`, default 5000: the longest pause between
    /// reconnect attempts.
    pub reconnect_max: Duration,
    /// `TLS_CA_FILE` (PEM text): with an `amqps://` URL, a CA trusted
    /// beside the bundled public roots.
    pub ca_pem: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let exchange = string_or("MEETING_EXCHANGE", "w2meet.meetings");
        let events =
            parse_or("MEETING_EVENTS", true)?.then(|| -> Result<EventsConfig, ConfigError> {
                Ok(EventsConfig {
                    url: string_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
                    queue: string_or("MEETING_EVENTS_QUEUE", &format!("{exchange}.user-service")),
                    exchange: exchange.clone(),
                    reconnect_max: millis_or("AMQP_RECONNECT_MAX_MS", 5000)?,
                    ca_pem: tls_ca_pem()?,
                })
            });
        let changes = parse_or("USER_EVENTS", true)?.then(|| -> Result<_, ConfigError> {
            Ok(crate::changes::ChangesConfig {
                url: string_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
                exchange: string_or("USER_EXCHANGE", "w2meet.users"),
                reconnect_max: millis_or("AMQP_RECONNECT_MAX_MS", 5000)?,
                ca_pem: tls_ca_pem()?,
            })
        });
        Ok(Config {
            events: events.transpose()?,
            changes: changes.transpose()?,
            bind: parse_or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8001)))?,
            log_dir: PathBuf::from(string_or("LOG_DIR", "logs")),
            db: DbConfig {
                url: string_or(
                    "DATABASE_URL",
                    "postgres://postgres@127.0.0.1:5432/w2meet_users",
                ),
                schema: Some(string_or("DATABASE_SCHEMA", "")).filter(|s| !s.is_empty()),
                pool_size: parse_or("DB_POOL_SIZE", 16)?,
                timeout: millis_or("DB_TIMEOUT_MS", 2000)?,
                migrate: parse_or("DB_MIGRATE", MigrateMode::AtStart)?,
                ca_file: path_or_none("TLS_CA_FILE"),
            },
            cache: CacheConfig {
                url: string_or("REDIS_URL", "redis://127.0.0.1:6379"),
                prefix: string_or("REDIS_KEY_PREFIX", "w2meet:users:"),
                ttl: Duration::from_secs(parse_or("CACHE_TTL_SECS", 300)?),
                negative_ttl: Duration::from_secs(parse_or("NEGATIVE_CACHE_TTL_SECS", 5)?),
                connect_timeout: millis_or("REDIS_CONNECT_TIMEOUT_MS", 500)?,
                response_timeout: millis_or("REDIS_TIMEOUT_MS", 250)?,
                retry_after: millis_or("REDIS_RETRY_AFTER_MS", 1000)?,
                epoch_refresh: millis_or("CACHE_EPOCH_REFRESH_MS", 1000)?,
                ca_file: path_or_none("TLS_CA_FILE"),
                near: NearConfig {
                    max_bytes: parse_or("NEAR_CACHE_MAX_BYTES", 8 * 1024 * 1024)?,
                    lag: millis_or("NEAR_CACHE_LAG_MS", 10)?,
                },
            },
            http: HttpLimits {
                body_limit_bytes: parse_or("BODY_LIMIT_BYTES", 64 * 1024)?,
                request_timeout: millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
                drain: millis_or("SHUTDOWN_DRAIN_MS", 2000)?,
            },
            auth: AuthConfig::from_env()?,
        })
    }
}
