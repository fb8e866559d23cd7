//! The outbox relay: publishes committed domain events to the durable topic
//! exchange (`MEETING_EXCHANGE`, default `w2meet.meetings`; routing key =
//! event type) with publisher confirms, and only then deletes them from the
//! outbox.
//!
//! Why this loses nothing: an event exists only if its change committed
//! (same transaction), and leaves the outbox only after the broker
//! confirmed it. A relay claims a batch for a short lease before
//! publishing; one that dies between the commit and the publish, or
//! between the confirm and the delete, leaves the rows, and the next round
//! (this replica's, or another's once the lease lapses) publishes them
//! again. Delivery is therefore at least once, and every
//! message carries its event id (`message_id`, header `event_id`) for
//! consumers to dedupe. Each replica runs a relay; a booking wakes its own
//! replica's relay at once, and every relay also polls.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::{Mutex, Notify};
use tracing::Instrument;
use w2meet_platform::trace_context::{TRACEPARENT, TRACESTATE};

use crate::store::{MeetingStore, Pending, RelayError};

/// Events published per round.
const BATCH: i64 = 100;

/// RabbitMQ as the relay and `/health` use it.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
    #[error("message broker refused the event: {0}")]
    Rejected(String),
}

impl From<lapin::Error> for BrokerError {
    fn from(e: lapin::Error) -> Self {
        BrokerError::Unavailable(e.to_string())
    }
}

async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, lapin::Error>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(BrokerError::from),
        Err(_) => Err(BrokerError::Unavailable(format!("{what} timed out"))),
    }
}

/// Connects to `url`: `amqps://` is TLS (rustls with the ring provider),
/// the server verified against the bundled public roots and `ca_pem`.
async fn connect(url: &str, ca_pem: Option<&str>) -> Result<Connection, lapin::Error> {
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: ca_pem.map(str::to_owned),
    };
    let runtime = lapin::runtime::default_runtime()?;
    let url = w2meet_platform::env::amqp_url_with_frame_max(url);
    Connection::connect_with_config(&url, ConnectionProperties::default(), tls, runtime).await
}

/// One connection and confirm-mode channel, opened on first use and
/// reopened after a failure.
pub struct Broker {
    url: String,
    /// Extra CA (PEM) for `amqps://`.
    ca_pem: Option<String>,
    exchange: String,
    /// Bounds connecting, each publish and each confirm.
    timeout: Duration,
    link: Mutex<Option<(Connection, Channel)>>,
}

impl Broker {
    pub fn new(url: &str, ca_pem: Option<String>, exchange: &str, timeout: Duration) -> Broker {
        Broker {
            url: url.to_owned(),
            ca_pem,
            exchange: exchange.to_owned(),
            timeout,
            link: Mutex::new(None),
        }
    }

    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    async fn channel(&self) -> Result<Channel, BrokerError> {
        let mut link = self.link.lock().await;
        if let Some((conn, channel)) = link.as_ref()
            && conn.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *link = None;
        let t = self.timeout;
        let conn = within(t, "connect", connect(&self.url, self.ca_pem.as_deref())).await?;
        let channel = within(t, "open channel", conn.create_channel()).await?;
        within(
            t,
            "confirm.select",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        within(
            t,
            "declare exchange",
            channel.exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            ),
        )
        .await?;
        *link = Some((conn, channel.clone()));
        Ok(channel)
    }

    async fn reset(&self) {
        if let Some((conn, _)) = self.link.lock().await.take() {
            let _ = tokio::time::timeout(self.timeout, conn.close(320, "reset".into())).await;
        }
    }

    /// `/health` and `/readyz`: a live connection (opened if needed).
    pub async fn ping(&self) -> Result<(), BrokerError> {
        self.channel().await.map(drop)
    }

    /// Publishes every event persistently, all in flight at once, and
    /// returns when the broker has confirmed each (or the first failure).
    pub async fn publish_all(&self, events: &[Pending]) -> Result<(), BrokerError> {
        let result = self.publish_on(&self.channel().await?, events).await;
        if result.is_err() {
            self.reset().await;
        }
        result
    }

    async fn publish_on(&self, channel: &Channel, events: &[Pending]) -> Result<(), BrokerError> {
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_vec(&event.body).expect("events serialise");
            let mut headers = FieldTable::default();
            headers.insert(
                "Case-ID".into(),
                AMQPValue::LongString(LongString::from(event.case_id.as_str())),
            );
            headers.insert(
                "event_id".into(),
                AMQPValue::LongString(LongString::from(event.event_id.to_string())),
            );
            // The causing request's trace: consumers join it.
            let trace = [
                (TRACEPARENT, &event.traceparent),
                (TRACESTATE, &event.tracestate),
            ];
            for (name, value) in trace {
                if let Some(value) = value {
                    headers.insert(
                        name.into(),
                        AMQPValue::LongString(LongString::from(value.as_str())),
                    );
                }
            }
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.event_id.to_string().into())
                .with_type(event.routing_key.as_str().into())
                .with_headers(headers);
            let confirm = within(
                self.timeout,
                "publish",
                channel.basic_publish(
                    self.exchange.as_str().into(),
                    event.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    props,
                ),
            )
            .await?;
            confirms.push(confirm);
        }
        for confirm in confirms {
            match within(self.timeout, "publisher confirm", confirm).await? {
                Confirmation::Ack(_) => {}
                Confirmation::Nack(_) => return Err(BrokerError::Rejected("nack".to_owned())),
                Confirmation::NotRequested => {
                    return Err(BrokerError::Rejected(
                        "channel not in confirm mode".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The relay loop of one replica.
#[derive(Clone)]
pub struct Relay {
    pub store: MeetingStore,
    pub broker: Arc<Broker>,
    /// Rung after each commit that appended an event, so this replica's
    /// relay publishes at once instead of at its next poll.
    pub wake: Arc<Notify>,
    /// `OUTBOX_POLL_MS`: how often the outbox is checked without a wake-up
    /// (events committed by other replicas, or left by a failed round).
    pub poll: Duration,
}

impl Relay {
    /// One round: publish what is waiting; the number published.
    pub async fn round(&self) -> Result<usize, RelayError<BrokerError>> {
        let broker = self.broker.clone();
        // Long enough for a publish and its confirms (each bounded by the
        // AMQP timeout), short enough that a dead relay's claim soon lapses.
        let lease = broker.timeout * 4;
        self.store
            .relay(BATCH, lease, |events| async move {
                for e in &events {
                    let span =
                        tracing::info_span!("relay", case_id = %e.case_id, event_id = %e.event_id);
                    span.in_scope(|| {
                        tracing::info!(routing_key = %e.routing_key, "publishing domain event");
                    });
                }
                broker.publish_all(&events).await
            })
            .await
    }

    /// Relays until the process ends.
    pub async fn run_forever(self) {
        loop {
            match self
                .round()
                .instrument(tracing::debug_span!("outbox"))
                .await
            {
                Ok(n) => {
                    metrics::counter!("meeting_events_published_total").increment(n as u64);
                    if n as i64 == BATCH {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, cause = ?e, "outbox relay round failed; retrying");
                }
            }
            let _ = tokio::time::timeout(self.poll, self.wake.notified()).await;
        }
    }
}
