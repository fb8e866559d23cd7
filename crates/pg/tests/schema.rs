//! `prepare_schema` against the real server, in a schema of its own.

use std::time::Duration;

use w2meet_pg::{DbConfig, MigrateMode, SchemaError};

const MIGRATIONS: &[(i32, &str)] = &[
    (1, "CREATE TABLE things (id INT PRIMARY KEY);"),
    (2, "ALTER TABLE things ADD COLUMN name TEXT;"),
];

/// A schema that exists for one test and is dropped by `drop_schema`.
struct Scratch {
    admin: deadpool_postgres::Pool,
    config: DbConfig,
}

impl Scratch {
    async fn new() -> Scratch {
        let url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("w2m_schema_test_{}", uuid::Uuid::new_v4().simple());
        let config = DbConfig {
            url,
            schema: Some(name.clone()),
            pool_size: 2,
            timeout: Duration::from_secs(5),
            migrate: MigrateMode::AtStart,
            ca_file: None,
        };
        let admin = w2meet_pg::pool(&DbConfig {
            schema: None,
            ..config.clone()
        })
        .unwrap();
        admin
            .get()
            .await
            .unwrap()
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        Scratch { admin, config }
    }

    async fn drop_schema(self) {
        let name = self.config.schema.unwrap();
        self.admin
            .get()
            .await
            .unwrap()
            .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_external_start_waits_for_the_migrate_command_and_names_what_is_missing() {
    let scratch = Scratch::new().await;
    let pool = w2meet_pg::pool(&scratch.config).unwrap();
    let wait = Duration::from_millis(600);

    // Nothing migrated yet: an external start gives up, naming every version.
    let err = w2meet_pg::prepare_schema(&pool, "t", MIGRATIONS, MigrateMode::External, wait)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SchemaError::NotMigrated(v) if v == &[1, 2]),
        "{err:?}"
    );

    // The migrate command's own call (an at-start prepare) applies both…
    w2meet_pg::prepare_schema(&pool, "t", MIGRATIONS, MigrateMode::AtStart, wait)
        .await
        .unwrap();
    // …and now an external start finds the schema current.
    w2meet_pg::prepare_schema(&pool, "t", MIGRATIONS, MigrateMode::External, wait)
        .await
        .unwrap();

    // A newer release with one more migration: only that one is missing.
    let newer = [MIGRATIONS, &[(3, "CREATE INDEX ON things (name);")]].concat();
    let err = w2meet_pg::prepare_schema(&pool, "t", &newer, MigrateMode::External, wait)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SchemaError::NotMigrated(v) if v == &[3]),
        "{err:?}"
    );
    drop(pool);
    scratch.drop_schema().await;
}

#[tokio::test]
async fn an_external_start_proceeds_once_the_migrations_land_while_it_waits() {
    let scratch = Scratch::new().await;
    let pool = w2meet_pg::pool(&scratch.config).unwrap();
    let waiting = {
        let pool = pool.clone();
        tokio::spawn(async move {
            w2meet_pg::prepare_schema(
                &pool,
                "t",
                MIGRATIONS,
                MigrateMode::External,
                Duration::from_secs(20),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "it must wait for the migrations");
    w2meet_pg::migrate(&pool, "t", MIGRATIONS).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("it proceeds after the migrations")
        .unwrap()
        .unwrap();
    drop(pool);
    scratch.drop_schema().await;
}

#[test]
fn db_migrate_takes_start_or_external_only() {
    assert_eq!("start".parse(), Ok(MigrateMode::AtStart));
    assert_eq!("external".parse(), Ok(MigrateMode::External));
    assert!("yes".parse::<MigrateMode>().is_err());
}
