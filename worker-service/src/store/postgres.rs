//! PostgreSQL: the job table, the source of truth for every job's state.
//!
//! Why redelivery changes nothing: every state change is a conditional
//! `UPDATE ... WHERE status = ... AND attempts = ...`. A consumer *claims* an
//! attempt before calling suggestion-service and may only finish the attempt
//! it claimed, so a second delivery of a finished job finds nothing to claim,
//! and a stale consumer cannot overwrite a newer outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::domain::{JobStatus, JobView};

/// Migrations, applied in order, each once, under an advisory lock so that
/// replicas starting together do not race.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE jobs (
            id              UUID PRIMARY KEY,
            kind            TEXT NOT NULL,
            status          TEXT NOT NULL
                            CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            attempts        INT NOT NULL DEFAULT 0,
            request         JSONB NOT NULL,
            result          JSONB,
            error           TEXT,
            case_id         TEXT NOT NULL,
            callback_url    TEXT,
            idempotency_key TEXT UNIQUE,
            published_at    TIMESTAMPTZ,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at     TIMESTAMPTZ
        );
        CREATE INDEX jobs_unpublished ON jobs (created_at)
            WHERE published_at IS NULL AND status = 'queued';",
    ),
    // Who submitted the job (the token's subject), so that only they read
    // it and its result shows what they may see (SPEC §6). NULL: anonymous.
    (2, "ALTER TABLE jobs ADD COLUMN submitter TEXT;"),
    // Auto-booking (SPEC §7): what to book with the best slot that can be
    // had (`book`), and the saga's log of attempts (`booking`).
    (
        3,
        "ALTER TABLE jobs ADD COLUMN book JSONB, ADD COLUMN booking JSONB;",
    ),
    // Watches (SPEC §10, `store::watches`): the watch with its last
    // outcome and a lease for the evaluator that holds it; its events, in
    // order, with their delivery state.
    (
        4,
        "CREATE TABLE watches (
            id           UUID PRIMARY KEY,
            request      JSONB NOT NULL,
            users        TEXT[] NOT NULL,
            callback_url TEXT NOT NULL,
            secret       TEXT NOT NULL,
            owner        TEXT,
            case_id      TEXT NOT NULL,
            expires_at   TIMESTAMPTZ NOT NULL,
            outcome      JSONB NOT NULL,
            seq          INT NOT NULL DEFAULT 0,
            evaluations  BIGINT NOT NULL DEFAULT 1,
            dirty_since  TIMESTAMPTZ,
            lease_id     UUID,
            lease_until  TIMESTAMPTZ,
            created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            evaluated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX watches_users ON watches USING GIN (users);
        CREATE INDEX watches_dirty ON watches (dirty_since) WHERE dirty_since IS NOT NULL;
        CREATE TABLE watch_events (
            event_id        UUID PRIMARY KEY,
            watch_id        UUID NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
            seq             INT NOT NULL,
            type            TEXT NOT NULL,
            body            JSONB NOT NULL,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'given_up')),
            attempts        INT NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            lease_id        UUID,
            lease_until     TIMESTAMPTZ,
            last_error      TEXT,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            delivered_at    TIMESTAMPTZ,
            UNIQUE (watch_id, seq)
        );
        CREATE INDEX watch_events_pending ON watch_events (next_attempt_at)
            WHERE status = 'pending';",
    ),
    // A job's end is told to whoever waits for it (`GET /tasks/{id}?wait=`,
    // `store::finishes`): every write that finishes a job — whichever
    // statement makes it — notifies the schema's channel with the job's id,
    // delivered when the write commits.
    (
        5,
        "CREATE FUNCTION notify_job_finished() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             PERFORM pg_notify('w2m_jobs_' || md5(TG_TABLE_SCHEMA), NEW.id::text);
             RETURN NULL;
         END $$;
         CREATE TRIGGER jobs_finished AFTER UPDATE OF status ON jobs FOR EACH ROW
             WHEN (NEW.status IN ('succeeded', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
             EXECUTE FUNCTION notify_job_finished();",
    ),
];

/// The query that names the channel migration 5 notifies, as seen from a
/// connection of this store's schema.
pub const FINISHED_CHANNEL_SQL: &str = "SELECT 'w2m_jobs_' || md5(current_schema())";

const COLUMNS: &str = "id, kind, status, attempts, request, result, error, case_id, callback_url, \
     idempotency_key, published_at, created_at, updated_at, finished_at, submitter, book, booking";

pub use w2meet_pg::{DbConfig, MigrateMode, SchemaError, StoreError};

/// A job as stored.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: Uuid,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub request: Value,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub case_id: String,
    pub callback_url: Option<String>,
    pub idempotency_key: Option<String>,
    /// When the broker confirmed the message; `None` while the submit is in
    /// flight or after it failed.
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The person who submitted it; `None` for an anonymous submission.
    pub submitter: Option<String>,
    /// What to book with the best slot that can be had (an auto-book job).
    pub book: Option<Value>,
    /// The booking saga's log: `{"attempts": [...], "meeting_id"?}`.
    pub booking: Option<Value>,
}

impl JobRecord {
    pub fn view(&self) -> JobView {
        JobView {
            job_id: self.id,
            status: self.status,
            attempts: self.attempts,
            result: self.result.clone(),
            error: self.error.clone(),
            case_id: self.case_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            booking: self.booking.clone(),
        }
    }
}

/// A job about to be stored.
pub struct NewJob<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub request: &'a Value,
    pub case_id: &'a str,
    pub callback_url: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub submitter: Option<&'a str>,
    pub book: Option<&'a Value>,
}

/// A job about to be stored, owned, for a coalesced insert
/// ([`JobStore::insert_many`]).
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: Uuid,
    pub kind: String,
    pub request: Value,
    pub case_id: String,
    pub callback_url: Option<String>,
    pub idempotency_key: Option<String>,
    pub submitter: Option<String>,
    pub book: Option<Value>,
}

/// How an insert ended.
pub enum Inserted {
    Created(JobRecord),
    /// The idempotency key was taken; this is the job it names.
    Existing(JobRecord),
}

/// How a claim ended.
#[derive(Debug)]
pub enum Claim {
    /// This delivery owns the attempt now.
    Claimed(Box<JobRecord>),
    /// Nothing left to do: the job already succeeded or failed.
    Finished(JobStatus),
    /// A duplicate message for an attempt that was already taken.
    Stale,
    /// No such job.
    NotFound,
}

/// The job table. Cheap to clone.
#[derive(Clone)]
pub struct JobStore {
    pool: Pool,
    /// One connection of its own for health and readiness checks.
    probe: w2meet_pg::Probe,
}

impl JobStore {
    /// The watch tables, on the same database and pool.
    pub fn watches(&self) -> super::watches::WatchStore {
        super::watches::WatchStore::new(self.pool.clone())
    }

    /// The pool, for the loop that closes idle connections.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Builds the pools; connections are opened lazily.
    pub fn new(cfg: &DbConfig) -> anyhow::Result<JobStore> {
        Ok(JobStore {
            pool: w2meet_pg::pool(cfg)?,
            probe: w2meet_pg::Probe::new(cfg)?,
        })
    }

    /// Makes the schema ready for a start in `mode`: migrates (waiting up
    /// to `wait` for PostgreSQL; safe from several replicas at once), or
    /// waits up to `wait` for the `migrate` command to have done it.
    pub async fn prepare_schema(
        &self,
        mode: MigrateMode,
        wait: Duration,
    ) -> Result<(), SchemaError> {
        w2meet_pg::prepare_schema(&self.pool, "w2meet-worker-service", MIGRATIONS, mode, wait).await
    }

    /// Whether PostgreSQL answers now (through the probe connection, so a
    /// busy pool is not taken for a dead database).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.probe.ping().await
    }

    /// Stores a queued job, unless its idempotency key is taken.
    pub async fn insert(&self, job: &NewJob<'_>) -> Result<Inserted, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO jobs (id, kind, status, request, case_id, callback_url, idempotency_key, submitter, book)
                     VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &job.id,
                    &job.kind,
                    job.request,
                    &job.case_id,
                    &job.callback_url,
                    &job.idempotency_key,
                    &job.submitter,
                    &job.book,
                ],
            )
            .await?;
        if let Some(row) = row {
            return Ok(Inserted::Created(record(&row)));
        }
        let row = client
            .query_one(
                &format!("SELECT {COLUMNS} FROM jobs WHERE idempotency_key = $1"),
                &[&job.idempotency_key],
            )
            .await?;
        Ok(Inserted::Existing(record(&row)))
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .await?;
        Ok(client.query_opt(&stmt, &[&id]).await?.as_ref().map(record))
    }

    /// Stores many jobs in one statement — one transaction, one commit —
    /// and returns them in the order given; `None` where the idempotency key
    /// was taken (by an earlier job, or by an earlier row of this batch):
    /// [`JobStore::insert`] then finds the job it names.
    pub async fn insert_many(&self, jobs: &[Draft]) -> Result<Vec<Option<JobRecord>>, StoreError> {
        let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
        let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
        let requests: Vec<&Value> = jobs.iter().map(|j| &j.request).collect();
        let cases: Vec<&str> = jobs.iter().map(|j| j.case_id.as_str()).collect();
        let callbacks: Vec<Option<&str>> = jobs.iter().map(|j| j.callback_url.as_deref()).collect();
        let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.idempotency_key.as_deref()).collect();
        let submitters: Vec<Option<&str>> = jobs.iter().map(|j| j.submitter.as_deref()).collect();
        let books: Vec<Option<&Value>> = jobs.iter().map(|j| j.book.as_ref()).collect();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO jobs (id, kind, status, request, case_id, callback_url, idempotency_key, submitter, book)
                 SELECT id, kind, 'queued', request, case_id, callback_url, idempotency_key, submitter, book
                 FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
                      AS t(id, kind, request, case_id, callback_url, idempotency_key, submitter, book)
                 ON CONFLICT (idempotency_key) DO NOTHING
                 RETURNING {COLUMNS}"
            ))
            .await?;
        let rows = client
            .query(
                &stmt,
                &[
                    &ids,
                    &kinds,
                    &requests,
                    &cases,
                    &callbacks,
                    &keys,
                    &submitters,
                    &books,
                ],
            )
            .await?;
        let mut by_id: std::collections::HashMap<Uuid, JobRecord> = rows
            .iter()
            .map(|row| {
                let job = record(row);
                (job.id, job)
            })
            .collect();
        Ok(ids.iter().map(|id| by_id.remove(id)).collect())
    }

    /// Records the broker's confirm.
    pub async fn mark_published(&self, id: Uuid) -> Result<(), StoreError> {
        self.mark_many_published(&[id]).await
    }

    /// Records the broker's confirms of many jobs in one statement.
    pub async fn mark_many_published(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE jobs SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL",
                &[&ids],
            )
            .await?;
        Ok(())
    }

    /// Jobs stored but never confirmed by the broker, older than
    /// `older_than`: their submitter died (or its request was cut off)
    /// between the insert and the confirm. Oldest first, at most `limit`.
    pub async fn abandoned_unpublished(
        &self,
        older_than: Duration,
        limit: i64,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM jobs
                     WHERE status = 'queued' AND published_at IS NULL AND attempts = 0
                       AND created_at < now() - make_interval(secs => $1)
                     ORDER BY created_at LIMIT $2"
                ),
                &[&older_than.as_secs_f64(), &limit],
            )
            .await?;
        Ok(rows.iter().map(record).collect())
    }

    /// The broker never confirmed: the job must not look queued. Only a job
    /// nobody has started is changed.
    pub async fn mark_enqueue_failed(&self, id: Uuid, reason: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()
                 WHERE id = $1 AND status = 'queued' AND published_at IS NULL AND attempts = 0",
                &[&id, &reason],
            )
            .await?;
        Ok(())
    }

    /// A repeated submission (same idempotency key) of a job whose enqueue
    /// failed: queued again, to be published again. `false` if it was not in
    /// that state any more.
    pub async fn requeue_unpublished(&self, id: Uuid) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE jobs SET status = 'queued', error = NULL, updated_at = now(), finished_at = NULL
                 WHERE id = $1 AND status = 'failed' AND published_at IS NULL AND attempts = 0",
                &[&id],
            )
            .await?;
        Ok(n == 1)
    }

    /// Takes attempt `attempt` of a job for this delivery. A job that is
    /// `running` may be taken over only by a redelivery of the same attempt
    /// (its consumer died before acknowledging); duplicates of an attempt
    /// already taken, and anything for a finished job, are refused.
    pub async fn claim(
        &self,
        id: Uuid,
        attempt: i32,
        redelivered: bool,
    ) -> Result<Claim, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE jobs SET status = 'running', attempts = $2, updated_at = now()
                     WHERE id = $1 AND status IN ('queued', 'running')
                       AND (attempts < $2 OR ($3 AND attempts = $2))
                     RETURNING {COLUMNS}"
                ),
                &[&id, &attempt, &redelivered],
            )
            .await?;
        if let Some(row) = row {
            return Ok(Claim::Claimed(Box::new(record(&row))));
        }
        let row = client
            .query_opt("SELECT status FROM jobs WHERE id = $1", &[&id])
            .await?;
        Ok(match row.map(|r| status_of(r.get(0))) {
            None => Claim::NotFound,
            Some(s) if s.is_final() => Claim::Finished(s),
            Some(_) => Claim::Stale,
        })
    }

    /// Stores the result of the attempt this consumer claimed. `None` if the
    /// job is no longer that attempt's (someone else finished it).
    /// Claims many deliveries' attempts in one statement (the rule of
    /// [`JobStore::claim`] per row), in the order given. (`id = ANY($1)`
    /// beside the join lets the planner probe the primary key: joined with
    /// `UNNEST` alone it chose a sequential scan of the whole table per
    /// batch, ~1 ms of PostgreSQL CPU per job at 14 000 rows.) Two deliveries of
    /// one job in the same batch: one claims, the other is `Stale`.
    pub async fn claim_many(&self, claims: &[(Uuid, i32, bool)]) -> Result<Vec<Claim>, StoreError> {
        let ids: Vec<Uuid> = claims.iter().map(|c| c.0).collect();
        let attempts: Vec<i32> = claims.iter().map(|c| c.1).collect();
        let redelivered: Vec<bool> = claims.iter().map(|c| c.2).collect();
        let client = self.pool.get().await?;
        // Unnamed statements, planned for each batch: a cached generic plan
        // made while the table was small kept scanning all of it later.
        let stmt = format!(
                "UPDATE jobs SET status = 'running', attempts = t.attempt, updated_at = now()
                 FROM UNNEST($1::uuid[], $2::int[], $3::bool[]) WITH ORDINALITY
                      AS t(job, attempt, redelivered, n)
                 WHERE jobs.id = ANY($1) AND jobs.id = t.job AND jobs.status IN ('queued', 'running')
                   AND (jobs.attempts < t.attempt OR (t.redelivered AND jobs.attempts = t.attempt))
                 RETURNING t.n, {COLUMNS}"
        );
        let rows = client
            .query(stmt.as_str(), &[&ids, &attempts, &redelivered])
            .await?;
        let mut out: Vec<Option<Claim>> = by_ordinal(&rows, claims.len())
            .into_iter()
            .map(|job| job.map(|job| Claim::Claimed(Box::new(job))))
            .collect();
        if out.iter().any(Option::is_none) {
            let stmt = "SELECT id, status FROM jobs WHERE id = ANY($1)";
            let statuses: std::collections::HashMap<Uuid, JobStatus> = client
                .query(stmt, &[&ids])
                .await?
                .iter()
                .map(|r| (r.get(0), status_of(r.get(1))))
                .collect();
            for (slot, id) in out.iter_mut().zip(&ids) {
                if slot.is_none() {
                    *slot = Some(match statuses.get(id) {
                        None => Claim::NotFound,
                        Some(s) if s.is_final() => Claim::Finished(*s),
                        Some(_) => Claim::Stale,
                    });
                }
            }
        }
        Ok(out.into_iter().map(|c| c.unwrap_or(Claim::Stale)).collect())
    }

    /// Stores many attempts' results in one statement (the rule of
    /// [`JobStore::succeed`] per row), in the order given.
    pub async fn succeed_many(
        &self,
        results: &[(Uuid, i32, Value)],
    ) -> Result<Vec<Option<JobRecord>>, StoreError> {
        let ids: Vec<Uuid> = results.iter().map(|r| r.0).collect();
        let attempts: Vec<i32> = results.iter().map(|r| r.1).collect();
        let outcomes: Vec<&Value> = results.iter().map(|r| &r.2).collect();
        let client = self.pool.get().await?;
        // Unnamed statements, planned for each batch: a cached generic plan
        // made while the table was small kept scanning all of it later.
        let stmt = format!(
            "UPDATE jobs SET status = 'succeeded', result = t.outcome, error = NULL,
                        finished_at = now(), updated_at = now()
                 FROM UNNEST($1::uuid[], $2::int[], $3::jsonb[]) WITH ORDINALITY
                      AS t(job, attempt, outcome, n)
                 WHERE jobs.id = ANY($1) AND jobs.id = t.job
                   AND jobs.status = 'running' AND jobs.attempts = t.attempt
                 RETURNING t.n, {COLUMNS}"
        );
        let rows = client
            .query(stmt.as_str(), &[&ids, &attempts, &outcomes])
            .await?;
        Ok(by_ordinal(&rows, results.len()))
    }

    pub async fn succeed(
        &self,
        id: Uuid,
        attempt: i32,
        result: &Value,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.finish(
            id,
            attempt,
            "status = 'succeeded', result = $3, error = NULL, finished_at = now()",
            result,
        )
        .await
    }

    /// Fails the claimed attempt for good.
    pub async fn fail(
        &self,
        id: Uuid,
        attempt: i32,
        reason: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.finish(
            id,
            attempt,
            "status = 'failed', error = $3, finished_at = now()",
            &reason,
        )
        .await
    }

    /// Records the booking saga's log for the claimed attempt, before and
    /// after each try, so that a redelivery resumes where this one stopped.
    pub async fn record_booking(
        &self,
        id: Uuid,
        attempt: i32,
        log: &Value,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.finish(id, attempt, "booking = $3", log).await
    }

    /// The claimed attempt failed transiently: queued again until its retry
    /// is delivered.
    pub async fn retry_later(
        &self,
        id: Uuid,
        attempt: i32,
        reason: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.finish(id, attempt, "status = 'queued', error = $3", &reason)
            .await
    }

    async fn finish(
        &self,
        id: Uuid,
        attempt: i32,
        set: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<Option<JobRecord>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE jobs SET {set}, updated_at = now()
                     WHERE id = $1 AND status = 'running' AND attempts = $2
                     RETURNING {COLUMNS}"
                ),
                &[&id, &attempt, value],
            )
            .await?;
        Ok(row.as_ref().map(record))
    }
}

fn status_of(s: String) -> JobStatus {
    // The CHECK constraint admits only the four names.
    s.parse().unwrap_or(JobStatus::Failed)
}

/// The jobs a batch statement returned (`RETURNING t.n, {COLUMNS}`), each at
/// its row's place in the batch (`n` counts from 1); `None` where the row's
/// rule matched nothing.
fn by_ordinal(rows: &[Row], len: usize) -> Vec<Option<JobRecord>> {
    let mut out: Vec<Option<JobRecord>> = (0..len).map(|_| None).collect();
    for row in rows {
        let n = usize::try_from(row.get::<_, i64>(0) - 1).unwrap_or(usize::MAX);
        if let Some(slot) = out.get_mut(n) {
            *slot = Some(record(row));
        }
    }
    out
}

fn record(row: &Row) -> JobRecord {
    JobRecord {
        id: row.get("id"),
        kind: row.get("kind"),
        status: status_of(row.get("status")),
        attempts: row.get("attempts"),
        request: row.get("request"),
        result: row.get("result"),
        error: row.get("error"),
        case_id: row.get("case_id"),
        callback_url: row.get("callback_url"),
        idempotency_key: row.get("idempotency_key"),
        published_at: row.get("published_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        finished_at: row.get("finished_at"),
        submitter: row.get("submitter"),
        book: row.get("book"),
        booking: row.get("booking"),
    }
}
