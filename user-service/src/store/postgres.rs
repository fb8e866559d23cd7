//! PostgreSQL: the source of truth for users, and the home of the cache
//! epoch (see `cache.rs`). Parameterised queries only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::Row;

use uuid::Uuid;

use crate::domain::{Access, Dated, Denied, Email, IfMatch, Profile, UserDraft, UserRecord};

/// Migrations, applied in order, each once, under an advisory lock so that
/// replicas starting together do not race.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE users (
            email        TEXT PRIMARY KEY,
            name         TEXT,
            timezone     TEXT NOT NULL,
            preference   TEXT NOT NULL,
            availability JSONB NOT NULL,
            created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            version      BIGINT NOT NULL DEFAULT 1
        );
        CREATE TABLE cache_epoch (
            id    BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
            epoch BIGINT NOT NULL
        );
        INSERT INTO cache_epoch (epoch) VALUES (1);",
    ),
    // A deleted user's last version, so a re-created user continues from
    // it: an ETag never names two different states of one email, and a
    // stale client's If-Match fails (412) instead of overwriting the new
    // person's data.
    (
        2,
        "CREATE TABLE retired_versions (
            email   TEXT PRIMARY KEY,
            version BIGINT NOT NULL
        );",
    ),
    // Accounts (SPEC §6): a profile is claimed when `account_id` is set;
    // `viewers` are the people its owner shares it with. Both live on the
    // user row so that the cached entry carries them and every change to
    // them goes through the same invalidation as a change to the data.
    // Credentials and refresh tokens (hashed) have their own tables.
    (
        3,
        "ALTER TABLE users ADD COLUMN account_id UUID UNIQUE,
                           ADD COLUMN viewers TEXT[] NOT NULL DEFAULT '{}';
        CREATE INDEX users_viewers ON users USING GIN (viewers);
        CREATE TABLE accounts (
            id            UUID PRIMARY KEY,
            email         TEXT NOT NULL UNIQUE REFERENCES users (email) ON DELETE CASCADE,
            password_hash TEXT NOT NULL,
            created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE refresh_tokens (
            token_hash  BYTEA PRIMARY KEY,
            family      UUID NOT NULL,
            account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at  TIMESTAMPTZ NOT NULL,
            used_at     TIMESTAMPTZ,
            revoked_at  TIMESTAMPTZ
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family);",
    ),
    // Dated time (SPEC §7): the person's own overrides on the user row
    // (cached with it), and the time booked meetings hold, kept from
    // meeting-service's events — `meeting_seqs` remembers the last event
    // applied per meeting, which makes redelivered and late events no-ops.
    (
        4,
        "ALTER TABLE users ADD COLUMN overrides JSONB NOT NULL DEFAULT '[]';
        CREATE TABLE busy (
            email      TEXT NOT NULL,
            meeting_id UUID NOT NULL,
            start_at   TIMESTAMPTZ NOT NULL,
            end_at     TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (email, meeting_id)
        );
        CREATE INDEX busy_meeting ON busy (meeting_id);
        CREATE TABLE meeting_seqs (
            meeting_id UUID PRIMARY KEY,
            seq        INT NOT NULL
        );",
    ),
    // "If need be" time (SPEC §10): a second weekly pattern, NULL when the
    // person has none (the common case, and every row from before).
    (5, "ALTER TABLE users ADD COLUMN if_need_be JSONB;"),
];

const COLUMNS: &str = "email, name, timezone, preference, availability, if_need_be, created_at, updated_at, version, account_id, viewers, overrides";

pub use w2meet_pg::{DbConfig, MigrateMode, SchemaError, StoreError};

/// Decides, inside a write's transaction (so no concurrent claim can slip
/// between the check and the write), whether the caller may write the
/// profile whose access is given (`None`: it does not exist).
pub type Authorize<'a> = &'a (dyn Fn(Option<&Access>) -> Result<(), Denied> + Send + Sync);

/// How a create ended.
pub enum Inserted {
    Created(Profile),
    /// The email was taken; this is what is stored.
    Existing(Profile),
    Denied(Denied),
}

/// How a replace ended.
pub enum Replaced {
    Updated(Box<Profile>),
    NotFound,
    VersionMismatch { current: i64 },
    Denied(Denied),
}

/// How a delete ended.
pub enum Deleted {
    /// Deleted; also removed from these profiles' viewers (their cached
    /// entries must go too).
    Deleted {
        unshared: Vec<String>,
    },
    NotFound,
    Denied(Denied),
}

/// The user table. Cheap to clone.
#[derive(Clone)]
pub struct UserStore {
    pool: Pool,
    /// One connection of its own for health and readiness checks.
    probe: w2meet_pg::Probe,
    /// Rows-fetching queries run (single and batch reads): lets tests prove
    /// that concurrent misses share one read, and is exported as a metric.
    reads: Arc<AtomicU64>,
}

impl UserStore {
    /// The pool, for the loop that closes idle connections.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Builds the pools; connections are opened lazily.
    pub fn new(cfg: &DbConfig) -> anyhow::Result<UserStore> {
        Ok(UserStore {
            pool: w2meet_pg::pool(cfg)?,
            probe: w2meet_pg::Probe::new(cfg)?,
            reads: Arc::default(),
        })
    }

    /// Makes the schema ready for a start in `mode`: migrates (waiting up
    /// to `wait` for PostgreSQL; safe from several replicas at once), or
    /// waits up to `wait` for the `migrate` command to have done it.
    pub async fn prepare_schema(
        &self,
        mode: MigrateMode,
        wait: std::time::Duration,
    ) -> Result<(), SchemaError> {
        w2meet_pg::prepare_schema(&self.pool, "w2meet-user-service", MIGRATIONS, mode, wait).await
    }

    /// Row-fetching queries so far.
    pub fn read_count(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("user_db_reads_total").increment(1);
    }

    /// Whether PostgreSQL answers now (through the probe connection, so a
    /// busy pool is not taken for a dead database).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.probe.ping().await
    }

    pub async fn get(&self, email: &Email) -> Result<Option<Profile>, StoreError> {
        self.count_read();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .await?;
        let row = client.query_opt(&stmt, &[&email.as_str()]).await?;
        let mut found: Vec<Profile> = row.as_ref().map(record).into_iter().collect();
        with_busy(&client, &mut found).await?;
        Ok(found.pop())
    }

    /// Many users in one query; absent ones are simply not returned.
    pub async fn get_many(&self, emails: &[&str]) -> Result<Vec<Profile>, StoreError> {
        self.count_read();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM users WHERE email = ANY($1)"
            ))
            .await?;
        let rows = client.query(&stmt, &[&emails]).await?;
        let mut found: Vec<Profile> = rows.iter().map(record).collect();
        with_busy(&client, &mut found).await?;
        Ok(found)
    }

    /// Replaces `email`'s overrides, if `authorize` lets the caller write
    /// the profile; `None` when there is no such user.
    pub async fn set_overrides(
        &self,
        email: &Email,
        overrides: &[scheduling::Override],
        authorize: Authorize<'_>,
        bump_epoch: bool,
    ) -> Result<(Result<Option<Profile>, Denied>, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let current = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE email = $1 FOR UPDATE"),
                &[&email.as_str()],
            )
            .await?
            .map(|row| record(&row));
        let outcome = match authorize(current.as_ref().map(|p| &p.access)) {
            Err(denied) => Err(denied),
            Ok(()) if current.is_none() => Ok(None),
            Ok(()) => {
                let json = serde_json::to_value(overrides).expect("overrides serialise");
                let row = tx
                    .query_one(
                        &format!(
                            "UPDATE users SET overrides = $2, updated_at = now(), version = version + 1
                             WHERE email = $1 RETURNING {COLUMNS}"
                        ),
                        &[&email.as_str(), &json],
                    )
                    .await?;
                Ok(Some(record(&row)))
            }
        };
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((outcome, epoch))
    }

    /// Applies a meeting's state after event `seq`: `holders` are busy
    /// during `[start, end)` because of `meeting_id`, and nobody else is.
    /// An event no newer than the last one applied for the meeting changes
    /// nothing (`None`); otherwise the emails whose busy time changed.
    pub async fn apply_meeting(
        &self,
        meeting_id: Uuid,
        seq: i32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        holders: &[String],
        bump_epoch: bool,
    ) -> Result<(Option<Vec<String>>, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO meeting_seqs (meeting_id, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&meeting_id],
        )
        .await?;
        let applied: i32 = tx
            .query_one(
                "SELECT seq FROM meeting_seqs WHERE meeting_id = $1 FOR UPDATE",
                &[&meeting_id],
            )
            .await?
            .get(0);
        if seq <= applied {
            return Ok((None, 0));
        }
        let mut affected: Vec<String> = tx
            .query(
                "DELETE FROM busy WHERE meeting_id = $1 RETURNING email",
                &[&meeting_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(
            "INSERT INTO busy (email, meeting_id, start_at, end_at)
             SELECT e, $1, $3, $4 FROM unnest($2::text[]) AS e",
            &[&meeting_id, &holders, &start, &end],
        )
        .await?;
        tx.execute(
            "UPDATE meeting_seqs SET seq = $2 WHERE meeting_id = $1",
            &[&meeting_id, &seq],
        )
        .await?;
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        affected.extend(holders.iter().cloned());
        affected.sort();
        affected.dedup();
        Ok((Some(affected), epoch))
    }

    /// Inserts unless the email is taken. `bump_epoch` also advances the
    /// cache epoch in the same transaction (used while Redis is failing).
    pub async fn insert(
        &self,
        d: &UserDraft,
        authorize: Authorize<'_>,
        bump_epoch: bool,
    ) -> Result<(Inserted, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_email(&tx, &d.email).await?;
        let existing = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE email = $1 FOR UPDATE"),
                &[&d.email.as_str()],
            )
            .await?
            .map(|row| record(&row));
        if let Some(profile) = existing {
            let outcome = match authorize(Some(&profile.access)) {
                Ok(()) => Inserted::Existing(profile),
                Err(denied) => Inserted::Denied(denied),
            };
            return Ok((outcome, epoch_in(&tx, false).await?));
        }
        if let Err(denied) = authorize(None) {
            return Ok((Inserted::Denied(denied), epoch_in(&tx, false).await?));
        }
        let inserted = tx
            .query_opt(
                &format!(
                    "INSERT INTO users (email, name, timezone, preference, availability, if_need_be, version)
                     VALUES ($1, $2, $3, $4, $5, $6,
                             1 + COALESCE((SELECT version FROM retired_versions WHERE email = $1), 0))
                     ON CONFLICT (email) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &d.email.as_str(),
                    &d.name,
                    &d.timezone.to_string(),
                    &d.preference.as_str(),
                    &d.availability.to_json(),
                    &if_need_be_column(d),
                ],
            )
            .await?;
        // The row was absent under the email's lock, so the insert happened.
        let outcome = match inserted {
            Some(row) => Inserted::Created(record(&row)),
            None => {
                let row = tx
                    .query_one(
                        &format!("SELECT {COLUMNS} FROM users WHERE email = $1"),
                        &[&d.email.as_str()],
                    )
                    .await?;
                Inserted::Existing(record(&row))
            }
        };
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((outcome, epoch))
    }

    /// Replaces a user, checking `if_match` against the stored version.
    pub async fn replace(
        &self,
        d: &UserDraft,
        if_match: Option<&IfMatch>,
        authorize: Authorize<'_>,
        bump_epoch: bool,
    ) -> Result<(Replaced, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let current = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE email = $1 FOR UPDATE"),
                &[&d.email.as_str()],
            )
            .await?
            .map(|row| record(&row));
        let outcome = if let Err(denied) = authorize(current.as_ref().map(|p| &p.access)) {
            Replaced::Denied(denied)
        } else {
            match current {
                None => Replaced::NotFound,
                Some(p) if if_match.is_some_and(|m| !m.matches(Some(p.user.version))) => {
                    Replaced::VersionMismatch {
                        current: p.user.version,
                    }
                }
                Some(_) => {
                    let row = tx
                    .query_one(
                        &format!(
                            "UPDATE users SET name = $2, timezone = $3, preference = $4, availability = $5,
                                 if_need_be = $6, updated_at = now(), version = version + 1
                             WHERE email = $1 RETURNING {COLUMNS}"
                        ),
                        &[
                            &d.email.as_str(),
                            &d.name,
                            &d.timezone.to_string(),
                            &d.preference.as_str(),
                            &d.availability.to_json(),
                            &if_need_be_column(d),
                        ],
                    )
                    .await?;
                    Replaced::Updated(Box::new(record(&row)))
                }
            }
        };
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((outcome, epoch))
    }

    /// Deletes a user (and its account), remembering its last version.
    pub async fn delete(
        &self,
        email: &Email,
        authorize: Authorize<'_>,
        bump_epoch: bool,
    ) -> Result<(Deleted, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_email(&tx, email).await?;
        // The row and every row that shares with this email (changed
        // below), locked in email order: two deletes of people who share
        // with each other then wait for one another instead of deadlocking.
        tx.execute(
            "SELECT 1 FROM users WHERE email = $1 OR viewers @> ARRAY[$1] ORDER BY email FOR UPDATE",
            &[&email.as_str()],
        )
        .await?;
        let current = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE email = $1"),
                &[&email.as_str()],
            )
            .await?
            .map(|row| record(&row));
        if let Err(denied) = authorize(current.as_ref().map(|p| &p.access)) {
            return Ok((Deleted::Denied(denied), epoch_in(&tx, false).await?));
        }
        if current.is_none() {
            return Ok((Deleted::NotFound, epoch_in(&tx, false).await?));
        }
        // Its account, credentials and refresh tokens go by the foreign
        // keys; what others shared with this email goes too, so that whoever
        // registers it next inherits nothing.
        tx.execute(
            "WITH gone AS (DELETE FROM users WHERE email = $1 RETURNING email, version)
                 INSERT INTO retired_versions (email, version) SELECT email, version FROM gone
                 ON CONFLICT (email) DO UPDATE
                     SET version = GREATEST(retired_versions.version, EXCLUDED.version)",
            &[&email.as_str()],
        )
        .await?;
        let unshared = tx
            .query(
                "UPDATE users SET viewers = array_remove(viewers, $1)
                 WHERE viewers @> ARRAY[$1] RETURNING email",
                &[&email.as_str()],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((Deleted::Deleted { unshared }, epoch))
    }

    /// The current cache epoch.
    pub async fn epoch(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one("SELECT epoch FROM cache_epoch", &[])
            .await?
            .get(0))
    }

    /// Advances the cache epoch: every cached entry written under an older
    /// epoch is ignored from now on.
    pub async fn bump_epoch(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                "UPDATE cache_epoch SET epoch = epoch + 1 RETURNING epoch",
                &[],
            )
            .await?
            .get(0))
    }
}

/// Serialises a create with a delete of the same email (a transaction-scoped
/// advisory lock on the email's hash): without it, a create waiting on an
/// uncommitted delete would read `retired_versions` from before the delete
/// and start the new user at a version the deleted one already had.
pub(crate) async fn lock_email(
    tx: &deadpool_postgres::Transaction<'_>,
    email: &Email,
) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&email.as_str()],
    )
    .await?;
    Ok(())
}

/// Reads (or advances) the epoch inside a write's transaction, so the writer
/// learns the epoch its invalidation must target.
pub(crate) async fn epoch_in(
    tx: &deadpool_postgres::Transaction<'_>,
    bump: bool,
) -> Result<i64, StoreError> {
    let sql = if bump {
        "UPDATE cache_epoch SET epoch = epoch + 1 RETURNING epoch"
    } else {
        "SELECT epoch FROM cache_epoch"
    };
    Ok(tx.query_one(sql, &[]).await?.get(0))
}

pub(crate) fn record(row: &Row) -> Profile {
    let user = UserRecord {
        email: row.get("email"),
        name: row.get("name"),
        timezone: row.get("timezone"),
        preferences: row.get("preference"),
        availabilities: monday_first(row.get("availability")),
        if_need_be: row
            .get::<_, Option<serde_json::Value>>("if_need_be")
            .map(monday_first),
        created_at: row.get::<_, DateTime<Utc>>("created_at"),
        updated_at: row.get::<_, DateTime<Utc>>("updated_at"),
        version: row.get("version"),
    };
    let mut viewers: Vec<String> = row.get("viewers");
    viewers.sort();
    let overrides = serde_json::from_value(row.get("overrides")).unwrap_or_default();
    Profile {
        user,
        access: Access {
            account: row.get::<_, Option<Uuid>>("account_id"),
            viewers,
        },
        dated: Dated {
            overrides,
            busy: Vec::new(),
        },
    }
}

/// Busy time still to come (or less than a day past) for `profiles`.
async fn with_busy(
    client: &deadpool_postgres::Object,
    profiles: &mut [Profile],
) -> Result<(), StoreError> {
    if profiles.is_empty() {
        return Ok(());
    }
    let emails: Vec<&str> = profiles.iter().map(|p| p.user.email.as_str()).collect();
    let stmt = client
        .prepare_cached(
            "SELECT email, start_at, end_at FROM busy
             WHERE email = ANY($1) AND end_at > now() - interval '1 day'
             ORDER BY start_at, meeting_id",
        )
        .await?;
    let rows = client.query(&stmt, &[&emails]).await?;
    // A batch holds up to 1000 people: find each row's person by index.
    let index: std::collections::HashMap<String, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.user.email.clone(), i))
        .collect();
    for row in rows {
        if let Some(&i) = index.get(row.get::<_, &str>(0)) {
            profiles[i].dated.busy.push(scheduling::Busy {
                start: row.get(1),
                end: row.get(2),
            });
        }
    }
    Ok(())
}

/// The if-need-be column: NULL when the person has none.
fn if_need_be_column(d: &UserDraft) -> Option<serde_json::Value> {
    (!d.if_need_be.is_empty()).then(|| d.if_need_be.to_json())
}

/// JSONB keeps object keys in its own order; give days back Monday first, as
/// they were stored (the stored document is normalised, so it always parses).
fn monday_first(stored: serde_json::Value) -> serde_json::Value {
    match scheduling::WeeklyPattern::from_json(&stored) {
        Ok(p) => p.to_json(),
        Err(_) => stored,
    }
}
