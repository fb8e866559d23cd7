//! PostgreSQL: the source of truth for users, and the home of the cache
//! epoch (see `cache.rs`). Parameterised queries only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::Row;

use crate::domain::{Email, IfMatch, UserDraft, UserRecord};

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
];

const COLUMNS: &str =
    "email, name, timezone, preference, availability, created_at, updated_at, version";

pub use w2meet_pg::{DbConfig, StoreError};

/// How a create ended.
pub enum Inserted {
    Created(UserRecord),
    /// The email was taken; this is what is stored.
    Existing(UserRecord),
}

/// How a replace ended.
pub enum Replaced {
    Updated(UserRecord),
    NotFound,
    VersionMismatch { current: i64 },
}

/// The user table. Cheap to clone.
#[derive(Clone)]
pub struct UserStore {
    pool: Pool,
    /// Rows-fetching queries run (single and batch reads): lets tests prove
    /// that concurrent misses share one read, and is exported as a metric.
    reads: Arc<AtomicU64>,
}

impl UserStore {
    /// Builds the pool; connections are opened lazily.
    /// The pool, for the loop that closes idle connections.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    pub fn new(cfg: &DbConfig) -> anyhow::Result<UserStore> {
        Ok(UserStore {
            pool: w2meet_pg::pool(cfg)?,
            reads: Arc::default(),
        })
    }

    /// Migrates, waiting up to `wait` for PostgreSQL to come up. Safe to run
    /// from several replicas at once.
    pub async fn migrate_waiting(&self, wait: std::time::Duration) -> Result<(), StoreError> {
        w2meet_pg::migrate_waiting(&self.pool, "w2meet-user-service", MIGRATIONS, wait).await
    }

    /// Row-fetching queries so far.
    pub fn read_count(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("user_db_reads_total").increment(1);
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.get().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    pub async fn get(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        self.count_read();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .await?;
        let row = client.query_opt(&stmt, &[&email.as_str()]).await?;
        Ok(row.as_ref().map(record))
    }

    /// Many users in one query; absent ones are simply not returned.
    pub async fn get_many(&self, emails: &[&str]) -> Result<Vec<UserRecord>, StoreError> {
        self.count_read();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM users WHERE email = ANY($1)"
            ))
            .await?;
        let rows = client.query(&stmt, &[&emails]).await?;
        Ok(rows.iter().map(record).collect())
    }

    /// Inserts unless the email is taken. `bump_epoch` also advances the
    /// cache epoch in the same transaction (used while Redis is failing).
    pub async fn insert(
        &self,
        d: &UserDraft,
        bump_epoch: bool,
    ) -> Result<(Inserted, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_email(&tx, &d.email).await?;
        let inserted = tx
            .query_opt(
                &format!(
                    "INSERT INTO users (email, name, timezone, preference, availability, version)
                     VALUES ($1, $2, $3, $4, $5,
                             1 + COALESCE((SELECT version FROM retired_versions WHERE email = $1), 0))
                     ON CONFLICT (email) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &d.email.as_str(),
                    &d.name,
                    &d.timezone.to_string(),
                    &d.preference.as_str(),
                    &d.availability.to_json(),
                ],
            )
            .await?;
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
        bump_epoch: bool,
    ) -> Result<(Replaced, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let current = tx
            .query_opt(
                "SELECT version FROM users WHERE email = $1 FOR UPDATE",
                &[&d.email.as_str()],
            )
            .await?;
        let outcome = match current.map(|r| r.get::<_, i64>(0)) {
            None => Replaced::NotFound,
            Some(current) if if_match.is_some_and(|m| !m.matches(Some(current))) => {
                Replaced::VersionMismatch { current }
            }
            Some(_) => {
                let row = tx
                    .query_one(
                        &format!(
                            "UPDATE users SET name = $2, timezone = $3, preference = $4, availability = $5,
                                 updated_at = now(), version = version + 1
                             WHERE email = $1 RETURNING {COLUMNS}"
                        ),
                        &[
                            &d.email.as_str(),
                            &d.name,
                            &d.timezone.to_string(),
                            &d.preference.as_str(),
                            &d.availability.to_json(),
                        ],
                    )
                    .await?;
                Replaced::Updated(record(&row))
            }
        };
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((outcome, epoch))
    }

    /// Deletes a user, remembering its last version; `false` if there was
    /// none.
    pub async fn delete(&self, email: &Email, bump_epoch: bool) -> Result<(bool, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_email(&tx, email).await?;
        let n = tx
            .execute(
                "WITH gone AS (DELETE FROM users WHERE email = $1 RETURNING email, version)
                 INSERT INTO retired_versions (email, version) SELECT email, version FROM gone
                 ON CONFLICT (email) DO UPDATE
                     SET version = GREATEST(retired_versions.version, EXCLUDED.version)",
                &[&email.as_str()],
            )
            .await?;
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((n > 0, epoch))
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
async fn lock_email(
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
async fn epoch_in(tx: &deadpool_postgres::Transaction<'_>, bump: bool) -> Result<i64, StoreError> {
    let sql = if bump {
        "UPDATE cache_epoch SET epoch = epoch + 1 RETURNING epoch"
    } else {
        "SELECT epoch FROM cache_epoch"
    };
    Ok(tx.query_one(sql, &[]).await?.get(0))
}

fn record(row: &Row) -> UserRecord {
    UserRecord {
        email: row.get("email"),
        name: row.get("name"),
        timezone: row.get("timezone"),
        preferences: row.get("preference"),
        availabilities: monday_first(row.get("availability")),
        created_at: row.get::<_, DateTime<Utc>>("created_at"),
        updated_at: row.get::<_, DateTime<Utc>>("updated_at"),
        version: row.get("version"),
    }
}

/// JSONB keeps object keys in its own order; give days back Monday first, as
/// they were stored (the stored document is normalised, so it always parses).
fn monday_first(stored: serde_json::Value) -> serde_json::Value {
    match scheduling::WeeklyPattern::from_json(&stored) {
        Ok(p) => p.to_json(),
        Err(_) => stored,
    }
}
