//! Configuration, read once from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use w2meet_platform::auth::ServiceToken;
use w2meet_platform::env::{ConfigError, millis_or, parse_or, path_or_none, string_or, tls_ca_pem};
use w2meet_platform::http::HttpLimits;

use crate::store::{DbConfig, MigrateMode};

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR`, default `127.0.0.1:8004`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `CONSUMER_BIND_ADDR`, unset by default: where a `consume` process
    /// serves `/health` and `/metrics` (several consumers share a host, so
    /// they get no port unless given one).
    pub consumer_bind: Option<SocketAddr>,
    /// `LOG_DIR`, default `./logs`.
    pub log_dir: PathBuf,
    pub db: DbConfig,
    pub amqp: AmqpConfig,
    pub jobs: JobConfig,
    pub suggestion: SuggestionConfig,
    pub meetings: MeetingConfig,
    pub callback: CallbackConfig,
    pub watches: WatchConfig,
    pub http: HttpLimits,
    /// `USER_SERVICE_URL`, default `http://127.0.0.1:8001`: where the public
    /// keys that verify access tokens are (`/.well-known/jwks.json`).
    pub user_service_url: String,
    /// `SERVICE_TOKEN` or `SERVICE_TOKEN_FILE`: consumers present it to
    /// suggestion-service to compute a job as its submitter may see it.
    pub service_token: Option<ServiceToken>,
}

/// RabbitMQ.
#[derive(Debug, Clone)]
pub struct AmqpConfig {
    /// `AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// `JOB_QUEUE`, default `meeting_jobs`; retry and dead-letter queues are
    /// named after it (`{queue}.retry.{ms}ms`, `{queue}.dead`).
    pub queue: String,
    /// `PREFETCH`, default 8: unacknowledged jobs one consumer holds at once.
    pub prefetch: u16,
    /// `AMQP_TIMEOUT_MS`, default 3000: connecting, declaring, and waiting for
    /// a publisher confirm.
    pub timeout: Duration,
    /// `AMQP_RECONNECT_MAX_MS`, default 5000: the longest pause between
    /// consumer reconnect attempts (starts at 100 ms, doubles).
    pub reconnect_max: Duration,
    /// `QUEUE_DEPTH_INTERVAL_MS`, default 5000: how often the API refreshes
    /// the queue depth gauge.
    pub depth_interval: Duration,
    /// `TLS_CA_FILE` (PEM text): with an `amqps://` URL, a CA trusted
    /// beside the bundled public roots.
    pub ca_pem: Option<String>,
}

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct JobConfig {
    /// `JOB_MAX_ATTEMPTS`, default 5: attempts before a transient failure
    /// becomes final.
    pub max_attempts: u32,
    /// `JOB_RETRY_BASE_MS`, default 1000: delay after the first failed
    /// attempt; doubles per attempt.
    pub retry_base: Duration,
    /// `JOB_RETRY_MAX_MS`, default 60000: the longest retry delay.
    pub retry_max: Duration,
}

impl JobConfig {
    /// Broker-side delay after failed attempt `attempt` (1-based).
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.retry_base.saturating_mul(factor).min(self.retry_max)
    }
}

/// suggestion-service.
#[derive(Debug, Clone)]
pub struct SuggestionConfig {
    /// `SUGGESTION_SERVICE_URL`, default `http://127.0.0.1:8003`.
    pub url: String,
    /// `SUGGESTION_CONNECT_TIMEOUT_MS`, default 1000.
    pub connect_timeout: Duration,
    /// `SUGGESTION_TIMEOUT_MS`, default 10000: a slower answer is a
    /// transient failure and is retried.
    pub timeout: Duration,
}

/// meeting-service, for auto-book jobs.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// `MEETING_SERVICE_URL`, default `http://127.0.0.1:8005`.
    pub url: String,
    /// `MEETING_CONNECT_TIMEOUT_MS`, default 1000.
    pub connect_timeout: Duration,
    /// `MEETING_TIMEOUT_MS`, default 5000: a slower answer is a transient
    /// failure (the try is sent again with its key).
    pub timeout: Duration,
}

/// Completion callbacks (`callback_url`).
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// `CALLBACK_MAX_ATTEMPTS`, default 5.
    pub max_attempts: u32,
    /// `CALLBACK_RETRY_BASE_MS`, default 500; doubles per attempt.
    pub retry_base: Duration,
    /// `CALLBACK_TIMEOUT_MS`, default 5000 per attempt.
    pub timeout: Duration,
    /// `TLS_CA_FILE`: PEM certificates trusted for `https` callbacks beside
    /// the bundled public roots (a private CA); unset, the public roots only.
    pub ca_file: Option<PathBuf>,
}

/// Watches (SPEC §10): where change events come from, how evaluations are
/// coalesced, how webhooks are retried.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// `WATCHES`, default true: whether consumer processes evaluate watches
    /// and deliver their events.
    pub enabled: bool,
    /// `USER_EXCHANGE`, default `w2meet.users`: user-service's change
    /// events.
    pub exchange: String,
    /// `WATCH_CHANGES_QUEUE`, default `{exchange}.watches`: the durable
    /// queue the consumers share.
    pub queue: String,
    /// `WATCH_COALESCE_MS`, default 200: a watch is evaluated once it has
    /// been dirty this long, so a burst of changes is one evaluation.
    pub coalesce: Duration,
    /// `WATCH_SWEEP_SECONDS`, default 300: every live watch is re-evaluated
    /// this often, catching a change event that was lost.
    pub sweep_every: Duration,
    /// `WATCH_DELIVERY_MAX_ATTEMPTS`, default 8.
    pub max_attempts: i32,
    /// `WATCH_RETRY_BASE_MS`, default 1000: the first retry's delay,
    /// doubling per attempt up to `WATCH_RETRY_MAX_MS` (default 300000).
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// `WATCH_WEBHOOK_TIMEOUT_MS`, default 5000.
    pub webhook_timeout: Duration,
}

impl WatchConfig {
    /// The pause before attempt `attempt + 1` (attempt counts from 1).
    pub fn retry_delay(&self, attempt: i32) -> Duration {
        let factor = 1u32 << (attempt.max(1) - 1).min(16);
        self.retry_base.saturating_mul(factor).min(self.retry_max)
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let consumer_bind = string_or("CONSUMER_BIND_ADDR", "");
        let consumer_bind = if consumer_bind.is_empty() {
            None
        } else {
            Some(parse_or(
                "CONSUMER_BIND_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )?)
        };
        Ok(Config {
            bind: parse_or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8004)))?,
            consumer_bind,
            log_dir: PathBuf::from(string_or("LOG_DIR", "logs")),
            db: DbConfig {
                url: string_or(
                    "DATABASE_URL",
                    "postgres://postgres@127.0.0.1:5432/w2meet_jobs",
                ),
                schema: Some(string_or("DATABASE_SCHEMA", "")).filter(|s| !s.is_empty()),
                pool_size: parse_or("DB_POOL_SIZE", 16)?,
                timeout: millis_or("DB_TIMEOUT_MS", 2000)?,
                migrate: parse_or("DB_MIGRATE", MigrateMode::AtStart)?,
                ca_file: path_or_none("TLS_CA_FILE"),
            },
            amqp: AmqpConfig {
                url: string_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
                queue: string_or("JOB_QUEUE", "meeting_jobs"),
                prefetch: parse_or("PREFETCH", 8)?,
                timeout: millis_or("AMQP_TIMEOUT_MS", 3000)?,
                reconnect_max: millis_or("AMQP_RECONNECT_MAX_MS", 5000)?,
                depth_interval: millis_or("QUEUE_DEPTH_INTERVAL_MS", 5000)?,
                ca_pem: tls_ca_pem()?,
            },
            jobs: JobConfig {
                max_attempts: parse_or("JOB_MAX_ATTEMPTS", 5u32)?.max(1),
                retry_base: millis_or("JOB_RETRY_BASE_MS", 1000)?,
                retry_max: millis_or("JOB_RETRY_MAX_MS", 60_000)?,
            },
            suggestion: SuggestionConfig {
                url: string_or("SUGGESTION_SERVICE_URL", "http://127.0.0.1:8003"),
                connect_timeout: millis_or("SUGGESTION_CONNECT_TIMEOUT_MS", 1000)?,
                timeout: millis_or("SUGGESTION_TIMEOUT_MS", 10_000)?,
            },
            meetings: MeetingConfig {
                url: string_or("MEETING_SERVICE_URL", "http://127.0.0.1:8005"),
                connect_timeout: millis_or("MEETING_CONNECT_TIMEOUT_MS", 1000)?,
                timeout: millis_or("MEETING_TIMEOUT_MS", 5000)?,
            },
            callback: CallbackConfig {
                max_attempts: parse_or("CALLBACK_MAX_ATTEMPTS", 5u32)?.max(1),
                retry_base: millis_or("CALLBACK_RETRY_BASE_MS", 500)?,
                timeout: millis_or("CALLBACK_TIMEOUT_MS", 5000)?,
                ca_file: path_or_none("TLS_CA_FILE"),
            },
            watches: {
                let exchange = string_or("USER_EXCHANGE", "w2meet.users");
                WatchConfig {
                    enabled: parse_or("WATCHES", true)?,
                    queue: string_or("WATCH_CHANGES_QUEUE", &format!("{exchange}.watches")),
                    exchange,
                    coalesce: millis_or("WATCH_COALESCE_MS", 200)?,
                    sweep_every: Duration::from_secs(parse_or("WATCH_SWEEP_SECONDS", 300u64)?),
                    max_attempts: parse_or("WATCH_DELIVERY_MAX_ATTEMPTS", 8i32)?.max(1),
                    retry_base: millis_or("WATCH_RETRY_BASE_MS", 1000)?,
                    retry_max: millis_or("WATCH_RETRY_MAX_MS", 300_000)?,
                    webhook_timeout: millis_or("WATCH_WEBHOOK_TIMEOUT_MS", 5000)?,
                }
            },
            http: HttpLimits {
                body_limit_bytes: parse_or("BODY_LIMIT_BYTES", 256 * 1024)?,
                request_timeout: millis_or("REQUEST_TIMEOUT_MS", 10_000)?,
                drain: millis_or("SHUTDOWN_DRAIN_MS", 2000)?,
            },
            user_service_url: string_or("USER_SERVICE_URL", "http://127.0.0.1:8001"),
            service_token: w2meet_platform::env::service_token()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_from_the_base_up_to_the_cap() {
        let jobs = JobConfig {
            max_attempts: 10,
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(1000),
        };
        let delays: Vec<u128> = (1..=6).map(|a| jobs.retry_delay(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }
}
