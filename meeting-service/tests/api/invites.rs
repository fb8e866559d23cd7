//! Invites and RSVPs: who may answer, what a reschedule does to answers,
//! the organizer's invitee list, public meetings.

use serde_json::{Value, json};

use crate::helpers::{meeting, spawn_app};

const NINE: &str = "2027-03-02T09:00:00Z";
const TEN: &str = "2027-03-02T10:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_invitee_answers_their_invite() {
    let app = spawn_app().await;
    let bob = app.account("bob@x.io").await;
    let cat = app.account("cat@x.io").await;
    let m = app
        .booked(
            &meeting("ann@x.io", &["bob@x.io", "dan@x.io"], NINE, TEN),
            None,
        )
        .await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(app.answer(id, "bob@x.io", "YES", None).await.status(), 401);
    assert_eq!(
        app.answer(id, "bob@x.io", "YES", Some(&cat)).await.status(),
        403
    );
    let res = app.answer(id, "bob@x.io", "maybe", Some(&bob)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["attendees"][0],
        json!({"email": "bob@x.io", "answer": "MAYBE"})
    );
    assert!(
        body.get("rsvps").is_none(),
        "only the organizer sees who RSVP'd"
    );
    // dan's profile is unclaimed: as in the original, anyone acts for it (open mode).
    assert_eq!(app.answer(id, "dan@x.io", "NO", None).await.status(), 200);
    // Not invited, not an answer, not a meeting.
    assert_eq!(app.answer(id, "eve@x.io", "YES", None).await.status(), 404);
    assert_eq!(
        app.answer(id, "dan@x.io", "PENDING", None).await.status(),
        400
    );
    let nobody = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.answer(&nobody, "dan@x.io", "YES", None).await.status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_sends_every_answer_back_to_pending_and_a_retitle_does_not() {
    let app = spawn_app().await;
    let m = app
        .booked(
            &meeting("ann@x.io", &["bob@x.io", "cat@x.io"], NINE, TEN),
            None,
        )
        .await;
    let id = m["id"].as_str().unwrap();
    app.answer(id, "bob@x.io", "YES", None).await;
    app.answer(id, "cat@x.io", "NO", None).await;
    let url = app.url(&format!("/meetings/{id}"));
    let retitled: Value = app
        .http
        .patch(&url)
        .json(&json!({"title": "Renamed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retitled["attendees"][0]["answer"], "YES");
    let moved: Value = app
        .http
        .patch(&url)
        .json(&json!({"start": "2027-03-02T14:00:00Z", "end": "2027-03-02T15:00:00Z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        moved["attendees"],
        json!([{"email": "bob@x.io", "answer": "PENDING"}, {"email": "cat@x.io", "answer": "PENDING"}])
    );
    assert_eq!(moved["sequence"], 2);
    // The old time is free for everyone, the new one held for everyone.
    app.booked(&meeting("bob@x.io", &["ann@x.io"], NINE, TEN), None)
        .await;
    let res = app
        .book(
            &meeting(
                "cat@x.io",
                &[],
                "2027-03-02T14:30:00Z",
                "2027-03-02T16:00:00Z",
            ),
            None,
        )
        .await;
    assert_eq!(res.status(), 409, "cat's no was for the old time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizer_adds_and_removes_invitees() {
    let app = spawn_app().await;
    let m = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let id = m["id"].as_str().unwrap();
    app.answer(id, "bob@x.io", "YES", None).await;
    let url = app.url(&format!("/meetings/{id}"));
    let changed: Value = app
        .http
        .patch(&url)
        .json(&json!({"attendees": ["bob@x.io", "cat@x.io"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        changed["attendees"],
        json!([{"email": "bob@x.io", "answer": "YES"}, {"email": "cat@x.io", "answer": "PENDING"}])
    );
    let changed: Value = app
        .http
        .patch(&url)
        .json(&json!({"attendees": ["cat@x.io"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        changed["attendees"],
        json!([{"email": "cat@x.io", "answer": "PENDING"}])
    );
    // bob is no longer invited: his time is free and he has nothing to answer.
    assert_eq!(app.answer(id, "bob@x.io", "YES", None).await.status(), 404);
    app.booked(&meeting("bob@x.io", &[], NINE, TEN), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_meetings_are_listed_and_take_rsvps_from_anyone() {
    let app = spawn_app().await;
    let mut body = meeting("ann@x.io", &["bob@x.io"], NINE, TEN);
    body["visibility"] = json!("public");
    let public = app.booked(&body, None).await;
    let private = app.booked(&meeting("cat@x.io", &[], NINE, TEN), None).await;
    let rsvp = |id: &str, email: &str, answer: &str| {
        app.http
            .put(app.url(&format!("/meetings/{id}/rsvps/{email}")))
            .json(&json!({"answer": answer}))
            .send()
    };
    let pid = public["id"].as_str().unwrap();
    assert_eq!(rsvp(pid, "zed@x.io", "YES").await.unwrap().status(), 200);
    assert_eq!(rsvp(pid, "yan@x.io", "NO").await.unwrap().status(), 200);
    let res = rsvp(pid, "zed@x.io", "MAYBE").await.unwrap();
    let counted: Value = res.json().await.unwrap();
    assert_eq!(
        counted["rsvp_counts"],
        json!({"yes": 0, "maybe": 1, "no": 1})
    );
    let res = rsvp(private["id"].as_str().unwrap(), "zed@x.io", "YES")
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let listed: Value = app
        .get_json(app.url("/meetings?public=true&from=2027-03-01&to=2027-03-03"))
        .await;
    let ids: Vec<&str> = listed["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pid]);
    assert!(listed["meetings"][0].get("rsvps").is_none());
    // The organizer sees who answered what.
    let full: Value = app.get_json(app.url(&format!("/meetings/{pid}"))).await;
    assert!(
        full.get("rsvps").is_none(),
        "anonymous is not the organizer"
    );
    let res = app
        .http
        .get(app.url("/meetings?from=2027-03-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "public=true is required");
    // Nor does the history tell anyone but the organizer who RSVP'd what.
    let history: Value = app
        .get_json(app.url(&format!("/meetings/{pid}/history")))
        .await;
    let rsvps: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "rsvp.answered")
        .collect();
    assert_eq!(rsvps.len(), 3);
    assert!(rsvps.iter().all(|e| e.get("answer").is_none()), "{rsvps:?}");
}
