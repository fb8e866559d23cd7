//! Failure paths, staged for real: Redis on a closed port, a private Redis
//! stopped and restarted, PostgreSQL cut off behind a proxy. The shared
//! servers are never stopped.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{PrivateRedis, TcpProxy, free_port, wait_until};

use crate::helpers::*;

#[tokio::test]
async fn with_redis_down_reads_bypass_to_postgresql_and_health_names_redis() {
    let app = spawn_app_with(Options {
        redis_url: Some(format!("redis://127.0.0.1:{}", free_port())),
        ..Options::default()
    })
    .await;
    // Writes still work: PostgreSQL is the source of truth.
    app.create("nr@x.io", json!({"monday": [9]})).await;
    for _ in 0..3 {
        let res = app.get("/users/nr@x.io").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(x_cache(&res), "BYPASS");
    }
    let batch = app.get("/users?emails=nr@x.io,none@x.io").await;
    assert_eq!(x_cache(&batch), "BYPASS");
    assert_eq!(
        batch.json::<Value>().await.unwrap()["missing"],
        json!(["none@x.io"])
    );
    let put = app
        .put(
            "/users/nr@x.io",
            &json!({"availabilities": {"monday": [10]}}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let read: Value = app.get("/users/nr@x.io").await.json().await.unwrap();
    assert_eq!(read["availabilities"]["monday"], json!([10]));

    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let h: Value = health.json().await.unwrap();
    assert_eq!(h["status"], "unhealthy");
    assert_eq!(h["dependencies"]["redis"]["status"], "unhealthy");
    assert_eq!(h["dependencies"]["postgresql"]["status"], "healthy");
    // Yet the service can serve: ready (Redis is not required), and alive.
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let r: Value = ready.json().await.unwrap();
    assert_eq!(r["status"], "ready");
    assert_eq!(r["links"]["redis"]["status"], "unhealthy");
    assert_eq!(r["links"]["redis"]["required"], false);
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
}

/// Redis keeps its data across the outage (a snapshot, or just a network
/// cut): the entry cached before a write made during the outage is back when
/// Redis is. The epoch advanced by that write must keep it from being served.
#[tokio::test]
async fn when_redis_comes_back_with_old_entries_none_is_served() {
    let mut redis = PrivateRedis::start_persistent();
    let app = spawn_app_with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    app.create("back@x.io", json!({"monday": [9]})).await;
    app.get("/users/back@x.io").await;
    assert_eq!(x_cache(&app.get("/users/back@x.io").await), "HIT");

    redis.stop();
    let bypass = app.get("/users/back@x.io").await;
    assert_eq!(x_cache(&bypass), "BYPASS");
    let put = app
        .put(
            "/users/back@x.io",
            &json!({"availabilities": {"monday": [15]}}),
        )
        .await;
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "writes work while Redis is down"
    );

    redis.resume();
    // Until the cache is trusted again reads bypass; after that they miss
    // and fill. Never the old entry.
    let recovered = wait_until(Duration::from_secs(10), || async {
        let res = app.get("/users/back@x.io").await;
        let cache = x_cache(&res);
        let user: Value = res.json().await.unwrap();
        assert_eq!(
            user["availabilities"]["monday"],
            json!([15]),
            "served stale data ({cache})"
        );
        cache == "HIT"
    })
    .await;
    assert!(recovered, "the cache is used again once Redis is back");
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn when_redis_restarts_empty_the_service_recovers_and_fills_again() {
    let mut redis = PrivateRedis::start();
    let app = spawn_app_with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    app.create("empty@x.io", json!({"monday": [9]})).await;
    redis.stop();
    assert_eq!(x_cache(&app.get("/users/empty@x.io").await), "BYPASS");
    redis.resume();
    let filled = wait_until(Duration::from_secs(10), || async {
        x_cache(&app.get("/users/empty@x.io").await) == "HIT"
    })
    .await;
    assert!(filled);
}

#[tokio::test]
async fn with_postgresql_down_hits_are_served_and_misses_and_writes_get_503() {
    let target = "127.0.0.1:5432".parse().unwrap();
    let proxy = TcpProxy::start(target).await;
    let url =
        test_support::postgres::database_url().replace("127.0.0.1:5432", &proxy.addr.to_string());
    let app = spawn_app_with(Options {
        database_url: Some(url),
        ..Options::default()
    })
    .await;
    app.create("pg@x.io", json!({"monday": [9]})).await;
    app.get("/users/pg@x.io").await;

    proxy.sever();
    let hit = app.get("/users/pg@x.io").await;
    assert_eq!(hit.status(), StatusCode::OK);
    assert_eq!(x_cache(&hit), "HIT");
    assert_error(
        app.get("/users/uncached@x.io").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let body = assert_error(
        app.post("/users", &json!({"email": "new@x.io"})).await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let text = body.to_string();
    assert!(
        !text.contains("5432") && !text.contains("postgres://"),
        "no connection details leak: {text}"
    );
    assert_error(
        app.put("/users/pg@x.io", &json!({})).await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        health.json::<Value>().await.unwrap()["dependencies"]["postgresql"]["status"],
        "unhealthy"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "unready");
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);

    proxy.restore();
    let back = wait_until(Duration::from_secs(10), || async {
        app.post("/users", &json!({"email": "new@x.io"}))
            .await
            .status()
            == StatusCode::CREATED
    })
    .await;
    assert!(back, "writes work again once PostgreSQL is reachable");
    // The earlier user is intact.
    let user: Value = app.get("/users/pg@x.io").await.json().await.unwrap();
    assert_eq!(user["availabilities"]["monday"], json!([9]));
}
