//! The consume loop: competing consumers on the job queue.
//!
//! - Bounded prefetch (`PREFETCH`): the broker sends at most that many
//!   unacknowledged jobs to this consumer; each runs in a task of its own,
//!   inside a `job` span with `case_id`, `job_id` and `attempt` from the
//!   message headers.
//! - Ack after the outcome is stored ([`handler::process`]), so a consumer
//!   killed mid-job leaves the message unacknowledged and the broker
//!   redelivers it to another consumer.
//! - On a connection or channel error (the broker restarted, say) in-flight
//!   jobs get one broker timeout (`AMQP_TIMEOUT_MS`) to finish — their
//!   acks cannot arrive any more, so the broker redelivers them whatever
//!   happens, and the store makes the repeat harmless — and are then
//!   abandoned; the loop reconnects with capped exponential backoff (reset
//!   by every session that got going) and consumes again. A job stuck in a
//!   slow call therefore never keeps a consumer off a broker that is back.
//! - Every acknowledgement is bounded by the same timeout: an ack on a
//!   connection that died under it gives up instead of waiting forever.
//! - On shutdown it cancels the consumer (no new deliveries), waits for the
//!   in-flight jobs to be stored and acknowledged, then closes.

pub mod booking;
pub mod handler;

use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, message::Delivery};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::broker::{self, BrokerError, headers};
use crate::config::AmqpConfig;
use crate::job_metrics;
pub use handler::{Incoming, JobContext, Outcome, process};

/// How long to wait before giving a message back when PostgreSQL is down
/// (an immediate requeue would spin).
const STORE_DOWN_PAUSE: Duration = Duration::from_secs(1);

/// A consumer of one job queue.
pub struct Consumer {
    ctx: Arc<JobContext>,
    amqp: AmqpConfig,
    tag: String,
}

enum Ended {
    /// Asked to stop; in-flight jobs are done.
    Stopped,
}

/// A session that ended on a broker error.
struct Lost {
    error: BrokerError,
    /// Whether it got as far as consuming (a reconnect then starts its
    /// backoff afresh).
    consumed: bool,
}

impl Consumer {
    pub fn new(ctx: JobContext, amqp: AmqpConfig, instance: &str) -> Consumer {
        Consumer {
            ctx: Arc::new(ctx),
            amqp,
            tag: format!("{instance}-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Consumes until `stop` turns true, reconnecting as needed.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut pause = Duration::from_millis(100);
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            match self.session(&mut stop).await {
                Ok(Ended::Stopped) => {
                    tracing::info!("consumer stopped; in-flight jobs finished");
                    return;
                }
                Err(Lost { error: e, consumed }) => {
                    if consumed {
                        // This outage starts its backoff afresh.
                        pause = Duration::from_millis(100);
                    }
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        queue = self.ctx.topology.main(),
                        "consumer disconnected; reconnecting"
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                () = stopped(&mut stop) => return,
            }
            pause = (pause * 2).min(self.amqp.reconnect_max);
        }
    }

    /// One connection's worth of consuming.
    async fn session(&self, stop: &mut watch::Receiver<bool>) -> Result<Ended, Lost> {
        let timeout = self.amqp.timeout;
        let before_consuming = |error| Lost {
            error,
            consumed: false,
        };
        let ca_pem = self.amqp.ca_pem.as_deref();
        let (conn, channel) = broker::open(&self.amqp.url, ca_pem, &self.ctx.topology, timeout)
            .await
            .map_err(before_consuming)?;
        broker::within(
            timeout,
            "basic.qos",
            channel.basic_qos(self.amqp.prefetch, BasicQosOptions::default()),
        )
        .await
        .map_err(before_consuming)?;
        let mut deliveries = broker::within(
            timeout,
            "basic.consume",
            channel.basic_consume(
                self.ctx.topology.main().into(),
                self.tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await
        .map_err(before_consuming)?;
        tracing::info!(
            queue = self.ctx.topology.main(),
            prefetch = self.amqp.prefetch,
            "consuming"
        );
        let mut in_flight = JoinSet::new();
        let ended = loop {
            tokio::select! {
                () = stopped(stop) => {
                    let _ = broker::within(timeout, "basic.cancel", channel.basic_cancel(
                        self.tag.as_str().into(), BasicCancelOptions::default())).await;
                    break Ok(Ended::Stopped);
                }
                next = deliveries.next() => match next {
                    Some(Ok(delivery)) => {
                        let ctx = self.ctx.clone();
                        let channel = channel.clone();
                        in_flight.spawn(handle(ctx, channel, delivery));
                    }
                    Some(Err(e)) => break Err(BrokerError::from(e)),
                    None => break Err(BrokerError::Unavailable("the consumer was cancelled".to_owned())),
                },
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        };
        match ended {
            Ok(Ended::Stopped) => {
                // A clean stop: the channel is alive, so every job started
                // finishes and is acknowledged (each step is bounded).
                while in_flight.join_next().await.is_some() {}
                let _ = tokio::time::timeout(timeout, channel.close(200, "shutdown".into())).await;
                let _ = tokio::time::timeout(timeout, conn.close(200, "shutdown".into())).await;
                Ok(Ended::Stopped)
            }
            Err(error) => {
                let drained = tokio::time::timeout(timeout, async {
                    while in_flight.join_next().await.is_some() {}
                })
                .await;
                if drained.is_err() {
                    tracing::warn!(
                        abandoned = in_flight.len(),
                        "jobs still running on a lost connection abandoned; the broker redelivers them"
                    );
                    in_flight.shutdown().await;
                }
                Err(Lost {
                    error,
                    consumed: true,
                })
            }
        }
    }
}

/// Completes once `stop` turns true (or its sender is gone). The guard
/// `wait_for` returns is dropped here: it must not live across an await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs one delivery inside its job span and settles it with the broker.
async fn handle(ctx: Arc<JobContext>, channel: Channel, delivery: Delivery) {
    // A job is this process's request: a load of them is trimmed after it.
    w2meet_platform::memory::note_request();
    let incoming = Incoming {
        body: delivery.data.clone(),
        headers: headers::JobHeaders::read(delivery.properties.headers().as_ref()),
        redelivered: delivery.redelivered,
    };
    let span = tracing::info_span!(
        "job",
        case_id = incoming.headers.case_id.as_deref().unwrap_or(""),
        job_id = incoming.headers.job_id.as_deref().unwrap_or(""),
        attempt = incoming.attempt(),
        queue = ctx.topology.main(),
    );
    w2meet_platform::trace_context::adopt(
        &span,
        incoming.headers.traceparent.as_deref(),
        incoming.headers.tracestate.as_deref(),
    );
    async move {
        let outcome = process(&ctx, &incoming).await;
        settle(&ctx, &channel, &delivery, &incoming, outcome).await;
    }
    .instrument(span)
    .await
}

/// Tells the broker how a delivery ended. A failure here (the channel died)
/// leaves the message unacknowledged: the broker redelivers it, and the
/// store's conditional updates make the repeat harmless.
pub async fn settle(
    ctx: &JobContext,
    channel: &Channel,
    delivery: &Delivery,
    incoming: &Incoming,
    outcome: Outcome,
) {
    let limit = ctx.amqp_timeout;
    let ack = || answer(limit, "basic.ack", delivery.ack(BasicAckOptions::default()));
    let give_back = || {
        answer(
            limit,
            "basic.nack",
            delivery.nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            }),
        )
    };
    match outcome {
        Outcome::Finished(job) => {
            ack().await;
            if let Some(url) = job.callback_url.clone() {
                ctx.callbacks.spawn(url, job.view());
            }
        }
        Outcome::Retry { job, attempt } => {
            let queue = ctx.topology.retry_queue(attempt);
            let hdrs = headers::job_headers(&job.case_id, job.id, attempt + 1);
            match broker::publish_confirmed(channel, &queue, &incoming.body, hdrs, ctx.amqp_timeout)
                .await
            {
                Ok(()) => {
                    metrics::counter!(job_metrics::RETRIED).increment(1);
                    tracing::info!(retry_queue = %queue, next_attempt = attempt + 1, "retry scheduled");
                    ack().await;
                }
                Err(e) => {
                    // Not acknowledged: the broker redelivers this attempt.
                    tracing::warn!(error = %e, "could not schedule the retry");
                    give_back().await;
                }
            }
        }
        Outcome::Skipped(why) => {
            metrics::counter!(job_metrics::DUPLICATES).increment(1);
            tracing::info!(reason = why, "delivery skipped");
            ack().await;
        }
        Outcome::DeadLetter(why) => {
            metrics::counter!(job_metrics::DEAD_LETTERED).increment(1);
            tracing::error!(reason = %why, dead_letter_queue = ctx.topology.dead(), "message dead-lettered");
            answer(
                limit,
                "basic.reject",
                delivery.reject(BasicRejectOptions { requeue: false }),
            )
            .await;
        }
        Outcome::StoreDown(e) => {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "job store unavailable; message returned"
            );
            tokio::time::sleep(STORE_DOWN_PAUSE).await;
            give_back().await;
        }
    }
}

/// Sends an ack, nack or reject, bounded by `limit`: on a connection that
/// died under it, it gives up (the broker redelivers the message) instead
/// of waiting forever.
async fn answer<T>(
    limit: Duration,
    what: &'static str,
    sent: impl Future<Output = Result<T, lapin::Error>>,
) {
    if let Err(e) = broker::within(limit, what, sent).await {
        tracing::warn!(error = %e, "{what} failed; the message will be redelivered");
    }
}
