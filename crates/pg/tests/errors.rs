//! Error classification against the real server.

use std::time::Duration;

use w2meet_pg::{DbConfig, StoreError};

fn config(timeout: Duration) -> DbConfig {
    DbConfig {
        url: std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
        schema: None,
        pool_size: 2,
        timeout,
        migrate: Default::default(),
        ca_file: None,
    }
}

#[tokio::test]
async fn a_statement_that_outlives_the_timeout_is_unavailable_not_a_query_error() {
    let pool = w2meet_pg::pool(&config(Duration::from_millis(200))).unwrap();
    let client = pool.get().await.unwrap();
    let err: StoreError = client
        .simple_query("SELECT pg_sleep(2)")
        .await
        .unwrap_err()
        .into();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn a_query_the_server_refuses_is_a_query_error() {
    let pool = w2meet_pg::pool(&config(Duration::from_secs(2))).unwrap();
    let client = pool.get().await.unwrap();
    let err: StoreError = client
        .simple_query("SELECT * FROM no_such_table_here")
        .await
        .unwrap_err()
        .into();
    assert!(!err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let mut cfg = config(Duration::from_millis(300));
    cfg.url = "postgres://postgres@127.0.0.1:1/postgres".to_owned();
    let pool = w2meet_pg::pool(&cfg).unwrap();
    let err: StoreError = pool.get().await.unwrap_err().into();
    assert!(err.is_unavailable(), "{err:?}");
}
