//! The user logic: cache-aside reads and writes that invalidate, on top of
//! [`UserStore`] and [`Cache`]. Handlers call this; it knows no HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::domain::{Email, IfMatch, UserDraft, UserRecord};
use crate::error::{PATH_EMAIL, UserError};
use crate::store::{Cache, Inserted, Lookup, Replaced, SingleFlight, StoreError, UserStore};

/// How a read was served, for the `X-Cache` header, logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    /// Redis was skipped (down, or the epoch not yet confirmed).
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    fn label(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Bypass => "bypass",
        }
    }
}

/// What a create did.
pub enum Created {
    New(UserRecord),
    /// An identical user was already stored: a harmless retry.
    AlreadyExists(UserRecord),
}

/// Key of a coalesced load: the email and the invalidation counter the
/// caller's lookup saw (`None` when Redis was skipped). A caller that read a
/// newer counter — because a write happened since — never joins an older load.
/// While Redis is skipped, loads are shared by email alone: a write on this
/// replica forgets them, one on another replica cannot (the SPEC promises
/// read-your-writes across replicas only while Redis is healthy).
type FlightKey = (String, Option<String>);
type FlightResult = Result<Option<UserRecord>, Arc<StoreError>>;

/// A pause between a load's database read and its cache fill, for tests that
/// stage the stale-fill race deterministically. Unused in production.
pub struct FillPause {
    /// Released once when a load has read the database and is about to fill.
    pub reached: Semaphore,
    /// The load fills once this gets a permit.
    pub release: Semaphore,
}

impl Default for FillPause {
    fn default() -> Self {
        Self {
            reached: Semaphore::new(0),
            release: Semaphore::new(0),
        }
    }
}

/// Test hooks; empty in production.
#[derive(Default)]
pub struct Hooks {
    pub before_fill: Mutex<Option<Arc<FillPause>>>,
}

/// Users, read through the cache. Cheap to clone.
#[derive(Clone)]
pub struct Users {
    pub store: UserStore,
    pub cache: Cache,
    flights: Arc<SingleFlight<FlightKey, FlightResult>>,
    pub hooks: Arc<Hooks>,
}

impl Users {
    pub fn new(store: UserStore, cache: Cache) -> Users {
        Users {
            store,
            cache,
            flights: Arc::default(),
            hooks: Arc::default(),
        }
    }

    /// One user, cache-aside: Redis, else PostgreSQL (one load per key per
    /// process however many ask at once) and a guarded fill.
    pub async fn get(&self, email: &Email) -> Result<(Option<UserRecord>, CacheStatus), UserError> {
        let generation = if self.cache.usable() {
            match self.cache.lookup_many(&[email.as_str()]).await {
                Ok(mut found) => match found.pop() {
                    Some(Lookup::Hit(user)) => return Ok(self.served(Some(user), CacheStatus::Hit)),
                    Some(Lookup::KnownMissing) => return Ok(self.served(None, CacheStatus::Hit)),
                    Some(Lookup::Miss { generation }) => Some(generation),
                    None => None,
                },
                Err(e) => {
                    self.cache.note_failure("lookup", &e);
                    None
                }
            }
        } else {
            None
        };
        let status = if generation.is_some() {
            CacheStatus::Miss
        } else {
            CacheStatus::Bypass
        };
        let key = (email.as_str().to_owned(), generation.clone());
        let this = self.clone();
        let email = email.clone();
        let user = self
            .flights
            .run(
                key,
                move || async move { this.load(email, generation).await },
                || {
                    Err(Arc::new(StoreError::Unavailable(
                        "the database read failed unexpectedly".into(),
                    )))
                },
            )
            .await
            .map_err(|e| UserError::Store(Arc::clone(&e)))?;
        Ok(self.served(user, status))
    }

    /// Reads that joined another request's database read instead of making
    /// their own.
    pub fn coalesced_reads(&self) -> u64 {
        self.flights.joined()
    }

    /// The database read behind a miss, then the fill (when Redis was used).
    async fn load(self, email: Email, generation: Option<String>) -> FlightResult {
        let user = self.store.get(&email).await.map_err(Arc::new)?;
        let Some(generation) = generation else {
            return Ok(user);
        };
        let pause = self.hooks.before_fill.lock().expect("hooks lock").clone();
        if let Some(p) = pause {
            p.reached.add_permits(1);
            let _ = p.release.acquire().await.map(|permit| permit.forget());
        }
        if let Err(e) = self
            .cache
            .fill_many(&[(email.as_str(), generation.as_str(), user.as_ref())])
            .await
        {
            self.cache.note_failure("fill", &e);
        }
        Ok(user)
    }

    fn served(
        &self,
        user: Option<UserRecord>,
        status: CacheStatus,
    ) -> (Option<UserRecord>, CacheStatus) {
        metrics::counter!("cache_requests_total", "result" => status.label()).increment(1);
        // On the request's own log line (one line per request, not two).
        tracing::Span::current().record("cache", status.label());
        tracing::debug!(found = user.is_some(), "user read");
        (user, status)
    }

    /// Many users: one `MGET`, one SQL query for the misses, one pipelined
    /// fill. Returned in the order asked (duplicates removed by the caller).
    pub async fn get_many(
        &self,
        emails: &[Email],
    ) -> Result<(Vec<UserRecord>, Vec<String>, CacheStatus), UserError> {
        let keys: Vec<&str> = emails.iter().map(Email::as_str).collect();
        let lookups = if self.cache.usable() {
            match self.cache.lookup_many(&keys).await {
                Ok(l) => Some(l),
                Err(e) => {
                    self.cache.note_failure("lookup", &e);
                    None
                }
            }
        } else {
            None
        };
        let mut found: HashMap<&str, Option<UserRecord>> = HashMap::with_capacity(keys.len());
        let mut misses: Vec<(&str, Option<String>)> = Vec::new();
        let mut status = CacheStatus::Hit;
        match lookups {
            Some(lookups) => {
                for (email, lookup) in keys.iter().zip(lookups) {
                    match lookup {
                        Lookup::Hit(u) => {
                            found.insert(email, Some(u));
                        }
                        Lookup::KnownMissing => {
                            found.insert(email, None);
                        }
                        Lookup::Miss { generation } => misses.push((email, Some(generation))),
                    }
                }
                if !misses.is_empty() {
                    status = CacheStatus::Miss;
                }
            }
            None => {
                status = CacheStatus::Bypass;
                misses.extend(keys.iter().map(|e| (*e, None)));
            }
        }
        if !misses.is_empty() {
            let wanted: Vec<&str> = misses.iter().map(|(e, _)| *e).collect();
            let rows = self
                .store
                .get_many(&wanted)
                .await
                .map_err(|e| UserError::Store(Arc::new(e)))?;
            let mut by_email: HashMap<String, UserRecord> =
                rows.into_iter().map(|u| (u.email.clone(), u)).collect();
            let fills: Vec<(&str, &str, Option<&UserRecord>)> = misses
                .iter()
                .filter_map(|(email, generation)| {
                    generation
                        .as_deref()
                        .map(|g| (*email, g, by_email.get(*email)))
                })
                .collect();
            if let Err(e) = self.cache.fill_many(&fills).await {
                self.cache.note_failure("fill", &e);
            }
            for (email, _) in &misses {
                found.insert(email, by_email.remove(*email));
            }
        }
        let mut users = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for email in &keys {
            match found.remove(email).flatten() {
                Some(u) => users.push(u),
                None => missing.push((*email).to_owned()),
            }
        }
        // Per user: a batch of 999 hits and 1 miss is 999 hits.
        // (When Redis was skipped, every user is in `misses`.)
        let miss_label = if status == CacheStatus::Bypass {
            "bypass"
        } else {
            "miss"
        };
        let hits_n = keys.len() - misses.len();
        metrics::counter!("cache_requests_total", "result" => "hit").increment(hits_n as u64);
        metrics::counter!("cache_requests_total", "result" => miss_label)
            .increment(misses.len() as u64);
        tracing::Span::current().record("cache", status.label());
        tracing::debug!(
            asked = keys.len(),
            hits = hits_n,
            missing = missing.len(),
            "batch read"
        );
        Ok((users, missing, status))
    }

    /// Creates a user: 201 new, 200 identical retry, 409 different data.
    pub async fn create(&self, draft: &UserDraft) -> Result<Created, UserError> {
        let (outcome, epoch) = self
            .store
            .insert(draft, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Inserted::Created(user) => {
                // Clears the brief "no such user" entry too.
                self.invalidate(&draft.email, epoch).await?;
                Ok(Created::New(user))
            }
            Inserted::Existing(user) if user.has_same_data_as(draft) => {
                Ok(Created::AlreadyExists(user))
            }
            Inserted::Existing(_) => Err(UserError::Conflict(draft.email.clone())),
        }
    }

    /// Replaces a user, honouring `If-Match`.
    pub async fn replace(
        &self,
        draft: &UserDraft,
        if_match: Option<&IfMatch>,
    ) -> Result<UserRecord, UserError> {
        let (outcome, epoch) = self
            .store
            .replace(draft, if_match, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Replaced::Updated(user) => {
                self.invalidate(&draft.email, epoch).await?;
                Ok(user)
            }
            // With a precondition, an absent user fails it (RFC 9110).
            Replaced::NotFound if if_match.is_some() => {
                Err(UserError::PreconditionFailed { current: None })
            }
            Replaced::NotFound => Err(UserError::NotFound {
                loc: PATH_EMAIL,
                emails: vec![draft.email.to_string()],
            }),
            Replaced::VersionMismatch { current } => Err(UserError::PreconditionFailed {
                current: Some(current),
            }),
        }
    }

    pub async fn delete(&self, email: &Email) -> Result<(), UserError> {
        let (deleted, epoch) = self
            .store
            .delete(email, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        if !deleted {
            return Err(UserError::NotFound {
                loc: PATH_EMAIL,
                emails: vec![email.to_string()],
            });
        }
        self.invalidate(email, epoch).await
    }

    /// After a committed write: drop the cached entry, or — when Redis cannot
    /// be reached — advance the epoch so that no replica trusts the entry
    /// when Redis returns. Only then does the write return.
    async fn invalidate(&self, email: &Email, epoch: i64) -> Result<(), UserError> {
        self.cache.adopt_epoch(epoch);
        let key = email.as_str();
        self.flights.forget(|(e, _)| e == key);
        if let Err(e) = self.cache.invalidate(&[key], self.cache.epoch()).await {
            self.cache.note_failure("invalidate", &e);
            let epoch = self
                .store
                .bump_epoch()
                .await
                .map_err(|e| UserError::Store(Arc::new(e)))?;
            self.cache.adopt_epoch(epoch);
            tracing::warn!(epoch, "cache invalidation failed; advanced the cache epoch");
        }
        Ok(())
    }

    /// Re-reads the epoch from PostgreSQL; the cache becomes usable again if
    /// Redis did not fail meanwhile.
    pub async fn refresh_epoch(&self) -> Result<(), StoreError> {
        let failures = self.cache.failures();
        let epoch = self.store.epoch().await?;
        self.cache.epoch_refreshed(epoch, failures);
        Ok(())
    }

    /// Re-reads the epoch every `epoch_refresh` until the process ends.
    pub async fn refresh_epoch_forever(&self) {
        let mut tick = tokio::time::interval(self.cache.config().epoch_refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh_epoch().await {
                tracing::debug!(error = %e, "cache epoch refresh failed");
            }
        }
    }
}
