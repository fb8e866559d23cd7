//! user-service's change events (`user.changed`, see its `changes`
//! module) → dirty watches. Every consumer process consumes the one
//! durable queue bound to `USER_EXCHANGE` (competing consumers); a message
//! is acknowledged once the watches of its people are marked, and
//! requeued when PostgreSQL cannot mark them now. Marking is idempotent, so
//! a redelivered message costs nothing but a query.

use std::time::Duration;

use futures_lite::StreamExt;
use lapin::ExchangeKind;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use serde::Deserialize;
use tracing::Instrument;

use super::Watcher;

/// What this service reads of a change event.
#[derive(Debug, Deserialize)]
struct ChangeEvent {
    #[serde(default)]
    event_id: Option<uuid::Uuid>,
    emails: Vec<String>,
}

/// Consumes until aborted, reconnecting with capped backoff.
pub async fn consume_forever(watcher: Watcher) {
    let mut pause = Duration::from_millis(100);
    loop {
        if let Err(e) = consume(&watcher).await {
            tracing::warn!(error = %e, queue = %watcher.cfg.queue, "change events: broker link lost; reconnecting");
        } else {
            pause = Duration::from_millis(100);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn consume(watcher: &Watcher) -> Result<(), lapin::Error> {
    let cfg = &watcher.cfg;
    let conn = crate::broker::connect(&watcher.amqp_url, watcher.amqp_ca.as_deref()).await?;
    let channel = conn.create_channel().await?;
    channel.basic_qos(64, BasicQosOptions::default()).await?;
    channel
        .exchange_declare(
            cfg.exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            cfg.queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            cfg.queue.as_str().into(),
            cfg.exchange.as_str().into(),
            "user.changed".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut deliveries = channel
        .basic_consume(
            cfg.queue.as_str().into(),
            "worker-service-watches".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %cfg.queue, exchange = %cfg.exchange, "consuming change events");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        let Ok(event) = serde_json::from_slice::<ChangeEvent>(&delivery.data) else {
            tracing::warn!("not a change event; dropped");
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..BasicNackOptions::default()
                })
                .await?;
            continue;
        };
        let span = tracing::info_span!("change_event", event_id = ?event.event_id);
        // The evaluation joins the trace of the write that caused it.
        let traceparent = delivery.properties.headers().as_ref().and_then(|table| {
            table.inner().iter().find_map(|(k, v)| match v {
                AMQPValue::LongString(s)
                    if k.as_str() == w2meet_platform::trace_context::TRACEPARENT =>
                {
                    std::str::from_utf8(s.as_bytes()).ok().map(str::to_owned)
                }
                _ => None,
            })
        });
        w2meet_platform::trace_context::adopt(&span, traceparent.as_deref(), None);
        match watcher
            .changed(&event.emails)
            .instrument(span.clone())
            .await
        {
            Ok(marked) => {
                span.in_scope(|| {
                    tracing::debug!(
                        people = event.emails.len(),
                        watches = marked,
                        "change event applied"
                    );
                });
                delivery.ack(BasicAckOptions::default()).await?;
            }
            Err(e) => {
                span.in_scope(|| tracing::warn!(error = %e, "change event not applied; requeued"));
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
