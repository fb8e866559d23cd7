//! Every kind of bad input gets a clear 4xx with the Case-ID — never a 500 —
//! and leaves what is stored untouched.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn raw_post(app: &TestApp, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    app.http
        .post(app.url("/users"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn invalid_user_documents_are_400_with_the_offending_field() {
    let app = spawn_app().await;
    let cases: Vec<(Value, Value)> = vec![
        (json!({"email": 5}), json!(["body"])),
        (
            json!({"email": "a@x.io", "availabilities": "monday"}),
            json!(["body", "availabilities"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"funday": [9]}}),
            json!(["body", "availabilities", "funday"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": [24]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": [-1]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": ["9"]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": ["10:00-09:00"]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": ["10:00-10:00"]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": ["09:07-10:00"]}}),
            json!(["body", "availabilities", "monday", "0"]),
        ),
        (
            json!({"email": "a@x.io", "availabilities": {"monday": [9, "x"]}}),
            json!(["body", "availabilities", "monday", "1"]),
        ),
        (json!({"email": "not-an-email"}), json!(["body", "email"])),
        (
            json!({"email": "a@x.io", "timezone": "Mars/Olympus"}),
            json!(["body", "timezone"]),
        ),
        (
            json!({"email": "a@x.io", "preferences": "whenever"}),
            json!(["body", "preferences"]),
        ),
        (
            json!({"email": "a@x.io", "preferences": 3}),
            json!(["body"]),
        ),
        (json!({"name": "no email"}), json!(["body", "email"])),
        (json!([1, 2, 3]), json!(["body"])),
    ];
    for (body, loc) in cases {
        let err = assert_error(app.post("/users", &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["detail"][0]["loc"], loc, "{body}");
    }
    assert!(
        app.get("/users/a@x.io").await.status() == StatusCode::NOT_FOUND,
        "nothing was stored"
    );
}

#[tokio::test]
async fn malformed_bodies_are_4xx_not_500() {
    let app = spawn_app().await;
    let cases: Vec<(Vec<u8>, &str, StatusCode)> = vec![
        (
            b"{not json".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (b"".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (
            b"{\"email\": \"a@x.io\"".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            b"{\"email\":\"a@x.io\"}".to_vec(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (body, ct, status) in cases {
        assert_error(raw_post(&app, body.clone(), ct).await, status).await;
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = spawn_app().await;
    let big = json!({"email": "big@x.io", "name": "x".repeat(70 * 1024)});
    assert_error(
        app.post("/users", &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(
        app.get("/users/big@x.io").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn emails_with_sql_or_path_metacharacters_are_data() {
    let app = spawn_app().await;
    for email in ["o'brien@x.io", "a/b@x.io", "x+y%z@x.io", "semi{colon}@x.io"] {
        let created = app
            .post(
                "/users",
                &json!({"email": email, "availabilities": {"monday": [9]}}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "{email}");
        let encoded: String = email
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"@.-_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let read = app.get(&format!("/users/{encoded}")).await;
        assert_eq!(read.status(), StatusCode::OK, "{email}");
        assert_eq!(read.json::<Value>().await.unwrap()["email"], email);
    }
    for hostile in [
        "x'; DROP TABLE users; --@x.io",
        "../../etc/passwd",
        "a@x.io\r\nX-Injected: 1",
    ] {
        assert_error(
            app.post("/users", &json!({"email": hostile})).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    // The table and its rows survived.
    assert_eq!(
        app.get("/users/o'brien@x.io").await.status(),
        StatusCode::OK
    );
    // A path segment that is not UTF-8 after decoding.
    assert_error(app.get("/users/%FF%FE@x.io").await, StatusCode::BAD_REQUEST).await;
    assert_error(
        app.get("/users/not-an-email").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_conflicting_or_invalid_write_leaves_the_stored_user_intact() {
    let app = spawn_app().await;
    let original = app.create("keep@x.io", json!({"monday": [9]})).await;
    assert_error(
        app.put(
            "/users/keep@x.io",
            &json!({"availabilities": {"monday": [99]}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        app.put("/users/keep@x.io", &json!({"email": "other@x.io"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // A body that is JSON but not an object (serde would read `[]` into a
    // struct of optional fields) replaces nothing.
    for body in [
        json!([]),
        json!(["x@x.io"]),
        json!("x"),
        json!(3),
        json!(null),
    ] {
        let res = app.put("/users/keep@x.io", &body).await;
        let err = assert_error(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["detail"][0]["loc"], json!(["body"]), "{body}");
    }
    let res = app.post("/users", &json!([])).await;
    assert_error(res, StatusCode::BAD_REQUEST).await;
    let now: Value = app.get("/users/keep@x.io").await.json().await.unwrap();
    assert_eq!(now, original);
}
