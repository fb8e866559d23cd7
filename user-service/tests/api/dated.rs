//! Dated time: overrides (who may set them, how they read back) and busy
//! time from meeting events (idempotent, order-proof, and never served
//! stale from the cache).

use serde_json::{Value, json};
use user_service::events::{EventMeeting, MeetingEvent, apply};
use uuid::Uuid;

use crate::helpers::spawn_app;

fn event(meeting_id: Uuid, seq: i32, holders: &[&str], start: &str, end: &str) -> MeetingEvent {
    MeetingEvent {
        event_id: Uuid::new_v4(),
        kind: "meeting.booked".into(),
        meeting_id,
        seq,
        case_id: "test".into(),
        meeting: EventMeeting {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            holders: holders.iter().map(|h| h.to_string()).collect(),
        },
    }
}

async fn dated(app: &crate::helpers::TestApp, email: &str) -> Value {
    let res = app
        .post("/users/batch", &json!({"emails": [email], "dated": true}))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["users"][0]["dated"].clone()
}

#[tokio::test]
async fn overrides_are_stored_read_back_and_served_with_the_batch() {
    let app = spawn_app().await;
    app.create("ann@x.io", json!({"monday": [9]})).await;
    // Warm the cache, so the change must invalidate it.
    assert_eq!(
        dated(&app, "ann@x.io").await,
        json!({"overrides": [], "busy": []})
    );
    let res = app
        .put(
            "/users/ann@x.io/overrides",
            &json!({"overrides": [
                {"date": "2031-03-03", "kind": "busy"},
                {"from": "2031-03-04T09:00", "to": "2031-03-04T12:30", "kind": "free"}
            ]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["overrides"],
        json!([{"from": "2031-03-03T00:00", "to": "2031-03-04T00:00", "kind": "busy"},
               {"from": "2031-03-04T09:00", "to": "2031-03-04T12:30", "kind": "free"}])
    );
    assert_eq!(body["version"], 2);
    let served = dated(&app, "ann@x.io").await;
    assert_eq!(served["overrides"][1]["kind"], "free");
    assert_eq!(served["overrides"][1]["from"], "2031-03-04T09:00:00");
    // The original shapes carry none of it.
    let user: Value = app.get("/users/ann@x.io").await.json().await.unwrap();
    assert!(
        user.get("overrides").is_none() && user.get("dated").is_none(),
        "{user}"
    );
    let batch: Value = app
        .post("/users/batch", &json!({"emails": ["ann@x.io"]}))
        .await
        .json()
        .await
        .unwrap();
    assert!(batch["users"][0].get("dated").is_none());
    // Bad overrides are located; nothing stored changes.
    let res = app
        .put(
            "/users/ann@x.io/overrides",
            &json!({"overrides": [{"date": "2031-03-03", "kind": "maybe"}]}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(
        err["detail"][0]["loc"],
        json!(["body", "overrides", "0", "kind"])
    );
    assert_eq!(
        dated(&app, "ann@x.io").await["overrides"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let res = app
        .put("/users/nobody@x.io/overrides", &json!({"overrides": []}))
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_claimed_profiles_overrides_are_set_only_by_its_owner() {
    let app = spawn_app().await;
    let token = app.token("ann@x.io").await;
    let body = json!({"overrides": [{"date": "2031-03-03", "kind": "busy"}]});
    assert_eq!(
        app.put("/users/ann@x.io/overrides", &body).await.status(),
        401
    );
    assert_eq!(app.get("/users/ann@x.io/overrides").await.status(), 401);
    let res = app
        .http
        .put(app.url("/users/ann@x.io/overrides"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_meeting_event_applied_twice_or_late_changes_nothing_more() {
    let app = spawn_app().await;
    for who in ["ann@x.io", "bob@x.io"] {
        app.create(who, json!({"monday": [9, 10]})).await;
        dated(&app, who).await; // cached
    }
    let m = Uuid::new_v4();
    let booked = event(
        m,
        1,
        &["ann@x.io", "bob@x.io"],
        "2031-03-03T09:00:00Z",
        "2031-03-03T10:00:00Z",
    );
    assert!(apply(&app.users, &booked).await.unwrap());
    let busy = json!([{"start": "2031-03-03T09:00:00Z", "end": "2031-03-03T10:00:00Z"}]);
    assert_eq!(dated(&app, "bob@x.io").await["busy"], busy);
    // The free/busy view shows it: Monday 09:00 is taken, 10:00 still free.
    let view: Value = app
        .get("/users/bob@x.io/freebusy?from=2031-03-03&days=1&interval=60")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&view["availability_view"].as_str().unwrap()[8..12], "2202");
    // The same event again: nothing to do.
    assert!(!apply(&app.users, &booked).await.unwrap());
    // bob declines (seq 2): only ann is held.
    let declined = event(
        m,
        2,
        &["ann@x.io"],
        "2031-03-03T09:00:00Z",
        "2031-03-03T10:00:00Z",
    );
    assert!(apply(&app.users, &declined).await.unwrap());
    assert_eq!(dated(&app, "bob@x.io").await["busy"], json!([]));
    assert_eq!(dated(&app, "ann@x.io").await["busy"], busy);
    // The booking redelivered late changes nothing back.
    assert!(!apply(&app.users, &booked).await.unwrap());
    assert_eq!(dated(&app, "bob@x.io").await["busy"], json!([]));
    // Cancelled (seq 3): nobody.
    let cancelled = event(m, 3, &[], "2031-03-03T09:00:00Z", "2031-03-03T10:00:00Z");
    assert!(apply(&app.users, &cancelled).await.unwrap());
    assert_eq!(dated(&app, "ann@x.io").await["busy"], json!([]));
}
