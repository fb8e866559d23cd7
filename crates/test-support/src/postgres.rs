//! A fresh PostgreSQL schema per test, dropped when the test ends.

/// The server tests use: `TEST_DATABASE_URL`, default the local trust-auth
/// server's `postgres` database.
pub fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A schema that exists for one test. Point a service at it with
/// `DATABASE_URL = url`, `DATABASE_SCHEMA = name`.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    pub async fn create() -> TestSchema {
        let url = database_url();
        let name = crate::unique_name("test");
        let client = connect(&url).await;
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .expect("create test schema");
        TestSchema { url, name }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server is reachable (see TEST_DATABASE_URL)");
    tokio::spawn(conn);
    client
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop may run inside a runtime, which cannot block on another one:
        // clean up from a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = client.batch_execute(&sql).await;
                    }
                });
            }
        })
        .join();
    }
}
