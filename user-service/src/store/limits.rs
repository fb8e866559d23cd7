//! Login rate limits in Redis (SPEC §6): fixed windows counted per account
//! and per client address, shared by every replica.
//!
//! Each attempt increments both counters in one round trip (a Lua script
//! per key: `INCR`, and `PEXPIRE` when the window starts); an attempt over
//! either limit is refused with the time left in that window. Redis being
//! down must not lock everyone out, so the limits then fail open (logged,
//! and counted in `login_rate_limit_unavailable_total`) — the Argon2id cost
//! and the bounded hashing pool still cap how fast passwords can be tried.

use std::time::Duration;

use redis::aio::ConnectionManager;

/// Counts a hit and returns `{count, ms left in the window}`.
const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// At most `max` attempts per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

/// The two login limits.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: Limit,
    pub per_client: Limit,
}

#[derive(Clone)]
pub struct RateLimiter {
    conn: ConnectionManager,
    prefix: String,
    limits: LoginLimits,
}

impl RateLimiter {
    pub fn new(conn: ConnectionManager, prefix: &str, limits: LoginLimits) -> RateLimiter {
        RateLimiter {
            conn,
            prefix: prefix.to_owned(),
            limits,
        }
    }

    /// Counts one registration from `client` against the per-client limit
    /// (each one costs an Argon2id hash, like a login). `Some(wait)` when
    /// over it.
    pub async fn register_attempt(&self, client: &str) -> Option<Duration> {
        let key = format!("{}register:client:{client}", self.prefix);
        self.hit(&[(key, self.limits.per_client)]).await
    }

    /// Counts one login attempt for `account` (the email as typed, trimmed
    /// and lower-cased) from `client`. `Some(wait)` when it is over a limit.
    pub async fn login_attempt(&self, account: &str, client: &str) -> Option<Duration> {
        let keys = [
            (
                format!("{}login:account:{account}", self.prefix),
                self.limits.per_account,
            ),
            (
                format!("{}login:client:{client}", self.prefix),
                self.limits.per_client,
            ),
        ];
        self.hit(&keys).await
    }

    /// One hit on each `(key, limit)`; the longest wait of those over.
    async fn hit(&self, keys: &[(String, Limit)]) -> Option<Duration> {
        let mut pipe = redis::pipe();
        for (key, limit) in keys {
            pipe.cmd("EVAL")
                .arg(HIT_SCRIPT)
                .arg(1)
                .arg(key)
                .arg(limit.window.as_millis() as u64);
        }
        let mut conn = self.conn.clone();
        match pipe.query_async::<Vec<(u64, u64)>>(&mut conn).await {
            Ok(counts) => counts
                .iter()
                .zip(keys)
                .filter(|((n, _), (_, limit))| *n > limit.max)
                .map(|((_, ttl_ms), _)| Duration::from_millis(*ttl_ms))
                .max(),
            Err(e) => {
                metrics::counter!("login_rate_limit_unavailable_total").increment(1);
                tracing::warn!(error = %e, "login rate limit unavailable; not limiting");
                None
            }
        }
    }
}
