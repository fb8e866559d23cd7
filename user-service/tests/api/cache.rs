//! Cache-aside properties (SPEC §4): fill on miss with a TTL, invalidate on
//! write, no stale fill, one database read per key for concurrent misses,
//! brief negative caching cleared by create.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};
use user_service::service::FillPause;

use crate::helpers::*;

#[tokio::test]
async fn a_miss_fills_the_cache_with_a_ttl_and_the_next_read_hits() {
    let app = spawn_app().await;
    app.create("ttl@x.io", json!({"monday": [9]})).await;
    let first = app.get("/users/ttl@x.io").await;
    assert_eq!(x_cache(&first), "MISS");
    let reads = app.db_reads();
    let second = app.get("/users/ttl@x.io").await;
    assert_eq!(x_cache(&second), "HIT");
    assert_eq!(app.db_reads(), reads, "a hit does not touch PostgreSQL");
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        second.json::<Value>().await.unwrap()
    );

    let entry = app
        .redis
        .keys()
        .into_iter()
        .find(|k| k.contains(":user:"))
        .expect("an entry");
    let mut conn = redis::Client::open(app.redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl: i64 = conn.pttl(&entry).await.unwrap();
    assert!(
        ttl > 290_000 && ttl <= 300_000,
        "TTL about 300 s, got {ttl} ms"
    );
}

#[tokio::test]
async fn a_read_after_a_write_returns_never_sees_the_old_data() {
    let app = spawn_app().await;
    app.create("w@x.io", json!({"monday": [9]})).await;
    app.get("/users/w@x.io").await;
    assert_eq!(x_cache(&app.get("/users/w@x.io").await), "HIT");
    for hour in 10..15 {
        let res = app
            .put(
                "/users/w@x.io",
                &json!({"availabilities": {"monday": [hour]}}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let read: Value = app.get("/users/w@x.io").await.json().await.unwrap();
        assert_eq!(read["availabilities"]["monday"], json!([hour]));
        let cached: Value = app
            .get("/user-avail/cache-aside/w@x.io")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(cached["availabilities"]["monday"], json!([hour]));
    }
}

/// The classic race: a reader misses and reads the old row; a write commits
/// and invalidates; then the reader fills the cache. Without the
/// invalidation counter that fill would serve the old row until the TTL.
#[tokio::test]
async fn a_reader_that_missed_before_a_write_cannot_fill_stale_data_after_it() {
    let app = spawn_app().await;
    app.create("race@x.io", json!({"monday": [9]})).await;

    let pause = Arc::new(FillPause::default());
    *app.users.hooks.before_fill.lock().unwrap() = Some(pause.clone());
    let slow_reader = {
        let http = app.http.clone();
        let url = app.url("/users/race@x.io");
        tokio::spawn(async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    // The reader has read the old row and is about to fill.
    tokio::time::timeout(Duration::from_secs(5), pause.reached.acquire())
        .await
        .expect("the reader reaches the fill")
        .unwrap()
        .forget();
    *app.users.hooks.before_fill.lock().unwrap() = None;

    let res = app
        .put(
            "/users/race@x.io",
            &json!({"availabilities": {"monday": [17]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    pause.release.add_permits(1);
    let old = slow_reader.await.unwrap();
    assert_eq!(
        old["availabilities"]["monday"],
        json!([9]),
        "the reader itself began before the write"
    );

    for _ in 0..3 {
        let res = app.get("/users/race@x.io").await;
        let status = x_cache(&res);
        let user: Value = res.json().await.unwrap();
        assert_eq!(
            user["availabilities"]["monday"],
            json!([17]),
            "served {status} stale data"
        );
    }
}

#[tokio::test]
async fn concurrent_misses_for_one_key_cause_one_database_read() {
    let app = spawn_app().await;
    app.create("hot@x.io", json!({"monday": [9]})).await;
    // Hold the first load at its fill so that every other request arrives
    // while it is in flight.
    let pause = Arc::new(FillPause::default());
    *app.users.hooks.before_fill.lock().unwrap() = Some(pause.clone());
    let before = app.db_reads();
    let joined_before = app.users.coalesced_reads();
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/users/hot@x.io");
            tokio::spawn(async move { http.get(url).send().await.unwrap() })
        })
        .collect();
    pause.reached.acquire().await.unwrap().forget();
    // Release it once the other 49 have joined it.
    assert!(
        test_support::wait_until(Duration::from_secs(10), || async {
            app.users.coalesced_reads() - joined_before == 49
        })
        .await,
        "the other requests join the running read"
    );
    pause.release.add_permits(1);
    let mut statuses = Vec::new();
    for r in requests {
        let res = r.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        statuses.push(x_cache(&res));
    }
    assert_eq!(
        app.db_reads() - before,
        1,
        "50 concurrent misses, one database read"
    );
    assert!(statuses.iter().all(|s| s == "MISS"), "{statuses:?}");
}

#[tokio::test]
async fn unknown_users_are_cached_briefly_and_creating_them_clears_it() {
    let app = spawn_app().await;
    let first = app.get("/users/later@x.io").await;
    assert_eq!(x_cache(&first), "MISS");
    assert_error(first, StatusCode::NOT_FOUND).await;
    let reads = app.db_reads();
    let second = app.get("/users/later@x.io").await;
    assert_eq!(x_cache(&second), "HIT");
    assert_error(second, StatusCode::NOT_FOUND).await;
    assert_eq!(app.db_reads(), reads, "the negative entry answered");

    app.create("later@x.io", json!({"monday": [9]})).await;
    let found = app.get("/users/later@x.io").await;
    assert_eq!(
        found.status(),
        StatusCode::OK,
        "create cleared the negative entry"
    );

    let entry = app
        .redis
        .keys()
        .into_iter()
        .find(|k| k.contains(":user:"))
        .unwrap();
    let mut conn = redis::Client::open(app.redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = conn.del(&entry).await.unwrap();
    app.get("/users/gone@x.io").await;
    let negative = app
        .redis
        .keys()
        .into_iter()
        .find(|k| k.ends_with("gone@x.io") && k.contains(":user:"))
        .unwrap();
    let ttl: i64 = conn.pttl(&negative).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 5_000,
        "negative entries live 5 s, got {ttl} ms"
    );
}

#[tokio::test]
async fn keys_live_under_the_configured_prefix_only() {
    let app = spawn_app().await;
    app.create("p@x.io", json!({})).await;
    app.get("/users/p@x.io").await;
    let keys = app.redis.keys();
    assert!(keys.len() >= 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with(&app.redis.prefix)));
}

/// Replica A sees Redis fail once and advances the epoch with its next write;
/// replica B saw nothing and still reads under the old epoch. B must not
/// serve its old entry after A's write returned: entries are only hits under
/// the generation that is current now.
#[tokio::test]
async fn a_replica_on_an_older_epoch_does_not_serve_what_a_newer_epoch_write_replaced() {
    let a = spawn_app().await;
    let mut b_config = a.replica_config();
    b_config.cache.epoch_refresh = Duration::from_secs(3600);
    let (b_base, b_users) = spawn_replica(b_config).await;
    let b_get = |path: &str| a.http.get(format!("{b_base}{path}")).send();

    a.create("epoch@x.io", json!({"monday": [9]})).await;
    assert_eq!(x_cache(&b_get("/users/epoch@x.io").await.unwrap()), "MISS");
    assert_eq!(x_cache(&b_get("/users/epoch@x.io").await.unwrap()), "HIT");

    // A moves to a newer epoch (as after a Redis error), B does not.
    let newer = a.users.store.bump_epoch().await.unwrap();
    a.users.refresh_epoch().await.unwrap();
    assert_eq!(a.users.cache.epoch(), newer);
    assert!(b_users.cache.epoch() < newer);

    let put = a
        .put(
            "/users/epoch@x.io",
            &json!({"availabilities": {"monday": [16]}}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let res = b_get("/users/epoch@x.io").await.unwrap();
    let cache = x_cache(&res);
    let user: Value = res.json().await.unwrap();
    assert_eq!(
        user["availabilities"]["monday"],
        json!([16]),
        "replica B served stale data ({cache})"
    );
}
