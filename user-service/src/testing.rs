//! For other services' integration tests (feature `testing`, dev-only): a
//! real user-service on port 0 over a given database schema and Redis key
//! prefix, so a caller's tests need not know how this service is
//! configured.

/// The service credential every instance started here accepts (random per
/// test process): give it to the services under test.
pub fn service_token() -> w2meet_platform::auth::ServiceToken {
    static TOKEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        crate::service::tokens::new_refresh_token()
            .expect("random")
            .0
    });
    w2meet_platform::auth::ServiceToken::new(&TOKEN).expect("not empty")
}

/// Registers `email` at the instance at `base` and returns its access
/// token; panics unless it answers 201.
pub async fn register(http: &reqwest::Client, base: &str, email: &str) -> String {
    let res = http
        .post(format!("{base}/auth/register"))
        .json(&serde_json::json!({"email": email, "password": "a long test passphrase"}))
        .send()
        .await
        .expect("user-service answers");
    assert_eq!(res.status().as_u16(), 201, "register {email}");
    let body: serde_json::Value = res.json().await.expect("JSON");
    body["access_token"].as_str().expect("a token").to_owned()
}

/// Shares `owner`'s profile with `viewer`, with the owner's token.
pub async fn share(http: &reqwest::Client, base: &str, owner: &str, token: &str, viewer: &str) {
    let res = http
        .put(format!("{base}/users/{owner}/shares/{viewer}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("user-service answers");
    assert_eq!(res.status().as_u16(), 200, "share {owner} with {viewer}");
}

/// Starts user-service with the environment's defaults except where it
/// listens (a free port), logs (the temp dir), which schema of `db_url` it
/// uses and which Redis key prefix; returns its base URL. It runs until the
/// test's runtime ends.
pub async fn spawn(db_url: &str, schema: &str, redis_url: &str, prefix: &str) -> String {
    spawn_with_events(db_url, schema, redis_url, prefix, None).await
}

/// [`spawn`], consuming meeting events from `exchange` (on `amqp_url`)
/// into a queue named after it when given; without, no events are consumed.
pub async fn spawn_with_events(
    db_url: &str,
    schema: &str,
    redis_url: &str,
    prefix: &str,
    events: Option<(&str, &str)>,
) -> String {
    spawn_with_feeds(db_url, schema, redis_url, prefix, events, None).await
}

/// [`spawn_with_events`], also publishing change events (`changes`) to
/// `changes`'s exchange (on its AMQP URL) when given.
pub async fn spawn_with_feeds(
    db_url: &str,
    schema: &str,
    redis_url: &str,
    prefix: &str,
    events: Option<(&str, &str)>,
    changes: Option<(&str, &str)>,
) -> String {
    let mut config = crate::config::Config::from_env().expect("user-service defaults");
    config.changes = changes.map(|(amqp_url, exchange)| crate::changes::ChangesConfig {
        url: amqp_url.to_owned(),
        exchange: exchange.to_owned(),
        reconnect_max: std::time::Duration::from_millis(500),
        ca_pem: None,
    });
    config.events = events.map(|(amqp_url, exchange)| crate::config::EventsConfig {
        url: amqp_url.to_owned(),
        exchange: exchange.to_owned(),
        queue: format!("{exchange}.user-service"),
        reconnect_max: std::time::Duration::from_millis(500),
        ca_pem: None,
    });
    config.auth.service_token = Some(service_token());
    config.bind = "127.0.0.1:0".parse().expect("an address");
    config.log_dir = std::env::temp_dir();
    config.db.url = db_url.to_owned();
    config.db.schema = Some(schema.to_owned());
    config.cache.url = redis_url.to_owned();
    config.cache.prefix = prefix.to_owned();
    let users = crate::startup::build(config)
        .await
        .expect("user-service starts");
    let base = format!("http://127.0.0.1:{}", users.port());
    tokio::spawn(users.run_until(std::future::pending()));
    base
}

/// A stand-in for `POST /users/batch` that records each call's Case-ID and
/// knows every email asked for (free Monday 09:00–10:00, UTC): for tests of
/// the Case-ID's path through the services that call this one.
pub fn recording_batch_stub(seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> axum::Router {
    use axum::http::HeaderMap;
    use serde_json::{Value, json};
    axum::Router::new().route(
        "/users/batch",
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    let case_id = headers
                        .get("case-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().expect("not poisoned").push(case_id);
                    let users: Vec<Value> = body["emails"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            json!({"email": e, "preferences": "first", "timezone": "UTC",
                               "availabilities": {"monday": [9]}})
                        })
                        .collect();
                    axum::Json(json!({"users": users, "missing": []}))
                }
            },
        ),
    )
}

/// Creates a user through `POST /users` of the instance at `base`; panics
/// unless it answers 201.
pub async fn create(http: &reqwest::Client, base: &str, body: &serde_json::Value) {
    let res = http
        .post(format!("{base}/users"))
        .json(body)
        .send()
        .await
        .expect("user-service answers");
    assert_eq!(res.status().as_u16(), 201, "{body}");
}
