//! The test harness: [`spawn_app`] starts this service on port 0 with its
//! real dependencies (a fresh PostgreSQL schema and Redis prefix behind a
//! real user-service); the other spawners start it against stubs.
use std::time::Duration;

use availability_service::config::Config;

use reqwest::Client;
use serde_json::Value;
use test_support::{RedisPrefix, TestSchema};
use w2meet_platform::http::HttpLimits;
use w2meet_platform::upstream::UpstreamTimeouts;

pub struct Stack {
    pub base: String,
    pub user_base: String,
    pub http: Client,
    _schema: TestSchema,
    _redis: RedisPrefix,
}

pub async fn spawn_availability(user_service_url: String) -> String {
    let app = availability_service::startup::build(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        log_dir: std::env::temp_dir(),
        user_service_url,
        upstream: UpstreamTimeouts {
            connect: Duration::from_millis(300),
            request: Duration::from_millis(500),
        },
        http: HttpLimits {
            body_limit_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(10),
            drain: Duration::ZERO,
        },
        service_token: Some(user_service::testing::service_token()),
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

/// user-service (real PostgreSQL and Redis) + availability-service.
pub async fn spawn_app() -> Stack {
    w2meet_platform::telemetry::init_for_tests("availability-service");
    let schema = TestSchema::create().await;
    let redis = RedisPrefix::new();
    let user_base =
        user_service::testing::spawn(&schema.url, &schema.name, &redis.url, &redis.prefix).await;
    Stack {
        base: spawn_availability(user_base.clone()).await,
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
            .get(format!("{}/availabilities?{query}", self.base))
            .send()
            .await
            .unwrap()
    }
}
