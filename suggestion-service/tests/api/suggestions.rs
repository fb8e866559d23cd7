//! suggestion-service through the real availability- and user-service
//! (PostgreSQL + Redis), and against stub availability-services that fail in
//! each way the SPEC names.

use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use test_support::{assert_error, assert_upstream_faults, spawn_stub};

use crate::helpers::*;
#[tokio::test]
async fn the_original_answer_is_one_suggestion_per_distinct_stored_preference() {
    let s = spawn_app().await;
    s.two_users().await;
    let res = s.get("userId1=ann@x.io&userId2=bob@x.io").await;
    assert_eq!(res.status(), StatusCode::OK);
    let case_id = res.headers()["case-id"].to_str().unwrap().to_owned();
    // ann prefers first (Monday 10–11), bob last (Wednesday 16–17): the
    // original body exactly, nothing more.
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"case_id": case_id, "suggestions": [
            {"day": "monday", "slot": [10, 11]},
            {"day": "wednesday", "slot": [16, 17]}
        ]})
    );
    // The same preference twice gives one suggestion.
    s.user(json!({"email": "cy@x.io", "availabilities": {"monday": [10]}}))
        .await;
    let one = s.json("userId1=ann@x.io&userId2=cy@x.io").await;
    assert_eq!(
        one["suggestions"],
        json!([{"day": "monday", "slot": [10, 11]}])
    );

    // The group form of the same question gets the rich objects.
    let text = s.get("users=ann@x.io,bob@x.io").await.text().await.unwrap();
    assert!(
        text.contains(r#""suggestions":[{"day":"monday","slot":[10,11],"#),
        "{text}"
    );
    assert!(
        text.ends_with(
            r#""empty_reason":null,"alternatives":[],"blockers":[],"smallest_change":null}"#
        ),
        "{text}"
    );
    let rich: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rich["suggestions"].as_array().unwrap().len(), 2);
    let first = &rich["suggestions"][0];
    assert_eq!(first["attendees"], json!(["ann@x.io", "bob@x.io"]));
    assert_eq!(first["missing"], json!([]));
    assert_eq!(first["score"], 1.0);
    assert!(first["reason"].as_str().unwrap().contains("earliest"));
    // So does any newer parameter beside the original pair.
    let with_duration = s
        .json("userId1=ann@x.io&userId2=bob@x.io&duration=60")
        .await;
    assert_eq!(
        with_duration["suggestions"][0]["attendees"],
        json!(["ann@x.io", "bob@x.io"])
    );
}

#[tokio::test]
async fn count_and_preference_rank_deterministically() {
    let s = spawn_app().await;
    s.two_users().await;
    let q = "users=ann@x.io,bob@x.io&from=2026-11-23&duration=30&count=5";
    let first = s.json(&format!("{q}&preference=first")).await;
    assert_eq!(
        starts(&first),
        [
            "2026-11-23T10:00:00Z",
            "2026-11-23T10:30:00Z",
            "2026-11-23T11:00:00Z",
            "2026-11-23T11:30:00Z",
            "2026-11-25T15:00:00Z"
        ]
    );
    assert_eq!(first["suggestions"][1]["slot"], json!([10.5, 11]));
    let last = s.json(&format!("{q}&preference=last")).await;
    assert_eq!(starts(&last)[0], "2026-11-25T16:30:00Z");
    let random = s.json(&format!("{q}&preference=random&seed=7")).await;
    assert_eq!(
        random["suggestions"],
        s.json(&format!("{q}&preference=random&seed=7")).await["suggestions"]
    );
    assert_eq!(starts(&random).len(), 5);
    // `best` puts full attendance first, then earliest.
    s.user(json!({"email": "dee@x.io", "availabilities": {"monday": [9, 10]}}))
        .await;
    let best = s.json("users=ann@x.io,bob@x.io,dee@x.io&from=2026-11-23&min_attendees=2&preference=best&count=3").await;
    assert_eq!(best["suggestions"][0]["start"], "2026-11-23T10:00:00Z");
    assert_eq!(
        best["suggestions"][0]["attendees"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        best["suggestions"][1]["missing"].as_array().unwrap().len(),
        1
    );
    // POST gives the same answer as GET.
    let posted: Value = s
        .http
        .post(format!("{}/suggestions", s.base))
        .json(&json!({"users": ["ann@x.io", "bob@x.io"], "from": "2026-11-23", "duration": 30, "count": 5, "preference": "first"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["suggestions"], first["suggestions"]);
}

#[tokio::test]
async fn when_nothing_fits_the_reason_and_nearest_relaxations_are_given() {
    let s = spawn_app().await;
    s.two_users().await;
    let long = s
        .json("users=ann@x.io,bob@x.io&from=2026-11-23&duration=180&count=3&preference=first")
        .await;
    assert_eq!(long["suggestions"], json!([]));
    assert_eq!(long["empty_reason"], "duration_exceeds_common_windows");
    let relaxed: Vec<&str> = long["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["relaxed"].as_str().unwrap())
        .collect();
    assert!(relaxed.contains(&"duration"), "{long}");
    let shorter = long["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["relaxed"] == "duration")
        .unwrap();
    assert_eq!(
        shorter["suggestion"]["start"], "2026-11-23T10:00:00Z",
        "the earliest two hours: Monday 10–12"
    );
    assert_eq!(shorter["suggestion"]["end"], "2026-11-23T12:00:00Z");

    s.user(json!({"email": "never@x.io"})).await;
    let never = s
        .json("users=ann@x.io,bob@x.io,never@x.io&count=1&preference=first")
        .await;
    assert_eq!(never["empty_reason"], "required_attendee_unavailable");
    assert_eq!(
        never["empty_reason_detail"],
        "required attendee(s) never@x.io are never free in the window"
    );
    let fewer = never["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["relaxed"] == "attendees")
        .unwrap();
    assert_eq!(fewer["suggestion"]["missing"], json!(["never@x.io"]));
}

#[tokio::test]
async fn bad_input_is_400_and_unknown_users_404_through_the_chain() {
    let s = spawn_app().await;
    s.two_users().await;
    let base = "users=ann@x.io,bob@x.io";
    for q in [
        "users=ann@x.io".to_owned(),
        String::new(),
        format!("{base}&duration=0"),
        format!("{base}&duration=7"),
        format!("{base}&duration=1441"),
        format!("{base}&count=0"),
        format!("{base}&count=51"),
        format!("{base}&count=many"),
        format!("{base}&preference=soon"),
        format!("{base}&min_attendees=3"),
        format!("{base}&required=zed@x.io"),
        format!("{base}&from=2026-02-30"),
        format!("{base}&days=367"),
        format!("{base}&tz=Atlantis/Capital"),
    ] {
        let body = assert_error(s.get(&q).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["detail"][0]["loc"][0], "query", "{q}: {body}");
    }
    // Each error names the client's own field, as sent.
    for (q, loc) in [
        ("users=a@b,c@d.io", json!(["query", "users", "0"])),
        ("userId1=ann@x.io", json!(["query", "userId2"])),
        ("userId1=ann@x.io&userId2=a@b", json!(["query", "userId2"])),
        (
            "users=ann@x.io,bob@x.io&required=bob@x.io,a@b",
            json!(["query", "required", "1"]),
        ),
        (
            "users=ann@x.io,bob@x.io&from=9999-12-31&days=366",
            json!(["query", "from"]),
        ),
        (
            "users=ann@x.io,bob@x.io&from=-0001-01-01",
            json!(["query", "from"]),
        ),
    ] {
        let body = assert_error(s.get(q).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["detail"][0]["loc"], loc, "{q}: {body}");
    }
    let many: Vec<String> = (0..1001).map(|i| format!("u{i}@x.io")).collect();
    let res = s
        .http
        .post(format!("{}/suggestions", s.base))
        .json(&json!({"users": many}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST).await;
    let unknown = assert_error(
        s.get("userId1=ann@x.io&userId2=ghost@x.io").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(unknown["detail"][0]["msg"], "One or both users not found");
    assert!(unknown.to_string().contains("ghost@x.io"));
}

#[tokio::test]
async fn availability_failures_map_to_502_503_and_504_without_hanging() {
    assert_upstream_faults(
        "/timelines",
        |url: String| spawn_suggestion(url, "http://127.0.0.1:9".to_owned()),
        "/suggestions?users=a@x.io,b@x.io",
    )
    .await;
}

#[tokio::test]
async fn the_case_id_travels_through_availability_to_the_user_service() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let users = spawn_stub(user_service::testing::recording_batch_stub(seen.clone())).await;
    let base = spawn_suggestion(spawn_availability(users.clone()).await, users).await;
    let res = test_support::http_client()
        .get(format!("{base}/suggestions?users=a@x.io,b@x.io"))
        .header("Case-ID", "trace.me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["case-id"], "trace.me-1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["case_id"], "trace.me-1");
    assert_eq!(body["suggestions"][0]["slot"], json!([9, 10]));
    assert_eq!(*seen.lock().unwrap(), ["trace.me-1"]);
}

#[tokio::test]
async fn suggestions_name_a_claimed_person_only_to_whom_may_see_them() {
    let s = spawn_app().await;
    s.two_users().await;
    let bob = user_service::testing::register(&s.http, &s.user_base, "bob@x.io").await;
    let query = "users=ann@x.io,bob@x.io&from=2026-11-23&count=1&preference=best";
    let as_caller = |token: Option<&str>| {
        let req = s.http.get(format!("{}/suggestions?{query}", s.base));
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // Anonymous: bob attends, as a count.
    let anonymous = as_caller(None).await;
    let best = &anonymous["suggestions"][0];
    assert_eq!(best["attendees"], json!(["ann@x.io"]), "{anonymous}");
    assert_eq!(best["hidden_attendees"], 1);
    assert_eq!(best["score"], 1.0);
    assert!(!anonymous.to_string().contains("bob@x.io"), "{anonymous}");
    // Bob's own token (verified here with keys fetched from user-service).
    let own = as_caller(Some(&bob)).await;
    assert_eq!(
        own["suggestions"][0]["attendees"],
        json!(["ann@x.io", "bob@x.io"])
    );
    assert!(own["suggestions"][0].get("hidden_attendees").is_none());
    // A forged token is refused here too.
    let res = s
        .http
        .get(format!("{}/suggestions?{query}", s.base))
        .bearer_auth(format!("{bob}x"))
        .send()
        .await
        .unwrap();
    test_support::assert_error(res, 401u16).await;
}

#[tokio::test]
async fn a_token_that_cannot_be_checked_yet_is_a_503_not_a_401() {
    // user-service (the keys) unreachable from the start: a token can be
    // judged neither valid nor forged.
    let dead = format!("http://127.0.0.1:{}", test_support::free_port());
    let base = spawn_suggestion(dead.clone(), dead).await;
    let keys = user_service::service::tokens::SigningKeys::ephemeral().unwrap();
    let token = keys
        .issue(
            "ann@x.io",
            uuid::Uuid::new_v4(),
            chrono::Utc::now(),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    let res = test_support::http_client()
        .get(format!("{base}/suggestions?users=a@x.io,b@x.io"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "5");
    test_support::assert_error(res, 503u16).await;
}
