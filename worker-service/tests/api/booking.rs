//! Auto-book jobs: the booking saga against a stub meeting-service (its
//! answers scripted, its requests recorded) and a stub suggestion-service
//! with three ranked candidates.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use test_support::spawn_stub;
use worker_service::domain::JobStatus;

use crate::helpers::*;

/// Three candidates, best first.
async fn three_candidates() -> String {
    counted_candidates(Arc::default()).await
}

/// [`three_candidates`], counting the calls.
async fn counted_candidates(calls: Arc<std::sync::atomic::AtomicUsize>) -> String {
    let router = Router::new().route(
        "/suggestions",
        post(move || async move {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let s = |h: u32| {
                json!({"start": format!("2031-03-03T{h:02}:00:00Z"), "end": format!("2031-03-03T{:02}:00:00Z", h + 1),
                       "attendees": ["ann@example.com", "bob@example.com"], "day": "monday", "slot": [h, h + 1]})
            };
            axum::Json(json!({"case_id": "x", "suggestions": [s(9), s(10), s(11)], "empty_reason": null}))
        }),
    );
    spawn_stub(router).await
}

/// What the stub meeting-service saw: (Idempotency-Key, Case-ID, body).
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// Answers `script` in order (then 201), recording every request.
async fn meetings_stub(script: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let router = Router::new().route(
        "/meetings",
        post(move |headers: HeaderMap, body: axum::Json<Value>| {
            let (record, script) = (record.clone(), script.clone());
            async move {
                let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let n = {
                    let mut seen = record.lock().unwrap();
                    seen.push((header("idempotency-key"), header("case-id"), body.0.clone()));
                    seen.len() - 1
                };
                match script.get(n).copied().unwrap_or(201) {
                    503 => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(json!({"case_id": "x", "detail": [{"loc": [], "msg": "down", "type": "service_unavailable"}]})),
                    ),
                    409 => (
                        StatusCode::CONFLICT,
                        axum::Json(json!({"case_id": "x", "detail": [{"loc": ["body", "attendees", "bob@example.com"],
                            "msg": "bob@example.com is busy with meeting m1", "type": "conflict"}]})),
                    ),
                    _ => (
                        StatusCode::CREATED,
                        axum::Json(json!({"id": format!("meeting-{n}"), "start": body.0["start"], "title": body.0["title"]})),
                    ),
                }
            }
        }),
    );
    (spawn_stub(router).await, seen)
}

fn booking_job() -> Value {
    json!({"users": ["ann@example.com", "bob@example.com"],
           "book": {"title": "Planning", "organizer": "ann@example.com"}})
}

#[tokio::test]
async fn an_auto_book_job_skips_a_taken_candidate_and_books_the_next() {
    let suggestions = three_candidates().await;
    let (meetings, seen) = meetings_stub(vec![409]).await;
    let mut env = TestEnv::new(&suggestions).await;
    env.config.meetings.url = meetings;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&booking_job()).await;
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    let booking = &job["result"]["booking"];
    assert_eq!(booking["meeting"]["id"], "meeting-1");
    let outcomes: Vec<(&str, &str)> = booking["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["start"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("2031-03-03T09:00:00Z", "conflict"),
            ("2031-03-03T10:00:00Z", "booked")
        ]
    );
    assert!(
        booking["attempts"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("busy with meeting m1")
    );
    assert_eq!(
        job["booking"]["meeting_id"], "meeting-1",
        "the saga's log on the job"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, format!("job-{id}-0"));
    assert_eq!(seen[1].0, format!("job-{id}-1"));
    for (_, case_id, body) in &seen {
        assert_eq!(
            case_id,
            job["case_id"].as_str().unwrap(),
            "every try under the job's Case-ID"
        );
        assert_eq!(body["organizer"], "ann@example.com");
        assert_eq!(body["title"], "Planning");
        assert_eq!(
            body["attendees"],
            json!(["ann@example.com", "bob@example.com"])
        );
    }
    consumer.stop().await;
}

#[tokio::test]
async fn an_auto_book_job_fails_with_the_reason_when_no_candidate_fits() {
    let suggestions = three_candidates().await;
    let (meetings, seen) = meetings_stub(vec![409, 409, 409]).await;
    let mut env = TestEnv::new(&suggestions).await;
    env.config.meetings.url = meetings;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&booking_job()).await;
    let job = api.wait_for(&id, JobStatus::Failed).await;
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("no candidate could be booked: 3 tried"),
        "{error}"
    );
    assert_eq!(job["booking"]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(seen.lock().unwrap().len(), 3);
    consumer.stop().await;
}

#[tokio::test]
async fn a_booking_needs_an_organizer_and_a_valid_book() {
    let env = TestEnv::new("http://127.0.0.1:9").await;
    let api = spawn_app(env.config.clone()).await;
    let res = api
        .post(
            "/tasks",
            &json!({"users": ["a@x.io", "b@x.io"], "book": {"title": "x"}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "book", "organizer"])
    );
    let res = api
        .post("/tasks", &json!({"users": ["a@x.io", "b@x.io"], "book": {"title": "", "visibility": "x", "colour": 1}}))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_retried_booking_job_settles_its_unfinished_try_first_with_the_same_key() {
    // meeting-service fails the first try (its outcome unknown to the
    // worker); the job is retried, and the retry sends that try again —
    // same key, before asking for suggestions again — instead of moving on.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let suggestions = counted_candidates(calls.clone()).await;
    let (meetings, seen) = meetings_stub(vec![503]).await;
    let mut env = TestEnv::new(&suggestions).await;
    env.config.meetings.url = meetings;
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let id = api.submit(&booking_job()).await;
    let job = api.wait_for(&id, JobStatus::Succeeded).await;
    assert_eq!(job["attempts"], 2);
    let keys: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _, _)| k.clone())
        .collect();
    assert_eq!(keys, [format!("job-{id}-0"), format!("job-{id}-0")]);
    let attempts = job["result"]["booking"]["attempts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["start"], "2031-03-03T09:00:00Z");
    assert_eq!(attempts[0]["outcome"], "booked");
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the resumed try needed no new ranking"
    );
    consumer.stop().await;
}
