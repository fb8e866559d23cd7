//! The Redis side of cache-aside reads.
//!
//! # Why no reader can leave a stale entry behind
//! Two keys per user, under the configured prefix:
//! - `user:{epoch}:{email}` — `{generation}\n{user JSON}` (or `{generation}\n!`
//!   for "no such user", kept briefly), with a TTL;
//! - `generation:{email}` — an invalidation counter.
//!
//! A writer commits to PostgreSQL, then in one `MULTI` increments `generation`
//! and deletes the entry, and only then returns. A reader reads the entry
//! *and* `generation` in one `MGET`; an entry counts as a hit only if it was
//! written under the generation that is current now, so every entry written
//! before a write's increment is dead the moment the increment lands — under
//! every epoch, whichever replica wrote it. A reader that misses reads
//! PostgreSQL and fills with a Lua script that writes only if `generation`
//! still has the value it read. So a reader whose database read may predate a
//! commit — it necessarily read `generation` before that writer's increment —
//! either fills before the increment (and the fill is dead after it) or finds
//! `generation` changed and does not fill. After the write returns, no stale
//! entry can be served: the stale-fill race is closed without locks and
//! without a second round trip on hits.
//!
//! # Why Redis coming back serves nothing stale
//! A write that cannot reach Redis cannot delete its entry; if Redis kept its
//! data (a network blip, or a restart from a snapshot), that entry would be
//! stale when Redis returns. So entries are namespaced by an *epoch* stored in
//! PostgreSQL: a write made while Redis is failing advances the epoch in its
//! own transaction (or right after, if the invalidation itself fails), which
//! orphans every older entry at once. Each replica keeps the epoch in memory;
//! after any Redis error it stops using the cache (reads are `BYPASS`) until it
//! has re-read the epoch from PostgreSQL with no Redis error in between, and
//! it re-reads the epoch every `CACHE_EPOCH_REFRESH_MS` anyway, which bounds
//! how long an idle replica could miss an epoch change.
//!
//! # The near cache in front
//! With `NEAR_CACHE_LAG_MS` and `NEAR_CACHE_MAX_BYTES` set, hits are also
//! kept in this process ([`super::near`]), served without a round trip while
//! Redis's invalidation pushes are confirmed current; every write then waits
//! the lag after its invalidation, so a write that returned is never
//! overtaken by a near hit on any replica.
//!
//! # Failing fast
//! After a Redis error the cache is skipped for `REDIS_RETRY_AFTER_MS`
//! (a small circuit breaker), so an outage costs reads nothing but the
//! PostgreSQL query, not a Redis timeout each.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisError};

use super::near::{NearCache, NearConfig, Ticket};
use crate::domain::Profile;

/// The marker stored for "no such user" (never valid JSON for a user).
const NEGATIVE: &str = "!";

/// Separates the generation an entry was written under from its payload.
const GENERATION_SEPARATOR: char = '\n';

/// How long `generation:{email}` lives after its last increment. Far longer than any
/// read can take (reads are bounded by the statement and request timeouts),
/// so a reader never sees a counter vanish under it.
const GEN_TTL_SECS: i64 = 24 * 3600;

/// Writes the entry, stamped with its generation, only if the invalidation
/// counter is unchanged.
/// KEYS: entry, generation. ARGV: expected generation ('' when it had none), value, ttl ms.
const FILL_SCRIPT: &str = r"
local g = redis.call('GET', KEYS[2])
if g == false then g = '' end
if g == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1] .. '\n' .. ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub url: String,
    /// Prefix of every key (tests use a unique one each).
    pub prefix: String,
    pub ttl: Duration,
    pub negative_ttl: Duration,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// How long to skip Redis after an error.
    pub retry_after: Duration,
    /// How often each replica re-reads the epoch.
    pub epoch_refresh: Duration,
    /// `TLS_CA_FILE`: with a `rediss://` URL, the CA (PEM) the server's
    /// certificate must chain to instead of the bundled public roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// The per-process near cache in front of Redis, and the lag writes wait.
    pub near: NearConfig,
}

/// What the cache knows about one user.
#[derive(Debug, Clone)]
pub enum Lookup {
    Hit(Box<Profile>),
    /// Served from this process's near cache, no round trip.
    NearHit(Box<Profile>),
    /// Recently looked up and not found.
    KnownMissing,
    /// Not cached; `generation` is the invalidation counter read with it, to hand
    /// back to [`Cache::fill`].
    Miss {
        generation: String,
    },
}

/// The Redis cache. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: CacheConfig,
    /// Reconnects by itself; created lazily so the service starts (and
    /// serves from PostgreSQL) while Redis is down.
    conn: ConnectionManager,
    /// Reference point for `skip_until_ms`.
    started: Instant,
    /// Milliseconds after `started` before which Redis is not tried.
    skip_until_ms: AtomicU64,
    /// The epoch entries are read and written under.
    epoch: AtomicI64,
    /// False after a Redis error until the epoch has been re-read.
    epoch_fresh: AtomicBool,
    /// Redis errors so far; an epoch read counts only if none happened
    /// while it ran.
    failures: AtomicU64,
    /// Hits kept in this process, when configured.
    near: Option<NearCache>,
}

/// A client of `cfg.url`; RESP3 for the near cache's tracking connection.
/// `rediss://` is TLS (rustls): verified against the bundled public roots,
/// or against TLS_CA_FILE's CA when one is given.
fn redis_client(cfg: &CacheConfig, resp3: bool) -> anyhow::Result<redis::Client> {
    use redis::IntoConnectionInfo;
    let mut info = cfg.url.as_str().into_connection_info()?;
    if resp3 {
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        info = info.set_redis_settings(settings);
    }
    Ok(match &cfg.ca_file {
        Some(ca) if cfg.url.starts_with("rediss://") => redis::Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(
                    std::fs::read(ca)
                        .map_err(|e| anyhow::anyhow!("TLS_CA_FILE {}: {e}", ca.display()))?,
                ),
            },
        )?,
        _ => redis::Client::open(info)?,
    })
}

impl Cache {
    pub fn new(cfg: CacheConfig) -> anyhow::Result<Cache> {
        let client = redis_client(&cfg, false)?;
        let near = NearCache::new(cfg.near, &cfg.prefix, cfg.ttl);
        let manager_cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cfg.connect_timeout))
            .set_response_timeout(Some(cfg.response_timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, manager_cfg)?;
        Ok(Cache {
            inner: Arc::new(Inner {
                cfg,
                conn,
                started: Instant::now(),
                skip_until_ms: AtomicU64::new(0),
                epoch: AtomicI64::new(0),
                epoch_fresh: AtomicBool::new(false),
                failures: AtomicU64::new(0),
                near,
            }),
        })
    }

    /// The near cache, when this replica keeps one.
    pub fn near(&self) -> Option<&NearCache> {
        self.inner.near.as_ref()
    }

    /// The near cache's tracking loop (runs beside the server), if any.
    pub fn track_near(
        &self,
    ) -> anyhow::Result<Option<impl std::future::Future<Output = ()> + Send + 'static>> {
        let Some(near) = self.inner.near.clone() else {
            return Ok(None);
        };
        let client = redis_client(&self.inner.cfg, true)?;
        let cfg = &self.inner.cfg;
        Ok(Some(near.track_forever(
            client,
            cfg.response_timeout.max(cfg.connect_timeout),
            cfg.retry_after,
        )))
    }

    pub fn config(&self) -> &CacheConfig {
        &self.inner.cfg
    }

    /// The shared Redis connection, for the login rate limits.
    pub fn connection(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    fn now_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// Whether reads should use the cache now: Redis has not failed in the
    /// last `retry_after`, and the epoch is known to be current.
    pub fn usable(&self) -> bool {
        self.inner.epoch_fresh.load(Ordering::Acquire)
            && self.now_ms() >= self.inner.skip_until_ms.load(Ordering::Relaxed)
    }

    /// Whether Redis has failed recently (writes then advance the epoch).
    pub fn degraded(&self) -> bool {
        !self.usable()
    }

    /// Records a Redis failure: skip Redis for a while and distrust the epoch.
    pub fn note_failure(&self, op: &'static str, err: &RedisError) {
        self.inner.failures.fetch_add(1, Ordering::AcqRel);
        self.inner.epoch_fresh.store(false, Ordering::Release);
        let until = self.now_ms() + self.inner.cfg.retry_after.as_millis() as u64;
        self.inner.skip_until_ms.store(until, Ordering::Relaxed);
        metrics::counter!("cache_errors_total", "op" => op).increment(1);
        tracing::warn!(op, error = %err, "redis unavailable; serving from postgresql");
    }

    /// Failures so far (see [`Cache::epoch_refreshed`]).
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Acquire)
    }

    /// Adopts an epoch read from PostgreSQL; it makes the cache usable again
    /// only if no Redis failure happened since `failures_before` was taken.
    pub fn epoch_refreshed(&self, epoch: i64, failures_before: u64) {
        self.adopt_epoch(epoch);
        if self.failures() == failures_before {
            self.inner.epoch_fresh.store(true, Ordering::Release);
        }
    }

    /// Moves to a newer epoch learnt from a write's transaction.
    pub fn adopt_epoch(&self, epoch: i64) {
        self.inner.epoch.fetch_max(epoch, Ordering::AcqRel);
    }

    pub fn epoch(&self) -> i64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    fn entry_key(&self, epoch: i64, email: &str) -> String {
        format!("{}user:{epoch}:{email}", self.inner.cfg.prefix)
    }

    fn gen_key(&self, email: &str) -> String {
        format!("{}generation:{email}", self.inner.cfg.prefix)
    }

    /// Looks many users up: from the near cache where it may serve, the
    /// rest in one round trip (`MGET` of entries and counters); Redis hits are
    /// admitted to the near cache.
    pub async fn lookup_many(&self, emails: &[&str]) -> Result<Vec<Lookup>, RedisError> {
        let epoch = self.epoch();
        let mut found: Vec<Option<Lookup>> = vec![None; emails.len()];
        // (index, ticket) of each email Redis is asked for.
        let mut asked: Vec<(usize, Option<Ticket>)> = Vec::with_capacity(emails.len());
        match &self.inner.near {
            Some(near) => {
                let serving = near.serving();
                for (i, email) in emails.iter().enumerate() {
                    match serving.then(|| near.get(email, epoch)).flatten() {
                        Some(user) => found[i] = Some(Lookup::NearHit(Box::new(user))),
                        None => asked.push((i, near.ticket(email))),
                    }
                }
            }
            None => asked.extend((0..emails.len()).map(|i| (i, None))),
        }
        if asked.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        let keys: Vec<String> = asked
            .iter()
            .map(|(i, _)| self.entry_key(epoch, emails[*i]))
            .chain(asked.iter().map(|(i, _)| self.gen_key(emails[*i])))
            .collect();
        let mut conn = self.inner.conn.clone();
        let values: Vec<Option<String>> = conn.mget(&keys).await?;
        let (entries, gens) = values.split_at(asked.len());
        for (((i, ticket), entry), generation) in asked.into_iter().zip(entries).zip(gens) {
            let current = generation.as_deref().unwrap_or_default();
            // Written under the current generation, else dead: a write's
            // increment has landed since (or the entry is unreadable).
            let payload = entry
                .as_deref()
                .and_then(|e| e.split_once(GENERATION_SEPARATOR))
                .filter(|(written_under, _)| *written_under == current)
                .map(|(_, payload)| payload);
            let miss = || Lookup::Miss {
                generation: current.to_owned(),
            };
            found[i] = Some(match payload {
                Some(NEGATIVE) => Lookup::KnownMissing,
                Some(json) => match serde_json::from_str::<Profile>(json) {
                    Ok(user) => {
                        if let (Some(near), Some(ticket)) = (&self.inner.near, ticket) {
                            near.admit(ticket, emails[i], epoch, user.clone(), json.len());
                        }
                        Lookup::Hit(Box::new(user))
                    }
                    Err(_) => miss(),
                },
                None => miss(),
            });
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Fills entries after database reads (`None` = not found), each only if
    /// its counter still equals the `generation` its lookup saw. One round trip.
    pub async fn fill_many(
        &self,
        fills: &[(&str, &str, Option<&Profile>)],
    ) -> Result<(), RedisError> {
        if fills.is_empty() {
            return Ok(());
        }
        let epoch = self.epoch();
        let mut pipe = redis::pipe();
        for (email, generation, user) in fills {
            let (value, ttl) = match user {
                Some(u) => (
                    serde_json::to_string(u)
                        .map_err(|e| RedisError::from(std::io::Error::other(e)))?,
                    self.inner.cfg.ttl,
                ),
                None => (NEGATIVE.to_owned(), self.inner.cfg.negative_ttl),
            };
            pipe.cmd("EVAL")
                .arg(FILL_SCRIPT)
                .arg(2)
                .arg(self.entry_key(epoch, email))
                .arg(self.gen_key(email))
                .arg(*generation)
                .arg(value)
                .arg(ttl.as_millis() as u64)
                .ignore();
        }
        let mut conn = self.inner.conn.clone();
        pipe.query_async::<()>(&mut conn).await
    }

    /// Invalidates users after a committed write: bumps each counter (so
    /// in-flight fills are refused) and deletes each entry of `epoch`.
    pub async fn invalidate(&self, emails: &[&str], epoch: i64) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for email in emails {
            let gen_key = self.gen_key(email);
            pipe.incr(&gen_key, 1).ignore();
            pipe.expire(&gen_key, GEN_TTL_SECS).ignore();
            pipe.del(self.entry_key(epoch, email)).ignore();
        }
        let mut conn = self.inner.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        // Every replica's near cache has applied the increments' pushes, or
        // has stopped serving, once this has passed (see `near`).
        if let Some(wait) = self.inner.cfg.near.write_wait() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.inner.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
    }
}
