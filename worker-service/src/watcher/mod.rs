//! Watches off the request path (SPEC §10): change events mark watches
//! dirty ([`changes`]); the evaluator re-ranks each dirty watch once its
//! burst of changes has settled and stores the event a change of outcome
//! makes; the deliverer POSTs events, signed, in order per watch, retrying
//! with backoff; a slow sweep marks every live watch dirty now and then, so
//! a lost change event delays an event but never loses it. The store's
//! leases (`store::watches`) let every consumer process run all of this at
//! once without evaluating or delivering anything twice at the same time.

pub mod changes;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::Instrument;
use uuid::Uuid;

use crate::clients::{SuggestionClient, SuggestionError, Webhooks};
use crate::config::WatchConfig;
use crate::domain::watch::{Outcome, event_body, request_as_of, transition};
use crate::store::WatchStore;
use crate::store::watches::{Delivery, DeliveryResult, WatchRecord};

/// Watches claimed per evaluation round.
const BATCH: i64 = 32;
/// Webhook deliveries in flight at once per process.
const DELIVERIES_IN_FLIGHT: usize = 64;
/// The shortest claim an evaluator or a delivery holds (longer when a
/// suggestion call or a webhook may take longer: see [`Watcher::new`]).
const MIN_LEASE: Duration = Duration::from_secs(30);
/// The slowest the loops poll for work other processes made.
const POLL: Duration = Duration::from_secs(1);
/// Before a failed evaluation is tried again.
const EVALUATION_RETRY: Duration = Duration::from_secs(2);

/// The evaluator, the deliverer and what they share. Cheap to clone.
#[derive(Clone)]
pub struct Watcher {
    pub store: WatchStore,
    pub suggestions: SuggestionClient,
    pub webhooks: Webhooks,
    pub cfg: WatchConfig,
    /// How long a claim lasts: twice the longest call made under it, at
    /// least [`MIN_LEASE`], so a claim never runs out mid-call.
    lease: Duration,
    /// The broker the change events come from, and its extra CA.
    amqp_url: String,
    amqp_ca: Option<String>,
    /// Rung when changes mark watches dirty.
    dirty: Arc<Notify>,
    /// Rung when an evaluation stores an event.
    due: Arc<Notify>,
}

impl Watcher {
    /// `longest_call`: the suggestion client's timeout (the webhook's is in
    /// `cfg`).
    pub fn new(
        store: WatchStore,
        suggestions: SuggestionClient,
        webhooks: Webhooks,
        cfg: WatchConfig,
        amqp: &crate::config::AmqpConfig,
        longest_call: Duration,
    ) -> Watcher {
        let lease = (2 * longest_call.max(cfg.webhook_timeout)).max(MIN_LEASE);
        Watcher {
            lease,
            store,
            suggestions,
            webhooks,
            cfg,
            amqp_url: amqp.url.clone(),
            amqp_ca: amqp.ca_pem.clone(),
            dirty: Arc::default(),
            due: Arc::default(),
        }
    }

    /// Runs every part until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let parts = [
            tokio::spawn(changes::consume_forever(self.clone())),
            tokio::spawn(self.clone().evaluate_forever()),
            tokio::spawn(self.clone().deliver_forever()),
            tokio::spawn(self.clone().sweep_forever()),
        ];
        let mut stop = stop;
        let _ = stop.wait_for(|s| *s).await;
        for part in parts {
            part.abort();
        }
    }

    /// Marks the watches of `emails` dirty and wakes the evaluator.
    pub async fn changed(&self, emails: &[String]) -> Result<u64, crate::store::StoreError> {
        let marked = self.store.mark_dirty(emails).await?;
        if marked > 0 {
            self.dirty.notify_one();
        }
        Ok(marked)
    }

    async fn evaluate_forever(self) {
        loop {
            let evaluated = self.evaluate_due().await;
            if evaluated == 0 {
                let _ = tokio::time::timeout(POLL, self.dirty.notified()).await;
                // Let the burst settle: everything it marks is claimed
                // together after the coalescing window.
                tokio::time::sleep(self.cfg.coalesce).await;
            }
        }
    }

    /// One round: claims settled dirty watches and evaluates them
    /// concurrently; how many.
    pub async fn evaluate_due(&self) -> usize {
        let lease = Uuid::new_v4();
        let claimed = match self
            .store
            .claim_dirty(self.cfg.coalesce, self.lease, lease, BATCH)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "watches: claiming dirty watches failed");
                tokio::time::sleep(POLL).await;
                return 0;
            }
        };
        let n = claimed.len();
        let rounds = claimed.into_iter().map(|w| {
            let this = self.clone();
            let span =
                tracing::info_span!("watch_evaluation", case_id = %w.case_id, watch_id = %w.id);
            async move { this.evaluate(&w, lease).await }.instrument(span)
        });
        futures::future::join_all(rounds).await;
        n
    }

    /// Re-ranks one watch (claimed under `lease`) and stores the outcome
    /// (and its event).
    async fn evaluate(&self, w: &WatchRecord, lease: Uuid) {
        let started = std::time::Instant::now();
        // Only meetings that can still happen: days already over are left
        // out (a window wholly over means the watch has just expired).
        let answer = match request_as_of(&w.request, Utc::now()) {
            Some(request) => {
                self.suggestions
                    .suggest(&w.case_id, &request, w.owner.as_deref())
                    .await
            }
            None => Err(SuggestionError::Rejected {
                status: 400,
                msg: "the window is over".into(),
            }),
        };
        let after = match answer.map(|a| Outcome::of_answer(&a)) {
            Ok(Some(outcome)) => outcome,
            // A member was deleted: this group can no longer meet.
            Err(SuggestionError::NotFound(_)) => Outcome::default(),
            Ok(None) | Err(_) => {
                tracing::warn!("watch evaluation failed; tried again shortly");
                metrics::counter!("watch_evaluations_total", "result" => "failed").increment(1);
                self.release(w.id, lease).await;
                return;
            }
        };
        let kind = transition(&w.outcome, &after);
        let seq = w.seq + 1;
        let event = kind.map(|k| {
            let event_id = Uuid::new_v4();
            let body = event_body(event_id, w.id, seq, k, &w.outcome, &after, Utc::now());
            (k, event_id, body)
        });
        let saved = self
            .store
            .save_outcome(
                w.id,
                lease,
                w.seq,
                &after,
                event.as_ref().map(|(k, id, b)| (*k, *id, b)),
            )
            .await;
        metrics::counter!("watch_evaluations_total", "result" => "done").increment(1);
        metrics::histogram!("watch_evaluation_seconds").record(started.elapsed().as_secs_f64());
        match (saved, kind) {
            (Ok(true), Some(kind)) => {
                tracing::info!(event_type = kind.as_str(), seq, "watch event stored");
                metrics::counter!("watch_events_total", "type" => kind.as_str()).increment(1);
                self.due.notify_one();
            }
            (Ok(true), None) => tracing::debug!("watch evaluated: no change"),
            (Ok(false), _) => {
                tracing::warn!("watch lease lost; evaluated again");
                if let Err(e) = self.store.mark_one_dirty(w.id).await {
                    tracing::warn!(error = %e, "watch not marked");
                }
            }
            (Err(e), _) => {
                tracing::warn!(error = %e, "watch outcome not stored; tried again shortly");
                self.release(w.id, lease).await;
            }
        }
    }

    /// Gives a watch back, dirty, after a failed evaluation.
    async fn release(&self, id: Uuid, lease: Uuid) {
        if let Err(e) = self.store.release_dirty(id, lease, EVALUATION_RETRY).await {
            tracing::warn!(error = %e, "watch not released; the sweep will find it");
        }
    }

    /// Delivers continuously, up to [`DELIVERIES_IN_FLIGHT`] at once: a
    /// slow receiver holds one slot per event in flight (at most one per
    /// watch), never a whole round of other watches' events.
    async fn deliver_forever(self) {
        let slots = Arc::new(Semaphore::new(DELIVERIES_IN_FLIGHT));
        loop {
            let free = slots.available_permits();
            if free == 0 {
                // Wait for a delivery to end.
                drop(slots.clone().acquire_owned().await);
                continue;
            }
            let lease = Uuid::new_v4();
            let claimed = match self
                .store
                .claim_deliveries(self.lease, lease, free as i64)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "watches: claiming deliveries failed");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let _ = tokio::time::timeout(POLL, self.due.notified()).await;
                continue;
            }
            for d in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let this = self.clone();
                let span = tracing::info_span!("watch_delivery", case_id = %d.case_id, watch_id = %d.watch_id, event_id = %d.event_id);
                tokio::spawn(
                    async move {
                        this.deliver(&d).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
    }

    async fn deliver(&self, d: &Delivery) {
        let result = self.webhooks.post(d).await;
        let outcome = match &result {
            Ok(()) => {
                tracing::info!(attempt = d.attempt, seq = d.seq, "watch event delivered");
                metrics::counter!("watch_deliveries_total", "result" => "delivered").increment(1);
                DeliveryResult::Delivered
            }
            Err(error) if d.attempt >= self.cfg.max_attempts => {
                tracing::error!(attempt = d.attempt, error, "watch event given up");
                metrics::counter!("watch_deliveries_total", "result" => "given_up").increment(1);
                DeliveryResult::GivenUp { error }
            }
            Err(error) => {
                let after = self.cfg.retry_delay(d.attempt);
                tracing::warn!(
                    attempt = d.attempt,
                    error,
                    retry_ms = after.as_millis() as u64,
                    "watch event not delivered; retrying"
                );
                metrics::counter!("watch_deliveries_total", "result" => "retried").increment(1);
                DeliveryResult::Retry { after, error }
            }
        };
        if let Err(e) = self
            .store
            .finish_delivery(d.event_id, d.lease, outcome)
            .await
        {
            tracing::warn!(error = %e, "delivery state not stored; the event is sent again after its lease");
        }
        // The watch's next event may be due now (or a slot is free).
        self.due.notify_one();
    }

    async fn sweep_forever(self) {
        loop {
            tokio::time::sleep(self.cfg.sweep_every).await;
            match self.store.mark_all_dirty().await {
                Ok(n) if n > 0 => {
                    tracing::info!(watches = n, "watch sweep");
                    self.dirty.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "watch sweep failed"),
            }
        }
    }
}
