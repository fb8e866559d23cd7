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

/// With batching on (a prefetch window's claims and results each one
/// statement), a consumer SIGKILLed while a window of jobs is in flight
/// loses none of them, and every job is finished exactly once in the job
/// store — counted by a trigger on every write that finishes a job, so a
/// second finish could not hide behind the same final row.
#[tokio::test]
async fn a_consumer_killed_mid_batch_loses_nothing_and_each_job_is_finished_once() {
    let stub = Stub::start_with_delay(vec![], Duration::from_millis(40)).await;
    let mut env = TestEnv::new(&stub.url).await;
    env.config.amqp.prefetch = 16;
    let api = spawn_app(env.config.clone()).await;
    env.record_finishes().await;
    let mut ids = Vec::new();
    for _ in 0..120 {
        ids.push(api.submit(&pair()).await);
    }
    let mut doomed = ChildConsumer::start(&env, "doomed");
    let started = wait_until(PATIENCE, || async {
        let statuses = env.statuses().await;
        let done = statuses.iter().filter(|s| s.1 == "succeeded").count();
        let running = statuses.iter().filter(|s| s.1 == "running").count();
        done >= 20 && running >= 2
    })
    .await;
    assert!(started, "the consumer never had a batch in flight");
    doomed.sigkill();
    let at_kill = env.statuses().await;
    let in_flight = at_kill.iter().filter(|s| s.1 == "running").count();
    assert!(
        in_flight >= 2,
        "killed with a batch in flight: {in_flight} running"
    );
    assert!(at_kill.iter().filter(|s| s.1 == "succeeded").count() < 120);

    let _survivor = ChildConsumer::start(&env, "survivor");
    let all = wait_until(Duration::from_secs(60), || async {
        env.statuses().await.iter().all(|s| s.1 == "succeeded")
    })
    .await;
    let statuses = env.statuses().await;
    assert!(all, "{statuses:?}");
    assert_eq!(statuses.len(), 120);
    // A redelivery repeats the attempt it interrupted.
    assert!(statuses.iter().all(|s| s.2 == 1), "{statuses:?}");
    let finishes = env.finishes().await;
    assert_eq!(finishes.len(), 120, "every job finished");
    let twice: Vec<_> = finishes.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "finished more than once: {twice:?}");
}

/// An API SIGKILLed while many submits are being coalesced into shared
/// inserts loses no job it answered 202 for: each is stored, runs and is
/// finished exactly once — including the jobs whose confirm the dead
/// process never recorded, which the surviving API's abandoned-job sweep
/// publishes again (the consumers see those twice and finish them once).
#[tokio::test]
async fn an_api_killed_mid_batch_of_submits_loses_no_accepted_job() {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    let survivor = spawn_app(env.config.clone()).await;
    env.record_finishes().await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let mut doomed = ChildApi::start(&env, "doomed-api").await;

    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..32 {
        let (http, accepted, url) = (
            http.clone(),
            accepted.clone(),
            format!("{}/tasks", doomed.base),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let Ok(res) = http.post(&url).json(&pair()).send().await else {
                    return;
                };
                if res.status() != 202 {
                    return;
                }
                let Ok(body) = res.json::<Value>().await else {
                    return;
                };
                accepted
                    .lock()
                    .unwrap()
                    .push(body["job_id"].as_str().unwrap().to_owned());
            }
        }));
    }
    let enough = wait_until(PATIENCE, || async { accepted.lock().unwrap().len() >= 300 }).await;
    assert!(enough, "submits were accepted before the kill");
    doomed.sigkill();
    for c in clients {
        let _ = tokio::time::timeout(PATIENCE, c).await;
    }
    let accepted = accepted.lock().unwrap().clone();

    // What the dead process stored but never saw confirmed is published
    // again by the survivor's sweep (run now rather than in 30 s).
    for _ in 0..20 {
        survivor.tasks.republish_abandoned(Duration::ZERO).await;
    }
    let all = wait_until(Duration::from_secs(60), || async {
        env.statuses().await.iter().all(|s| s.1 == "succeeded")
    })
    .await;
    let statuses = env.statuses().await;
    assert!(all, "every stored job ran: {statuses:?}");
    let stored: std::collections::HashMap<_, _> = statuses
        .iter()
        .map(|s| (s.0.clone(), s.1.clone()))
        .collect();
    let lost: Vec<_> = accepted
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "accepted but not stored: {lost:?}");
    let finishes = env.finishes().await;
    assert_eq!(finishes.len(), statuses.len(), "every stored job finished");
    let twice: Vec<_> = finishes.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "finished more than once: {twice:?}");
    consumer.stop().await;
}
