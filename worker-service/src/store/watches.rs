//! PostgreSQL: watches and their events (SPEC §10). Parameterised SQL only.
//!
//! # How evaluation and delivery stay single and ordered across processes
//! - A change marks the watches of the people it names *dirty*
//!   (`dirty_since`, kept at the first change of a burst). An evaluator
//!   claims a watch only once it has been dirty for the coalescing window,
//!   clearing the mark and taking a lease, so a burst of changes is one
//!   evaluation and two evaluators never hold one watch. A change during an
//!   evaluation marks it dirty again: it is evaluated once more after.
//! - The new outcome and its event are written in one transaction, and only
//!   by the lease holder (its `lease_id`, while `lease_until` has not
//!   passed): an evaluator whose lease ran out, or was taken over, writes
//!   nothing, and cannot shorten another's lease.
//! - An event is delivered only when every earlier event of its watch is
//!   delivered or given up (per-watch order); a delivery takes a lease too,
//!   so one event is in flight at a time, and only its holder records how
//!   the attempt ended. A process that dies mid-delivery leaves the lease
//!   to run out and the event is sent again — the same body and
//!   `event_id`, which receivers deduplicate by. Leases outlast the longest
//!   call made under them (`watcher`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::domain::watch::{EventType, Outcome};

use super::StoreError;

/// A watch as stored (the secret excepted: it is read only to sign).
#[derive(Debug, Clone)]
pub struct WatchRecord {
    pub id: Uuid,
    /// suggestion-service's body.
    pub request: Value,
    pub users: Vec<String>,
    pub callback_url: String,
    /// The token's subject that made it; `None`: anonymous.
    pub owner: Option<String>,
    pub case_id: String,
    pub expires_at: DateTime<Utc>,
    pub outcome: Outcome,
    /// Events made so far.
    pub seq: i32,
    pub evaluations: i64,
    pub created_at: DateTime<Utc>,
    pub evaluated_at: DateTime<Utc>,
}

/// What a new watch stores.
pub struct NewWatch<'a> {
    pub id: Uuid,
    pub request: &'a Value,
    pub users: &'a [String],
    pub callback_url: &'a str,
    pub secret: &'a str,
    pub owner: Option<&'a str>,
    pub case_id: &'a str,
    pub expires_at: DateTime<Utc>,
    pub outcome: &'a Outcome,
}

/// An event's delivery state, for `GET /watches/{id}`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventState {
    pub event_id: Uuid,
    pub seq: i32,
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivered` or `given_up`.
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An event to deliver now, with what delivering it needs.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: Uuid,
    /// The claim: only its holder records the attempt.
    pub lease: Uuid,
    pub watch_id: Uuid,
    pub seq: i32,
    pub body: Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub callback_url: String,
    pub secret: String,
    pub case_id: String,
}

const COLUMNS: &str = "id, request, users, callback_url, owner, case_id, expires_at, outcome, \
     seq, evaluations, created_at, evaluated_at";

fn record(row: &Row) -> WatchRecord {
    WatchRecord {
        id: row.get("id"),
        request: row.get("request"),
        users: row.get("users"),
        callback_url: row.get("callback_url"),
        owner: row.get("owner"),
        case_id: row.get("case_id"),
        expires_at: row.get("expires_at"),
        outcome: serde_json::from_value(row.get("outcome")).unwrap_or_default(),
        seq: row.get("seq"),
        evaluations: row.get("evaluations"),
        created_at: row.get("created_at"),
        evaluated_at: row.get("evaluated_at"),
    }
}

/// PostgreSQL interval text for a duration (whole milliseconds).
fn interval(d: Duration) -> String {
    format!("{} milliseconds", d.as_millis())
}

/// The watch tables. Cheap to clone.
#[derive(Clone)]
pub struct WatchStore {
    pool: Pool,
}

impl WatchStore {
    pub fn new(pool: Pool) -> WatchStore {
        WatchStore { pool }
    }

    pub async fn insert(&self, w: &NewWatch<'_>) -> Result<WatchRecord, StoreError> {
        let client = self.pool.get().await?;
        let outcome = serde_json::to_value(w.outcome).expect("an outcome is plain JSON");
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO watches (id, request, users, callback_url, secret, owner, case_id, expires_at, outcome, dirty_since)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) RETURNING {COLUMNS}"
                ),
                &[
                    &w.id,
                    w.request,
                    &w.users,
                    &w.callback_url,
                    &w.secret,
                    &w.owner,
                    &w.case_id,
                    &w.expires_at,
                    &outcome,
                ],
            )
            .await?;
        Ok(record(&row))
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<WatchRecord>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM watches WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(record))
    }

    /// The watch's events, oldest first.
    pub async fn events(&self, id: Uuid) -> Result<Vec<EventState>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT event_id, seq, type, status, attempts, created_at, delivered_at
                 FROM watch_events WHERE watch_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| EventState {
                event_id: r.get(0),
                seq: r.get(1),
                kind: r.get(2),
                status: r.get(3),
                attempts: r.get(4),
                created_at: r.get(5),
                delivered_at: r.get(6),
            })
            .collect())
    }

    /// Deletes a watch and its events; whether it existed.
    pub async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute("DELETE FROM watches WHERE id = $1", &[&id])
            .await?
            > 0)
    }

    /// Marks the live watches of any of `emails` dirty; how many.
    pub async fn mark_dirty(&self, emails: &[String]) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE watches SET dirty_since = COALESCE(dirty_since, now())
                 WHERE users && $1 AND expires_at > now()",
                &[&emails],
            )
            .await?)
    }

    /// Marks one watch dirty.
    pub async fn mark_one_dirty(&self, id: Uuid) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE watches SET dirty_since = COALESCE(dirty_since, now()) WHERE id = $1",
                &[&id],
            )
            .await?;
        Ok(())
    }

    /// Marks every live watch dirty (the sweep that catches lost change
    /// events); how many.
    pub async fn mark_all_dirty(&self) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE watches SET dirty_since = COALESCE(dirty_since, now())
                 WHERE expires_at > now()",
                &[],
            )
            .await?)
    }

    /// Claims up to `limit` watches dirty for at least `settle`, for
    /// `lease`, under the claim `lease_id`: their dirty mark is cleared
    /// (module doc). Expired watches are cleared without being returned.
    pub async fn claim_dirty(
        &self,
        settle: Duration,
        lease: Duration,
        lease_id: Uuid,
        limit: i64,
    ) -> Result<Vec<WatchRecord>, StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE watches SET dirty_since = NULL
                 WHERE dirty_since IS NOT NULL AND expires_at <= now()",
                &[],
            )
            .await?;
        let rows = client
            .query(
                &format!(
                    "UPDATE watches SET dirty_since = NULL, lease_until = now() + $2::text::interval,
                            lease_id = $4
                     WHERE id IN (
                         SELECT id FROM watches
                         WHERE dirty_since <= now() - $1::text::interval
                           AND (lease_until IS NULL OR lease_until < now())
                         ORDER BY dirty_since LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING {COLUMNS}"
                ),
                &[&interval(settle), &interval(lease), &limit, &lease_id],
            )
            .await?;
        Ok(rows.iter().map(record).collect())
    }

    /// Stores an evaluation's outcome and, when it is an event, the event
    /// `(type, event_id, body)` as seq `seen_seq + 1`, in one transaction —
    /// only while the claim `lease_id` holds and nobody stored an event
    /// since the watch was read (`seen_seq`). Whether it was stored.
    pub async fn save_outcome(
        &self,
        id: Uuid,
        lease_id: Uuid,
        seen_seq: i32,
        outcome: &Outcome,
        event: Option<(EventType, Uuid, &Value)>,
    ) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = serde_json::to_value(outcome).expect("an outcome is plain JSON");
        let bump = i32::from(event.is_some());
        let updated = tx
            .execute(
                "UPDATE watches SET outcome = $2, seq = seq + $3, lease_until = NULL, lease_id = NULL,
                        evaluations = evaluations + 1, evaluated_at = now()
                 WHERE id = $1 AND seq = $4 AND lease_id = $5 AND lease_until >= now()",
                &[&id, &outcome, &bump, &seen_seq, &lease_id],
            )
            .await?;
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some((kind, event_id, body)) = event {
            tx.execute(
                "INSERT INTO watch_events (event_id, watch_id, seq, type, body) VALUES ($1, $2, $3, $4, $5)",
                &[&event_id, &id, &(seen_seq + 1), &kind.as_str(), body],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a watch claimed under `lease_id` back after a failed
    /// evaluation: dirty again, not claimed before `retry_in`. Nothing if
    /// the claim was taken over meanwhile.
    pub async fn release_dirty(
        &self,
        id: Uuid,
        lease_id: Uuid,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE watches SET dirty_since = COALESCE(dirty_since, now()),
                        lease_until = now() + $2::text::interval
                 WHERE id = $1 AND lease_id = $3",
                &[&id, &interval(retry_in), &lease_id],
            )
            .await?;
        Ok(())
    }

    /// Claims up to `limit` events due now whose earlier events are all
    /// settled, for `lease`, under the claim `lease_id`, counting the
    /// attempt.
    pub async fn claim_deliveries(
        &self,
        lease: Duration,
        lease_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "UPDATE watch_events e SET lease_until = now() + $1::text::interval,
                        lease_id = $3, attempts = attempts + 1
                 FROM watches w
                 WHERE w.id = e.watch_id AND e.event_id IN (
                     SELECT d.event_id FROM watch_events d
                     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                       AND (d.lease_until IS NULL OR d.lease_until < now())
                       AND NOT EXISTS (SELECT 1 FROM watch_events p
                                       WHERE p.watch_id = d.watch_id AND p.status = 'pending'
                                         AND p.seq < d.seq)
                     ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING e.event_id, e.watch_id, e.seq, e.body, e.attempts,
                           w.callback_url, w.secret, w.case_id",
                &[&interval(lease), &limit, &lease_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Delivery {
                event_id: r.get(0),
                lease: lease_id,
                watch_id: r.get(1),
                seq: r.get(2),
                body: r.get(3),
                attempt: r.get(4),
                callback_url: r.get(5),
                secret: r.get(6),
                case_id: r.get(7),
            })
            .collect())
    }

    /// Records how the attempt claimed under `lease_id` ended: delivered,
    /// given up, or due again after `retry_in`. Nothing if the claim was
    /// taken over meanwhile (the holder records its own attempt).
    pub async fn finish_delivery(
        &self,
        event_id: Uuid,
        lease_id: Uuid,
        result: DeliveryResult<'_>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        match result {
            DeliveryResult::Delivered => {
                client
                    .execute(
                        "UPDATE watch_events SET status = 'delivered', delivered_at = now(),
                                lease_until = NULL, lease_id = NULL, last_error = NULL
                         WHERE event_id = $1 AND lease_id = $2 AND status = 'pending'",
                        &[&event_id, &lease_id],
                    )
                    .await?
            }
            DeliveryResult::Retry { after, error } => {
                client
                    .execute(
                        "UPDATE watch_events SET next_attempt_at = now() + $2::text::interval,
                                lease_until = NULL, lease_id = NULL, last_error = $3
                         WHERE event_id = $1 AND lease_id = $4 AND status = 'pending'",
                        &[&event_id, &interval(after), &error, &lease_id],
                    )
                    .await?
            }
            DeliveryResult::GivenUp { error } => {
                client
                    .execute(
                        "UPDATE watch_events SET status = 'given_up', lease_until = NULL,
                                lease_id = NULL, last_error = $2
                         WHERE event_id = $1 AND lease_id = $3 AND status = 'pending'",
                        &[&event_id, &error, &lease_id],
                    )
                    .await?
            }
        };
        Ok(())
    }
}

/// How one delivery attempt ended.
pub enum DeliveryResult<'a> {
    Delivered,
    Retry { after: Duration, error: &'a str },
    GivenUp { error: &'a str },
}
