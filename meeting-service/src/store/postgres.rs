//! PostgreSQL: meetings, invites, RSVPs, held time, the event history, the
//! outbox and calendar feed tokens.
//!
//! **No double booking is the database's decision.** Each person whose
//! time a meeting holds (organizer, invitees who have not declined) has a
//! row in `holds`, and an exclusion constraint (`btree_gist`: same person,
//! overlapping `tstzrange`) refuses a second overlapping row. Two replicas
//! booking the same person at once both insert; PostgreSQL lets exactly
//! one commit and fails the other with `23P01`, which becomes a 409 naming
//! who is busy with what. There is no check-then-insert to race.
//!
//! **Every write is one transaction**: lock the meeting row, run a pure
//! transition (`domain::transition`), write the whole new state, append
//! the event to `events` (the history) and to `outbox`; the relay
//! publishes from the outbox after the commit.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::domain::transition::{Refused, Transition};
use crate::domain::{Answer, DomainEvent, Invite, Meeting, Status, Visibility};

pub use w2meet_pg::{DbConfig, MigrateMode, SchemaError, StoreError};

/// Migrations, applied in order, each once, under an advisory lock.
/// `btree_gist` is installed into `public` under a lock of its own: the
/// extension is per database, and test schemas migrate side by side.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "SELECT pg_advisory_xact_lock(hashtext('w2meet: CREATE EXTENSION btree_gist'));
     CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
     CREATE TABLE meetings (
         id              UUID PRIMARY KEY,
         organizer       TEXT NOT NULL,
         title           TEXT NOT NULL,
         description     TEXT NOT NULL DEFAULT '',
         start_at        TIMESTAMPTZ NOT NULL,
         end_at          TIMESTAMPTZ NOT NULL CHECK (end_at > start_at),
         tz              TEXT NOT NULL,
         visibility      TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
         status          TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
         sequence        INT NOT NULL DEFAULT 0,
         version         INT NOT NULL DEFAULT 1,
         event_seq       INT NOT NULL DEFAULT 0,
         idempotency_key TEXT,
         fingerprint     TEXT,
         created_at      TIMESTAMPTZ NOT NULL,
         updated_at      TIMESTAMPTZ NOT NULL,
         UNIQUE (organizer, idempotency_key)
     );
     CREATE INDEX meetings_public ON meetings (start_at) WHERE visibility = 'public';
     CREATE INDEX meetings_organizer ON meetings (organizer, start_at);
     CREATE TABLE invites (
         meeting_id UUID NOT NULL REFERENCES meetings ON DELETE CASCADE,
         email      TEXT NOT NULL,
         answer     TEXT NOT NULL CHECK (answer IN ('PENDING', 'YES', 'MAYBE', 'NO')),
         PRIMARY KEY (meeting_id, email)
     );
     CREATE INDEX invites_email ON invites (email);
     CREATE TABLE rsvps (
         meeting_id UUID NOT NULL REFERENCES meetings ON DELETE CASCADE,
         email      TEXT NOT NULL,
         answer     TEXT NOT NULL CHECK (answer IN ('YES', 'MAYBE', 'NO')),
         PRIMARY KEY (meeting_id, email)
     );
     CREATE INDEX rsvps_email ON rsvps (email);
     CREATE TABLE holds (
         meeting_id UUID NOT NULL REFERENCES meetings ON DELETE CASCADE,
         person     TEXT NOT NULL,
         during     TSTZRANGE NOT NULL,
         PRIMARY KEY (meeting_id, person),
         CONSTRAINT no_double_booking
             EXCLUDE USING gist (person public.gist_text_ops WITH =, during WITH &&)
     );
     CREATE TABLE events (
         event_id    UUID PRIMARY KEY,
         meeting_id  UUID NOT NULL REFERENCES meetings ON DELETE CASCADE,
         seq         INT NOT NULL,
         type        TEXT NOT NULL,
         case_id     TEXT NOT NULL,
         occurred_at TIMESTAMPTZ NOT NULL,
         body        JSONB NOT NULL,
         UNIQUE (meeting_id, seq)
     );
     CREATE TABLE outbox (
         event_id    UUID PRIMARY KEY REFERENCES events ON DELETE CASCADE,
         routing_key TEXT NOT NULL,
         enqueued_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
         -- A relay publishing the event holds it until then.
         claimed_until TIMESTAMPTZ
     );
     CREATE INDEX outbox_order ON outbox (enqueued_at);
     CREATE TABLE feed_tokens (
         email      TEXT PRIMARY KEY,
         token_hash BYTEA NOT NULL UNIQUE,
         created_at TIMESTAMPTZ NOT NULL DEFAULT now()
     );",
    ),
    (
        2,
        // The W3C trace context of the request that caused the event, so
        // the relayed message joins its trace (the relay runs later).
        "ALTER TABLE outbox ADD COLUMN traceparent TEXT, ADD COLUMN tracestate TEXT;",
    ),
];

const COLUMNS: &str = "id, organizer, title, description, start_at, end_at, tz, visibility, \
     status, sequence, version, created_at, updated_at";

/// Someone already busy: the person and the meeting holding their time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub person: String,
    pub meeting_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no such meeting")]
    NotFound,
    #[error("refused: {0:?}")]
    Refused(Refused),
    /// Someone's time is held by another meeting (possibly one committed a
    /// moment ago by another replica).
    #[error("double booking")]
    Conflict(Vec<Busy>),
    /// The `Idempotency-Key` was used for a different booking.
    #[error("idempotency key reused")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<tokio_postgres::Error> for WriteError {
    fn from(e: tokio_postgres::Error) -> Self {
        WriteError::Store(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for WriteError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        WriteError::Store(e.into())
    }
}

/// How an insert ended.
pub enum Inserted {
    Created(Meeting),
    /// The same organizer sent the same key and booking before.
    Replayed(Meeting),
}

/// An event waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    pub event_id: Uuid,
    pub routing_key: String,
    pub case_id: String,
    pub body: serde_json::Value,
    /// The causing request's `traceparent` / `tracestate`.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

/// One stored event of a meeting's history.
pub struct Stored {
    pub body: serde_json::Value,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct MeetingStore {
    pool: Pool,
    /// One connection of its own for health and readiness checks.
    probe: w2meet_pg::Probe,
}

impl MeetingStore {
    /// Builds the pools; connections open lazily.
    pub fn new(cfg: &DbConfig) -> anyhow::Result<MeetingStore> {
        Ok(MeetingStore {
            pool: w2meet_pg::pool(cfg)?,
            probe: w2meet_pg::Probe::new(cfg)?,
        })
    }

    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Makes the schema ready for a start in `mode`: migrates (waiting up
    /// to `wait` for PostgreSQL; safe from several replicas at once), or
    /// waits up to `wait` for the `migrate` command to have done it.
    pub async fn prepare_schema(
        &self,
        mode: MigrateMode,
        wait: Duration,
    ) -> Result<(), SchemaError> {
        w2meet_pg::prepare_schema(&self.pool, "w2meet-meeting-service", MIGRATIONS, mode, wait)
            .await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.probe.ping().await
    }

    /// Books `meeting` with its first event. With an idempotency key, a
    /// repeat by the same organizer with the same `fingerprint` returns the
    /// first booking; another booking under the key is refused.
    pub async fn insert(
        &self,
        meeting: &Meeting,
        event: &DomainEvent,
        key: Option<(&str, &str)>,
    ) -> Result<Inserted, WriteError> {
        let mut client = self.pool.get().await?;
        if let Some(found) = self.replay(&client, &meeting.organizer, key).await? {
            return Ok(Inserted::Replayed(found));
        }
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO meetings (id, organizer, title, description, start_at, end_at, tz,
                     visibility, status, sequence, version, event_seq, idempotency_key,
                     fingerprint, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $14)
                 ON CONFLICT (organizer, idempotency_key) DO NOTHING",
                &[
                    &meeting.id,
                    &meeting.organizer,
                    &meeting.title,
                    &meeting.description,
                    &meeting.start,
                    &meeting.end,
                    &meeting.tz.name(),
                    &meeting.visibility.as_str(),
                    &meeting.status.as_str(),
                    &meeting.sequence,
                    &meeting.version,
                    &key.map(|k| k.0),
                    &key.map(|k| k.1),
                    &meeting.created_at,
                ],
            )
            .await?;
        if inserted == 0 {
            // A concurrent request with the same key won; answer with it.
            drop(tx);
            return match self.replay(&client, &meeting.organizer, key).await? {
                Some(found) => Ok(Inserted::Replayed(found)),
                None => Err(WriteError::KeyReused),
            };
        }
        let result = write_state(&tx, meeting, None).await;
        let result = match result {
            Ok(()) => append(&tx, event).await.map_err(WriteError::from),
            Err(e) => Err(e),
        };
        match commit(tx, result).await {
            Err(WriteError::Conflict(_)) => {
                Err(WriteError::Conflict(busy(&client, meeting).await?))
            }
            other => other.map(|()| Inserted::Created(meeting.clone())),
        }
    }

    async fn replay(
        &self,
        client: &deadpool_postgres::Object,
        organizer: &str,
        key: Option<(&str, &str)>,
    ) -> Result<Option<Meeting>, WriteError> {
        let Some((key, fingerprint)) = key else {
            return Ok(None);
        };
        let row = client
            .query_opt(
                "SELECT id, fingerprint FROM meetings WHERE organizer = $1 AND idempotency_key = $2",
                &[&organizer, &key],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        if row.get::<_, Option<String>>(1).as_deref() != Some(fingerprint) {
            return Err(WriteError::KeyReused);
        }
        let id: Uuid = row.get(0);
        Ok(load(&***client, &[id], false).await?.pop())
    }

    /// Runs `change` on meeting `id` under a row lock and writes its result
    /// with its event. Returns the meeting as it is afterwards.
    pub async fn modify<F>(
        &self,
        id: Uuid,
        case_id: &str,
        actor: Option<&str>,
        change: F,
    ) -> Result<Meeting, WriteError>
    where
        F: FnOnce(&Meeting) -> Result<Transition, Refused>,
    {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let current = load(&*tx, &[id], true)
            .await?
            .pop()
            .ok_or(WriteError::NotFound)?;
        let transition = change(&current).map_err(WriteError::Refused)?;
        let Some((kind, answer)) = transition.event else {
            return Ok(current);
        };
        let next = transition.meeting;
        let seq: i32 = tx
            .query_one(
                "UPDATE meetings SET title = $2, description = $3, start_at = $4, end_at = $5,
                     tz = $6, visibility = $7, status = $8, sequence = $9, version = $10,
                     updated_at = $11, event_seq = event_seq + 1
                 WHERE id = $1 RETURNING event_seq",
                &[
                    &id,
                    &next.title,
                    &next.description,
                    &next.start,
                    &next.end,
                    &next.tz.name(),
                    &next.visibility.as_str(),
                    &next.status.as_str(),
                    &next.sequence,
                    &next.version,
                    &next.updated_at,
                ],
            )
            .await?
            .get(0);
        let event = DomainEvent::of(kind, &next, seq, case_id, actor, answer);
        let result = match write_state(&tx, &next, Some(&current)).await {
            Ok(()) => append(&tx, &event).await.map_err(WriteError::from),
            Err(e) => Err(e),
        };
        match commit(tx, result).await {
            Err(WriteError::Conflict(_)) => Err(WriteError::Conflict(busy(&client, &next).await?)),
            other => other.map(|()| next),
        }
    }

    /// One meeting, if it exists.
    pub async fn get(&self, id: Uuid) -> Result<Option<Meeting>, StoreError> {
        let client = self.pool.get().await?;
        Ok(load(&**client, &[id], false).await?.pop())
    }

    /// Public meetings overlapping `[from, to)`, by start.
    pub async fn public_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Meeting>, StoreError> {
        let client = self.pool.get().await?;
        let ids: Vec<Uuid> = client
            .query(
                "SELECT id FROM meetings WHERE visibility = 'public' AND status = 'booked'
                     AND start_at < $2 AND end_at > $1
                 ORDER BY start_at, id LIMIT $3",
                &[&from, &to, &limit],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        load(&**client, &ids, false).await
    }

    /// `email`'s meetings overlapping `[from, to)` — organized, invited to
    /// or RSVP'd — cancelled ones included, by start.
    pub async fn calendar(
        &self,
        email: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Meeting>, StoreError> {
        let client = self.pool.get().await?;
        let ids: Vec<Uuid> = client
            .query(
                "SELECT id FROM meetings m
                 WHERE (m.organizer = $1
                        OR EXISTS (SELECT 1 FROM invites i WHERE i.meeting_id = m.id AND i.email = $1)
                        OR EXISTS (SELECT 1 FROM rsvps r WHERE r.meeting_id = m.id AND r.email = $1))
                   AND m.start_at < $3 AND m.end_at > $2
                 ORDER BY m.start_at, m.id LIMIT $4",
                &[&email, &from, &to, &limit],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        load(&**client, &ids, false).await
    }

    /// A meeting's events, in order.
    pub async fn history(&self, id: Uuid) -> Result<Vec<Stored>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT body FROM events WHERE meeting_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?
            .iter()
            .map(|r| Stored { body: r.get(0) })
            .collect())
    }

    /// Sets `email`'s feed token (replacing, and so revoking, any earlier one).
    pub async fn set_feed_token(&self, email: &str, hash: &[u8]) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO feed_tokens (email, token_hash) VALUES ($1, $2)
                 ON CONFLICT (email) DO UPDATE SET token_hash = $2, created_at = now()",
                &[&email, &hash],
            )
            .await?;
        Ok(())
    }

    /// Revokes `email`'s feed token; whether there was one.
    pub async fn revoke_feed_token(&self, email: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute("DELETE FROM feed_tokens WHERE email = $1", &[&email])
            .await?
            > 0)
    }

    /// Whether `hash` is `email`'s current feed token.
    pub async fn feed_token_matches(&self, email: &str, hash: &[u8]) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT 1 FROM feed_tokens WHERE email = $1 AND token_hash = $2",
                &[&email, &hash],
            )
            .await?
            .is_some())
    }

    /// Claims up to `limit` outbox events, oldest first, for `lease`
    /// (other relays skip them meanwhile), and hands them to `publish`;
    /// once it succeeds they are deleted, and if it fails they are released
    /// for the next round. The claim is one statement that commits on its
    /// own, so no transaction stays open while the broker is slow. A relay
    /// that dies with a claim leaves the events to whoever relays after the
    /// lease: delivery is at least once, and consumers dedupe by event id.
    pub async fn relay<F, Fut, E>(
        &self,
        limit: i64,
        lease: Duration,
        publish: F,
    ) -> Result<usize, RelayError<E>>
    where
        F: FnOnce(Vec<Pending>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let store = |e: tokio_postgres::Error| RelayError::Store(e.into());
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Store(e.into()))?;
        let rows = client
            .query(
                "WITH claimed AS (
                     UPDATE outbox SET claimed_until = clock_timestamp() + make_interval(secs => $2)
                     WHERE event_id IN (
                         SELECT event_id FROM outbox
                         WHERE claimed_until IS NULL OR claimed_until < clock_timestamp()
                         ORDER BY enqueued_at LIMIT $1
                         FOR UPDATE SKIP LOCKED)
                     RETURNING event_id, routing_key, enqueued_at, traceparent, tracestate)
                 SELECT c.event_id, c.routing_key, e.case_id, e.body, c.traceparent, c.tracestate
                 FROM claimed c JOIN events e USING (event_id)
                 ORDER BY c.enqueued_at, e.seq",
                &[&limit, &lease.as_secs_f64()],
            )
            .await
            .map_err(store)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let pending: Vec<Pending> = rows
            .iter()
            .map(|r| Pending {
                event_id: r.get(0),
                routing_key: r.get(1),
                case_id: r.get(2),
                body: r.get(3),
                traceparent: r.get(4),
                tracestate: r.get(5),
            })
            .collect();
        let ids: Vec<Uuid> = pending.iter().map(|p| p.event_id).collect();
        if let Err(e) = publish(pending).await {
            let _ = client
                .execute(
                    "UPDATE outbox SET claimed_until = NULL WHERE event_id = ANY($1)",
                    &[&ids],
                )
                .await;
            return Err(RelayError::Publish(e));
        }
        client
            .execute("DELETE FROM outbox WHERE event_id = ANY($1)", &[&ids])
            .await
            .map_err(store)?;
        Ok(ids.len())
    }

    /// Events still waiting in the outbox (a gauge, and for tests).
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one("SELECT count(*) FROM outbox", &[])
            .await?
            .get(0))
    }
}

/// Why a relay round failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError<E> {
    #[error(transparent)]
    Store(StoreError),
    #[error("publish failed")]
    Publish(E),
}

/// Commits if the writes succeeded (else rolls back); an exclusion
/// violation becomes `Conflict` with nobody named yet — the caller looks
/// them up after the rollback ([`busy`]), when the holder may be a booking
/// another replica committed a moment ago.
async fn commit(tx: Transaction<'_>, result: Result<(), WriteError>) -> Result<(), WriteError> {
    let result = match result {
        Ok(()) => tx.commit().await.map_err(WriteError::from),
        Err(e) => {
            drop(tx);
            Err(e)
        }
    };
    match result {
        // Two bookings racing into the exclusion constraint can also wait
        // on each other until PostgreSQL aborts one as a deadlock: the same
        // verdict, someone else got the time.
        Err(WriteError::Store(StoreError::Query(e)))
            if e.code() == Some(&SqlState::EXCLUSION_VIOLATION)
                || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) =>
        {
            Err(WriteError::Conflict(Vec::new()))
        }
        other => other,
    }
}

/// Who of `meeting`'s holders is held elsewhere during its time.
async fn busy(
    client: &deadpool_postgres::Object,
    meeting: &Meeting,
) -> Result<Vec<Busy>, WriteError> {
    let holders = meeting.holders();
    Ok(client
        .query(
            "SELECT person, meeting_id, lower(during), upper(during) FROM holds
             WHERE person = ANY($1) AND during && tstzrange($2, $3, '[)') AND meeting_id <> $4
             ORDER BY person, lower(during)",
            &[&holders, &meeting.start, &meeting.end, &meeting.id],
        )
        .await?
        .iter()
        .map(|r| Busy {
            person: r.get(0),
            meeting_id: r.get(1),
            start: r.get(2),
            end: r.get(3),
        })
        .collect())
}

/// Writes invites, RSVPs and held time so that they are `meeting`'s.
/// Held time is rewritten whole: the exclusion constraint then checks
/// every holder against every other meeting.
async fn write_state(
    tx: &Transaction<'_>,
    meeting: &Meeting,
    before: Option<&Meeting>,
) -> Result<(), WriteError> {
    if before.is_none_or(|b| b.attendees != meeting.attendees) {
        write_answers(tx, Answers::Invites, meeting.id, &meeting.attendees).await?;
    }
    if before.is_some_and(|b| b.rsvps != meeting.rsvps) {
        write_answers(tx, Answers::Rsvps, meeting.id, &meeting.rsvps).await?;
    }
    let holders = meeting.holders();
    let unchanged_holds = before.is_some_and(|b| {
        b.holders() == holders && b.start == meeting.start && b.end == meeting.end
    });
    if !unchanged_holds {
        tx.execute("DELETE FROM holds WHERE meeting_id = $1", &[&meeting.id])
            .await?;
        tx.execute(
            "INSERT INTO holds (meeting_id, person, during)
             SELECT $1, p, tstzrange($3, $4, '[)') FROM unnest($2::text[]) AS p",
            &[&meeting.id, &holders, &meeting.start, &meeting.end],
        )
        .await?;
    }
    Ok(())
}

/// The two tables of answers a meeting has.
#[derive(Clone, Copy)]
enum Answers {
    Invites,
    Rsvps,
}

/// Makes the meeting's rows in `table` exactly `answers`.
async fn write_answers(
    tx: &Transaction<'_>,
    table: Answers,
    meeting_id: Uuid,
    answers: &[Invite],
) -> Result<(), tokio_postgres::Error> {
    let (emails, values): (Vec<&str>, Vec<&str>) = answers
        .iter()
        .map(|i| (i.email.as_str(), i.answer.as_str()))
        .unzip();
    // A table name from this enum, never from input.
    let table = match table {
        Answers::Invites => "invites",
        Answers::Rsvps => "rsvps",
    };
    tx.execute(
        &format!("DELETE FROM {table} WHERE meeting_id = $1 AND NOT (email = ANY($2))"),
        &[&meeting_id, &emails],
    )
    .await?;
    tx.execute(
        &format!(
            "INSERT INTO {table} (meeting_id, email, answer)
             SELECT $1, * FROM unnest($2::text[], $3::text[])
             ON CONFLICT (meeting_id, email) DO UPDATE SET answer = EXCLUDED.answer"
        ),
        &[&meeting_id, &emails, &values],
    )
    .await?;
    Ok(())
}

/// Appends `event` to the history and the outbox (the relay's queue).
async fn append(tx: &Transaction<'_>, event: &DomainEvent) -> Result<(), tokio_postgres::Error> {
    let body = serde_json::to_value(event).expect("events serialise");
    tx.execute(
        "INSERT INTO events (event_id, meeting_id, seq, type, case_id, occurred_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &event.event_id,
            &event.meeting_id,
            &event.seq,
            &event.kind.as_str(),
            &event.case_id,
            &event.occurred_at,
            &body,
        ],
    )
    .await?;
    let trace = w2meet_platform::trace_context::current();
    let traceparent = trace.as_ref().map(|t| t.parent.to_string());
    let tracestate = trace.and_then(|t| t.tracestate);
    tx.execute(
        "INSERT INTO outbox (event_id, routing_key, traceparent, tracestate)
         VALUES ($1, $2, $3, $4)",
        &[
            &event.event_id,
            &event.kind.as_str(),
            &traceparent,
            &tracestate,
        ],
    )
    .await?;
    tx.execute(
        "UPDATE meetings SET event_seq = GREATEST(event_seq, $2) WHERE id = $1",
        &[&event.meeting_id, &event.seq],
    )
    .await?;
    Ok(())
}

/// Meetings `ids` (in that order) with their invites and RSVPs; `lock`
/// takes the rows for update.
async fn load<C: tokio_postgres::GenericClient>(
    client: &C,
    ids: &[Uuid],
    lock: bool,
) -> Result<Vec<Meeting>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM meetings WHERE id = ANY($1){lock}"),
            &[&ids],
        )
        .await?;
    let mut meetings: Vec<Meeting> = rows.iter().map(meeting).collect();
    let invites = client
        .query(
            "SELECT meeting_id, email, answer FROM invites WHERE meeting_id = ANY($1) ORDER BY email",
            &[&ids],
        )
        .await?;
    let rsvps = client
        .query(
            "SELECT meeting_id, email, answer FROM rsvps WHERE meeting_id = ANY($1) ORDER BY email",
            &[&ids],
        )
        .await?;
    let (mut invites, mut rsvps) = (by_meeting(&invites), by_meeting(&rsvps));
    for m in &mut meetings {
        m.attendees = invites.remove(&m.id).unwrap_or_default();
        m.rsvps = rsvps.remove(&m.id).unwrap_or_default();
    }
    // A calendar holds up to 1000 meetings: order them by index.
    let position: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    meetings.sort_by_key(|m| position.get(&m.id).copied());
    Ok(meetings)
}

/// Answer rows (`meeting_id, email, answer`, in email order) by meeting.
fn by_meeting(rows: &[Row]) -> HashMap<Uuid, Vec<Invite>> {
    let mut out: HashMap<Uuid, Vec<Invite>> = HashMap::new();
    for r in rows {
        out.entry(r.get(0)).or_default().push(Invite {
            email: r.get(1),
            answer: Answer::from_db(r.get(2)),
        });
    }
    out
}

fn meeting(row: &Row) -> Meeting {
    Meeting {
        id: row.get(0),
        organizer: row.get(1),
        title: row.get(2),
        description: row.get(3),
        start: row.get(4),
        end: row.get(5),
        tz: row.get::<_, &str>(6).parse().unwrap_or(chrono_tz::Tz::UTC),
        visibility: Visibility::from_db(row.get(7)),
        status: Status::from_db(row.get(8)),
        sequence: row.get(9),
        version: row.get(10),
        attendees: Vec::new(),
        rsvps: Vec::new(),
        created_at: row.get(11),
        updated_at: row.get(12),
    }
}
