//! Watches (SPEC §10) end to end inside worker-service: a real user-service
//! publishes change events to this test's exchange; a scripted
//! suggestion-service decides the outcome of each evaluation (so each test
//! says exactly which change alters it); a receiver records every webhook,
//! checks its signature, and fails when told to.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use test_support::{RedisPrefix, TestSchema, spawn_stub, wait_until};
use worker_service::domain::watch::verify;

use crate::helpers::*;

/// suggestion-service whose answer the test sets, counting calls.
#[derive(Clone, Default)]
struct Ranker {
    answer: Arc<Mutex<Value>>,
    calls: Arc<Mutex<usize>>,
}

impl Ranker {
    async fn start() -> (Ranker, String) {
        let ranker = Ranker::default();
        ranker.set(None);
        let state = ranker.clone();
        let app = axum::Router::new()
            .route(
                "/suggestions",
                post(|State(r): State<Ranker>| async move {
                    *r.calls.lock().unwrap() += 1;
                    axum::Json(r.answer.lock().unwrap().clone())
                }),
            )
            .with_state(state);
        let url = spawn_stub(app).await;
        (ranker, url)
    }

    /// The best meeting from now on: `None`, or its start hour on
    /// 2031-03-03 with these attendees.
    fn set(&self, best: Option<(u32, &[&str])>) {
        let suggestions = match best {
            None => json!([]),
            Some((hour, who)) => json!([{
                "start": format!("2031-03-03T{hour:02}:00:00Z"),
                "end": format!("2031-03-03T{:02}:00:00Z", hour + 1),
                "attendees": who, "missing": [], "score": 1.0, "reason": "best"
            }]),
        };
        *self.answer.lock().unwrap() =
            json!({"case_id": "x", "suggestions": suggestions, "empty_reason": null});
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

/// A webhook receiver: every request's body, and whether its signature
/// verified with the watch's secret (set once the watch exists).
#[derive(Clone, Default)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    got: Arc<Mutex<Vec<(Value, bool)>>>,
    /// Answers 500 to this many requests first.
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .route(
                "/hook",
                post(
                    |State(r): State<Receiver>, headers: HeaderMap, body: axum::body::Bytes| async move {
                        let signature = headers
                            .get("w2meet-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        let now = chrono::Utc::now().timestamp();
                        let ok = verify(&r.secret.lock().unwrap(), signature, &body, now, 300);
                        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let id_header = headers.get("w2meet-event-id").and_then(|v| v.to_str().ok());
                        let ok = ok && id_header == value["event_id"].as_str();
                        r.got.lock().unwrap().push((value, ok));
                        let mut fail = r.fail_first.lock().unwrap();
                        if *fail > 0 {
                            *fail -= 1;
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::NO_CONTENT
                        }
                    },
                ),
            )
            .with_state(receiver.clone());
        let url = spawn_stub(app).await;
        (receiver, format!("{url}/hook"))
    }

    fn got(&self) -> Vec<(Value, bool)> {
        self.got.lock().unwrap().clone()
    }

    /// The delivered events' `(seq, type)`, each once, in arrival order.
    fn events(&self) -> Vec<(i64, String)> {
        let mut seen = Vec::new();
        for (body, _) in self.got() {
            let e = (
                body["seq"].as_i64().unwrap(),
                body["type"].as_str().unwrap().to_owned(),
            );
            if !seen.contains(&e) {
                seen.push(e);
            }
        }
        seen
    }
}

struct World {
    env: TestEnv,
    api: TestApi,
    ranker: Ranker,
    receiver: Receiver,
    hook: String,
    users: String,
    http: reqwest::Client,
    _consumer: TestConsumer,
    _schema: TestSchema,
    _redis: RedisPrefix,
}

impl World {
    async fn new() -> World {
        let (ranker, ranker_url) = Ranker::start().await;
        let (receiver, hook) = Receiver::start().await;
        let mut env = TestEnv::new(&ranker_url).await;
        env.watching();
        let schema = TestSchema::create().await;
        let redis = RedisPrefix::new();
        let users = user_service::testing::spawn_with_feeds(
            &schema.url,
            &schema.name,
            &redis.url,
            &redis.prefix,
            None,
            Some((&env.config.amqp.url, &env.config.watches.exchange)),
        )
        .await;
        let api = spawn_app(env.config.clone()).await;
        let consumer = spawn_consumer(env.config.clone()).await;
        // Change events reach the watches once their queue has a consumer.
        let (amqp, queue) = (&env.config.amqp.url, &env.config.watches.queue);
        let subscribed = wait_until(PATIENCE, || async {
            test_support::rabbitmq::consumer_count(amqp, queue).await >= Some(1)
        })
        .await;
        assert!(subscribed, "the watch consumer never subscribed");
        let http = test_support::http_client();
        for email in ["ann@x.io", "bob@x.io"] {
            user_service::testing::create(
                &http,
                &users,
                &json!({"email": email, "availabilities": {"monday": [9]}}),
            )
            .await;
        }
        World {
            env,
            api,
            ranker,
            receiver,
            hook,
            users,
            http,
            _consumer: consumer,
            _schema: schema,
            _redis: redis,
        }
    }

    async fn watch(&self) -> Value {
        let res = self
            .api
            .post(
                "/watches",
                &json!({"users": ["ann@x.io", "bob@x.io"], "duration": 60,
                        "from": "2031-03-03", "days": 7, "callback_url": self.hook}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        *self.receiver.secret.lock().unwrap() = created["secret"].as_str().unwrap().to_owned();
        created
    }

    /// A change to ann's week through user-service (a change event).
    async fn touch(&self, hours: &[u32]) {
        let res = self
            .http
            .put(format!("{}/users/ann@x.io", self.users))
            .json(&json!({"availabilities": {"monday": hours}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    async fn view(&self, id: &str) -> Value {
        self.api
            .get(&format!("/watches/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Waits until the watch has been evaluated `n` times in all.
    async fn evaluated(&self, id: &str, n: i64) -> Value {
        let ok = wait_until(PATIENCE, || async {
            self.view(id).await["evaluations"].as_i64() >= Some(n)
        })
        .await;
        let view = self.view(id).await;
        assert!(ok, "never evaluated {n} times: {view}");
        view
    }

    async fn delivered(&self, n: usize) {
        let ok = wait_until(PATIENCE, || async { self.receiver.events().len() >= n }).await;
        assert!(ok, "{n} events never arrived: {:?}", self.receiver.events());
    }
}

#[tokio::test]
async fn a_watch_fires_once_per_change_of_outcome_signed_and_in_order() {
    let w = World::new().await;
    let created = w.watch().await;
    let id = created["watch_id"].as_str().unwrap().to_owned();
    assert_eq!(created["outcome"], json!({"quorum": false, "best": null}));
    assert_eq!(created["secret"].as_str().unwrap().len(), 64);

    // The quorum is reached.
    w.ranker.set(Some((9, &["ann@x.io", "bob@x.io"])));
    w.touch(&[9, 10]).await;
    w.delivered(1).await;
    // A change that leaves the best meeting as it is fires nothing.
    let before = w.view(&id).await["evaluations"].as_i64().unwrap();
    w.touch(&[9, 10, 11]).await;
    w.evaluated(&id, before + 1).await;
    // The best meeting moves; then nobody can meet any more.
    w.ranker.set(Some((10, &["ann@x.io", "bob@x.io"])));
    w.touch(&[10]).await;
    w.delivered(2).await;
    w.ranker.set(None);
    w.touch(&[]).await;
    w.delivered(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(
        w.receiver.events(),
        [
            (1, "quorum_reached".to_owned()),
            (2, "best_slot_changed".to_owned()),
            (3, "quorum_lost".to_owned())
        ]
    );
    let got = w.receiver.got();
    assert_eq!(got.len(), 3, "one delivery per change: {got:?}");
    assert!(
        got.iter().all(|(_, signed)| *signed),
        "a signature did not verify"
    );
    let (first, _) = &got[0];
    assert_eq!(first["watch_id"], id);
    assert_eq!(first["best_slot"]["start"], "2031-03-03T09:00:00Z");
    assert_eq!(first["previous_best_slot"], Value::Null);
    assert_eq!(
        got[1].0["previous_best_slot"]["start"],
        "2031-03-03T09:00:00Z"
    );
    let view = w.view(&id).await;
    assert_eq!(view["status"], "active");
    assert_eq!(view["outcome"]["quorum"], false);
    let events = view["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e["status"] == "delivered" && e["attempts"] == 1)
    );
    // A wrong secret does not verify the same body.
    let body = serde_json::to_vec(&got[0].0).unwrap();
    let header = worker_service::domain::watch::sign(
        "not-the-secret",
        chrono::Utc::now().timestamp(),
        &body,
    );
    assert!(!verify(
        &w.receiver.secret.lock().unwrap(),
        &header,
        &body,
        chrono::Utc::now().timestamp(),
        300
    ));
    drop(w.env);
}

#[tokio::test]
async fn a_burst_of_changes_is_one_evaluation_and_a_failing_receiver_gets_retries() {
    let w = World::new().await;
    let created = w.watch().await;
    let id = created["watch_id"].as_str().unwrap().to_owned();
    *w.receiver.fail_first.lock().unwrap() = 2;
    w.ranker.set(Some((9, &["ann@x.io", "bob@x.io"])));
    let before = w.ranker.calls();
    let touches = (0..10).map(|i| w.touch(if i % 2 == 0 { &[9] } else { &[9, 10] }));
    futures::future::join_all(touches).await;
    w.delivered(1).await;
    let ok = wait_until(PATIENCE, || async {
        w.view(&id).await["events"][0]["status"] == "delivered"
    })
    .await;
    assert!(ok, "never delivered: {}", w.view(&id).await);
    let view = w.view(&id).await;
    assert_eq!(
        view["events"][0]["attempts"], 3,
        "two refusals, then delivered"
    );
    let deliveries = w.receiver.got();
    assert_eq!(deliveries.len(), 3);
    let ids: Vec<&Value> = deliveries.iter().map(|(b, _)| &b["event_id"]).collect();
    assert!(
        ids.windows(2).all(|p| p[0] == p[1]),
        "a retry is the same event"
    );
    // Ten changes, a few evaluations (the burst settles before one).
    let evaluations = w.ranker.calls() - before;
    assert!(
        (1..=5).contains(&evaluations),
        "{evaluations} evaluations for a burst of 10"
    );
    assert_eq!(w.receiver.events(), [(1, "quorum_reached".to_owned())]);
}

#[tokio::test]
async fn an_expired_watch_is_not_evaluated_and_a_deleted_one_is_gone() {
    let w = World::new().await;
    let id = w.watch().await["watch_id"].as_str().unwrap().to_owned();
    // A watch is stored dirty (a change during its creation is not missed):
    // let that evaluation happen, then end the window.
    w.evaluated(&id, 2).await;
    w.env
        .scalar(&format!(
            "WITH e AS (UPDATE {{schema}}.watches SET expires_at = now() - interval '1 minute' WHERE id = '{id}' RETURNING 1) SELECT count(*) FROM e"
        ))
        .await;
    let calls = w.ranker.calls();
    w.ranker.set(Some((9, &["ann@x.io", "bob@x.io"])));
    w.touch(&[9, 10]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let view = w.view(&id).await;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["evaluations"], 2);
    assert_eq!(w.ranker.calls(), calls);
    assert!(w.receiver.got().is_empty());

    let res = w
        .http
        .delete(w.api.url(&format!("/watches/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    test_support::assert_error(w.api.get(&format!("/watches/{id}")).await, 404u16).await;
}

#[tokio::test]
async fn bad_watches_are_refused_with_every_problem_and_nothing_stored() {
    let w = World::new().await;
    let res = w
        .api
        .post(
            "/watches",
            &json!({"users": ["ann@x.io", "nope"], "callback_url": "ftp://x"}),
        )
        .await;
    let body = test_support::assert_error(res, 400u16).await;
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let loc = d["loc"].as_array().unwrap();
            loc[1..]
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    for field in ["duration", "callback_url", "users.1"] {
        assert!(
            locs.iter().any(|l| l == field),
            "{field} missing from {locs:?}"
        );
    }
    test_support::assert_error(w.api.get("/watches/not-a-uuid").await, 400u16).await;
    assert_eq!(
        w.env.scalar("SELECT count(*) FROM {schema}.watches").await,
        0
    );
}
