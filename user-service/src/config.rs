//! Configuration, read once from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use w2meet_platform::env::{ConfigError, millis_or, parse_or, string_or};
use w2meet_platform::http::HttpLimits;

use crate::store::{CacheConfig, DbConfig};

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR`, default `127.0.0.1:8001`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `LOG_DIR`, default `./logs`.
    pub log_dir: PathBuf,
    pub db: DbConfig,
    pub cache: CacheConfig,
    pub http: HttpLimits,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
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
            },
            http: HttpLimits {
                body_limit_bytes: parse_or("BODY_LIMIT_BYTES", 64 * 1024)?,
                request_timeout: millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
            },
        })
    }
}
