//! Domain events: every change lands in the history and on the exchange,
//! and an event committed while no relay runs is delivered once one does.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    PATIENCE, config, meeting, spawn_app, spawn_app_with, spawn_instance, take_deliveries,
    take_events,
};

const NINE: &str = "2027-03-05T09:00:00Z";
const TEN: &str = "2027-03-05T10:00:00Z";

/// The relayed message joins the trace of the request that caused it,
/// although the relay publishes after that request has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_carries_the_trace_of_the_request_that_caused_it() {
    let app = spawn_app().await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = app
        .http
        .post(app.url("/meetings"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let events = take_deliveries(&app.events.name, 1, PATIENCE).await;
    let traceparent = events[0].2.as_deref().expect("a traceparent header");
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "names the request's span as the parent, not the caller's: {traceparent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_published_in_order_and_kept_in_the_history() {
    let app = spawn_app().await;
    let mut body = meeting("ann@x.io", &["bob@x.io"], NINE, TEN);
    body["visibility"] = json!("public");
    let res = app
        .http
        .post(app.url("/meetings"))
        .header("Case-ID", "book-case-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let m: Value = res.json().await.unwrap();
    let id = m["id"].as_str().unwrap();
    app.answer(id, "bob@x.io", "NO", None).await;
    app.http
        .put(app.url(&format!("/meetings/{id}/rsvps/zed@x.io")))
        .json(&json!({"answer": "YES"}))
        .send()
        .await
        .unwrap();
    app.http
        .patch(app.url(&format!("/meetings/{id}")))
        .json(&json!({"start": "2027-03-05T11:00:00Z", "end": "2027-03-05T12:00:00Z"}))
        .send()
        .await
        .unwrap();
    app.http
        .delete(app.url(&format!("/meetings/{id}")))
        .send()
        .await
        .unwrap();
    let kinds = [
        "meeting.booked",
        "invite.answered",
        "rsvp.answered",
        "meeting.rescheduled",
        "meeting.cancelled",
    ];
    let mut events = take_events(&app.events.name, kinds.len(), PATIENCE).await;
    assert_eq!(events.len(), kinds.len(), "{events:?}");
    events.sort_by_key(|(_, e)| e["seq"].as_i64());
    for (i, (key, event)) in events.iter().enumerate() {
        assert_eq!(key, kinds[i]);
        assert_eq!(event["type"], kinds[i]);
        assert_eq!(event["seq"], i + 1);
        assert_eq!(event["meeting_id"], id);
        assert!(event["event_id"].is_string() && event["occurred_at"].is_string());
    }
    assert_eq!(events[0].1["case_id"], "book-case-1");
    assert_eq!(
        events[0].1["meeting"]["holders"],
        json!(["ann@x.io", "bob@x.io"])
    );
    assert_eq!(
        events[1].1["answer"],
        json!({"email": "bob@x.io", "answer": "NO"})
    );
    assert_eq!(events[1].1["meeting"]["holders"], json!(["ann@x.io"]));
    assert_eq!(
        events[3].1["meeting"]["holders"],
        json!(["ann@x.io", "bob@x.io"])
    );
    assert_eq!(events[4].1["meeting"]["holders"], json!([]));
    let history: Value = app
        .get_json(app.url(&format!("/meetings/{id}/history")))
        .await;
    // The history is the events published — except that who RSVP'd what
    // is left out for anyone but the organizer.
    let published: Vec<Value> = events
        .iter()
        .map(|(_, e)| {
            let mut e = e.clone();
            if e["type"] == "rsvp.answered" {
                e.as_object_mut().unwrap().remove("answer");
            }
            e
        })
        .collect();
    let stored: Vec<Value> = history["events"].as_array().unwrap().clone();
    assert_eq!(stored, published);
    assert_eq!(app.meetings.store.outbox_depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_while_no_relay_runs_is_delivered_once_a_relay_starts() {
    // The relay "died" between the commit and the publish: none runs.
    let app = spawn_app_with(false).await;
    let m = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    assert_eq!(app.meetings.store.outbox_depth().await.unwrap(), 1);
    assert!(
        take_events(&app.events.name, 1, Duration::from_millis(500))
            .await
            .is_empty()
    );
    // Another replica (with its relay) picks it up.
    spawn_instance(config(&app.schema, &app.user_base, &app.exchange, true)).await;
    let events = take_events(&app.events.name, 2, Duration::from_secs(3)).await;
    assert_eq!(events.len(), 1, "delivered once: {events:?}");
    assert_eq!(events[0].1["meeting_id"], m["id"]);
    assert!(
        test_support::wait_until(PATIENCE, || async {
            app.meetings.store.outbox_depth().await.unwrap() == 0
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_time_reaches_user_service_and_a_decline_frees_it() {
    let app = spawn_app().await;
    for who in ["ann@x.io", "bob@x.io"] {
        user_service::testing::create(&app.http, &app.user_base, &json!({"email": who})).await;
    }
    let busy_of = |who: &'static str| {
        let (http, url) = (app.http.clone(), format!("{}/users/batch", app.user_base));
        async move {
            let body: Value = http
                .post(url)
                .json(&json!({"emails": [who], "dated": true}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["users"][0]["dated"]["busy"].clone()
        }
    };
    let m = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let held = json!([{"start": NINE, "end": TEN}]);
    assert!(
        test_support::wait_until(PATIENCE, || async { busy_of("bob@x.io").await == held }).await,
        "bob's busy time: {}",
        busy_of("bob@x.io").await
    );
    app.answer(m["id"].as_str().unwrap(), "bob@x.io", "NO", None)
        .await;
    assert!(
        test_support::wait_until(PATIENCE, || async {
            busy_of("bob@x.io").await == json!([])
        })
        .await
    );
    assert_eq!(busy_of("ann@x.io").await, held);
}
