//! The test harness: [`spawn_app`] starts this service on port 0 with its
//! real dependencies (a fresh PostgreSQL schema and Redis prefix behind a
//! real user-service); the other spawners start it against stubs.
use std::time::Duration;

use axum::http::StatusCode;
use reqwest::Client;
use serde_json::{Value, json};
use suggestion_service::config::Config;

use test_support::{RedisPrefix, TestSchema};
use w2meet_platform::http::HttpLimits;
use w2meet_platform::upstream::UpstreamTimeouts;

pub fn timeouts() -> UpstreamTimeouts {
    UpstreamTimeouts {
        connect: Duration::from_millis(300),
        request: Duration::from_millis(800),
    }
}

pub fn limits() -> HttpLimits {
    HttpLimits {
        body_limit_bytes: 256 * 1024,
        request_timeout: Duration::from_secs(10),
        drain: Duration::ZERO,
    }
}

/// suggestion-service in front of `availability_url`, verifying tokens with
/// the keys of the user-service at `user_url`.
pub async fn spawn_suggestion(availability_url: String, user_url: String) -> String {
    let app = suggestion_service::startup::build(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        log_dir: std::env::temp_dir(),
        availability_service_url: availability_url,
        upstream: timeouts(),
        http: limits(),
        user_service_url: user_url,
        service_token: Some(user_service::testing::service_token()),
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

pub async fn spawn_availability(user_url: String) -> String {
    let app = availability_service::startup::build(availability_service::config::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        log_dir: std::env::temp_dir(),
        user_service_url: user_url,
        upstream: timeouts(),
        http: limits(),
        service_token: Some(user_service::testing::service_token()),
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

pub struct Stack {
    pub base: String,
    pub user_base: String,
    pub http: Client,
    _schema: TestSchema,
    _redis: RedisPrefix,
}

/// user-service → availability-service → suggestion-service, all real.
pub async fn spawn_app() -> Stack {
    w2meet_platform::telemetry::init_for_tests("suggestion-service");
    let schema = TestSchema::create().await;
    let redis = RedisPrefix::new();
    let user_base =
        user_service::testing::spawn(&schema.url, &schema.name, &redis.url, &redis.prefix).await;
    let availability = spawn_availability(user_base.clone()).await;
    Stack {
        base: spawn_suggestion(availability, user_base.clone()).await,
        user_base,
        http: test_support::http_client(),
        _schema: schema,
        _redis: redis,
    }
}

impl Stack {
    pub async fn user(&self, body: Value) {
        user_service::testing::create(&self.http, &self.user_base, &body).await;
    }

    pub async fn get(&self, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/suggestions?{query}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, query: &str) -> Value {
        let res = self.get(query).await;
        assert_eq!(res.status(), StatusCode::OK, "{query}");
        res.json().await.unwrap()
    }

    pub async fn two_users(&self) {
        self.user(json!({"email": "ann@x.io", "availabilities": {"monday": [9, 10, 11, 12], "wednesday": [15, 16]}}))
            .await;
        self.user(json!({"email": "bob@x.io", "preferences": "last", "availabilities": {"monday": [10, 11], "wednesday": [15, 16, 17]}}))
            .await;
    }
}

pub fn starts(body: &Value) -> Vec<String> {
    body["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}
