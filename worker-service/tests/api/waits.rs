//! `GET /tasks/{id}?wait=`: a read that waits for the job to finish —
//! woken by the job table's notification, correct without it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use test_support::wait_until;
use tokio::task::JoinHandle;
use worker_service::store::finishes::RECHECK_LISTENING;

use crate::helpers::*;

/// Finishes job `id` by hand, as a consumer's write would.
async fn finish(env: &TestEnv, id: &str) {
    env.execute(&format!(
        "UPDATE {{schema}}.jobs SET status = 'failed', error = 'staged', \
         updated_at = now(), finished_at = now() WHERE id = '{id}'"
    ))
    .await;
}

/// A read of job `id` waiting up to `secs`, started and registered as a
/// waiter: its status, body and the moment it was answered.
async fn waiting_read(
    api: &TestApi,
    id: &str,
    secs: u32,
) -> JoinHandle<(StatusCode, Value, Instant)> {
    let url = api.url(&format!("/tasks/{id}?wait={secs}"));
    let http = api.http.clone();
    let reader = tokio::spawn(async move {
        let res = http.get(url).send().await.unwrap();
        (
            res.status(),
            res.json::<Value>().await.unwrap(),
            Instant::now(),
        )
    });
    let waiting = wait_until(PATIENCE, || async { api.tasks.finishes.waited_for() == 1 }).await;
    assert!(waiting, "the read waits");
    reader
}

async fn listening(api: &TestApi) {
    let up = wait_until(PATIENCE, || async { api.tasks.finishes.listening() }).await;
    assert!(up, "the API listens for finished jobs");
}

#[tokio::test]
async fn a_waiting_read_answers_as_soon_as_the_job_finishes() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    listening(&api).await;
    // No consumer: the job stays queued until the test finishes it.
    let id = api.submit(&pair()).await;
    let reader = waiting_read(&api, &id, 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let finished_at = Instant::now();
    finish(&env, &id).await;
    let (status, body, answered_at) = reader.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["status"], "failed");
    assert_eq!(body["error"], "staged");
    // Woken by the notification, not by the periodic re-read.
    let after = answered_at - finished_at;
    assert!(
        after < RECHECK_LISTENING - Duration::from_millis(300),
        "answered {after:?} after the finish"
    );
    // The same object a plain read gives.
    assert_eq!(body, api.job(&id).await);
    assert_eq!(api.tasks.finishes.waited_for(), 0, "the waiter is gone");
}

#[tokio::test]
async fn a_wait_that_runs_out_answers_with_the_state_then_and_a_finished_job_at_once() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    let started = Instant::now();
    let res = api.get(&format!("/tasks/{id}?wait=0.6")).await;
    let waited = started.elapsed();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "queued");
    assert!(waited >= Duration::from_millis(600), "{waited:?}");

    finish(&env, &id).await;
    let started = Instant::now();
    let res = api.get(&format!("/tasks/{id}?wait=30")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "failed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a finished job waits for nothing"
    );
}

#[tokio::test]
async fn a_lost_notification_costs_latency_not_the_answer() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    listening(&api).await;
    // Finishes that notify nobody (as while no connection listens).
    env.execute("ALTER TABLE {schema}.jobs DISABLE TRIGGER jobs_finished")
        .await;
    let id = api.submit(&pair()).await;
    let reader = waiting_read(&api, &id, 25).await;
    let finished_at = Instant::now();
    finish(&env, &id).await;
    let (_, body, _) = reader.await.unwrap();
    assert_eq!(body["status"], "failed");
    let after = finished_at.elapsed();
    assert!(
        after < RECHECK_LISTENING * 3,
        "found by the re-read only after {after:?}"
    );
}

#[tokio::test]
async fn the_listening_connection_comes_back_after_it_is_killed() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    listening(&api).await;
    assert_eq!(api.tasks.finishes.listens(), 1);
    // The listener names itself after its channel (application_name).
    let killed = env
        .scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'w2m_jobs_' || md5('{schema}')",
        )
        .await;
    assert_eq!(killed, 1);
    let back = wait_until(PATIENCE, || async {
        api.tasks.finishes.listens() == 2 && api.tasks.finishes.listening()
    })
    .await;
    assert!(back, "listening again");
    // …and a finish is heard again.
    let id = api.submit(&pair()).await;
    let reader = waiting_read(&api, &id, 20).await;
    let finished_at = Instant::now();
    finish(&env, &id).await;
    assert_eq!(reader.await.unwrap().1["status"], "failed");
    assert!(finished_at.elapsed() < RECHECK_LISTENING - Duration::from_millis(300));
}

#[tokio::test]
async fn wait_outside_zero_to_thirty_seconds_is_a_400() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let id = api.submit(&pair()).await;
    for bad in ["-1", "31", "soon", ""] {
        let body = assert_error(api.get(&format!("/tasks/{id}?wait={bad}")).await, 400).await;
        assert_eq!(
            body["detail"][0]["loc"],
            serde_json::json!(["query", "wait"]),
            "{bad:?}"
        );
    }
}
