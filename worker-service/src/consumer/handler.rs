//! One delivery → one [`Outcome`]. All the decisions live here, with no
//! channel in sight, so they can be tested without a consumer loop; the loop
//! ([`super::settle`]) turns the outcome into ack / retry / dead-letter.
//!
//! Retry policy: suggestion-service 5xx, timeouts and refused connections
//! are transient; the attempt is recorded and the job goes to the delay
//! queue for `JOB_RETRY_BASE_MS * 2^(attempt-1)` (capped), up to
//! `JOB_MAX_ATTEMPTS`. A 404 (unknown user) or 400 will not change by
//! waiting, so the job fails at once with suggestion-service's reason.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::broker::Topology;
use crate::broker::headers::JobHeaders;
use crate::clients::{Callbacks, MeetingClient, SuggestionClient};
use crate::config::JobConfig;
use crate::consumer::booking::{BookingLog, Saga, SagaEnd};
use crate::domain::{JobKind, JobMessage};
use crate::job_metrics;
use crate::store::{Claim, JobRecord, JobStore, JobWrites, StoreError};

/// What a consumer needs to run jobs. Shared by its deliveries.
pub struct JobContext {
    pub store: JobStore,
    /// Claims and results, coalesced across this consumer's deliveries.
    pub writes: JobWrites,
    pub suggestions: SuggestionClient,
    /// meeting-service, for auto-book jobs.
    pub meetings: MeetingClient,
    pub callbacks: Callbacks,
    pub topology: Topology,
    pub policy: JobConfig,
    /// Bound on broker operations (the retry publish and its confirm).
    pub amqp_timeout: Duration,
}

/// What one delivery carried.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub body: Vec<u8>,
    pub headers: JobHeaders,
    /// Set by the broker when the message was delivered before and not
    /// acknowledged (its consumer died or gave it back).
    pub redelivered: bool,
}

impl Incoming {
    /// The attempt this delivery is for (1 when the header is missing).
    pub fn attempt(&self) -> u32 {
        self.headers.attempt.unwrap_or(1)
    }
}

/// How a delivery ended, and so what to tell the broker.
#[derive(Debug)]
pub enum Outcome {
    /// Stored as succeeded or failed: acknowledge.
    Finished(JobRecord),
    /// Stored as queued with the transient error: publish `attempt + 1` to the
    /// delay queue, then acknowledge.
    Retry { job: JobRecord, attempt: u32 },
    /// Nothing to do (finished already, or a duplicate): acknowledge.
    Skipped(&'static str),
    /// Undecodable or about no known job: reject to the dead-letter queue.
    DeadLetter(String),
    /// PostgreSQL is unavailable: give the message back to try again later.
    StoreDown(StoreError),
}

/// Runs one delivery's job: claim the attempt, call suggestion-service,
/// store the outcome.
pub async fn process(ctx: &JobContext, msg: &Incoming) -> Outcome {
    let message = match serde_json::from_slice::<JobMessage>(&msg.body) {
        Ok(m) => m,
        Err(e) => return Outcome::DeadLetter(format!("undecodable message: {e}")),
    };
    let job_id = message.job_id();
    let attempt = msg.attempt();
    let Ok(attempt_i32) = i32::try_from(attempt) else {
        return Outcome::DeadLetter(format!("attempt {attempt} out of range"));
    };
    let job = match ctx.writes.claim(job_id, attempt_i32, msg.redelivered).await {
        Err(e) => return Outcome::StoreDown(e),
        Ok(Claim::NotFound) => return Outcome::DeadLetter(format!("no job {job_id}")),
        Ok(Claim::Finished(_)) => return Outcome::Skipped("job already finished"),
        Ok(Claim::Stale) => return Outcome::Skipped("attempt already taken"),
        Ok(Claim::Claimed(job)) => *job,
    };
    tracing::info!(redelivered = msg.redelivered, "job started");
    // An auto-book job's log, after settling what a predecessor left open.
    let mut log = stored_log(&job);
    if let Some(book) = &job.book {
        match resume_booking(ctx, &job, attempt_i32, book, log).await {
            Ok(Ok(computed)) => {
                return store_outcome(ctx, &job, attempt, attempt_i32, computed).await;
            }
            Ok(Err(open)) => log = open,
            Err(e) => return Outcome::StoreDown(e),
        }
    }
    let started = Instant::now();
    let answer = ctx
        .suggestions
        .suggest(&job.case_id, &job.request, job.submitter.as_deref())
        .await;
    metrics::histogram!(job_metrics::ATTEMPT_DURATION)
        .record(job_metrics::seconds(started.elapsed()));
    let computed = match answer {
        Ok(answer) => match &job.book {
            None => Computed::Done(JobKind::from_stored(&job.kind).result_of(answer)),
            Some(book) => match book_best(ctx, &job, attempt_i32, book, log, answer).await {
                Ok(c) => c,
                Err(e) => return Outcome::StoreDown(e),
            },
        },
        Err(e) if e.is_transient() => Computed::Transient(e.to_string()),
        Err(e) => Computed::Permanent(e.to_string()),
    };
    store_outcome(ctx, &job, attempt, attempt_i32, computed).await
}

/// Stores what the attempt came to: the result, a retry, or the failure.
async fn store_outcome(
    ctx: &JobContext,
    job: &JobRecord,
    attempt: u32,
    attempt_i32: i32,
    computed: Computed,
) -> Outcome {
    let stored = match &computed {
        Computed::Done(result) => {
            ctx.writes
                .succeed(job.id, attempt_i32, result.clone())
                .await
        }
        Computed::Transient(e) if attempt < ctx.policy.max_attempts => {
            tracing::warn!(error = %e, "attempt failed; will retry");
            let reason = format!("attempt {attempt} failed: {e}; retrying");
            return match ctx.store.retry_later(job.id, attempt_i32, &reason).await {
                Ok(Some(job)) => Outcome::Retry { job, attempt },
                Ok(None) => Outcome::Skipped("job taken over by another delivery"),
                Err(e) => Outcome::StoreDown(e),
            };
        }
        Computed::Transient(e) => {
            let reason = format!("gave up after {attempt} attempts: {e}");
            ctx.store.fail(job.id, attempt_i32, &reason).await
        }
        Computed::Permanent(e) => ctx.store.fail(job.id, attempt_i32, e).await,
    };
    match stored {
        Ok(Some(job)) => {
            let outcome = match &computed {
                Computed::Done(_) => "succeeded",
                Computed::Transient(_) => "exhausted",
                Computed::Permanent(_) => "permanent",
            };
            record_finish(&job, outcome);
            Outcome::Finished(job)
        }
        Ok(None) => Outcome::Skipped("job taken over by another delivery"),
        Err(e) => Outcome::StoreDown(e),
    }
}

/// What an attempt came to, before it is stored.
enum Computed {
    /// The result to store.
    Done(serde_json::Value),
    /// Worth another attempt later.
    Transient(String),
    /// Final: the job fails with this reason.
    Permanent(String),
}

/// An auto-book job: the booking saga over the ranked suggestions; the
/// result is suggestion-service's answer plus `booking` (the meeting and
/// every try).
async fn book_best(
    ctx: &JobContext,
    job: &JobRecord,
    attempt: i32,
    book: &serde_json::Value,
    log: BookingLog,
    answer: serde_json::Value,
) -> Result<Computed, StoreError> {
    let saga = saga_of(ctx, job, book);
    let (end, log) = saga
        .run(log, &suggestions_of(&answer), recorder(ctx, job, attempt))
        .await?;
    Ok(settled(
        end,
        log,
        JobKind::from_stored(&job.kind).result_of(answer),
    ))
}

/// A redelivered auto-book job first settles the try its predecessor left
/// unfinished: `Ok` when that settles the job, else the log to go on with.
async fn resume_booking(
    ctx: &JobContext,
    job: &JobRecord,
    attempt: i32,
    book: &serde_json::Value,
    log: BookingLog,
) -> Result<Result<Computed, BookingLog>, StoreError> {
    let saga = saga_of(ctx, job, book);
    let (end, log) = saga.resume(log, recorder(ctx, job, attempt)).await?;
    let result = serde_json::json!({"case_id": job.case_id, "suggestions": []});
    Ok(match end {
        SagaEnd::Open => Err(log),
        end => Ok(settled(end, log, result)),
    })
}

fn stored_log(job: &JobRecord) -> BookingLog {
    job.booking
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn suggestions_of(answer: &serde_json::Value) -> Vec<serde_json::Value> {
    answer["suggestions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn saga_of<'a>(ctx: &'a JobContext, job: &'a JobRecord, book: &'a serde_json::Value) -> Saga<'a> {
    Saga {
        job_id: job.id,
        case_id: &job.case_id,
        submitter: job.submitter.as_deref(),
        book,
        tz: &job.request["tz"],
        meetings: &ctx.meetings,
    }
}

type Recorded<'a> = std::pin::Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;

/// Stores the saga's log for the claimed attempt; false once the job is
/// no longer this attempt's.
fn recorder<'a>(
    ctx: &'a JobContext,
    job: &'a JobRecord,
    attempt: i32,
) -> impl FnMut(BookingLog) -> Recorded<'a> {
    move |log| {
        Box::pin(async move {
            let value = serde_json::to_value(&log).expect("a log serialises");
            Ok(ctx
                .store
                .record_booking(job.id, attempt, &value)
                .await?
                .is_some())
        })
    }
}

/// The job's outcome for how the saga ended; `result` is what a booked job
/// stores, with `booking` (the meeting and every try) added.
fn settled(end: SagaEnd, log: BookingLog, mut result: serde_json::Value) -> Computed {
    match end {
        SagaEnd::Booked(meeting) => {
            result["booking"] = serde_json::json!({
                "meeting": meeting,
                "attempts": log.attempts,
            });
            Computed::Done(result)
        }
        SagaEnd::Failed(reason) => Computed::Permanent(reason),
        SagaEnd::Transient(reason) => Computed::Transient(reason),
        SagaEnd::Open => {
            Computed::Permanent("the booking saga ended without an outcome".to_owned())
        }
    }
}

fn record_finish(job: &JobRecord, outcome: &'static str) {
    let latency = (Utc::now() - job.created_at).to_std().unwrap_or_default();
    metrics::histogram!(job_metrics::LATENCY, "outcome" => if outcome == "succeeded" { "succeeded" } else { "failed" })
        .record(job_metrics::seconds(latency));
    if outcome == "succeeded" {
        metrics::counter!(job_metrics::SUCCEEDED).increment(1);
        tracing::info!(
            status = "succeeded",
            latency_ms = latency.as_millis() as u64,
            "job succeeded"
        );
    } else {
        metrics::counter!(job_metrics::FAILED, "reason" => outcome).increment(1);
        tracing::warn!(
            status = "failed",
            reason = outcome,
            error = job.error.as_deref().unwrap_or(""),
            latency_ms = latency.as_millis() as u64,
            "job failed"
        );
    }
}
