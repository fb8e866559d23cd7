//! The test harness: [`spawn_app`] starts user-service and meeting-service
//! on port 0 over fresh schemas, with an exchange of the test's own.

use std::time::Duration;

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use meeting_service::config::{AmqpConfig, Config};
use meeting_service::domain::access::AuthMode;
use meeting_service::service::Meetings;
use meeting_service::store::DbConfig;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use test_support::rabbitmq::{TestQueue, amqp_url};
use test_support::{RedisPrefix, TestSchema, unique_name};
use w2meet_platform::http::HttpLimits;
use w2meet_platform::upstream::UpstreamTimeouts;

/// How long a test waits for something that should happen quickly.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Stack {
    pub base: String,
    pub user_base: String,
    pub http: Client,
    pub exchange: String,
    /// A queue bound to every event on the exchange.
    pub events: TestQueue,
    /// The first instance's use cases (its store, for outbox checks).
    pub meetings: Meetings,
    pub schema: TestSchema,
    _user_schema: TestSchema,
    _redis: RedisPrefix,
    _exchange: ExchangeGuard,
}

/// Deletes the test's exchange at the end.
struct ExchangeGuard(String);

impl Drop for ExchangeGuard {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(conn) =
                    Connection::connect(&amqp_url(), ConnectionProperties::default()).await
                    && let Ok(ch) = conn.create_channel().await
                {
                    let _ = ch
                        .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                    let _ = conn.close(200, "test done".into()).await;
                }
            });
        })
        .join();
    }
}

pub fn config(schema: &TestSchema, user_base: &str, exchange: &str, relay: bool) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        log_dir: std::env::temp_dir(),
        db: DbConfig {
            url: schema.url.clone(),
            schema: Some(schema.name.clone()),
            pool_size: 8,
            timeout: Duration::from_secs(5),
            migrate: Default::default(),
            ca_file: None,
        },
        amqp: AmqpConfig {
            url: amqp_url(),
            exchange: exchange.to_owned(),
            timeout: Duration::from_secs(3),
            outbox_poll: Duration::from_millis(100),
            relay,
            ca_pem: None,
        },
        user_service_url: user_base.to_owned(),
        upstream: UpstreamTimeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(3),
        },
        http: HttpLimits {
            body_limit_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(10),
            drain: Duration::ZERO,
        },
        service_token: Some(user_service::testing::service_token()),
        auth_mode: AuthMode::Open,
    }
}

/// Starts one meeting-service instance; returns its base URL and use cases.
pub async fn spawn_instance(config: Config) -> (String, Meetings) {
    let app = meeting_service::startup::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let meetings = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    (base, meetings)
}

pub async fn spawn_app() -> Stack {
    spawn_app_with(true).await
}

/// The stack; `relay: false` starts meeting-service without its relay
/// (events wait in the outbox, as if the relay had died after the commit).
pub async fn spawn_app_with(relay: bool) -> Stack {
    w2meet_platform::telemetry::init_for_tests("meeting-service");
    let (user_schema, schema, redis) = (
        TestSchema::create().await,
        TestSchema::create().await,
        RedisPrefix::new(),
    );
    let exchange = unique_name("test_meetings");
    // user-service consumes the test's exchange (its queue is cleaned up
    // with the test's own).
    let user_base = user_service::testing::spawn_with_events(
        &user_schema.url,
        &user_schema.name,
        &redis.url,
        &redis.prefix,
        Some((&amqp_url(), &exchange)),
    )
    .await;
    let events = TestQueue::new();
    events.also_delete(format!("{exchange}.user-service"));
    bind_queue(&exchange, &events.name).await;
    let (base, meetings) = spawn_instance(config(&schema, &user_base, &exchange, relay)).await;
    Stack {
        base,
        user_base,
        http: test_support::http_client(),
        exchange: exchange.clone(),
        events,
        meetings,
        schema,
        _user_schema: user_schema,
        _redis: redis,
        _exchange: ExchangeGuard(exchange),
    }
}

/// Declares the exchange (as the relay does) and `queue` bound to all of it.
pub async fn bind_queue(exchange: &str, queue: &str) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.into(),
        lapin::ExchangeKind::Topic,
        lapin::options::ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let _ = conn.close(200, "bound".into()).await;
}

/// Reads `n` events from `queue` (or fewer when `PATIENCE` runs out), with
/// the routing key of each.
pub async fn take_events(queue: &str, n: usize, within: Duration) -> Vec<(String, Value)> {
    take_deliveries(queue, n, within)
        .await
        .into_iter()
        .map(|(key, body, _)| (key, body))
        .collect()
}

/// [`take_events`] with each message's `traceparent` header.
pub async fn take_deliveries(
    queue: &str,
    n: usize,
    within: Duration,
) -> Vec<(String, Value, Option<String>)> {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            "test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while out.len() < n {
        let next = tokio::time::timeout_at(deadline, consumer.next()).await;
        let Ok(Some(Ok(delivery))) = next else { break };
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        let traceparent = delivery.properties.headers().as_ref().and_then(|t| {
            t.inner().iter().find_map(|(k, v)| match v {
                lapin::types::AMQPValue::LongString(s) if k.as_str() == "traceparent" => {
                    Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                }
                _ => None,
            })
        });
        out.push((delivery.routing_key.to_string(), body, traceparent));
        delivery.ack(BasicAckOptions::default()).await.unwrap();
    }
    let _ = conn.close(200, "read".into()).await;
    out
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET url` (a full URL, e.g. from [`Stack::url`]) answered as JSON.
    pub async fn get_json(&self, url: impl reqwest::IntoUrl) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers `email` (a claimed profile); returns their access token.
    pub async fn account(&self, email: &str) -> String {
        user_service::testing::register(&self.http, &self.user_base, email).await
    }

    pub async fn book(&self, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.http.post(self.url("/meetings")).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Books and expects 201; the meeting.
    pub async fn booked(&self, body: &Value, token: Option<&str>) -> Value {
        let res = self.book(body, token).await;
        assert_eq!(res.status(), 201, "booking {body}");
        res.json().await.unwrap()
    }

    pub async fn answer(
        &self,
        id: &str,
        email: &str,
        answer: &str,
        token: Option<&str>,
    ) -> Response {
        let mut req = self
            .http
            .put(self.url(&format!("/meetings/{id}/invites/{email}")))
            .json(&json!({"answer": answer}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }
}

/// A booking body: `organizer` meets `attendees` from `start` to `end`.
pub fn meeting(organizer: &str, attendees: &[&str], start: &str, end: &str) -> Value {
    json!({"title": "Planning", "organizer": organizer, "attendees": attendees,
           "start": start, "end": end})
}
