//! TLS to the backing servers, selected by URL and verified: each against a
//! private server of the test's own with a certificate a test CA signed.

use serde_json::json;
use test_support::PrivateRedis;
use test_support::tls::TestCa;

use crate::helpers::*;

/// `rediss://` makes the cache speak TLS: with the CA trusted it is used
/// (a second read hits); without it every Redis call fails the handshake
/// and the service serves from PostgreSQL (bypass), never unverified.
#[tokio::test]
async fn the_cache_speaks_tls_to_a_rediss_url_and_verifies_the_server() {
    let ca = TestCa::new();
    let redis = PrivateRedis::start_tls(&ca);
    assert!(redis.url().starts_with("rediss://"));

    let trusting = spawn_app_with(Options {
        redis_url: Some(redis.url()),
        tls_ca: Some(ca.ca_file()),
        ..Options::default()
    })
    .await;
    trusting.create("tls@x.io", json!({"monday": [9]})).await;
    trusting.get("/users/tls@x.io").await;
    assert_eq!(x_cache(&trusting.get("/users/tls@x.io").await), "HIT");

    let untrusting = spawn_app_with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    untrusting
        .create("notls@x.io", json!({"monday": [9]}))
        .await;
    untrusting.get("/users/notls@x.io").await;
    let read = untrusting.get("/users/notls@x.io").await;
    assert_eq!(read.status(), 200);
    assert_eq!(
        x_cache(&read),
        "BYPASS",
        "an unverified Redis must not be used"
    );
}
