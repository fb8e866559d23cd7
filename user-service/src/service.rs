//! The user logic: cache-aside reads and writes that invalidate, on top of
//! [`UserStore`] and [`Cache`]. Handlers call this; it knows no HTTP.
//!
//! - [`accounts`]: register, login, refresh, logout, sharing.
//! - [`passwords`]: Argon2id on a bounded blocking pool.
//! - [`tokens`]: signing keys, access and refresh tokens.

pub mod accounts;
pub mod passwords;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use w2meet_platform::auth::Caller;

use crate::domain::{Access, AuthMode, Denied, Email, IfMatch, Profile, UserDraft};
use crate::error::{PATH_EMAIL, UserError};
use crate::store::{
    Cache, Deleted, Inserted, Lookup, Replaced, SingleFlight, StoreError, UserStore,
};

/// A batch read this large gives its memory back afterwards (`memory`).
const LARGE_BATCH: usize = 200;

/// How a read was served, for the `X-Cache` header, logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    /// A hit from this process's near cache (`X-Cache: HIT`,
    /// `X-Cache-Layer: near`).
    NearHit,
    Miss,
    /// Redis was skipped (down, or the epoch not yet confirmed).
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit | CacheStatus::NearHit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    fn label(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::NearHit => "near_hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Bypass => "bypass",
        }
    }
}

/// What a create did.
pub enum Created {
    New(Profile),
    /// An identical user was already stored: a harmless retry.
    AlreadyExists(Profile),
}

/// Key of a coalesced load: the email and the invalidation counter the
/// caller's lookup saw (`None` when Redis was skipped). A caller that read a
/// newer counter — because a write happened since — never joins an older load.
/// While Redis is skipped, loads are shared by email alone: a write on this
/// replica forgets them, one on another replica cannot (the SPEC promises
/// read-your-writes across replicas only while Redis is healthy).
type FlightKey = (String, Option<String>);
type FlightResult = Result<Option<Profile>, Arc<StoreError>>;

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
    /// `AUTH_MODE`: whether unclaimed profiles may be written by anyone.
    pub mode: AuthMode,
    /// Tells other services whose schedule changed (off by default).
    pub changes: crate::changes::ChangeFeed,
}

impl Users {
    pub fn new(store: UserStore, cache: Cache, mode: AuthMode) -> Users {
        Users {
            store,
            cache,
            flights: Arc::default(),
            hooks: Arc::default(),
            mode,
            changes: crate::changes::ChangeFeed::default(),
        }
    }

    /// One user, cache-aside: Redis, else PostgreSQL (one load per key per
    /// process however many ask at once) and a guarded fill.
    pub async fn get(&self, email: &Email) -> Result<(Option<Profile>, CacheStatus), UserError> {
        let generation = if self.cache.usable() {
            match self.cache.lookup_many(&[email.as_str()]).await {
                Ok(mut found) => match found.pop() {
                    Some(Lookup::Hit(user)) => {
                        return Ok(self.served(Some(*user), CacheStatus::Hit));
                    }
                    Some(Lookup::NearHit(user)) => {
                        return Ok(self.served(Some(*user), CacheStatus::NearHit));
                    }
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

    /// One user as `caller` may read it: a claimed profile the caller may not
    /// see is a 401 (anonymous) or 403 (someone else), never its data.
    pub async fn get_for(
        &self,
        email: &Email,
        caller: &Caller,
    ) -> Result<(Option<Profile>, CacheStatus), UserError> {
        let (profile, status) = self.get(email).await?;
        if let Some(p) = &profile {
            p.access
                .readable_by(email.as_str(), caller)
                .map_err(|d| UserError::denied(d, email))?;
        }
        Ok((profile, status))
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

    fn served(&self, user: Option<Profile>, status: CacheStatus) -> (Option<Profile>, CacheStatus) {
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
    ) -> Result<(Vec<Profile>, Vec<String>, CacheStatus), UserError> {
        let keys: Vec<&str> = emails.iter().map(Email::as_str).collect();
        if keys.len() >= LARGE_BATCH {
            // Hundreds of profiles decoded and encoded leave megabytes in the
            // allocator: give them back once the answer is out.
            w2meet_platform::memory::release_soon();
        }
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
        let mut found: HashMap<&str, Option<Profile>> = HashMap::with_capacity(keys.len());
        let mut misses: Vec<(&str, Option<String>)> = Vec::new();
        let mut near_hits = 0usize;
        let mut status = CacheStatus::Hit;
        match lookups {
            Some(lookups) => {
                for (email, lookup) in keys.iter().zip(lookups) {
                    match lookup {
                        Lookup::Hit(u) => {
                            found.insert(email, Some(*u));
                        }
                        Lookup::NearHit(u) => {
                            near_hits += 1;
                            found.insert(email, Some(*u));
                        }
                        Lookup::KnownMissing => {
                            found.insert(email, None);
                        }
                        Lookup::Miss { generation } => misses.push((email, Some(generation))),
                    }
                }
                if !misses.is_empty() {
                    status = CacheStatus::Miss;
                } else if near_hits == keys.len() {
                    status = CacheStatus::NearHit;
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
            let mut by_email: HashMap<String, Profile> = rows
                .into_iter()
                .map(|p| (p.user.email.clone(), p))
                .collect();
            let fills: Vec<(&str, &str, Option<&Profile>)> = misses
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
        metrics::counter!("cache_requests_total", "result" => "hit")
            .increment((hits_n - near_hits) as u64);
        metrics::counter!("cache_requests_total", "result" => "near_hit")
            .increment(near_hits as u64);
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
    pub async fn create(&self, draft: &UserDraft, caller: &Caller) -> Result<Created, UserError> {
        let authorize = self.write_rule(&draft.email, caller);
        let (outcome, epoch) = self
            .store
            .insert(draft, &authorize, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Inserted::Created(profile) => {
                // Clears the brief "no such user" entry too.
                self.invalidate(&[draft.email.as_str()], epoch).await?;
                Ok(Created::New(profile))
            }
            Inserted::Existing(profile) if profile.user.has_same_data_as(draft) => {
                Ok(Created::AlreadyExists(profile))
            }
            Inserted::Existing(_) => Err(UserError::Conflict(draft.email.clone())),
            Inserted::Denied(denied) => Err(UserError::denied(denied, &draft.email)),
        }
    }

    /// Replaces a user, honouring `If-Match`.
    pub async fn replace(
        &self,
        draft: &UserDraft,
        if_match: Option<&IfMatch>,
        caller: &Caller,
    ) -> Result<Profile, UserError> {
        let authorize = self.write_rule(&draft.email, caller);
        let (outcome, epoch) = self
            .store
            .replace(draft, if_match, &authorize, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Replaced::Updated(profile) => {
                self.invalidate(&[draft.email.as_str()], epoch).await?;
                Ok(*profile)
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
            Replaced::Denied(denied) => Err(UserError::denied(denied, &draft.email)),
        }
    }

    /// Deletes a user, its account and what was shared with its email.
    pub async fn delete(&self, email: &Email, caller: &Caller) -> Result<(), UserError> {
        let authorize = self.write_rule(email, caller);
        let (outcome, epoch) = self
            .store
            .delete(email, &authorize, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Deleted::Deleted { unshared } => {
                let mut emails: Vec<&str> = unshared.iter().map(String::as_str).collect();
                emails.push(email.as_str());
                self.invalidate(&emails, epoch).await
            }
            Deleted::NotFound => Err(UserError::NotFound {
                loc: PATH_EMAIL,
                emails: vec![email.to_string()],
            }),
            Deleted::Denied(denied) => Err(UserError::denied(denied, email)),
        }
    }

    /// Replaces `email`'s dated overrides (the same write rule as a replace).
    pub async fn set_overrides(
        &self,
        email: &Email,
        overrides: &[scheduling::Override],
        caller: &Caller,
    ) -> Result<Profile, UserError> {
        let authorize = self.write_rule(email, caller);
        let (outcome, epoch) = self
            .store
            .set_overrides(email, overrides, &authorize, self.cache.degraded())
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        match outcome {
            Ok(Some(profile)) => {
                self.invalidate(&[email.as_str()], epoch).await?;
                Ok(profile)
            }
            Ok(None) => Err(UserError::NotFound {
                loc: PATH_EMAIL,
                emails: vec![email.to_string()],
            }),
            Err(denied) => Err(UserError::denied(denied, email)),
        }
    }

    /// Applies a meeting event (see `events`): the holders' busy time, and
    /// the cached entries of everyone whose busy time changed dropped.
    /// Whether it changed anything (a repeated or stale event does not).
    pub async fn apply_meeting(
        &self,
        meeting_id: uuid::Uuid,
        seq: i32,
        span: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
        holders: &[String],
    ) -> Result<bool, UserError> {
        let (affected, epoch) = self
            .store
            .apply_meeting(
                meeting_id,
                seq,
                span.0,
                span.1,
                holders,
                self.cache.degraded(),
            )
            .await
            .map_err(|e| UserError::Store(Arc::new(e)))?;
        let Some(affected) = affected else {
            return Ok(false);
        };
        let emails: Vec<&str> = affected.iter().map(String::as_str).collect();
        self.invalidate(&emails, epoch).await?;
        Ok(true)
    }

    /// The write rule of SPEC §6 for `email`, for the store to apply inside
    /// the write's transaction.
    fn write_rule<'a>(
        &self,
        email: &'a Email,
        caller: &'a Caller,
    ) -> impl Fn(Option<&Access>) -> Result<(), Denied> + Send + Sync + 'a {
        let mode = self.mode;
        move |access| Access::writable_by(access, email.as_str(), caller, mode)
    }

    /// After a committed write: drop the cached entries, or — when Redis
    /// cannot be reached — advance the epoch so that no replica trusts them
    /// when Redis returns; then tell the change feed. Only then does the
    /// write return.
    pub(crate) async fn invalidate(&self, emails: &[&str], epoch: i64) -> Result<(), UserError> {
        let dropped = self.drop_cached(emails, epoch).await;
        // Told only now, so that whoever reacts to the change event reads
        // the new data, whatever cache it reads through.
        self.changes.notify(emails);
        dropped
    }

    async fn drop_cached(&self, emails: &[&str], epoch: i64) -> Result<(), UserError> {
        self.cache.adopt_epoch(epoch);
        self.flights.forget(|(e, _)| emails.contains(&e.as_str()));
        if let Err(e) = self.cache.invalidate(emails, self.cache.epoch()).await {
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
