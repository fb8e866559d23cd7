//! The near cache (docs/cache-aside.md, "Near cache"): repeated reads are
//! served from the process's memory, and no replica serves from memory what
//! a returned write replaced — with the invalidation link working, dropped,
//! or late. (Every test in `cache.rs` and `faults.rs` runs with it on too.)

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{TcpProxy, wait_until};
use user_service::store::NearConfig;

use crate::helpers::*;

fn layer(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-cache-layer")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// GETs `path` on `base` until it is a near hit; returns its body.
async fn read_until_near(http: &reqwest::Client, base: &str, path: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let res = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request");
        let near = layer(&res) == "near";
        let body: Value = res.json().await.unwrap();
        if near {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never became a near hit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn monday(http: &reqwest::Client, base: &str, email: &str) -> (Value, String) {
    let res = http
        .get(format!("{base}/users/{email}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let how = format!("{} {}", x_cache(&res), layer(&res));
    let user: Value = res.json().await.unwrap();
    (user["availabilities"]["monday"].clone(), how)
}

async fn set_monday(http: &reqwest::Client, base: &str, email: &str, hour: u32) {
    let res = http
        .put(format!("{base}/users/{email}"))
        .json(&json!({"availabilities": {"monday": [hour]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// The tracking connection of `app`'s process, as Redis lists it.
async fn tracker_id(app: &TestApp) -> Option<String> {
    let name = app.users.cache.near()?.connection_name().to_owned();
    let mut conn = redis::Client::open(app.redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .unwrap();
    list.lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_repeated_read_is_served_from_memory_and_batches_too() {
    let app = spawn_app().await;
    app.create("near@x.io", json!({"monday": [9]})).await;
    app.create("near2@x.io", json!({"monday": [10]})).await;
    assert_eq!(x_cache(&app.get("/users/near@x.io").await), "MISS");
    let redis_hit = app.get("/users/near@x.io").await;
    assert_eq!(
        (x_cache(&redis_hit), layer(&redis_hit).as_str()),
        ("HIT".into(), "redis")
    );
    let near = read_until_near(&app.http, &app.base, "/users/near@x.io").await;
    assert_eq!(near["availabilities"]["monday"], json!([9]));
    let reads = app.db_reads();

    let batch = json!({"emails": ["near@x.io", "near2@x.io"]});
    app.post("/users/batch", &batch).await;
    app.post("/users/batch", &batch).await;
    let served = wait_until(Duration::from_secs(5), || async {
        layer(&app.post("/users/batch", &batch).await) == "near"
    })
    .await;
    assert!(served, "a batch of near entries is served from memory");
    assert_eq!(
        app.db_reads(),
        reads + 1,
        "only near2's first read went to PostgreSQL"
    );
}

/// The property of the whole scheme, across replicas: once a write on B has
/// returned, A — which held the old profile in memory — answers the new one.
#[tokio::test]
async fn a_write_on_one_replica_is_never_overtaken_by_a_near_hit_on_another() {
    let a = spawn_app().await;
    let (b_base, _b) = spawn_replica(a.replica_config()).await;
    a.create("across@x.io", json!({"monday": [0]})).await;
    for hour in 1..=12u32 {
        read_until_near(&a.http, &a.base, "/users/across@x.io").await;
        set_monday(&a.http, &b_base, "across@x.io", hour).await;
        let (seen, how) = monday(&a.http, &a.base, "across@x.io").await;
        assert_eq!(seen, json!([hour]), "replica A served stale data ({how})");
    }
}

/// The tracking connection is killed and B writes before A tracks again:
/// that write's invalidation is lost. A must not serve its old entry — not
/// while it is untracked, and not after it tracks again.
#[tokio::test]
async fn an_invalidation_lost_with_a_dropped_tracking_link_is_never_served_around() {
    let a = spawn_app().await;
    let (b_base, _b) = spawn_replica(a.replica_config()).await;
    a.create("dropped@x.io", json!({"monday": [9]})).await;
    read_until_near(&a.http, &a.base, "/users/dropped@x.io").await;

    let id = tracker_id(&a)
        .await
        .expect("A's tracking connection is listed");
    let mut conn = redis::Client::open(a.redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&id)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(killed, 1);
    // A reconnects after REDIS_RETRY_AFTER_MS (200 ms here); write now.
    set_monday(&a.http, &b_base, "dropped@x.io", 17).await;
    let (seen, how) = monday(&a.http, &a.base, "dropped@x.io").await;
    assert_eq!(seen, json!([17]), "served stale while untracked ({how})");

    let near = a.users.cache.near().expect("near cache on");
    let back = wait_until(Duration::from_secs(5), || async {
        tracker_id(&a).await.is_some_and(|new| new != id) && near.tracking()
    })
    .await;
    assert!(back, "A tracks again on a new connection");
    let body = read_until_near(&a.http, &a.base, "/users/dropped@x.io").await;
    assert_eq!(
        body["availabilities"]["monday"],
        json!([17]),
        "the entry from before the drop was served after it"
    );
}

/// A's link to Redis stalls (bytes held, connection open): B's invalidation
/// cannot reach A in time. A stops serving from memory within the lag and
/// answers from elsewhere — never the old profile.
#[tokio::test]
async fn a_late_invalidation_stops_near_hits_instead_of_serving_stale() {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let a = spawn_app_with(Options {
        redis_url: Some(format!("redis://{}", proxy.addr)),
        ..Options::default()
    })
    .await;
    let (b_base, _b) = spawn_replica(a.replica_config()).await;
    a.create("late@x.io", json!({"monday": [9]})).await;
    read_until_near(&a.http, &a.base, "/users/late@x.io").await;

    proxy.stall();
    set_monday(&a.http, &b_base, "late@x.io", 18).await;
    let (seen, how) = monday(&a.http, &a.base, "late@x.io").await;
    assert_eq!(
        seen,
        json!([18]),
        "served stale behind a stalled link ({how})"
    );

    proxy.unstall();
    let body = read_until_near(&a.http, &a.base, "/users/late@x.io").await;
    assert_eq!(body["availabilities"]["monday"], json!([18]));
}

#[tokio::test]
async fn the_near_cache_keeps_to_its_memory_bound() {
    let app = spawn_app_with(Options {
        near: Some(NearConfig {
            max_bytes: 16 * 1024,
            lag: Duration::from_millis(10),
        }),
        ..Options::default()
    })
    .await;
    let emails: Vec<String> = (0..200).map(|i| format!("bound{i}@x.io")).collect();
    for email in &emails {
        app.create(
            email,
            json!({"monday": [9, 10, 11], "tuesday": ["09:00-12:00"]}),
        )
        .await;
    }
    let batch = json!({ "emails": emails });
    for _ in 0..4 {
        assert_eq!(
            app.post("/users/batch", &batch).await.status(),
            StatusCode::OK
        );
    }
    let near = app.users.cache.near().expect("near cache on");
    let held = near.len();
    assert!(held > 0, "something is kept");
    assert!(
        held < 100,
        "200 profiles of ~250 bytes do not fit in 16 KiB, yet {held} are held"
    );
}

#[tokio::test]
async fn with_the_lag_at_zero_there_is_no_near_cache_and_writes_do_not_wait() {
    let app = spawn_app_with(Options {
        near: Some(NearConfig::OFF),
        ..Options::default()
    })
    .await;
    assert!(app.users.cache.near().is_none());
    app.create("off@x.io", json!({"monday": [9]})).await;
    for _ in 0..5 {
        let res = app.get("/users/off@x.io").await;
        assert_ne!(layer(&res), "near");
    }
}
