//! Change events: after every committed write that can change when people
//! are free — a profile created, replaced or deleted, overrides set, busy
//! time applied from a meeting event — `user.changed` is published to the
//! durable topic exchange `USER_EXCHANGE` (default `w2meet.users`), so
//! other services (worker-service's watches, SPEC §10) can re-evaluate
//! without polling.
//!
//! # Guarantees, and why they are enough
//! Publishing is off the request path: once a write's cached entries are
//! dropped (so a consumer that reacts at once reads the new data), it hands
//! its emails to a bounded channel and returns. One task drains the
//! channel, coalescing whatever is waiting into one message (a burst of 100
//! writes becomes a few messages), and publishes it persistently with a
//! publisher confirm, retrying the same batch after a broker outage. A change is therefore
//! lost only if this process dies between the commit and the confirm, or
//! the channel is full (counted in `user_change_events_total{result=
//! "dropped"}`): consumers must treat events as hints and re-check now and
//! then (worker-service sweeps every watch every `WATCH_SWEEP_SECONDS`).
//! The message names people, never their data: consumers read the current
//! state from this service.
//!
//! Message (JSON): `{"type":"user.changed","event_id":UUID,"emails":[…]}`,
//! routing key `user.changed`, the writing request's `traceparent` as a
//! header (the consumer joins that trace).

use std::collections::BTreeSet;
use std::time::Duration;

use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use tokio::sync::mpsc;
use uuid::Uuid;

/// The routing key of every change event.
pub const ROUTING_KEY: &str = "user.changed";
/// Changes waiting to be published; past this, new ones are dropped (and
/// counted).
const CHANNEL_CAPACITY: usize = 4096;
/// Most emails in one message (a batch read's size).
const MAX_EMAILS_PER_EVENT: usize = 1000;

/// Where change events go.
#[derive(Debug, Clone)]
pub struct ChangesConfig {
    /// `AMQP_URL`.
    pub url: String,
    /// `USER_EXCHANGE`, default `w2meet.users`.
    pub exchange: String,
    /// `AMQP_RECONNECT_MAX_MS`: the longest pause between reconnects.
    pub reconnect_max: Duration,
    /// `TLS_CA_FILE` (PEM text), for `amqps://`.
    pub ca_pem: Option<String>,
}

/// One write's changed people and the trace it belongs to.
#[derive(Debug)]
struct Change {
    emails: Vec<String>,
    traceparent: Option<String>,
}

/// The write side's handle: cheap to clone; does nothing when off.
#[derive(Clone, Debug, Default)]
pub struct ChangeFeed {
    tx: Option<mpsc::Sender<Change>>,
}

impl ChangeFeed {
    /// A feed and the task that publishes it.
    pub fn start(config: ChangesConfig) -> (ChangeFeed, impl Future<Output = ()> + Send) {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        (ChangeFeed { tx: Some(tx) }, publish_forever(rx, config))
    }

    /// Says that these people's schedules changed (never waits).
    pub fn notify(&self, emails: &[&str]) {
        let Some(tx) = &self.tx else { return };
        if emails.is_empty() {
            return;
        }
        let traceparent = w2meet_platform::trace_context::current_headers()
            .into_iter()
            .find(|(name, _)| *name == w2meet_platform::trace_context::TRACEPARENT)
            .map(|(_, value)| value);
        let change = Change {
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            traceparent,
        };
        if tx.try_send(change).is_err() {
            metrics::counter!("user_change_events_total", "result" => "dropped").increment(1);
            tracing::warn!("change event dropped: the publisher is behind");
        }
    }
}

/// Publishes until the process ends, reconnecting with backoff; a batch
/// that was not confirmed is sent again on the next connection.
async fn publish_forever(mut rx: mpsc::Receiver<Change>, config: ChangesConfig) {
    let mut pending: Option<(BTreeSet<String>, Option<String>)> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        match publish(&mut rx, &config, &mut pending).await {
            Ok(()) => return, // every sender is gone: the process is ending
            Err(e) => {
                tracing::warn!(error = %e, exchange = %config.exchange, "change events: broker link lost; reconnecting");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(config.reconnect_max);
    }
}

async fn publish(
    rx: &mut mpsc::Receiver<Change>,
    config: &ChangesConfig,
    pending: &mut Option<(BTreeSet<String>, Option<String>)>,
) -> Result<(), lapin::Error> {
    let (_conn, channel) =
        crate::events::topic_channel(&config.url, config.ca_pem.clone(), &config.exchange).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    loop {
        if pending.is_none() {
            let Some(first) = rx.recv().await else {
                return Ok(());
            };
            *pending = Some(coalesce(first, rx));
        }
        let Some((emails, traceparent)) = pending.as_ref() else {
            continue;
        };
        let body = serde_json::json!({
            "type": ROUTING_KEY,
            "event_id": Uuid::new_v4(),
            "emails": emails,
        });
        let mut headers = FieldTable::default();
        if let Some(tp) = traceparent {
            headers.insert(
                ShortString::from(w2meet_platform::trace_context::TRACEPARENT),
                AMQPValue::LongString(tp.as_str().into()),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_headers(headers);
        let confirm = channel
            .basic_publish(
                config.exchange.as_str().into(),
                ROUTING_KEY.into(),
                BasicPublishOptions::default(),
                body.to_string().as_bytes(),
                properties,
            )
            .await?
            .await?;
        if confirm.is_ack() {
            metrics::counter!("user_change_events_total", "result" => "published").increment(1);
            tracing::debug!(people = emails.len(), "change event published");
            *pending = None;
        } else {
            tracing::warn!("change event not confirmed; sending it again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `first` and whatever else is already waiting, as one set of people; it
/// stops taking more once it holds [`MAX_EMAILS_PER_EVENT`] (so a message
/// names at most that plus one write's people; the rest waits for the next
/// message).
fn coalesce(first: Change, rx: &mut mpsc::Receiver<Change>) -> (BTreeSet<String>, Option<String>) {
    let traceparent = first.traceparent;
    let mut emails: BTreeSet<String> = first.emails.into_iter().collect();
    while emails.len() < MAX_EMAILS_PER_EVENT {
        match rx.try_recv() {
            Ok(next) => emails.extend(next.emails),
            Err(_) => break,
        }
    }
    (emails, traceparent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_changes_become_one_set_of_people() {
        let (tx, mut rx) = mpsc::channel(8);
        for emails in [vec!["b@x.io"], vec!["a@x.io", "b@x.io"], vec!["c@x.io"]] {
            tx.send(Change {
                emails: emails.into_iter().map(str::to_owned).collect(),
                traceparent: None,
            })
            .await
            .unwrap();
        }
        let first = rx.recv().await.unwrap();
        let (emails, _) = coalesce(first, &mut rx);
        assert_eq!(
            emails.into_iter().collect::<Vec<_>>(),
            ["a@x.io", "b@x.io", "c@x.io"]
        );
    }

    #[test]
    fn a_feed_that_is_off_accepts_and_drops_everything() {
        ChangeFeed::default().notify(&["a@x.io"]);
    }
}
