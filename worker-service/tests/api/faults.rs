//! Faults staged for real: a consumer SIGKILLed mid-job, SIGTERM during a
//! batch, and the broker itself restarted (a private node, never the shared
//! one).

use std::time::Duration;

use serde_json::Value;
use test_support::rabbitmq::PrivateRabbit;
use test_support::wait_until;
use worker_service::domain::JobStatus;

use crate::helpers::*;

#[tokio::test]
async fn a_consumer_killed_mid_job_loses_nothing_and_the_job_succeeds_exactly_once() {
    // The first call hangs: the consumer is inside the job when it dies.
    let stub = Stub::start(vec![0]).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let mut doomed = ChildConsumer::start(&env, "doomed");
    let id = api.submit(&pair()).await;
    assert!(wait_until(PATIENCE, || async { stub.calls() == 1 }).await);
    assert_eq!(api.job(&id).await["status"], "running");

    doomed.sigkill();
    let _survivor = ChildConsumer::start(&env, "survivor");
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    assert_eq!(stub.calls(), 2, "redelivered once");
    // The redelivery repeats attempt 1 rather than counting a new one.
    assert_eq!(job["attempts"], 1);
    let succeeded = wait_until(PATIENCE, || async {
        env.child_log_lines()
            .iter()
            .any(|l| l["message"] == "job succeeded" && l["job_id"] == id.as_str())
    })
    .await;
    assert!(succeeded);
    let times = env
        .child_log_lines()
        .iter()
        .filter(|l| l["message"] == "job succeeded" && l["job_id"] == id.as_str())
        .count();
    assert_eq!(times, 1, "succeeded exactly once");
    assert_eq!(env.statuses().await.len(), 1);
}

#[tokio::test]
async fn sigterm_during_a_batch_drains_in_flight_jobs_and_a_restart_finishes_the_rest() {
    let stub = Stub::start_with_delay(vec![], Duration::from_millis(30)).await;
    let env = TestEnv::new(&stub.url).await;
    let api = spawn_app(env.config.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(api.submit(&pair()).await);
    }
    let mut first = ChildConsumer::start(&env, "batch-1");
    let started = wait_until(PATIENCE, || async {
        env.statuses()
            .await
            .iter()
            .filter(|s| s.1 == "succeeded")
            .count()
            >= 10
    })
    .await;
    assert!(started);
    first.sigterm();
    let status = first
        .wait_exit(PATIENCE)
        .await
        .expect("the consumer exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    // Drained: whatever it had started, it finished and stored.
    let after_stop = env.statuses().await;
    assert!(
        after_stop.iter().all(|s| s.1 != "running"),
        "a job was left running: {after_stop:?}"
    );
    let done_by_first = after_stop.iter().filter(|s| s.1 == "succeeded").count();
    assert!(
        done_by_first < 100,
        "SIGTERM came too late to test anything"
    );

    let _second = ChildConsumer::start(&env, "batch-2");
    let all = wait_until(Duration::from_secs(60), || async {
        env.statuses().await.iter().all(|s| s.1 == "succeeded")
    })
    .await;
    let statuses = env.statuses().await;
    assert!(all, "{statuses:?}");
    assert_eq!(statuses.len(), 100);
    assert!(
        statuses.iter().all(|s| s.2 == 1),
        "a job ran twice: {statuses:?}"
    );
    assert_eq!(stub.calls(), 100, "no job computed twice");
}

#[tokio::test]
async fn consumers_reconnect_after_the_broker_restarts_and_the_queue_drains() {
    let mut rabbit = PrivateRabbit::start().await;
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::on_broker(&stub.url, &rabbit.url()).await;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let before = api.submit(&pair()).await;
    api.wait_for(&before, JobStatus::Succeeded).await;

    rabbit.stop().await;
    // While the broker is away nothing is accepted.
    assert_eq!(api.post("/tasks", &pair()).await.status(), 503);
    rabbit.resume().await;

    // The API reconnects on a submit once its short reconnect pause (1 s
    // after a failed connect) has passed; the same consumer, never
    // restarted by hand, drains what arrives.
    let back = wait_until(Duration::from_secs(15), || async {
        api.post("/tasks", &pair()).await.status() == 202
    })
    .await;
    assert!(back, "submits are accepted again once the broker is back");
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(api.submit(&pair()).await);
    }
    for id in &after {
        let job: Value = api.wait_for(id, JobStatus::Succeeded).await;
        assert_eq!(job["attempts"], 1);
    }
    consumer.stop().await;
}

/// A job stuck in a slow call when the broker restarts does not keep its
/// consumer off the broker that is back: the consumer gives in-flight work
/// one broker timeout, abandons it (the broker redelivers it), reconnects
/// and serves new jobs at once; the abandoned job then succeeds, once.
#[tokio::test]
async fn a_job_stuck_in_a_slow_call_does_not_keep_the_consumer_off_a_restarted_broker() {
    let mut rabbit = PrivateRabbit::start().await;
    // The first suggestion call hangs until the client's timeout (30 s
    // here); every later one answers at once.
    let stub = Stub::start(vec![0]).await;
    let mut env = TestEnv::on_broker(&stub.url, &rabbit.url()).await;
    env.config.suggestion.timeout = Duration::from_secs(30);
    env.config.amqp.prefetch = 2;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let stuck = api.submit(&pair()).await;
    assert!(
        wait_until(Duration::from_secs(10), || async { stub.calls() >= 1 }).await,
        "the consumer started on the first job"
    );

    rabbit.stop().await;
    rabbit.resume().await;
    let back = std::time::Instant::now();
    let accepted = wait_until(Duration::from_secs(10), || async {
        api.post("/tasks", &pair()).await.status() == 202
    })
    .await;
    assert!(
        accepted,
        "submits are accepted again once the broker is back"
    );
    let fresh = api.submit(&pair()).await;
    api.wait_for(&fresh, JobStatus::Succeeded).await;
    // Waiting for the stuck call would take until its 30 s timeout.
    assert!(
        back.elapsed() < Duration::from_secs(15),
        "a new job waited {:?} for the stuck one",
        back.elapsed()
    );
    // The abandoned job was redelivered and ran as the same attempt.
    let job: Value = api.wait_for(&stuck, JobStatus::Succeeded).await;
    assert_eq!(job["attempts"], 1, "{job}");
    consumer.stop().await;
}

/// Jobs still waiting in the queue when the broker goes down survive its
/// restart (durable queue, persistent messages), and the running consumer —
/// never restarted by hand — reconnects and drains them, each exactly once.
#[tokio::test]
async fn jobs_waiting_in_the_queue_across_a_broker_restart_are_drained_by_the_running_consumer() {
    let mut rabbit = PrivateRabbit::start().await;
    let stub = Stub::start_with_delay(vec![], Duration::from_millis(300)).await;
    let mut env = TestEnv::on_broker(&stub.url, &rabbit.url()).await;
    env.config.amqp.prefetch = 1;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(api.submit(&pair()).await);
    }
    // One job in flight, the rest waiting in the broker.
    assert!(
        wait_until(Duration::from_secs(10), || async { stub.calls() >= 1 }).await,
        "the consumer started on the first job"
    );
    assert!(
        stub.calls() < 6,
        "jobs are still queued when the broker stops"
    );

    rabbit.stop().await;
    rabbit.resume().await;

    for id in &ids {
        api.wait_for(id, JobStatus::Succeeded).await;
    }
    let statuses = env.statuses().await;
    assert_eq!(statuses.len(), 6);
    assert!(
        statuses.iter().all(|(_, status, _)| status == "succeeded"),
        "{statuses:?}"
    );
    consumer.stop().await;
}
