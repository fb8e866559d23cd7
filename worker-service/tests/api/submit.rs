//! `POST /tasks`, `GET /tasks/{id}`, and the operational routes.

use serde_json::{Value, json};
use test_support::rabbitmq::message_count;

use crate::helpers::*;

#[tokio::test]
async fn a_submission_is_stored_and_enqueued_before_the_202() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;

    let res = api
        .http
        .post(api.url("/tasks"))
        .header("Case-ID", "submit-case-1")
        .json(&pair())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["case-id"], "submit-case-1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "enqueued");
    assert_eq!(body["case_id"], "submit-case-1");
    assert_eq!(body["queue"], env.queue.name.as_str());
    let id = body["job_id"].as_str().unwrap();

    let job = api.job(id).await;
    assert_eq!(job["status"], "queued");
    assert_eq!(job["attempts"], 0);
    assert_eq!(job["case_id"], "submit-case-1");
    assert_eq!(job["result"], Value::Null);
    assert!(job["created_at"].is_string() && job["updated_at"].is_string());
    // The broker holds it (no consumer runs in this test).
    assert_eq!(
        message_count(&env.queue.url, &env.queue.name).await,
        Some(1)
    );
}

#[tokio::test]
async fn invalid_submissions_get_400_listing_every_problem() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;

    let body = assert_error(
        api.post(
            "/tasks",
            &json!({"users": ["a@x.io", "nope"], "duration": 7, "preference": "soon"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(body["detail"].as_array().unwrap().len(), 3, "{body}");
    for bad in [
        json!({"userId1": "a@x.io", "userId2": "A@X.IO"}),
        json!({"userId1": "a@x.io"}),
        json!({"users": ["a@x.io", "b@x.io"], "unknown": 1}),
        json!({"users": "a@x.io,b@x.io"}),
        json!({"users": ["a@x.io", "b@x.io"], "count": 51}),
        // Refused by the synchronous endpoints, so refused here too.
        json!({"users": []}),
        json!({"users": ["a@x.io", "a@b"]}),
        json!({"users": ["a@x.io", "b@x.io"], "from": "9999-12-31", "days": 366}),
        json!({"users": ["a@x.io", "b@x.io"], "required": ["c@x.io"]}),
        json!({"users": ["a@x.io", "b@x.io"], "days": "seven"}),
    ] {
        assert_error(api.post("/tasks", &bad).await, 400).await;
    }
    let res = api
        .http
        .post(api.url("/tasks"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, 400).await;
    assert!(env.statuses().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn unknown_jobs_are_404_and_malformed_ids_400() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let missing = format!("/tasks/{}", uuid::Uuid::new_v4());
    assert_error(api.get(&missing).await, 404).await;
    assert_error(api.get("/tasks/not-a-uuid").await, 400).await;
}

#[tokio::test]
async fn an_idempotency_key_returns_the_same_job_for_a_repeat() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let send = |body: Value| {
        api.http
            .post(api.url("/tasks"))
            .header("Idempotency-Key", "order-42")
            .json(&body)
            .send()
    };
    let first: Value = send(pair()).await.unwrap().json().await.unwrap();
    let again = send(pair()).await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["job_id"], again["job_id"]);
    assert_eq!(env.statuses().await.len(), 1);
    assert_eq!(
        message_count(&env.queue.url, &env.queue.name).await,
        Some(1)
    );

    let other = json!({"users": ["ann@example.com", "cy@example.com"]});
    assert_error(send(other).await.unwrap(), 409).await;
}

#[tokio::test]
async fn concurrent_identical_submits_with_one_key_all_get_the_one_job() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let send = || {
        api.http
            .post(api.url("/tasks"))
            .header("Idempotency-Key", "burst-7")
            .json(&pair())
            .send()
    };
    let answers = futures::future::join_all((0..8).map(|_| send())).await;
    let mut ids = Vec::new();
    for res in answers {
        let res = res.unwrap();
        assert_eq!(res.status(), 202, "every identical retry is accepted");
        let body: Value = res.json().await.unwrap();
        ids.push(body["job_id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one job: {ids:?}");
    assert_eq!(env.statuses().await.len(), 1);
    assert_eq!(
        message_count(&env.queue.url, &env.queue.name).await,
        Some(1)
    );
}

#[tokio::test]
async fn a_repeat_takes_over_a_job_whose_submitter_died_before_publishing() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    // A submitter that stored the job and died before the broker had it.
    let submission = worker_service::domain::Submission::parse(
        serde_json::from_value(pair()).expect("a task body"),
    )
    .expect("valid");
    let id = uuid::Uuid::now_v7();
    api.tasks
        .store
        .insert(&worker_service::store::NewJob {
            id,
            kind: submission.kind().as_str(),
            request: submission.request(),
            case_id: "orphan-case",
            callback_url: None,
            idempotency_key: Some("orphan-1"),
            submitter: None,
            book: None,
        })
        .await
        .expect("staged");
    // Nothing queued: no message, or no queue yet (the API declares it on
    // its first broker connection, which may not have happened).
    let before = message_count(&env.queue.url, &env.queue.name).await;
    assert!(matches!(before, None | Some(0)), "{before:?}");
    // The retry waits for it, then publishes it itself: the same job, once.
    let res = api
        .http
        .post(api.url("/tasks"))
        .header("Idempotency-Key", "orphan-1")
        .json(&pair())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["job_id"], id.to_string());
    assert_eq!(env.statuses().await.len(), 1);
    assert_eq!(
        message_count(&env.queue.url, &env.queue.name).await,
        Some(1)
    );
}

#[tokio::test]
async fn an_unreachable_broker_gives_503_and_nothing_claims_to_be_queued() {
    let stub = Stub::start(vec![]).await;
    let mut env = TestEnv::new(&stub.url).await;
    env.point_broker_at_a_closed_port();
    let api = spawn_app(env.config.clone()).await;

    let res = api
        .http
        .post(api.url("/tasks"))
        .header("Idempotency-Key", "retry-me")
        .json(&pair())
        .send()
        .await
        .unwrap();
    assert_error(res, 503).await;
    let stored = env.statuses().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, "failed", "{stored:?}");
    let job = api.job(&stored[0].0).await;
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("could not be enqueued"),
        "{job}"
    );

    let health = api.get("/health").await;
    assert_eq!(health.status(), 503);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["dependencies"]["rabbitmq"]["status"], "unhealthy");
    assert_eq!(health["dependencies"]["postgresql"]["status"], "healthy");
}

#[tokio::test]
async fn a_repeat_with_the_same_key_re_enqueues_a_job_the_broker_never_took() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let mut down = env.config.clone();
    down.amqp.url = format!(
        "amqp://guest:guest@127.0.0.1:{}/%2f",
        test_support::free_port()
    );
    let broken = spawn_app(down).await;
    let healthy = spawn_app(env.config.clone()).await;
    let send = |api: &TestApi| {
        api.http
            .post(api.url("/tasks"))
            .header("Idempotency-Key", "second-chance")
            .json(&pair())
            .send()
    };
    assert_eq!(send(&broken).await.unwrap().status(), 503);
    let res = send(&healthy).await.unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(healthy.job(&id).await["status"], "queued");
    assert_eq!(env.statuses().await.len(), 1);
}

#[tokio::test]
async fn health_metrics_and_docs_are_served() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let health = api.get("/health").await;
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["service"], "worker-service");
    assert_eq!(health["dependencies"]["rabbitmq"]["status"], "healthy");

    api.submit(&pair()).await;
    let queue = env.queue.name.clone();
    let ok = test_support::wait_until(PATIENCE, || async {
        api.metrics()
            .await
            .contains(&format!("jobs_queue_depth{{queue=\"{queue}\"}} 1"))
    })
    .await;
    let metrics = api.metrics().await;
    assert!(ok, "{metrics}");
    for name in [
        "jobs_enqueued_total",
        "jobs_succeeded_total",
        "jobs_failed_total",
        "jobs_retried_total",
        "jobs_dead_lettered_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }

    let doc: Value = api.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/tasks"]["post"].is_object());
    assert!(doc["paths"]["/tasks/{job_id}"]["get"].is_object());
    assert_eq!(api.get("/docs").await.status(), 200);
    assert_error(api.get("/nowhere").await, 404).await;
}

/// Submits are coalesced: concurrent ones share one
/// `INSERT` (rows of one statement share its transaction's `now()`), and
/// each is still stored, enqueued once, and answered with its own job.
#[tokio::test]
async fn concurrent_submits_share_inserts_and_each_is_stored_and_enqueued_once() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let calls: Vec<_> = (0..64)
        .map(|i| {
            // Half with a key of their own (as the gateway gives every
            // submission one): keyed and unkeyed share batches.
            let mut req = api
                .http
                .post(api.url("/tasks"))
                .header("Case-ID", format!("batch-{i}"));
            if i % 2 == 0 {
                req = req.header("Idempotency-Key", format!("batch-key-{i}"));
            }
            let req = req.json(&pair()).send();
            tokio::spawn(async move {
                let res = req.await.unwrap();
                assert_eq!(res.status(), 202);
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["case_id"], format!("batch-{i}"), "its own job");
                body["job_id"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for call in calls {
        ids.push(call.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64, "64 distinct jobs");
    assert_eq!(env.statuses().await.len(), 64);
    assert_eq!(
        message_count(&env.queue.url, &env.queue.name).await,
        Some(64),
        "each enqueued once"
    );
    let statements = env
        .scalar("SELECT count(DISTINCT created_at) FROM {schema}.jobs")
        .await;
    assert!(
        statements < 64,
        "64 concurrent submits took {statements} inserts"
    );
    // The confirms are recorded too (in batches, after the answers).
    let recorded = test_support::wait_until(std::time::Duration::from_secs(5), || async {
        env.scalar("SELECT count(*) FROM {schema}.jobs WHERE published_at IS NOT NULL")
            .await
            == 64
    })
    .await;
    assert!(recorded, "every confirm is recorded");
}

#[tokio::test]
async fn with_the_broker_down_coalesced_submits_all_get_503_and_none_stays_queued() {
    let stub = Stub::start(vec![]).await;
    let mut env = TestEnv::new(&stub.url).await;
    env.point_broker_at_a_closed_port();
    let api = spawn_app(env.config.clone()).await;
    let calls: Vec<_> = (0..20)
        .map(|_| api.http.post(api.url("/tasks")).json(&pair()).send())
        .collect();
    for res in futures::future::join_all(calls).await {
        assert_error(res.unwrap(), 503).await;
    }
    let stored = env.statuses().await;
    assert_eq!(stored.len(), 20);
    assert!(
        stored.iter().all(|(_, status, _)| status == "failed"),
        "{stored:?}"
    );
}
