//! The job metrics, named in one place (Prometheus text at `/metrics`):
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `jobs_enqueued_total` | counter | submissions the broker confirmed |
//! | `jobs_enqueue_failed_total` | counter | submissions answered 503 |
//! | `jobs_succeeded_total` | counter | jobs stored as succeeded |
//! | `jobs_failed_total{reason}` | counter | `permanent` or `exhausted` |
//! | `jobs_retried_total` | counter | attempts sent to a delay queue |
//! | `jobs_dead_lettered_total` | counter | undecodable messages |
//! | `jobs_duplicate_deliveries_total` | counter | deliveries with nothing to do |
//! | `jobs_queue_depth{queue}` | gauge | ready messages (main and `.dead`) |
//! | `job_latency_seconds{outcome}` | histogram | submission → final state |
//! | `job_attempt_duration_seconds` | histogram | one attempt's work |

use std::time::Duration;

pub const ENQUEUED: &str = "jobs_enqueued_total";
pub const ENQUEUE_FAILED: &str = "jobs_enqueue_failed_total";
pub const SUCCEEDED: &str = "jobs_succeeded_total";
pub const FAILED: &str = "jobs_failed_total";
pub const RETRIED: &str = "jobs_retried_total";
pub const DEAD_LETTERED: &str = "jobs_dead_lettered_total";
pub const DUPLICATES: &str = "jobs_duplicate_deliveries_total";
pub const QUEUE_DEPTH: &str = "jobs_queue_depth";
pub const LATENCY: &str = "job_latency_seconds";
pub const ATTEMPT_DURATION: &str = "job_attempt_duration_seconds";
pub const INSERT_BATCH: &str = "job_insert_batch_size";

/// Registers descriptions so `/metrics` lists the series before the first
/// job (dashboards and tests can find a zero).
pub fn describe() {
    for (name, help) in [
        (ENQUEUED, "Jobs the broker confirmed"),
        (
            ENQUEUE_FAILED,
            "Submissions refused because the broker was unavailable",
        ),
        (SUCCEEDED, "Jobs stored as succeeded"),
        (FAILED, "Jobs stored as failed"),
        (RETRIED, "Attempts scheduled for a retry"),
        (
            DEAD_LETTERED,
            "Undecodable messages moved to the dead-letter queue",
        ),
        (DUPLICATES, "Deliveries of jobs already finished or taken"),
    ] {
        metrics::describe_counter!(name, help);
        metrics::counter!(name).absolute(0);
    }
    metrics::describe_gauge!(QUEUE_DEPTH, "Ready messages in the job queues");
    metrics::describe_histogram!(LATENCY, metrics::Unit::Seconds, "Submission to final state");
    metrics::describe_histogram!(
        ATTEMPT_DURATION,
        metrics::Unit::Seconds,
        "Duration of one attempt"
    );
    metrics::describe_histogram!(INSERT_BATCH, "Submissions stored by one INSERT (coalesced)");
}

pub fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
