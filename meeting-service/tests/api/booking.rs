//! Booking: create/read/update/cancel, no double booking (also racing
//! across two instances), idempotency, preconditions, bad input.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{config, meeting, spawn_app, spawn_instance};

const NINE: &str = "2027-03-01T09:00:00Z";
const TEN: &str = "2027-03-01T10:00:00Z";
const ELEVEN: &str = "2027-03-01T11:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_is_read_back_with_its_etag_and_everyone_pending() {
    let app = spawn_app().await;
    let m = app
        .booked(
            &meeting("ann@x.io", &["bob@x.io", "Cat@x.io", "ann@x.io"], NINE, TEN),
            None,
        )
        .await;
    assert_eq!(m["organizer"], "ann@x.io");
    assert_eq!(m["status"], "booked");
    assert_eq!(m["visibility"], "private");
    assert_eq!(m["version"], 1);
    assert_eq!(m["sequence"], 0);
    assert_eq!(
        m["attendees"],
        json!([{"email": "bob@x.io", "answer": "PENDING"}, {"email": "cat@x.io", "answer": "PENDING"}])
    );
    let res = app
        .http
        .get(app.url(&format!("/meetings/{}", m["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["start"], "2027-03-01T09:00:00Z");
    assert_eq!(read["attendees"], m["attendees"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_overlapping_bookings_of_one_person_across_two_instances_make_exactly_one() {
    let app = spawn_app().await;
    // A second instance over the same database: the race is between processes' connections.
    let (second, _) =
        spawn_instance(config(&app.schema, &app.user_base, &app.exchange, false)).await;
    let bases = [app.base.clone(), second];
    let attempts = (0..16).map(|i| {
        let url = format!("{}/meetings", bases[i % 2]);
        let http = app.http.clone();
        // Every booking overlaps every other one for dee@x.io, by a different organizer.
        let start = format!("2027-03-01T09:{:02}:00Z", i);
        let body = meeting(&format!("org{i}@x.io"), &["dee@x.io"], &start, TEN);
        async move { http.post(url).json(&body).send().await.unwrap() }
    });
    let answers = join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );
    for res in answers.into_iter().filter(|r| r.status() == 409) {
        let body: Value = res.json().await.unwrap();
        assert!(body["case_id"].is_string());
        let detail = &body["detail"][0];
        assert_eq!(detail["type"], "conflict");
        assert_eq!(detail["loc"], json!(["body", "attendees", "dee@x.io"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_names_each_busy_person_and_the_meeting_holding_them() {
    let app = spawn_app().await;
    let first = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let other = app.booked(&meeting("cat@x.io", &[], NINE, TEN), None).await;
    let res = app
        .book(
            &meeting(
                "eve@x.io",
                &["bob@x.io", "cat@x.io", "fay@x.io"],
                "2027-03-01T09:30:00Z",
                ELEVEN,
            ),
            None,
        )
        .await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    let detail = body["detail"].as_array().unwrap();
    assert_eq!(detail.len(), 2, "{body}");
    assert_eq!(detail[0]["loc"], json!(["body", "attendees", "bob@x.io"]));
    let msg = detail[0]["msg"].as_str().unwrap();
    assert!(msg.contains(first["id"].as_str().unwrap()), "{msg}");
    assert!(msg.contains("2027-03-01T09:00:00+00:00"), "{msg}");
    assert!(
        detail[1]["msg"]
            .as_str()
            .unwrap()
            .contains(other["id"].as_str().unwrap())
    );
    // The organizer's own time counts too.
    let res = app
        .book(
            &meeting("ann@x.io", &[], "2027-03-01T09:59:00Z", ELEVEN),
            None,
        )
        .await;
    assert_eq!(res.status(), 409);
    // Back to back is not overlapping.
    app.booked(&meeting("ann@x.io", &["bob@x.io"], TEN, ELEVEN), None)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_or_cancelling_frees_the_time_again() {
    let app = spawn_app().await;
    let m = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let id = m["id"].as_str().unwrap();
    let clash = meeting("cat@x.io", &["bob@x.io"], NINE, TEN);
    assert_eq!(app.book(&clash, None).await.status(), 409);
    assert_eq!(app.answer(id, "bob@x.io", "NO", None).await.status(), 200);
    let taken = app.booked(&clash, None).await;
    // bob said no to ann's meeting and is now busy elsewhere: saying yes conflicts.
    let res = app.answer(id, "bob@x.io", "YES", None).await;
    assert_eq!(res.status(), 409);
    // ann cancels; her time is free; the cancelled meeting is kept.
    let res = app
        .http
        .delete(app.url(&format!("/meetings/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["sequence"], 1);
    app.booked(&meeting("ann@x.io", &[], NINE, TEN), None).await;
    let again = app
        .http
        .delete(app.url(&format!("/meetings/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "cancelling twice is harmless");
    assert!(taken["id"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_returns_the_first_booking_and_refuses_another() {
    let app = spawn_app().await;
    let body = meeting("ann@x.io", &["bob@x.io"], NINE, TEN);
    let send = |body: Value| {
        app.http
            .post(app.url("/meetings"))
            .header("Idempotency-Key", "book-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let mut other = body.clone();
    other["title"] = json!("Something else");
    let res = send(other).await.unwrap();
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(
        err["detail"][0]["loc"],
        json!(["header", "Idempotency-Key"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_needs_the_current_version_when_if_match_is_sent() {
    let app = spawn_app().await;
    let m = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let url = app.url(&format!("/meetings/{}", m["id"].as_str().unwrap()));
    let res = app
        .http
        .patch(&url)
        .header("If-Match", "\"7\"")
        .json(&json!({"title": "Retitled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = app
        .http
        .patch(&url)
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "Retitled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["title"], "Retitled");
    assert_eq!(changed["sequence"], 1);
    let unchanged: Value = app.get_json(&url).await;
    assert_eq!(unchanged["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_400_naming_each_problem_and_stores_nothing() {
    let app = spawn_app().await;
    let res = app
        .book(
            &json!({"title": "", "organizer": "ann@x.io", "start": "soon", "end": TEN,
                      "attendees": ["nope"], "visibility": "secret"}),
            None,
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    assert_eq!(
        locs,
        [
            "body.title",
            "body.start",
            "body.visibility",
            "body.attendees.0"
        ]
    );
    let res = app
        .book(&json!({"title": "x", "start": NINE, "end": TEN}), None)
        .await;
    assert_eq!(res.status(), 400, "no organizer and no token");
    let res = app.book(&json!([1, 2]), None).await;
    assert_eq!(res.status(), 400);
    let res = app
        .book(
            &json!({"title": "x", "organizer": "a@x.io", "start": TEN, "end": NINE, "extra": 1}),
            None,
        )
        .await;
    assert_eq!(res.status(), 400);
    for path in ["/meetings/not-a-uuid", "/meetings/not-a-uuid/history"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
    }
    let res = app
        .http
        .get(app.url(&format!("/meetings/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert!(body["case_id"].is_string());
    let listed: Value = app
        .get_json(app.url("/meetings?public=true&from=2027-01-01&to=2027-12-31"))
        .await;
    assert_eq!(listed["meetings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_organizer_books_only_with_their_own_token() {
    let app = spawn_app().await;
    let ann = app.account("ann@x.io").await;
    let bob = app.account("bob@x.io").await;
    let body = meeting("ann@x.io", &["cat@x.io"], NINE, TEN);
    assert_eq!(app.book(&body, None).await.status(), 401);
    assert_eq!(app.book(&body, Some(&bob)).await.status(), 403);
    // A service (an auto-book job) acts only for the person it calls for.
    let as_service = |viewer: Option<&str>| {
        let mut req = app.http.post(app.url("/meetings")).header(
            "w2meet-service-token",
            user_service::testing::service_token().header_value(),
        );
        if let Some(v) = viewer {
            req = req.header("w2meet-viewer", v);
        }
        req.json(&body).send()
    };
    assert_eq!(as_service(Some("bob@x.io")).await.unwrap().status(), 403);
    assert_eq!(as_service(None).await.unwrap().status(), 401);
    // With a token the organizer is its subject; the body need not name them.
    let mine = json!({"title": "Mine", "attendees": ["cat@x.io"], "start": NINE, "end": TEN});
    let m = app.booked(&mine, Some(&ann)).await;
    assert_eq!(m["organizer"], "ann@x.io");
    // Only the organizer changes it.
    let url = app.url(&format!("/meetings/{}", m["id"].as_str().unwrap()));
    let res = app
        .http
        .patch(&url)
        .bearer_auth(&bob)
        .json(&json!({"title": "Mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app.http.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // A private meeting of claimed people is theirs to read.
    let res = app.http.get(&url).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.http.get(&url).bearer_auth(&ann).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
