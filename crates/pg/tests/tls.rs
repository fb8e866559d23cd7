//! `sslmode=require` against a private PostgreSQL with TLS switched on.

use std::time::Duration;

use test_support::postgres::PrivatePostgres;
use test_support::tls::TestCa;
use w2meet_pg::DbConfig;

fn config(url: String, ca_file: Option<std::path::PathBuf>) -> DbConfig {
    DbConfig {
        url,
        schema: None,
        pool_size: 1,
        timeout: Duration::from_secs(5),
        migrate: Default::default(),
        ca_file,
    }
}

/// Whether the server sees this pool's connection as TLS.
async fn encrypted(pool: &deadpool_postgres::Pool) -> bool {
    pool.get()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn sslmode_require_connects_over_verified_tls_and_refuses_an_unknown_ca() {
    let ca = TestCa::new();
    let server = PrivatePostgres::start_tls(&ca);

    let pool = w2meet_pg::pool(&config(server.tls_url(), Some(ca.ca_file()))).unwrap();
    assert!(encrypted(&pool).await, "the connection is not encrypted");

    // The same server, its CA not trusted: no connection at all.
    let pool = w2meet_pg::pool(&config(server.tls_url(), None)).unwrap();
    let err = w2meet_pg::StoreError::from(pool.get().await.unwrap_err());
    assert!(err.is_unavailable(), "{err:?}");

    // Without sslmode=require the same server is reached in plain text.
    let plain = server.tls_url().replace("?sslmode=require", "");
    let pool = w2meet_pg::pool(&config(plain, None)).unwrap();
    assert!(!encrypted(&pool).await);
}
