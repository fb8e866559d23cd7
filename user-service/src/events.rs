//! Booked time from meeting-service (SPEC §7): a consumer of its domain
//! events that keeps each person's busy time.
//!
//! Every replica consumes the one durable queue (`MEETING_EVENTS_QUEUE`,
//! bound to every routing key of `MEETING_EXCHANGE`): competing consumers.
//! Each event carries the meeting's whole state after the change (its time
//! and `holders`, whose time it holds), so applying one is "make the busy
//! rows of this meeting say this" — and applying it only if its `seq` is
//! newer than the last applied for the meeting makes a redelivered or
//! late event a no-op (idempotent by event, whatever the order). The
//! cached entries of everyone whose busy time changed are dropped before
//! the message is acknowledged, so once a booking's event is consumed no
//! read serves the old free time. A message that is not an event is
//! logged and dropped; one that cannot be applied now (PostgreSQL down) is
//! requeued.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde::Deserialize;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::EventsConfig;
use crate::service::Users;

/// What this service reads of a meeting event.
#[derive(Debug, Deserialize)]
pub struct MeetingEvent {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub meeting_id: Uuid,
    pub seq: i32,
    #[serde(default)]
    pub case_id: String,
    pub meeting: EventMeeting,
}

#[derive(Debug, Deserialize)]
pub struct EventMeeting {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub holders: Vec<String>,
}

/// Applies one event; whether it changed anything.
pub async fn apply(users: &Users, event: &MeetingEvent) -> Result<bool, crate::error::UserError> {
    users
        .apply_meeting(
            event.meeting_id,
            event.seq,
            (event.meeting.start, event.meeting.end),
            &event.meeting.holders,
        )
        .await
}

/// Consumes until the process ends, reconnecting with backoff.
pub async fn consume_forever(users: Users, config: EventsConfig) {
    let mut pause = Duration::from_millis(100);
    loop {
        match consume(&users, &config).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, queue = %config.queue, "meeting events: broker link lost; reconnecting");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(config.reconnect_max);
    }
}

/// A connection to `url` and a channel on it, with the durable topic
/// exchange `exchange` declared: what this service's consumer (here) and
/// publisher (`changes`) both start from. `amqps://` is TLS (rustls with
/// the ring provider), the server verified against the bundled public
/// roots and `ca_pem`. Keep the connection as long as the channel.
pub(crate) async fn topic_channel(
    url: &str,
    ca_pem: Option<String>,
    exchange: &str,
) -> Result<(Connection, Channel), lapin::Error> {
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: ca_pem,
    };
    let runtime = lapin::runtime::default_runtime()?;
    let url = w2meet_platform::env::amqp_url_with_frame_max(url);
    let conn = Connection::connect_with_config(&url, ConnectionProperties::default(), tls, runtime)
        .await?;
    let channel = conn.create_channel().await?;
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((conn, channel))
}

async fn consume(users: &Users, config: &EventsConfig) -> Result<(), lapin::Error> {
    let (_conn, channel) =
        topic_channel(&config.url, config.ca_pem.clone(), &config.exchange).await?;
    channel.basic_qos(16, BasicQosOptions::default()).await?;
    channel
        .queue_declare(
            config.queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            config.queue.as_str().into(),
            config.exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut deliveries = channel
        .basic_consume(
            config.queue.as_str().into(),
            "user-service".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %config.queue, exchange = %config.exchange, "consuming meeting events");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        let event: MeetingEvent = match serde_json::from_slice(&delivery.data) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "not a meeting event; dropped");
                delivery
                    .nack(BasicNackOptions {
                        requeue: false,
                        ..BasicNackOptions::default()
                    })
                    .await?;
                continue;
            }
        };
        let span = tracing::info_span!("meeting_event", case_id = %event.case_id, event_id = %event.event_id);
        // The event joins the trace of the request that caused it.
        let header = |name: &str| {
            delivery.properties.headers().as_ref().and_then(|table| {
                table.inner().iter().find_map(|(k, v)| match v {
                    AMQPValue::LongString(s) if k.as_str() == name => {
                        std::str::from_utf8(s.as_bytes()).ok()
                    }
                    _ => None,
                })
            })
        };
        w2meet_platform::trace_context::adopt(
            &span,
            header(w2meet_platform::trace_context::TRACEPARENT),
            header(w2meet_platform::trace_context::TRACESTATE),
        );
        let outcome = apply(users, &event).instrument(span.clone()).await;
        // Logged in the event's span, never entered across an await: a
        // guard held over one would leave the span current on a thread the
        // task has left (and tracing panics on a closed span there later).
        match outcome {
            Ok(changed) => {
                span.in_scope(|| {
                    tracing::info!(
                        event_type = %event.kind,
                        meeting_id = %event.meeting_id,
                        seq = event.seq,
                        changed,
                        "meeting event applied to busy time"
                    );
                });
                delivery.ack(BasicAckOptions::default()).await?;
            }
            Err(e) => {
                span.in_scope(|| tracing::warn!(error = %e, "meeting event not applied; requeued"));
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await?;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok(())
}
