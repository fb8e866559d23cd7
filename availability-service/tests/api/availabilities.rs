//! availability-service with a real user-service (PostgreSQL + Redis), and
//! with stub user-services that fail in each way the SPEC names.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use test_support::{assert_error, assert_upstream_faults, free_port, spawn_stub};

use crate::helpers::*;
#[tokio::test]
async fn the_original_two_user_answer_is_unchanged() {
    let s = spawn_app().await;
    s.user(json!({"email": "ann@x.io", "availabilities": {"monday": [9, 10, 11], "friday": [14]}}))
        .await;
    s.user(json!({"email": "bob@x.io", "preferences": "last", "availabilities": {"monday": [10, 11, 12], "friday": [14, 15]}}))
        .await;
    // The original request: the original body exactly, nothing more.
    let res = s.get("userId1=ann@x.io&userId2=bob@x.io").await;
    assert_eq!(res.status(), StatusCode::OK);
    let case_id = res.headers()["case-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "case_id": case_id,
            "common_availabilities": {"monday": [10, 11], "tuesday": [], "wednesday": [], "thursday": [],
                                      "friday": [14], "saturday": [], "sunday": []},
            "user1preference": "first",
            "user2preference": "last"
        })
    );

    // Any newer parameter (here `from`; 2026-11-23 is a Monday) gets the
    // full answer, the original fields first.
    let res = s
        .get("userId1=ann@x.io&userId2=bob@x.io&from=2026-11-23")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with(
            r#"{"common_availabilities":{"monday":[10,11],"tuesday":[],"wednesday":[],"thursday":[],"friday":[14],"saturday":[],"sunday":[]},"user1preference":"first","user2preference":"last","#
        ),
        "{text}"
    );
    let full: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(full["window"]["from"], "2026-11-23");
    assert_eq!(full["window"]["to"], "2026-11-30");
    assert_eq!(
        full["intervals"],
        json!([
            {"start": "2026-11-23T10:00:00Z", "end": "2026-11-23T12:00:00Z", "available": ["ann@x.io", "bob@x.io"], "count": 2},
            {"start": "2026-11-27T14:00:00Z", "end": "2026-11-27T15:00:00Z", "available": ["ann@x.io", "bob@x.io"], "count": 2}
        ])
    );
    // The body form is new too: full answer, and without `from` the window
    // is the coming Monday-to-Sunday week.
    let posted: Value = s
        .http
        .post(format!("{}/availabilities", s.base))
        .json(&json!({"userId1": "ann@x.io", "userId2": "bob@x.io"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let from =
        chrono::NaiveDate::parse_from_str(posted["window"]["from"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    assert_eq!(chrono::Datelike::weekday(&from), chrono::Weekday::Mon);
    assert_eq!(
        posted["common_availabilities"],
        body["common_availabilities"]
    );
}

#[tokio::test]
async fn groups_quorums_and_zones_are_intersected_on_real_dates() {
    let s = spawn_app().await;
    s.user(json!({"email": "a@x.io", "timezone": "Europe/Berlin", "availabilities": {"tuesday": ["09:00-12:00"]}})).await;
    s.user(json!({"email": "b@x.io", "timezone": "America/New_York", "availabilities": {"tuesday": ["04:00-06:00"]}})).await;
    s.user(json!({"email": "c@x.io", "availabilities": {"tuesday": ["08:00-09:30"]}}))
        .await;
    // Tuesday 2026-11-24: Berlin is UTC+1 (08:00–11:00Z), New York UTC-5 (09:00–11:00Z), c 08:00–09:30Z.
    let all: Value = s
        .get("users=a@x.io,b@x.io,c@x.io&from=2026-11-23")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["intervals"],
        json!([{"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T09:30:00Z", "available": ["a@x.io", "b@x.io", "c@x.io"], "count": 3}])
    );
    assert_eq!(
        all.get("user1preference"),
        None,
        "only the original form names user1/user2"
    );
    let quorum: Value = s
        .get("users=a@x.io,b@x.io,c@x.io&from=2026-11-23&min_attendees=2&required=a@x.io")
        .await
        .json()
        .await
        .unwrap();
    let spans: Vec<(String, String, u64)> = quorum["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["start"].as_str().unwrap()[11..16].to_owned(),
                i["end"].as_str().unwrap()[11..16].to_owned(),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("08:00".into(), "09:00".into(), 2),
            ("09:00".into(), "09:30".into(), 3),
            ("09:30".into(), "11:00".into(), 2)
        ]
    );
    // The same request as a JSON body.
    let posted: Value = s
        .http
        .post(format!("{}/availabilities", s.base))
        .json(&json!({"users": ["a@x.io", "b@x.io", "c@x.io", "A@x.io"], "from": "2026-11-23", "min_attendees": 2, "required": ["a@x.io"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["intervals"], quorum["intervals"]);
    // Windows crossing a DST change: Berlin leaves summer time on 2026-10-25.
    let dst: Value = s
        .get("users=a@x.io,b@x.io&from=2026-10-19&days=14&min_attendees=1")
        .await
        .json()
        .await
        .unwrap();
    let a_starts: Vec<&str> = dst["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["available"]
                .as_array()
                .unwrap()
                .contains(&json!("a@x.io"))
        })
        .map(|i| &i["start"].as_str().unwrap()[..16])
        .collect();
    assert!(
        a_starts.contains(&"2026-10-20T07:00"),
        "summer time: 09:00 Berlin is 07:00Z: {a_starts:?}"
    );
    assert!(
        a_starts.contains(&"2026-10-27T08:00"),
        "winter time: 09:00 Berlin is 08:00Z: {a_starts:?}"
    );
}

#[tokio::test]
async fn unknown_users_are_404_and_listed() {
    let s = spawn_app().await;
    s.user(json!({"email": "ann@x.io"})).await;
    let body = assert_error(
        s.get("userId1=ann@x.io&userId2=ghost@x.io").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["detail"][0]["msg"], "One or both users not found");
    assert!(body.to_string().contains("ghost@x.io"));
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_case_id() {
    let s = spawn_app().await;
    s.user(json!({"email": "a@x.io"})).await;
    s.user(json!({"email": "b@x.io"})).await;
    for q in [
        "users=a@x.io",
        "",
        "userId1=a@x.io",
        "users=a@x.io,a@x.io",
        "users=a@x.io,b@x.io&from=2026-13-01",
        "users=a@x.io,b@x.io&from=2026-02-29",
        "users=a@x.io,b@x.io&days=0",
        "users=a@x.io,b@x.io&days=367",
        "users=a@x.io,b@x.io&days=seven",
        "users=a@x.io,b@x.io&tz=Nowhere/Land",
        "users=a@x.io,b@x.io&min_attendees=3",
        "users=a@x.io,b@x.io&min_attendees=-1",
        "users=a@x.io,b@x.io&required=c@x.io",
    ] {
        assert_error(s.get(q).await, StatusCode::BAD_REQUEST).await;
    }
    let many: Vec<String> = (0..1001).map(|i| format!("u{i}@x.io")).collect();
    let res = s
        .http
        .post(format!("{}/availabilities", s.base))
        .json(&json!({"users": many}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST).await;
    // A 60 kB query string (near the largest URI clients send).
    let huge = format!("users={}&days=1", "a,".repeat(30_000));
    assert_error(s.get(&huge).await, StatusCode::BAD_REQUEST).await;
    let dupes: Value = s
        .get("users=a@x.io,b@x.io,A@X.io&from=2026-11-23")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        dupes["users"],
        json!(["a@x.io", "b@x.io"]),
        "duplicates collapse"
    );
}

#[tokio::test]
async fn the_case_id_arrives_at_the_user_service() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = spawn_availability(
        spawn_stub(user_service::testing::recording_batch_stub(seen.clone())).await,
    )
    .await;
    let res = test_support::http_client()
        .get(format!("{base}/availabilities?users=a@x.io,b@x.io"))
        .header("Case-ID", "follow-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["case-id"], "follow-me-42");
    assert_eq!(
        *seen.lock().unwrap(),
        ["follow-me-42"],
        "one batch call, with the Case-ID"
    );
}

#[tokio::test]
async fn user_service_failures_map_to_502_503_and_504_without_hanging() {
    assert_upstream_faults(
        "/users/batch",
        spawn_availability,
        "/availabilities?users=a@x.io,b@x.io",
    )
    .await;

    // Health names the unreachable user-service.
    let base = spawn_availability(format!("http://127.0.0.1:{}", free_port())).await;
    let h = test_support::http_client()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), StatusCode::SERVICE_UNAVAILABLE);
    let h: Value = h.json().await.unwrap();
    assert_eq!(h["dependencies"]["user-service"]["status"], "unhealthy");
    assert!(h["dependencies"]["user-service"]["response_time_ms"].is_number());
}

#[tokio::test]
async fn health_reports_the_user_service_with_its_response_time() {
    let s = spawn_app().await;
    let h: Value = s
        .http
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["service"], "availability-service");
    assert_eq!(h["dependencies"]["user-service"]["status"], "healthy");
    let doc: Value = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/availabilities"]["get"].is_object());
    assert!(doc["paths"]["/availabilities"]["post"].is_object());
}

#[tokio::test]
async fn a_replica_that_refuses_connections_is_skipped() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let live = spawn_stub(user_service::testing::recording_batch_stub(seen.clone())).await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let base = spawn_availability(format!("{dead},{live}")).await;
    for _ in 0..4 {
        let res = test_support::http_client()
            .get(format!("{base}/availabilities?users=a@x.io,b@x.io"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        4,
        "every call reached the live replica once"
    );
}

#[tokio::test]
async fn a_user_service_that_forgets_a_member_is_a_502_not_a_crash() {
    // Neither found nor missing: an answer this service cannot lay out.
    let forgetful = spawn_stub(Router::new().route(
        "/users/batch",
        post(|| async { axum::Json(json!({"users": [], "missing": []})) }),
    ))
    .await;
    let base = spawn_availability(forgetful).await;
    let http = test_support::http_client();
    let res = http
        .get(format!("{base}/availabilities?users=a@x.io,b@x.io"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_GATEWAY).await;
    let res = http
        .post(format!("{base}/timelines"))
        .header(
            "w2meet-service-token",
            user_service::testing::service_token().header_value(),
        )
        .json(&json!({"version": 1, "users": ["a@x.io", "b@x.io"],
                      "window": {"from": "2027-01-04", "days": 7, "tz": "UTC"}}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_GATEWAY).await;
}

#[tokio::test]
async fn a_claimed_member_the_caller_may_not_see_is_counted_not_named() {
    let s = spawn_app().await;
    let monday = json!({"monday": ["09:00-10:00"]});
    s.user(json!({"email": "a@x.io", "availabilities": monday}))
        .await;
    s.user(json!({"email": "b@x.io", "availabilities": monday}))
        .await;
    let b_token = user_service::testing::register(&s.http, &s.user_base, "b@x.io").await;
    let c_token = user_service::testing::register(&s.http, &s.user_base, "c@x.io").await;
    let query = "users=a@x.io,b@x.io&from=2026-11-23&detail=users";
    let as_caller = |token: Option<&str>| {
        let req = s.http.get(format!("{}/availabilities?{query}", s.base));
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let interval = |available: Value, hidden: Option<u64>| {
        let mut iv = json!({"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T10:00:00Z",
                            "available": available, "count": 2});
        if let Some(h) = hidden {
            iv["hidden"] = json!(h);
        }
        json!([iv])
    };

    // Anonymous, and someone b has not shared with: b is a count.
    for token in [None, Some(c_token.as_str())] {
        let answer = as_caller(token).await;
        assert_eq!(answer["intervals"], interval(json!(["a@x.io"]), Some(1)));
        assert_eq!(answer["hidden"], 1);
        assert!(answer["free"].get("b@x.io").is_none(), "{answer}");
        assert!(answer["free"].get("a@x.io").is_some(), "{answer}");
        assert_eq!(answer["preferences"], json!({"a@x.io": "first"}));
    }
    // b sees b; once b shares with c, so does c.
    let own = as_caller(Some(&b_token)).await;
    assert_eq!(
        own["intervals"],
        interval(json!(["a@x.io", "b@x.io"]), None)
    );
    assert!(own.get("hidden").is_none());
    user_service::testing::share(&s.http, &s.user_base, "b@x.io", &b_token, "c@x.io").await;
    let shared = as_caller(Some(&c_token)).await;
    assert_eq!(
        shared["intervals"],
        interval(json!(["a@x.io", "b@x.io"]), None)
    );

    // A token that does not verify is refused, not read as anonymous.
    let res = s
        .http
        .get(format!("{}/availabilities?{query}", s.base))
        .bearer_auth("e30.e30.e30")
        .send()
        .await
        .unwrap();
    test_support::assert_error(res, 401u16).await;
}

#[tokio::test]
async fn timelines_are_for_the_platforms_services_only() {
    let s = spawn_app().await;
    let monday = json!({"monday": ["09:00-10:00"]});
    s.user(json!({"email": "a@x.io", "availabilities": monday}))
        .await;
    s.user(json!({"email": "b@x.io", "availabilities": monday}))
        .await;
    let b_token = user_service::testing::register(&s.http, &s.user_base, "b@x.io").await;
    let body = json!({"version": 1, "users": ["a@x.io", "b@x.io"],
                      "window": {"from": "2026-11-23", "days": 7, "tz": "UTC"}});
    let post = || s.http.post(format!("{}/timelines", s.base)).json(&body);
    let anonymous = post().send().await.unwrap();
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Bearer realm=\"w2meet\""
    );
    test_support::assert_error(anonymous, 401u16).await;
    // Even the claimed member's own token: the route is not for people.
    test_support::assert_error(post().bearer_auth(&b_token).send().await.unwrap(), 403u16).await;
    let service = post()
        .header(
            "w2meet-service-token",
            user_service::testing::service_token().header_value(),
        )
        .header("w2meet-viewer", "c@x.io")
        .send()
        .await
        .unwrap();
    assert_eq!(service.status(), 200);
    let answer: Value = service.json().await.unwrap();
    assert_eq!(answer["users"].as_array().unwrap().len(), 2);
    assert_eq!(answer["hidden"], json!(["b@x.io"]));
}

#[tokio::test]
async fn health_is_not_transitive_a_redis_outage_behind_user_service_leaves_it_healthy() {
    // user-service with Redis on a closed port: its own /health is 503
    // (redis unhealthy) but it is ready — it serves from PostgreSQL.
    let schema = test_support::TestSchema::create().await;
    let redis = test_support::RedisPrefix::new();
    let dead_redis = format!("redis://127.0.0.1:{}", test_support::free_port());
    let users =
        user_service::testing::spawn(&schema.url, &schema.name, &dead_redis, &redis.prefix).await;
    let http = test_support::http_client();
    let own = http.get(format!("{users}/health")).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::SERVICE_UNAVAILABLE);
    let base = spawn_availability(users).await;
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let h: Value = health.json().await.unwrap();
    assert_eq!(h["dependencies"]["user-service"]["status"], "healthy");
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    // No user-service at all: this service is still ready (its readiness
    // is its own links, and it has none), while /health says why answers
    // would fail.
    let lonely =
        spawn_availability(format!("http://127.0.0.1:{}", test_support::free_port())).await;
    let ready = http.get(format!("{lonely}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let health = http.get(format!("{lonely}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_large_group_gives_its_memory_back_afterwards() {
    let s = spawn_app().await;
    let emails: Vec<String> = (0..20).map(|i| format!("m{i}@x.io")).collect();
    for e in &emails {
        s.user(json!({"email": e, "availabilities": {"monday": ["09:00-12:00"]}}))
            .await;
    }
    // 20 members × 366 days is large work (memory::LARGE_GROUP).
    let before = w2meet_platform::memory::trims();
    let res = s
        .get(&format!(
            "users={}&days=366&from=2027-01-04",
            emails.join(",")
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = std::time::Instant::now() + w2meet_platform::memory::TRIM_DELAY * 8;
    while w2meet_platform::memory::trims() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "no trim after a 20 × 366 group"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn intervals_mark_who_is_free_only_if_need_be() {
    let s = spawn_app().await;
    s.user(
        json!({"email": "ann@x.io", "availabilities": {"monday": [9]},
                  "if_need_be": {"monday": [10]}}),
    )
    .await;
    s.user(json!({"email": "bob@x.io", "availabilities": {"monday": [9, 10]}}))
        .await;
    let res = s
        .get("users=ann@x.io,bob@x.io&from=2031-03-03&days=1")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["intervals"],
        json!([
            {"start": "2031-03-03T09:00:00Z", "end": "2031-03-03T10:00:00Z",
             "available": ["ann@x.io", "bob@x.io"], "count": 2},
            {"start": "2031-03-03T10:00:00Z", "end": "2031-03-03T11:00:00Z",
             "available": ["ann@x.io", "bob@x.io"], "count": 2, "if_need_be": ["ann@x.io"]}
        ])
    );
    // If-need-be hours count as common hours in the original shape.
    assert_eq!(body["common_availabilities"]["monday"], json!([9, 10]));
}
