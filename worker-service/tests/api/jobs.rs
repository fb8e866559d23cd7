//! Consumers: outcomes, retries, dead letters, idempotent redelivery, the
//! Case-ID in the consumer's logs, callbacks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use test_support::rabbitmq::{message_count, publish_raw};
use test_support::wait_until;
use worker_service::broker::headers::job_headers;
use worker_service::domain::{JobMessage, JobStatus};

use crate::helpers::*;

#[tokio::test]
async fn a_job_submitted_while_no_consumer_runs_completes_once_one_starts() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let id = api
        .submit(
            &json!({"users": ["ann@example.com", "bob@example.com", "cy@example.com"],
                        "duration": 30, "count": 2, "preference": "best"}),
        )
        .await;
    assert_eq!(api.job(&id).await["status"], "queued");
    assert_eq!(stub.calls(), 0);

    let consumer = spawn_consumer(env.config.clone()).await;
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["error"], Value::Null);
    // The stored result is suggestion-service's answer to the job's body,
    // sent in its canonical form (defaults explicit).
    assert_eq!(
        job["result"]["request"],
        json!({"users": ["ann@example.com", "bob@example.com", "cy@example.com"],
               "preference": "best", "duration": 30, "count": 2, "step": 30})
    );
    assert_eq!(stub.calls(), 1);
    consumer.stop().await;
}

#[tokio::test]
async fn the_original_form_is_sent_as_a_two_user_group() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    // The original body's result keeps the original shape exactly (the
    // stub answered the rich shape, for a two-user group).
    assert_eq!(
        job["result"],
        json!({"case_id": job["case_id"], "suggestions": [{"day": "monday", "slot": [9, 10]}]})
    );
    assert_eq!(stub.calls(), 1);
    consumer.stop().await;
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_until_success() {
    let stub = Stub::start(vec![503, 503, 200]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(stub.calls(), 3);
    assert!(job["result"]["suggestions"].is_array());
    assert!(api.metrics().await.contains("jobs_retried_total"));
    consumer.stop().await;
}

#[tokio::test]
async fn retries_stop_at_the_configured_limit() {
    let stub = Stub::start(vec![503; 10]).await;
    let mut env = TestEnv::new(&stub.url).await;
    env.config.jobs.max_attempts = 3;
    env.track_queues();
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let job = api.wait_for(&id, JobStatus::Failed).await;
    assert_eq!(job["attempts"], 3);
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{job}"
    );
    assert_eq!(stub.calls(), 3);
    consumer.stop().await;
}

#[tokio::test]
async fn an_unknown_user_fails_at_once_with_the_reason() {
    let stub = Stub::start(vec![404]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let job = api.wait_for(&id, JobStatus::Failed).await;
    assert_eq!(job["attempts"], 1);
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("One or both users not found: ghost@x.io"),
        "{error}"
    );
    // No retry was scheduled: the delay queue stays empty and the stub saw
    // one call.
    let retry =
        worker_service::broker::Topology::new(&env.queue.name, env.config.jobs).retry_queue(1);
    assert_eq!(message_count(&env.queue.url, &retry).await, Some(0));
    assert_eq!(stub.calls(), 1);
    consumer.stop().await;
}

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_counted_and_the_consumer_keeps_going() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    // Declared by the consumer; wait until it is consuming.
    let dead = format!("{}.dead", env.queue.name);
    assert!(
        wait_until(PATIENCE, || async {
            message_count(&env.queue.url, &dead).await.is_some()
        })
        .await
    );

    publish_raw(
        &env.queue.url,
        &env.queue.name,
        b"{not a job",
        Default::default(),
    )
    .await;
    publish_raw(
        &env.queue.url,
        &env.queue.name,
        br#"{"type":"suggestion.v9","job_id":"x"}"#,
        Default::default(),
    )
    .await;
    let moved = wait_until(PATIENCE, || async {
        message_count(&env.queue.url, &dead).await == Some(2)
    })
    .await;
    assert!(moved, "both malformed messages reach {dead}");
    let metrics = api.metrics().await;
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("jobs_dead_lettered_total"))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(counted >= 2.0, "{metrics}");

    let id = api.submit(&pair()).await;
    api.wait_for(&id, JobStatus::Succeeded).await;
    consumer.stop().await;
}

#[tokio::test]
async fn redelivering_a_finished_job_changes_nothing() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let done = api.wait_for(&id, JobStatus::Succeeded).await;

    let job_id = id.parse().unwrap();
    let message = JobMessage::Suggestion {
        job_id,
        request: json!({"users": ["ann@example.com", "bob@example.com"]}),
    };
    let body = serde_json::to_vec(&message).unwrap();
    for attempt in [1, 2] {
        publish_raw(
            &env.queue.url,
            &env.queue.name,
            &body,
            job_headers("dup", job_id, attempt),
        )
        .await;
    }
    let drained = wait_until(PATIENCE, || async {
        message_count(&env.queue.url, &env.queue.name).await == Some(0)
    })
    .await;
    assert!(drained);
    consumer.stop().await;
    assert_eq!(api.job(&id).await, done, "unchanged");
    assert_eq!(stub.calls(), 1, "not computed again");
}

#[tokio::test]
async fn the_submitting_case_id_is_on_the_consumers_log_lines_and_outbound_call() {
    let stub = Stub::start(vec![503, 200]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let _consumer = ChildConsumer::start(&env, "case-log-consumer");
    let res = api
        .http
        .post(api.url("/tasks"))
        .header("Case-ID", "trace-me-123")
        .json(&pair())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    assert_eq!(job["case_id"], "trace-me-123");
    assert_eq!(
        *stub.case_ids.lock().unwrap(),
        ["trace-me-123", "trace-me-123"]
    );

    let found = wait_until(PATIENCE, || async {
        env.child_log_lines()
            .iter()
            .any(|l| l["message"] == "job succeeded" && l["case_id"] == "trace-me-123")
    })
    .await;
    assert!(found, "no 'job succeeded' line with the Case-ID");
    let lines: Vec<Value> = env
        .child_log_lines()
        .into_iter()
        .filter(|l| l["job_id"] == id.as_str())
        .collect();
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        assert_eq!(line["case_id"], "trace-me-123", "{line}");
        assert_eq!(line["service"], "worker-service");
        assert!(line["attempt"].is_u64(), "{line}");
    }
    let attempts: Vec<u64> = lines
        .iter()
        .filter(|l| l["message"] == "job started")
        .map(|l| l["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2]);
}

#[tokio::test]
async fn a_callback_receives_the_finished_job_with_the_case_id() {
    let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let sink = received.clone();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let callback = test_support::spawn_stub(Router::new().route(
        "/done",
        post(move |h: axum::http::HeaderMap, body: axum::Json<Value>| {
            let (sink, attempts) = (sink.clone(), attempts.clone());
            async move {
                // The first delivery fails: callbacks are retried.
                if attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let case = h["case-id"].to_str().unwrap().to_owned();
                sink.lock().unwrap().push((case, body.0));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    ))
    .await;
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let res = api
        .http
        .post(api.url("/tasks"))
        .header("Case-ID", "cb-case")
        .json(
            &json!({"userId1": "ann@example.com", "userId2": "bob@example.com",
                      "callback_url": format!("{callback}/done")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let got = wait_until(PATIENCE, || async { !received.lock().unwrap().is_empty() }).await;
    assert!(got, "callback delivered");
    let (case, body) = received.lock().unwrap()[0].clone();
    assert_eq!(case, "cb-case");
    assert_eq!(body["status"], "succeeded");
    assert!(body["result"]["suggestions"].is_array());
    consumer.stop().await;
}

/// An `https` callback is delivered over TLS to a receiver whose
/// certificate a private CA signed, once that CA is in `TLS_CA_FILE` — and
/// never without it (the certificate is verified, not merely accepted).
#[tokio::test]
async fn an_https_callback_is_delivered_when_its_ca_is_trusted_and_only_then() {
    let ca = test_support::tls::TestCa::new();
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let https = test_support::tls::spawn_https_stub(
        Router::new().route(
            "/done",
            post(move |body: axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(body.0);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        ),
        &ca,
    )
    .await;
    let receiver = https.url.clone();
    let stub = Stub::start(vec![]).await;
    let submit = |api: &TestApi| {
        let body = json!({"userId1": "ann@example.com", "userId2": "bob@example.com",
                          "callback_url": format!("{receiver}/done")});
        let request = api.http.post(api.url("/tasks")).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // Without the CA: the job succeeds, and every delivery attempt refuses
    // the receiver's certificate.
    let untrusting = TestEnv::new(&stub.url).await;
    let attempts = untrusting.config.callback.max_attempts as usize;
    let api = spawn_app(untrusting.config.clone()).await;
    let consumer = spawn_consumer(untrusting.config.clone()).await;
    let job = submit(&api).await;
    api.wait_for(job["job_id"].as_str().unwrap(), JobStatus::Succeeded)
        .await;
    let refused = wait_until(PATIENCE, || async {
        https.refused.load(std::sync::atomic::Ordering::SeqCst) >= attempts
    })
    .await;
    assert!(refused, "an untrusted certificate must fail every attempt");
    assert!(
        received.lock().unwrap().is_empty(),
        "delivered to an unverified server"
    );
    consumer.stop().await;

    // With it: delivered.
    let mut trusting = TestEnv::new(&stub.url).await;
    trusting.config.callback.ca_file = Some(ca.ca_file());
    let api = spawn_app(trusting.config.clone()).await;
    let consumer = spawn_consumer(trusting.config.clone()).await;
    let job = submit(&api).await;
    let got = wait_until(PATIENCE, || async { !received.lock().unwrap().is_empty() }).await;
    assert!(got, "callback delivered over https");
    assert_eq!(received.lock().unwrap()[0]["job_id"], job["job_id"]);
    assert_eq!(received.lock().unwrap()[0]["status"], "succeeded");
    consumer.stop().await;
}

#[tokio::test]
async fn one_delivery_is_decided_without_a_consumer_loop() {
    use worker_service::broker::Topology;
    use worker_service::broker::headers::JobHeaders;
    use worker_service::clients::{Callbacks, MeetingClient, SuggestionClient};
    use worker_service::consumer::{Incoming, JobContext, Outcome, process};
    use worker_service::store::JobStore;

    let stub = Stub::start(vec![503, 404]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let c = &env.config;
    let store = JobStore::new(&c.db).unwrap();
    let ctx = JobContext {
        writes: worker_service::store::JobWrites::new(&store),
        store,
        suggestions: SuggestionClient::new(&c.suggestion, c.service_token.clone()).unwrap(),
        meetings: MeetingClient::new(&c.meetings, c.service_token.clone()).unwrap(),
        callbacks: Callbacks::new(c.callback.clone()).unwrap(),
        topology: Topology::new(&c.amqp.queue, c.jobs),
        policy: c.jobs,
        amqp_timeout: c.amqp.timeout,
    };
    let job_id = id.parse().unwrap();
    let body = serde_json::to_vec(&JobMessage::Suggestion {
        job_id,
        request: json!({}),
    })
    .unwrap();
    let delivery = |attempt, redelivered| Incoming {
        body: body.clone(),
        headers: JobHeaders {
            case_id: Some("c".into()),
            job_id: Some(id.clone()),
            attempt: Some(attempt),
            ..JobHeaders::default()
        },
        redelivered,
    };

    let garbage = Incoming {
        body: b"nope".to_vec(),
        ..delivery(1, false)
    };
    assert!(matches!(
        process(&ctx, &garbage).await,
        Outcome::DeadLetter(_)
    ));
    assert!(matches!(
        process(&ctx, &delivery(1, false)).await,
        Outcome::Retry { attempt: 1, .. }
    ));
    // A duplicate of attempt 1 finds it taken.
    assert!(matches!(
        process(&ctx, &delivery(1, false)).await,
        Outcome::Skipped(_)
    ));
    match process(&ctx, &delivery(2, false)).await {
        Outcome::Finished(job) => assert_eq!(job.status, JobStatus::Failed),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        process(&ctx, &delivery(3, true)).await,
        Outcome::Skipped(_)
    ));
    assert_eq!(stub.calls(), 2);
}

#[tokio::test]
async fn a_job_whose_submitter_died_before_the_confirm_is_republished_and_completes() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    // What a submitter that died between its insert and the broker's
    // confirm leaves behind: a queued row and no message.
    let id = uuid::Uuid::now_v7();
    let request = json!({"users": ["ann@example.com", "bob@example.com"], "preference": "first"});
    let job = worker_service::store::NewJob {
        id,
        kind: "suggestion",
        request: &request,
        case_id: "abandoned-1",
        callback_url: None,
        idempotency_key: None,
        submitter: None,
        book: None,
    };
    api.tasks.store.insert(&job).await.unwrap();
    assert_eq!(api.job(&id.to_string()).await["status"], "queued");
    assert_eq!(stub.calls(), 0);

    api.tasks.republish_abandoned(Duration::ZERO).await;
    let done = api.wait_for(&id.to_string(), JobStatus::Succeeded).await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["case_id"], "abandoned-1");
    assert_eq!(stub.calls(), 1);
    // Swept once: nothing is left to republish.
    assert!(
        api.tasks
            .store
            .abandoned_unpublished(Duration::ZERO, 10)
            .await
            .unwrap()
            .is_empty()
    );
    consumer.stop().await;
}

#[tokio::test]
async fn a_job_submitted_with_a_token_is_its_submitters_alone() {
    let stub = Stub::start(vec![]).await;
    let mut env = TestEnv::new(&stub.url).await;
    let schema = test_support::TestSchema::create().await;
    let redis = test_support::RedisPrefix::new();
    let users =
        user_service::testing::spawn(&schema.url, &schema.name, &redis.url, &redis.prefix).await;
    env.config.user_service_url = users.clone();
    let http = test_support::http_client();
    let ann = user_service::testing::register(&http, &users, "ann@example.com").await;
    let eve = user_service::testing::register(&http, &users, "eve@example.com").await;
    let api = spawn_app(env.config.clone()).await;
    let _consumer = spawn_consumer(env.config.clone()).await;

    let res = http
        .post(api.url("/tasks"))
        .bearer_auth(&ann)
        .json(&json!({"users": ["ann@example.com", "bob@example.com"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = |token: Option<&str>| {
        let req = http.get(api.url(&format!("/tasks/{id}")));
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.send()
    };
    let ok = wait_until(Duration::from_secs(20), || async {
        let job: Value = read(Some(&ann)).await.unwrap().json().await.unwrap();
        job["status"] == "succeeded"
    })
    .await;
    assert!(ok, "the job never succeeded");
    // The consumer computed it as ann may see it.
    assert_eq!(
        stub.viewers.lock().unwrap().as_slice(),
        [Some("ann@example.com".to_owned())]
    );
    test_support::assert_error(read(None).await.unwrap(), 401u16).await;
    test_support::assert_error(read(Some(&eve)).await.unwrap(), 403u16).await;

    // An anonymous job stays readable by id, as in the original, and is
    // computed for nobody in particular.
    let anonymous = api.submit(&pair()).await;
    api.wait_for(&anonymous, JobStatus::Succeeded).await;
    assert_eq!(stub.viewers.lock().unwrap().last(), Some(&None));
}
