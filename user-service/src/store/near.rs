//! The near cache: profiles kept in this process's memory, in front of
//! Redis, so a repeated read costs no network round trip.
//!
//! # The invariant
//! A near hit is served only if no write to that user has *returned* since
//! the entry was read from Redis — the same promise the Redis layer makes
//! ([`super::cache`]), held across replicas.
//!
//! # The scheme
//! - **Invalidations.** A dedicated RESP3 connection per process runs
//!   `CLIENT TRACKING ON BCAST PREFIX {prefix}generation:`: Redis pushes an
//!   `invalidate` message to it for every change of any invalidation counter
//!   (every write bumps one, see [`super::cache`]), and a null one on
//!   `FLUSHALL`/`FLUSHDB`. The push handler runs inside the connection's
//!   reader, so a push is applied (the entry dropped) before any reply read
//!   after it on that connection.
//! - **Confirmations bound the lag.** The tracker pings on that connection.
//!   When the answer to a ping sent at `t` arrives, every push Redis queued
//!   before it executed that ping has been applied — that is, every write
//!   whose counter increment ran before `t`. A replica serves near hits only
//!   while it holds such a confirmation younger than `NEAR_CACHE_LAG_MS`
//!   (`lag`), and every write waits `lag` after its increment before it
//!   returns. A read that starts after a write returned therefore has a
//!   confirmation sent after the increment ran: the write's push was applied
//!   first. A late push (slow link, busy process) holds the confirmations
//!   back too, so near hits stop and reads go to Redis — no stale serve.
//! - **Admission race.** A reader takes a *ticket* (the stamp and a striped
//!   invalidation counter for the key) before its Redis read, and inserts the
//!   entry it got only if the ticket is still current after inserting
//!   (otherwise removes it): a push that arrived between the read and the
//!   insert — for a write that ran after the read — cannot be overtaken.
//! - **Lost pushes.** Pushes are lost only with their connection. A new
//!   connection (and a null invalidation) advances the *stamp*, which makes
//!   every entry and every outstanding ticket from before it dead; until the
//!   new connection tracks and has answered a ping, nothing is served.
//!
//! What it relies on: Redis queues an invalidation before executing any
//! later command of the tracking connection (it does: the push is written
//! while the modifying command runs), and time intervals measured on the
//! writer's and the reader's clocks agree within a millisecond per `lag`
//! (the writer waits `lag` + 1 ms).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{PushInfo, PushKind, RedisError, Value};
use tokio::sync::Notify;

use crate::domain::Profile;

/// Invalidation counters the keys are spread over (a ticket is invalidated
/// by a write to any key of its stripe: rare, and only costs a Redis read).
const STRIPES: usize = 1024;

/// While nobody reads from the near cache, the tracker pings this often (to
/// notice a dead connection) instead of every `lag / 4`.
const IDLE_PING: Duration = Duration::from_secs(1);

/// Reads count as "recent" (keeping the fast pings going) for this long.
const DEMAND_WINDOW_US: u64 = 1_000_000;

/// Sizing and the lag promise (`NEAR_CACHE_*`).
#[derive(Debug, Clone, Copy)]
pub struct NearConfig {
    /// `NEAR_CACHE_MAX_BYTES`: the entries' JSON size this process keeps at
    /// most; 0 turns this replica's near reads off (its writes still wait).
    pub max_bytes: u64,
    /// `NEAR_CACHE_LAG_MS`: how old a confirmation may be for a near hit,
    /// and how long every write waits after invalidating. 0 turns the near
    /// cache off everywhere (writes do not wait). Must be the same on every
    /// replica.
    pub lag: Duration,
}

impl NearConfig {
    /// No near cache, and writes that do not wait.
    pub const OFF: NearConfig = NearConfig {
        max_bytes: 0,
        lag: Duration::ZERO,
    };

    /// How long a write waits after its invalidation, if at all.
    pub fn write_wait(&self) -> Option<Duration> {
        (!self.lag.is_zero()).then(|| self.lag + Duration::from_millis(1))
    }

    fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.lag.is_zero()
    }
}

/// What a reader holds between its Redis read and the near insert.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    stamp: u64,
    stripe: usize,
    seen: u64,
}

struct Entry {
    /// The stamp the entry was admitted under; dead once the stamp moves.
    stamp: u64,
    /// The Redis epoch it was read under ([`super::cache`]); dead once the
    /// replica moves to another.
    epoch: i64,
    profile: Profile,
    /// Its JSON size, what the bound counts.
    weight: u32,
}

/// The per-process near cache. Cheap to clone.
#[derive(Clone)]
pub struct NearCache {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: NearConfig,
    entries: moka::sync::Cache<String, Arc<Entry>>,
    /// Key prefix of the invalidation counters (`{prefix}generation:`).
    generation_prefix: String,
    /// `CLIENT SETNAME` of the tracking connection, unique per process, so
    /// an operator (or a test) can find it in `CLIENT LIST`.
    connection_name: String,
    started: Instant,
    /// Advanced by every new tracking connection and every flush.
    stamp: AtomicU64,
    /// The tracking connection that is up (its id), 0 when none is.
    live: AtomicU64,
    /// Microseconds after `started` at which the newest confirmed ping of
    /// the live connection was sent; 0 when none.
    confirmed_us: AtomicU64,
    /// When a near read was last attempted (drives the fast pings).
    demand_us: AtomicU64,
    /// Wakes an idle tracker when reads arrive.
    wake: Notify,
    stripes: Box<[AtomicU64]>,
    hasher: RandomState,
}

impl NearCache {
    /// `None` when the configuration turns near reads off.
    pub fn new(cfg: NearConfig, key_prefix: &str, ttl: Duration) -> Option<NearCache> {
        if !cfg.enabled() {
            return None;
        }
        let entries = moka::sync::Cache::builder()
            .max_capacity(cfg.max_bytes)
            .weigher(|email: &String, entry: &Arc<Entry>| {
                entry.weight.saturating_add(email.len() as u32)
            })
            .time_to_live(ttl)
            .build();
        Some(NearCache {
            inner: Arc::new(Inner {
                cfg,
                entries,
                generation_prefix: format!("{key_prefix}generation:"),
                connection_name: format!(
                    "w2meet-near:{key_prefix}:{}",
                    uuid::Uuid::new_v4().simple()
                ),
                started: Instant::now(),
                stamp: AtomicU64::new(1),
                live: AtomicU64::new(0),
                confirmed_us: AtomicU64::new(0),
                demand_us: AtomicU64::new(0),
                wake: Notify::new(),
                stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
                hasher: RandomState::new(),
            }),
        })
    }

    fn now_us(&self) -> u64 {
        // +1 so that 0 always means "never".
        self.inner.started.elapsed().as_micros() as u64 + 1
    }

    fn stripe(&self, email: &str) -> usize {
        (self.inner.hasher.hash_one(email) as usize) % STRIPES
    }

    /// Whether near hits may be served now: a tracking connection is up and
    /// has confirmed within `lag`. Asking counts as demand (pings speed up).
    pub fn serving(&self) -> bool {
        let now = self.now_us();
        self.inner.demand_us.store(now, Ordering::Relaxed);
        if self.inner.live.load(Ordering::Acquire) == 0 {
            return false;
        }
        let confirmed = self.inner.confirmed_us.load(Ordering::Acquire);
        let fresh = confirmed != 0 && now - confirmed < self.inner.cfg.lag.as_micros() as u64;
        if !fresh {
            self.inner.wake.notify_one();
        }
        fresh
    }

    /// The entry for `email` if it is current (call only when
    /// [`NearCache::serving`] said yes for this read).
    pub fn get(&self, email: &str, epoch: i64) -> Option<Profile> {
        let entry = self.inner.entries.get(email)?;
        (entry.stamp == self.inner.stamp.load(Ordering::Acquire) && entry.epoch == epoch)
            .then(|| entry.profile.clone())
    }

    /// Taken before the Redis read whose result may be admitted; `None` when
    /// no tracking connection is up (nothing is admitted then).
    pub fn ticket(&self, email: &str) -> Option<Ticket> {
        if self.inner.live.load(Ordering::Acquire) == 0 {
            return None;
        }
        let stripe = self.stripe(email);
        Some(Ticket {
            stamp: self.inner.stamp.load(Ordering::Acquire),
            stripe,
            seen: self.inner.stripes[stripe].load(Ordering::Acquire),
        })
    }

    /// Keeps a profile read from Redis under `epoch` with `ticket`, unless an
    /// invalidation (or a new stamp) arrived since the ticket was taken.
    /// `weight` is its JSON size.
    pub fn admit(&self, ticket: Ticket, email: &str, epoch: i64, profile: Profile, weight: usize) {
        let entry = Arc::new(Entry {
            stamp: ticket.stamp,
            epoch,
            profile,
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        });
        self.inner.entries.insert(email.to_owned(), entry);
        let current = self.inner.stamp.load(Ordering::Acquire) == ticket.stamp
            && self.inner.stripes[ticket.stripe].load(Ordering::Acquire) == ticket.seen;
        if !current {
            self.inner.entries.invalidate(email);
        }
    }

    /// Applies one push of tracking connection `connection` (runs in the
    /// connection's reader, before later replies are delivered).
    fn on_push(&self, connection: u64, push: PushInfo) {
        match push.kind {
            PushKind::Invalidate => {
                for value in &push.data {
                    match value {
                        Value::Array(keys) => keys.iter().for_each(|k| self.invalidate_key(k)),
                        // A flush: everything goes.
                        Value::Nil => self.flush(),
                        other => self.invalidate_key(other),
                    }
                }
            }
            PushKind::Disconnection => {
                // Only this connection's own end; a newer one may be up.
                let _ = self.inner.live.compare_exchange(
                    connection,
                    0,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            _ => {}
        }
    }

    fn invalidate_key(&self, key: &Value) {
        let key = match key {
            Value::BulkString(bytes) => String::from_utf8_lossy(bytes),
            Value::SimpleString(s) => s.as_str().into(),
            _ => return,
        };
        // Keys outside our prefix are not ours (BCAST is by prefix).
        if let Some(email) = key.strip_prefix(&self.inner.generation_prefix) {
            self.inner.stripes[self.stripe(email)].fetch_add(1, Ordering::AcqRel);
            self.inner.entries.invalidate(email);
        }
    }

    /// Every entry and every outstanding ticket becomes dead.
    fn flush(&self) {
        self.inner.stamp.fetch_add(1, Ordering::AcqRel);
        self.inner.entries.invalidate_all();
    }

    /// Entries held now (for tests and the memory figure).
    pub fn len(&self) -> u64 {
        self.inner.entries.run_pending_tasks();
        self.inner.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a tracking connection is up (for tests and readiness details).
    pub fn tracking(&self) -> bool {
        self.inner.live.load(Ordering::Acquire) != 0
    }

    /// The tracking connection's `CLIENT SETNAME`.
    pub fn connection_name(&self) -> &str {
        &self.inner.connection_name
    }

    /// Keeps a tracking connection to `client` (RESP3) up, pinging it, until
    /// the process ends; after a failure waits `retry_after` and reconnects.
    pub async fn track_forever(
        self,
        client: redis::Client,
        timeout: Duration,
        retry_after: Duration,
    ) {
        let mut connection = 0u64;
        loop {
            connection += 1;
            if let Err(e) = self.track(&client, connection, timeout).await {
                tracing::warn!(error = %e, "near cache tracking lost; reads go to redis");
            }
            let _ = self.inner.live.compare_exchange(
                connection,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            tokio::time::sleep(retry_after).await;
        }
    }

    /// One tracking connection, until it fails.
    async fn track(
        &self,
        client: &redis::Client,
        connection: u64,
        timeout: Duration,
    ) -> Result<(), RedisError> {
        let near = self.clone();
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_push_sender(move |push: PushInfo| {
                near.on_push(connection, push);
                Ok::<(), std::convert::Infallible>(())
            });
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&self.inner.connection_name)
            .query_async::<()>(&mut conn)
            .await?;
        redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .arg("BCAST")
            .arg("PREFIX")
            .arg(&self.inner.generation_prefix)
            .query_async::<()>(&mut conn)
            .await?;
        // From here every counter change is pushed to this connection. What
        // was admitted before may have missed some: start over.
        self.inner.confirmed_us.store(0, Ordering::Release);
        self.flush();
        self.inner.live.store(connection, Ordering::Release);
        tracing::info!("near cache tracking redis invalidations");
        let fast = self.inner.cfg.lag / 4;
        loop {
            let sent = self.now_us();
            redis::cmd("PING").query_async::<()>(&mut conn).await?;
            if self.inner.live.load(Ordering::Acquire) != connection {
                return Err(RedisError::from(std::io::Error::other(
                    "tracking connection closed",
                )));
            }
            self.inner.confirmed_us.fetch_max(sent, Ordering::AcqRel);
            let idle =
                self.now_us() - self.inner.demand_us.load(Ordering::Relaxed) > DEMAND_WINDOW_US;
            if idle {
                let _ = tokio::time::timeout(IDLE_PING, self.inner.wake.notified()).await;
            } else {
                tokio::time::sleep(fast).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near() -> NearCache {
        NearCache::new(
            NearConfig {
                max_bytes: 1 << 20,
                lag: Duration::from_millis(10),
            },
            "p:",
            Duration::from_secs(60),
        )
        .expect("enabled")
    }

    fn invalidation(keys: &[&str]) -> PushInfo {
        PushInfo {
            kind: PushKind::Invalidate,
            data: vec![Value::Array(
                keys.iter()
                    .map(|k| Value::BulkString(k.as_bytes().to_vec()))
                    .collect(),
            )],
        }
    }

    fn profile() -> Profile {
        serde_json::from_value(serde_json::json!({
            "user": {"email": "a@x.io", "name": null, "timezone": "UTC", "preferences": "",
                     "availabilities": {}, "version": 1,
                     "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
            "access": {"account": null, "viewers": []}
        }))
        .expect("a profile")
    }

    fn live(n: &NearCache) {
        n.inner.live.store(7, Ordering::Release);
        n.inner.confirmed_us.store(n.now_us(), Ordering::Release);
    }

    #[test]
    fn an_admitted_entry_is_served_under_its_epoch_only() {
        let n = near();
        live(&n);
        let t = n.ticket("a@x.io").expect("live");
        n.admit(t, "a@x.io", 3, profile(), 100);
        assert!(n.serving());
        assert!(n.get("a@x.io", 3).is_some());
        assert!(n.get("a@x.io", 4).is_none(), "another epoch");
    }

    #[test]
    fn an_invalidation_between_ticket_and_admission_keeps_the_entry_out() {
        let n = near();
        live(&n);
        let t = n.ticket("a@x.io").expect("live");
        n.on_push(7, invalidation(&["p:generation:a@x.io"]));
        n.admit(t, "a@x.io", 1, profile(), 100);
        assert!(n.get("a@x.io", 1).is_none());
    }

    #[test]
    fn an_invalidation_drops_the_entry_and_other_keys_stay() {
        let n = near();
        live(&n);
        for email in ["a@x.io", "b@x.io"] {
            let t = n.ticket(email).expect("live");
            n.admit(t, email, 1, profile(), 100);
        }
        n.on_push(
            7,
            invalidation(&["p:generation:a@x.io", "q:generation:b@x.io"]),
        );
        assert!(n.get("a@x.io", 1).is_none());
        assert!(n.get("b@x.io", 1).is_some(), "another prefix's key");
    }

    #[test]
    fn a_flush_kills_entries_and_outstanding_tickets() {
        let n = near();
        live(&n);
        let before = n.ticket("a@x.io").expect("live");
        n.admit(n.ticket("b@x.io").unwrap(), "b@x.io", 1, profile(), 100);
        n.on_push(
            7,
            PushInfo {
                kind: PushKind::Invalidate,
                data: vec![Value::Nil],
            },
        );
        n.admit(before, "a@x.io", 1, profile(), 100);
        assert!(n.get("a@x.io", 1).is_none());
        assert!(n.get("b@x.io", 1).is_none());
    }

    #[test]
    fn nothing_is_served_without_a_recent_confirmation_or_a_live_connection() {
        let n = near();
        assert!(!n.serving(), "no connection yet");
        assert!(n.ticket("a@x.io").is_none(), "nothing admitted while down");
        live(&n);
        assert!(n.serving());
        std::thread::sleep(Duration::from_millis(15));
        assert!(!n.serving(), "the confirmation is older than the lag");
        live(&n);
        n.on_push(
            6,
            PushInfo {
                kind: PushKind::Disconnection,
                data: vec![],
            },
        );
        assert!(n.serving(), "an older connection's end changes nothing");
        n.on_push(
            7,
            PushInfo {
                kind: PushKind::Disconnection,
                data: vec![],
            },
        );
        assert!(!n.serving(), "the live connection ended");
    }

    #[test]
    fn writes_wait_the_lag_only_when_it_is_set() {
        assert_eq!(NearConfig::OFF.write_wait(), None);
        let cfg = NearConfig {
            max_bytes: 0,
            lag: Duration::from_millis(10),
        };
        assert_eq!(cfg.write_wait(), Some(Duration::from_millis(11)));
        assert!(NearCache::new(cfg, "p:", Duration::from_secs(1)).is_none());
    }
}
