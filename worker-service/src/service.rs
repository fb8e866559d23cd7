//! Submitting and reading jobs.
//!
//! Submit order: store the job (`queued`, unpublished) → publish with
//! confirms → record the confirm → 202. The row exists before the message so
//! a consumer never sees a job it cannot find. If the broker does not
//! confirm, the row is marked `failed` ("could not be enqueued") before the
//! 503, so nothing claims to be queued; a retry with the same
//! `Idempotency-Key` re-enqueues that same job.
//!
//! Concurrent submits share round trips: they are stored by one multi-row
//! `INSERT … ON CONFLICT (idempotency_key) DO NOTHING` per batch (one commit
//! for all of them, [`crate::store::batch`]; a submit whose key is taken
//! then takes the single-row path above), their publishes share
//! the one confirm-mode channel (the broker confirms them together), and the
//! confirms are recorded in batches off the request path — recording one is
//! bookkeeping for the abandoned-job sweep, not part of the promise. 202
//! still means: the row is committed and the broker confirmed the message.

use std::sync::Arc;

use tracing::Instrument;
use uuid::Uuid;
use w2meet_platform::auth::{AuthError, Caller};

use crate::broker::{Broker, headers};
use crate::domain::{JobMessage, JobStatus, Submission};
use crate::error::TaskError;
use crate::job_metrics;
use crate::store::batch::each_or_alone;
use crate::store::{Batcher, Draft, Finishes, Inserted, JobRecord, JobStore, NewJob, StoreError};

/// Why an enqueue failed, as stored on the job.
pub const ENQUEUE_FAILED: &str = "could not be enqueued: the message broker is unavailable";

/// The most submits one `INSERT` stores.
const INSERT_BATCH_MAX: usize = 256;

/// Inserts in flight at once: while one batch commits, the next forms.
const INSERT_WORKERS: usize = 2;

/// The most confirms one `UPDATE` records.
const CONFIRM_BATCH_MAX: usize = 1024;

/// The API's state: cheap to clone.
#[derive(Clone)]
pub struct Tasks {
    pub store: JobStore,
    /// Shared by every request: one connection, one confirm-mode channel.
    pub broker: Arc<Broker>,
    /// Submits, stored a batch per statement.
    inserts: Batcher<Draft, Result<Option<JobRecord>, StoreError>>,
    /// Broker confirms to record, a batch per statement, not awaited.
    confirms: Batcher<Uuid, ()>,
    /// Requests waiting for a job to finish (`GET /tasks/{id}?wait=`).
    pub finishes: Finishes,
    /// The longest such a request waits (see [`Tasks::with_request_timeout`]).
    wait_cap: std::time::Duration,
}

/// The longest a `GET /tasks/{id}?wait=` waits (less when the service's
/// request timeout is shorter: see [`Tasks::with_request_timeout`]).
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a repeated submission re-reads the first one's row.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Where an identical earlier submission ended up.
enum Settled {
    /// The broker has it: answer with it.
    Enqueued(JobRecord),
    /// Its enqueue failed and this submission took it over: enqueue it.
    Requeue(JobRecord),
    /// Its submitter vanished between storing it and the confirm: publish
    /// it (a duplicate, should that submitter be merely slow, is a replay
    /// for the consumers).
    Abandoned(JobRecord),
}

/// An accepted submission.
pub struct Accepted {
    pub job: JobRecord,
    /// A repeat of an earlier submission (same `Idempotency-Key`).
    pub replayed: bool,
}

impl Tasks {
    /// Starts the batching workers (they stop with the last clone).
    pub fn new(store: JobStore, broker: Arc<Broker>) -> Tasks {
        let for_inserts = store.clone();
        let inserts = Batcher::spawn(INSERT_WORKERS, INSERT_BATCH_MAX, move |drafts| {
            let store = for_inserts.clone();
            async move { insert_batch(&store, drafts).await }
        });
        let for_confirms = store.clone();
        let confirms = Batcher::spawn(1, CONFIRM_BATCH_MAX, move |ids: Vec<Uuid>| {
            let store = for_confirms.clone();
            async move {
                // The broker has these jobs; failing to note it is harmless
                // (the column only matters for the abandoned-job sweep,
                // which then publishes a duplicate the consumers ignore).
                if let Err(e) = store.mark_many_published(&ids).await {
                    tracing::warn!(
                        error = &e as &dyn std::error::Error,
                        jobs = ids.len(),
                        "could not record the confirms"
                    );
                }
                vec![(); ids.len()]
            }
        });
        Tasks {
            store,
            broker,
            inserts,
            confirms,
            finishes: Finishes::default(),
            wait_cap: MAX_WAIT,
        }
    }

    /// Waits for a job end a second before `request_timeout` at the latest
    /// (and never longer than [`MAX_WAIT`]), so that a waiting request
    /// answers with the job rather than the timeout's 503.
    pub fn with_request_timeout(mut self, request_timeout: std::time::Duration) -> Tasks {
        self.wait_cap =
            MAX_WAIT.min(request_timeout.saturating_sub(std::time::Duration::from_secs(1)));
        self
    }

    pub async fn submit(
        &self,
        case_id: &str,
        submission: &Submission,
        idempotency_key: Option<&str>,
        submitter: Option<&str>,
    ) -> Result<Accepted, TaskError> {
        let new = NewJob {
            id: Uuid::now_v7(),
            kind: submission.kind().as_str(),
            request: submission.request(),
            case_id,
            callback_url: submission.callback_url(),
            idempotency_key,
            submitter,
            book: submission.book(),
        };
        let inserted = match self.insert_coalesced(&new).await? {
            Some(job) => Inserted::Created(job),
            // The key is taken: the single-row path finds the job it names.
            None => self.store.insert(&new).await?,
        };
        let job = match inserted {
            Inserted::Created(job) => job,
            Inserted::Existing(job) => {
                if &job.request != submission.request()
                    || job.kind != submission.kind().as_str()
                    || job.callback_url.as_deref() != submission.callback_url()
                    || job.submitter.as_deref() != submitter
                    || job.book.as_ref() != submission.book()
                {
                    return Err(TaskError::Conflict(
                        "this Idempotency-Key was used for a different submission".to_owned(),
                    ));
                }
                match self.settled(job).await? {
                    Settled::Enqueued(job) => {
                        return Ok(Accepted {
                            job,
                            replayed: true,
                        });
                    }
                    Settled::Requeue(job) => job,
                    Settled::Abandoned(job) => {
                        // Publish it, but if the broker refuses, leave the
                        // row as it is (queued, unpublished) rather than
                        // mark it failed: its first submitter may yet see a
                        // confirm, and the sweep publishes it otherwise.
                        self.publish(&job).await?;
                        return Ok(Accepted {
                            job,
                            replayed: true,
                        });
                    }
                }
            }
        };
        self.enqueue(&job).await?;
        Ok(Accepted {
            job,
            replayed: false,
        })
    }

    /// An identical earlier submission, once its own submit has settled: a
    /// repeat that arrives while the first is still waiting for the
    /// broker's confirm waits for it (polling the row) instead of failing,
    /// so concurrent retries with one key all get the one job.
    async fn settled(&self, mut job: JobRecord) -> Result<Settled, TaskError> {
        // The first submit waits at most a connect, a publish and a
        // confirm timeout after storing the row; a little more and it has
        // surely given up. Counted from the row's creation, so a retry of a
        // long-dead submit does not wait for nothing.
        let patience = self.broker.timeout() * 3 + SETTLE_POLL * 10;
        let stored_for = (chrono::Utc::now() - job.created_at)
            .to_std()
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + patience.saturating_sub(stored_for);
        loop {
            // Confirmed, or already taken by a consumer (the confirm was not
            // recorded, but the broker had the message).
            if job.published_at.is_some() || job.attempts > 0 {
                return Ok(Settled::Enqueued(job));
            }
            // The first submit failed: this one enqueues the same job.
            if job.status == JobStatus::Failed && self.store.requeue_unpublished(job.id).await? {
                return Ok(Settled::Requeue(job));
            }
            // The first submitter is gone (it died between storing the job
            // and the broker's confirm): publish the job ourselves. Should
            // it merely be slow, the message is delivered twice, which the
            // consumers treat as a replay (as for the abandoned-job sweep).
            if tokio::time::Instant::now() >= deadline {
                return Ok(Settled::Abandoned(job));
            }
            tokio::time::sleep(SETTLE_POLL).await;
            job = self
                .store
                .get(job.id)
                .await?
                .ok_or_else(|| TaskError::NotFound(job.id.to_string()))?;
        }
    }

    /// Stores a job in the next insert batch; `None` if its idempotency key
    /// is taken.
    async fn insert_coalesced(&self, new: &NewJob<'_>) -> Result<Option<JobRecord>, StoreError> {
        let draft = Draft {
            id: new.id,
            kind: new.kind.to_owned(),
            request: new.request.clone(),
            case_id: new.case_id.to_owned(),
            callback_url: new.callback_url.map(str::to_owned),
            idempotency_key: new.idempotency_key.map(str::to_owned),
            submitter: new.submitter.map(str::to_owned),
            book: new.book.cloned(),
        };
        self.inserts
            .run(draft)
            .await
            .unwrap_or_else(|| Err(StoreError::Unavailable("the service is stopping".into())))
    }

    /// Publishes the job's message with a confirm; on success records it.
    async fn publish(&self, job: &JobRecord) -> Result<(), crate::broker::BrokerError> {
        let message = JobMessage::Suggestion {
            job_id: job.id,
            request: job.request.clone(),
        };
        let body = serde_json::to_vec(&message).expect("a job message is plain JSON values");
        let hdrs = headers::job_headers(&job.case_id, job.id, 1);
        self.broker.publish(&body, hdrs).await?;
        self.confirms.send(job.id).await;
        Ok(())
    }

    async fn enqueue(&self, job: &JobRecord) -> Result<(), TaskError> {
        if let Err(e) = self.publish(job).await {
            metrics::counter!(job_metrics::ENQUEUE_FAILED).increment(1);
            if let Err(db) = self.store.mark_enqueue_failed(job.id, ENQUEUE_FAILED).await {
                tracing::error!(
                    error = &db as &dyn std::error::Error,
                    job_id = %job.id,
                    "could not mark an unenqueued job failed"
                );
            }
            return Err(e.into());
        }
        metrics::counter!(job_metrics::ENQUEUED).increment(1);
        tracing::info!(job_id = %job.id, queue = self.broker.topology().main(), "job enqueued");
        Ok(())
    }

    /// Publishes jobs whose submitter stored them but died before the
    /// broker confirmed (the outbox sweep). A job published twice this way
    /// is harmless: consumers claim attempts conditionally. A job the
    /// broker still refuses is marked failed, as at submit.
    pub async fn republish_abandoned(&self, older_than: std::time::Duration) {
        let jobs = match self.store.abandoned_unpublished(older_than, 100).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::debug!(
                    error = &e as &dyn std::error::Error,
                    "abandoned-job sweep skipped"
                );
                return;
            }
        };
        for job in jobs {
            let span = tracing::info_span!("republish", case_id = %job.case_id, job_id = %job.id);
            span.in_scope(|| {
                tracing::warn!("republishing a job whose submit never got the broker's confirm");
            });
            // Instrumented, not entered: a span entered across an await
            // stays current on a thread the task has left.
            if self.enqueue(&job).instrument(span).await.is_err() {
                break;
            }
        }
    }

    /// Like [`Tasks::get`], but waits up to `wait` (at most the cap, see
    /// [`Tasks::with_request_timeout`]) for an unfinished job to finish
    /// (`store::finishes`), then answers with what the job table holds: the
    /// finished job, or its state when the wait ran out.
    pub async fn get_waiting(
        &self,
        id: Uuid,
        caller: &Caller,
        wait: std::time::Duration,
    ) -> Result<JobRecord, TaskError> {
        if wait.is_zero() {
            return self.get(id, caller).await;
        }
        // Each read checks who may read it (it never changes, but a job that
        // vanished or a refusal must end the wait at once).
        self.finishes
            .wait(id, wait.min(self.wait_cap), || self.get(id, caller))
            .await
    }

    /// A job, for `caller`: a job submitted with a token is read only with
    /// that person's token (or by a service); an anonymous one by anyone
    /// who has its id, as in the original.
    pub async fn get(&self, id: Uuid, caller: &Caller) -> Result<JobRecord, TaskError> {
        let job = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| TaskError::NotFound(id.to_string()))?;
        match (&job.submitter, caller) {
            (None, _) | (_, Caller::Service { .. }) => Ok(job),
            (Some(s), Caller::Person { email, .. }) if s == email => Ok(job),
            (Some(_), Caller::Person { .. }) => Err(TaskError::Forbidden),
            (Some(_), Caller::Anonymous) => Err(TaskError::Unauthenticated(AuthError::Required)),
        }
    }

    /// Refreshes the queue depth gauges.
    pub async fn refresh_depth(&self) {
        match self.broker.depths().await {
            Ok((main, dead)) => {
                let t = self.broker.topology();
                metrics::gauge!(job_metrics::QUEUE_DEPTH, "queue" => t.main().to_owned())
                    .set(f64::from(main));
                metrics::gauge!(job_metrics::QUEUE_DEPTH, "queue" => t.dead().to_owned())
                    .set(f64::from(dead));
            }
            Err(e) => tracing::debug!(error = %e, "queue depth unavailable"),
        }
    }
}

/// One batch of unkeyed submits: one `INSERT`.
async fn insert_batch(
    store: &JobStore,
    drafts: Vec<Draft>,
) -> Vec<Result<Option<JobRecord>, StoreError>> {
    metrics::histogram!(job_metrics::INSERT_BATCH).record(drafts.len() as f64);
    each_or_alone(&drafts, |batch| {
        // Owned (a cheap clone), so the future borrows only the batch.
        let store = store.clone();
        Box::pin(async move { store.insert_many(batch).await })
    })
    .await
}
