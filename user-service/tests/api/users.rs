//! The user resource: create, read, replace, delete, batch read, and the
//! contracts every route shares.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn create_returns_201_with_the_normalised_user_and_an_etag() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/users",
            &json!({"email": " Ann@Example.COM ", "name": "Ann", "timezone": "Europe/Berlin",
                    "preferences": "last",
                    "availabilities": {"tuesday": ["10:00-11:00", "10:30-12:00"], "monday": [10, 9, 9]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["timezone"], "Europe/Berlin");
    assert_eq!(user["preferences"], "last");
    assert_eq!(user["version"], 1);
    assert_eq!(
        user["availabilities"],
        json!({"monday": [9, 10], "tuesday": ["10:00-12:00"], "wednesday": [], "thursday": [],
               "friday": [], "saturday": [], "sunday": []})
    );
    let days: Vec<&String> = user["availabilities"].as_object().unwrap().keys().collect();
    assert_eq!(days[0], "monday", "days come back Monday first");
    // Read back from the database (a miss), the same document.
    let read: Value = app
        .get("/users/ann@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, user);
}

#[tokio::test]
async fn an_identical_create_is_a_harmless_retry_and_different_data_conflicts() {
    let app = spawn_app().await;
    let body = json!({"email": "bob@example.com", "availabilities": {"monday": [9]}});
    assert_eq!(
        app.post("/users", &body).await.status(),
        StatusCode::CREATED
    );
    let retry = app.post("/users", &body).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.json::<Value>().await.unwrap()["version"], 1);
    // Same data written differently is still identical.
    let same = json!({"email": "BOB@example.com", "timezone": "UTC", "preferences": "first",
                      "availabilities": {"monday": [9, 9]}});
    assert_eq!(app.post("/users", &same).await.status(), StatusCode::OK);
    let different = json!({"email": "bob@example.com", "availabilities": {"monday": [10]}});
    assert_error(app.post("/users", &different).await, StatusCode::CONFLICT).await;
    // Nothing stored was changed by the conflicting create.
    let stored: Value = app
        .get("/users/bob@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["availabilities"]["monday"], json!([9]));
}

#[tokio::test]
async fn a_re_created_user_never_reuses_an_etag() {
    let app = spawn_app().await;
    let first = app
        .post(
            "/users",
            &json!({"email": "dee@example.com", "availabilities": {"monday": [9]}}),
        )
        .await;
    assert_eq!(first.headers()["etag"], "\"1\"");
    let del = app
        .http
        .delete(app.url("/users/dee@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let second = app
        .post(
            "/users",
            &json!({"email": "dee@example.com", "availabilities": {"friday": [17]}}),
        )
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["etag"], "\"2\"", "the version continues");
    // The client that read the first person's "1" cannot overwrite the
    // second person's data.
    let stale = app
        .http
        .put(app.url("/users/dee@example.com"))
        .header("If-Match", "\"1\"")
        .json(&json!({"availabilities": {"monday": [9]}}))
        .send()
        .await
        .unwrap();
    assert_error(stale, StatusCode::PRECONDITION_FAILED).await;
    let now: Value = app
        .get("/users/dee@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["availabilities"]["friday"], json!([17]));
    assert_eq!(now["version"], 2);
}

#[tokio::test]
async fn replace_honours_if_match_and_bumps_the_version() {
    let app = spawn_app().await;
    app.create("cy@example.com", json!({"monday": [9]})).await;
    let body = json!({"availabilities": {"monday": [14]}});
    let stale = app
        .http
        .put(app.url("/users/cy@example.com"))
        .header("If-Match", "\"7\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(stale, StatusCode::PRECONDITION_FAILED).await;
    let ok = app
        .http
        .put(app.url("/users/cy@example.com"))
        .header("If-Match", "\"1\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let user: Value = ok.json().await.unwrap();
    assert_eq!(user["version"], 2);
    assert_eq!(user["availabilities"]["monday"], json!([14]));
    // Without If-Match the replace is unconditional.
    let again = app
        .put("/users/cy@example.com", &json!({"availabilities": {}}))
        .await;
    assert_eq!(again.json::<Value>().await.unwrap()["version"], 3);
    let malformed = app
        .http
        .put(app.url("/users/cy@example.com"))
        .header("If-Match", "yesterday")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::PRECONDITION_FAILED).await;
    // A weak tag never matches (If-Match compares strongly), even when it
    // names the current version.
    let weak = app
        .http
        .put(app.url("/users/cy@example.com"))
        .header("If-Match", "W/\"3\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(weak, StatusCode::PRECONDITION_FAILED).await;
    // A list matches when any tag does; `*` when the user exists.
    let listed = app
        .http
        .put(app.url("/users/cy@example.com"))
        .header("If-Match", "\"1\", W/\"2\", \"3\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let star = |email: &str| {
        app.http
            .put(app.url(&format!("/users/{email}")))
            .header("If-Match", "*")
            .json(&json!({}))
            .send()
    };
    assert_eq!(
        star("cy@example.com").await.unwrap().status(),
        StatusCode::OK
    );
    assert_error(
        star("nobody@example.com").await.unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
}

#[tokio::test]
async fn replace_and_delete_of_an_unknown_user_are_404() {
    let app = spawn_app().await;
    assert_error(
        app.put("/users/ghost@example.com", &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let del = app
        .http
        .delete(app.url("/users/ghost@example.com"))
        .send()
        .await
        .unwrap();
    assert_error(del, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn delete_removes_the_user_and_its_cache_entry() {
    let app = spawn_app().await;
    app.create("dee@example.com", json!({"monday": [9]})).await;
    assert_eq!(x_cache(&app.get("/users/dee@example.com").await), "MISS");
    assert_eq!(x_cache(&app.get("/users/dee@example.com").await), "HIT");
    let del = app
        .http
        .delete(app.url("/users/dee@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let gone = app.get("/users/dee@example.com").await;
    assert_eq!(x_cache(&gone), "MISS");
    assert_error(gone, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn batch_reads_use_one_query_for_the_misses_and_list_the_missing() {
    let app = spawn_app().await;
    for e in ["a@x.io", "b@x.io", "c@x.io"] {
        app.create(e, json!({"monday": [9]})).await;
    }
    let before = app.db_reads();
    let res = app
        .get("/users?emails=c@x.io,A@x.io,nobody@x.io,a@x.io")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(x_cache(&res), "MISS");
    let body: Value = res.json().await.unwrap();
    let emails: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["c@x.io", "a@x.io"],
        "in the order asked, duplicates collapsed"
    );
    assert_eq!(body["missing"], json!(["nobody@x.io"]));
    assert_eq!(app.db_reads() - before, 1, "one SQL query for all misses");

    let before = app.db_reads();
    let res = app
        .post(
            "/users/batch",
            &json!({"emails": ["a@x.io", "c@x.io", "nobody@x.io"]}),
        )
        .await;
    assert_eq!(x_cache(&res), "HIT");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 2);
    assert_eq!(body["missing"], json!(["nobody@x.io"]));
    assert_eq!(app.db_reads(), before, "everything came from the cache");
}

#[tokio::test]
async fn a_batch_of_1000_users_is_served_and_1001_is_refused() {
    let app = spawn_app().await;
    let emails: Vec<String> = (0..1000).map(|i| format!("u{i}@big.example")).collect();
    let res = app.post("/users/batch", &json!({"emails": emails})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["missing"]
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    // The longest legal emails still fit the batch route's own body limit.
    let long: Vec<String> = (0..1000)
        .map(|i| format!("{i:04}{}@example.com", "x".repeat(60)))
        .collect();
    let res = app.post("/users/batch", &json!({"emails": long})).await;
    assert_eq!(res.status(), StatusCode::OK, "a 78 kB batch body");
    let mut too_many = emails.clone();
    too_many.push("one-more@big.example".into());
    assert_error(
        app.post("/users/batch", &json!({"emails": too_many})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        app.post("/users/batch", &json!({"emails": []})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(app.get("/users?emails=").await, StatusCode::BAD_REQUEST).await;
    assert_error(
        app.get("/users?emails=a@x.io,not-an-email").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn the_original_cache_aside_endpoints_return_the_availability_record() {
    let app = spawn_app().await;
    app.create("eve@example.com", json!({"friday": [16, 17]}))
        .await;
    let by_path = app.get("/user-avail/cache-aside/eve@example.com").await;
    assert_eq!(x_cache(&by_path), "MISS");
    let record: Value = by_path.json().await.unwrap();
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "email",
            "availabilities",
            "preferences",
            "timezone",
            "created_at"
        ]
    );
    assert_eq!(record["availabilities"]["friday"], json!([16, 17]));
    let by_query = app
        .get("/user-avail/cache-aside?user1email=EVE@example.com")
        .await;
    assert_eq!(x_cache(&by_query), "HIT");
    assert_eq!(by_query.json::<Value>().await.unwrap(), record);
    let missing = assert_error(
        app.get("/user-avail/cache-aside?user1email=nope@example.com")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(missing["detail"][0]["loc"], json!(["query", "user1email"]));
    assert_error(
        app.get("/user-avail/cache-aside").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn every_response_echoes_a_valid_case_id_and_replaces_an_invalid_one() {
    let app = spawn_app().await;
    let kept = app
        .http
        .get(app.url("/health"))
        .header("case-id", "trace-me.1:2_3-4")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["case-id"], "trace-me.1:2_3-4");
    assert_eq!(
        kept.json::<Value>().await.unwrap()["case_id"],
        "trace-me.1:2_3-4"
    );
    let lower = app
        .http
        .get(app.url("/health"))
        .header("CASE-ID", "upper")
        .send()
        .await
        .unwrap();
    assert_eq!(lower.headers()["case-id"], "upper");
    for bad in ["x".repeat(10_000), "has space".into(), "semi;colon".into()] {
        let res = app
            .http
            .get(app.url("/health"))
            .header("case-id", bad.as_str())
            .send()
            .await
            .unwrap();
        let id = res.headers()["case-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "replaced by a UUID: {id}"
        );
    }
    let fresh = app.get("/health").await;
    assert!(uuid::Uuid::parse_str(fresh.headers()["case-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_json_error_body() {
    let app = spawn_app().await;
    assert_error(app.get("/nope").await, StatusCode::NOT_FOUND).await;
    let wrong = app
        .http
        .patch(app.url("/users/a@x.io"))
        .send()
        .await
        .unwrap();
    assert_error(wrong, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn health_metrics_openapi_and_docs_are_served() {
    let app = spawn_app().await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    let h: Value = health.json().await.unwrap();
    assert_eq!(h["service"], "user-service");
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["dependencies"]["redis"]["status"], "healthy");
    assert_eq!(h["dependencies"]["postgresql"]["status"], "healthy");
    assert!(h["dependencies"]["redis"]["response_time_ms"].is_number());

    app.create("m@x.io", json!({})).await;
    app.get("/users/m@x.io").await;
    app.get("/users/m@x.io").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/users/{email}\""), "{metrics}");
    assert!(
        metrics.contains("cache_requests_total{result=\"hit\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cache_requests_total{result=\"miss\"}"),
        "{metrics}"
    );

    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/users",
        "/users/{email}",
        "/users/batch",
        "/user-avail/cache-aside/{email}",
        "/health",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let docs = app.get("/docs").await;
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = docs.text().await.unwrap();
    assert!(html.contains("docs/swagger-ui-bundle.js") && html.contains("openapi.json"));
    // Swagger UI's own files are served from the binary; the plain page
    // lists every operation without JavaScript.
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.text().await.unwrap().contains("SwaggerUIBundle"));
    let plain = app.get("/docs/plain").await.text().await.unwrap();
    assert!(plain.contains("/users/{email}") && plain.contains("openapi.json"));
}

#[tokio::test]
async fn replicas_starting_together_migrate_the_schema_once() {
    let schema = test_support::TestSchema::create().await;
    let redis = test_support::RedisPrefix::new();
    let builds = (0..4).map(|_| {
        let config = test_config(
            &schema,
            &redis,
            &Options::default(),
            &test_auth(&Options::default()),
        );
        tokio::spawn(user_service::startup::build(config))
    });
    for b in futures::future::join_all(builds).await {
        b.unwrap().expect("every replica starts");
    }
}

#[tokio::test]
async fn freebusy_lays_the_pattern_onto_real_dates_in_the_users_zone() {
    let app = spawn_app().await;
    app.post(
        "/users",
        &json!({"email": "kat@x.io", "timezone": "Asia/Kathmandu", "availabilities": {"monday": ["09:00-10:00"]}}),
    )
    .await;
    // 2026-11-23 is a Monday. Kathmandu is UTC+05:45: 09:00 local is 03:15 UTC.
    let res = app
        .get("/users/kat@x.io/freebusy?from=2026-11-23&days=1&interval=15&tz=UTC")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let view = body["availability_view"].as_str().unwrap();
    assert_eq!(view.len(), 96);
    let free: Vec<usize> = view
        .char_indices()
        .filter(|(_, c)| *c == '0')
        .map(|(i, _)| i)
        .collect();
    assert_eq!(free, [13, 14, 15, 16], "03:15–04:15 UTC");
    assert_eq!(body["tz"], "UTC");

    // Default zone is the user's own; default interval 30 minutes, 7 days.
    let own: Value = app
        .get("/users/kat@x.io/freebusy?from=2026-11-23")
        .await
        .json()
        .await
        .unwrap();
    let view = own["availability_view"].as_str().unwrap();
    assert_eq!(view.len(), 7 * 48);
    assert_eq!(&view[18..20], "00");
    assert_eq!(view.matches('0').count(), 2);

    for bad in [
        "from=2026-02-30",
        "from=soon",
        "days=0",
        "days=63",
        "interval=7",
        "interval=0",
        "tz=Nowhere/Land",
        "days=x",
    ] {
        assert_error(
            app.get(&format!("/users/kat@x.io/freebusy?{bad}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    assert_error(
        app.get("/users/ghost@x.io/freebusy").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
