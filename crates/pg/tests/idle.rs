//! The pool gives back what the load no longer needs (real PostgreSQL:
//! `TEST_DATABASE_URL`, default the local server).

use std::time::Duration;

use w2meet_pg::{DbConfig, close_idle_forever, pool};

fn config() -> DbConfig {
    DbConfig {
        url: std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
        schema: None,
        pool_size: 8,
        timeout: Duration::from_secs(5),
        migrate: Default::default(),
        ca_file: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_left_idle_are_closed_and_busy_ones_kept() {
    let pool = pool(&config()).expect("a pool");
    // A burst: three connections at once, then all back in the pool.
    let held = hold(&pool, 3).await;
    drop(held);
    assert_eq!(pool.status().size, 3);
    let busy = pool.get().await.expect("a connection");
    tokio::spawn(close_idle_forever(
        pool.clone(),
        "test",
        Duration::from_millis(300),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pool.status().size > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            pool.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The one in use is never taken away, and it still works.
    busy.simple_query("SELECT 1").await.expect("still usable");
    assert_eq!(pool.status().size, 1);
}

async fn hold(pool: &deadpool_postgres::Pool, n: usize) -> Vec<deadpool_postgres::Object> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(pool.get().await.expect("a connection"));
    }
    held
}
