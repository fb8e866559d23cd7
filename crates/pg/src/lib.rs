//! PostgreSQL plumbing shared by the services that own a database
//! (user-, worker- and meeting-service). Each service keeps its own schema,
//! migrations and queries; this crate only holds what would otherwise be
//! copied: building a pool whose every wait is bounded, running migrations
//! safely when several replicas start at once — or once, by a `migrate`
//! command, with the replicas waiting for it ([`MigrateMode`]) — and
//! telling "the database is unreachable" (503) from "the database said no"
//! (500).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a pooled connection may sit unused before it is closed.
pub const IDLE_CLOSE_AFTER: Duration = Duration::from_secs(60);

/// Closes pooled connections unused for `idle`, checking every 5 s (at
/// most every `idle / 2`), until the process ends; each check also sets the
/// pool gauges `db_pool_connections{pool=name,state="idle"|"in_use"}` and
/// `db_pool_max_connections{pool=name}`. deadpool opens a connection whenever every
/// pooled one is busy and never closes one by itself, so without this a
/// pool would hold the most connections a spike ever needed, for good; with
/// it, the pool holds what the load of the last minute needed.
pub async fn close_idle_forever(pool: Pool, name: &'static str, idle: Duration) {
    let mut tick = tokio::time::interval((idle / 2).min(Duration::from_secs(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    metrics::describe_gauge!(
        "db_pool_connections",
        "Pooled PostgreSQL connections, by state"
    );
    metrics::describe_gauge!("db_pool_max_connections", "The pool's size limit");
    loop {
        tick.tick().await;
        let closed = pool
            .retain(|_, metrics| metrics.last_used() < idle)
            .removed
            .len();
        if closed > 0 {
            tracing::debug!(closed, "idle database connections closed");
        }
        let status = pool.status();
        metrics::gauge!("db_pool_connections", "pool" => name, "state" => "idle")
            .set(status.available as f64);
        metrics::gauge!("db_pool_connections", "pool" => name, "state" => "in_use")
            .set(status.size.saturating_sub(status.available) as f64);
        metrics::gauge!("db_pool_max_connections", "pool" => name).set(status.max_size as f64);
    }
}

/// A one-connection pool beside a service's own, for `/health` and
/// `/readyz`: a check through the service's pool would wait for a free
/// connection and report a pool that is merely busy as a dead database;
/// this one is never busy with requests, so its ping says whether
/// PostgreSQL answers now.
#[derive(Clone)]
pub struct Probe(Pool);

impl Probe {
    pub fn new(cfg: &DbConfig) -> Result<Probe, PoolConfigError> {
        pool(&DbConfig {
            pool_size: 1,
            ..cfg.clone()
        })
        .map(Probe)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.0.get().await?.simple_query("SELECT 1").await?;
        Ok(())
    }
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    /// `search_path` for every connection (tests use one schema each).
    pub schema: Option<String>,
    pub pool_size: usize,
    /// Bound on waiting for a connection, connecting, and each statement.
    pub timeout: Duration,
    /// Who migrates the schema: every replica at start-up, or a separate
    /// `migrate` run (see [`prepare_schema`]).
    pub migrate: MigrateMode,
    /// `TLS_CA_FILE`: with `sslmode=require`, a CA the server's certificate
    /// may chain to besides the bundled public roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Who brings a service's schema up to date (`DB_MIGRATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrateMode {
    /// `start` (the default): every replica migrates as it starts, under
    /// the advisory lock, so one command runs the platform.
    #[default]
    AtStart,
    /// `external`: the service's `migrate` command does it, once, before a
    /// rollout (a Kubernetes Job); replicas only wait for the schema to be
    /// current, so a replica of the old version never runs a newer
    /// migration and no start-up takes the migration lock.
    External,
}

impl std::str::FromStr for MigrateMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "start" => Ok(MigrateMode::AtStart),
            "external" => Ok(MigrateMode::External),
            other => Err(format!("expected start or external, got {other:?}")),
        }
    }
}

/// Why a schema is not ready at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `DB_MIGRATE=external` and the `migrate` command has not run (or ran
    /// an older version's migrations).
    #[error(
        "the database lacks migrations {0:?}; run the service's `migrate` command first (DB_MIGRATE=external)"
    )]
    NotMigrated(Vec<i32>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or a connection could not be had in
    /// time: a 503.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database answered with an error: a bug or a broken schema, a 500.
    #[error("database error")]
    Query(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StoreError {
    /// Errors without a SQLSTATE (I/O, closed connections) and those whose
    /// SQLSTATE says the server cannot serve right now are `Unavailable`:
    /// class 08 (connection exception), class 57 (operator intervention:
    /// shutting down, starting up, our own `statement_timeout` firing) and
    /// 53300 (too many connections). The rest are real query errors.
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code().map(|c| c.code()) {
            Some(c) if !(c.starts_with("08") || c.starts_with("57") || c == "53300") => {
                StoreError::Query(e)
            }
            _ => StoreError::Unavailable(Box::new(e)),
        }
    }
}

impl StoreError {
    /// Whether the database cannot serve right now (a service answers 503),
    /// as opposed to refusing a query (500: a bug or a broken schema).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Unavailable(Box::new(other)),
        }
    }
}

/// Why a pool could not be built (a malformed URL or setting).
#[derive(Debug, thiserror::Error)]
pub enum PoolConfigError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL")]
    Url(#[from] tokio_postgres::Error),
    #[error("cannot build the connection pool")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error(transparent)]
    Tls(#[from] w2meet_tls::TlsError),
}

/// A pool whose connection wait, connect, recycle and every statement are
/// bounded by `cfg.timeout` (deadpool's defaults wait forever). Connections
/// open lazily, so this succeeds while the database is down.
///
/// `sslmode=require` in the URL means TLS, with the server's certificate
/// and name verified (rustls: the bundled roots and `cfg.ca_file`) — more
/// than libpq's `require`, which checks neither. Any other mode connects
/// in plain text: `prefer` would quietly fall back anyway, and a server's
/// self-signed default certificate must not break a plain local setup.
pub fn pool(cfg: &DbConfig) -> Result<Pool, PoolConfigError> {
    let pg = connect_config(cfg)?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if pg.get_ssl_mode() == SslMode::Require {
        let tls = w2meet_tls::client_config(cfg.ca_file.as_deref())?;
        Manager::from_config(pg, MakeRustlsConnect::new(tls), manager_config)
    } else {
        Manager::from_config(pg, NoTls, manager_config)
    };
    Ok(Pool::builder(manager)
        .max_size(cfg.pool_size)
        .timeouts(Timeouts {
            wait: Some(cfg.timeout),
            create: Some(cfg.timeout),
            recycle: Some(cfg.timeout),
        })
        .runtime(Runtime::Tokio1)
        .build()?)
}

/// How every connection of `cfg` is made: bounded connect, keepalives,
/// the statement timeout and the schema.
fn connect_config(cfg: &DbConfig) -> Result<tokio_postgres::Config, PoolConfigError> {
    let mut pg: tokio_postgres::Config = cfg.url.parse()?;
    pg.connect_timeout(cfg.timeout);
    // `statement_timeout` is enforced by the server; a connection whose peer
    // vanished without a reset would otherwise hang for the kernel's
    // retransmission time (~15 min). Bound it on the client side too.
    pg.keepalives(true);
    pg.keepalives_idle(std::time::Duration::from_secs(10));
    pg.tcp_user_timeout(cfg.timeout * 2);
    let mut options = format!("-c statement_timeout={}", cfg.timeout.as_millis());
    if let Some(schema) = &cfg.schema {
        options.push_str(&format!(" -c search_path={schema}"));
    }
    pg.options(&options);
    Ok(pg)
}

/// Listens on one connection of its own, made like the pool's (TLS, schema,
/// timeouts): runs `channel_sql` (a query answering one text, the channel
/// — so a channel can be derived from the connection's schema), `LISTEN`s
/// on it, calls `on_listening`, then hands each notification's payload to
/// `on_payload` until the connection fails; returns that failure (callers
/// reconnect). Notifications sent before `LISTEN` took effect, or while no
/// connection listens, are never delivered: callers re-check what they
/// wait for in `on_listening`. The connection is pinged every `ping_every`
/// and a ping unanswered within the statement timeout ends it, so a link
/// that died silently is noticed.
pub async fn listen(
    cfg: &DbConfig,
    channel_sql: &str,
    ping_every: Duration,
    on_listening: impl FnOnce(),
    mut on_payload: impl FnMut(&str),
) -> Result<(), StoreError> {
    let pg = connect_config(cfg).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    let (tx, mut notes) = tokio::sync::mpsc::unbounded_channel::<String>();
    let client = if pg.get_ssl_mode() == SslMode::Require {
        let tls = w2meet_tls::client_config(cfg.ca_file.as_deref())
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let (client, connection) = pg.connect(MakeRustlsConnect::new(tls)).await?;
        tokio::spawn(forward_notifications(connection, tx));
        client
    } else {
        let (client, connection) = pg.connect(NoTls).await?;
        tokio::spawn(forward_notifications(connection, tx));
        client
    };
    let channel: String = client.query_one(channel_sql, &[]).await?.try_get(0)?;
    // The connection is named after its channel, so that an operator (or a
    // test) looking at pg_stat_activity sees who listens to what.
    client
        .query(
            "SELECT set_config('application_name', $1, false)",
            &[&channel],
        )
        .await?;
    client
        .batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', "\"\"")))
        .await?;
    on_listening();
    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(payload) => on_payload(&payload),
                // The connection ended: the ping below says why.
                None => {
                    client.simple_query("SELECT 1").await?;
                    return Err(StoreError::Unavailable("the listening connection closed".into()));
                }
            },
            _ = ping.tick() => {
                match tokio::time::timeout(cfg.timeout, client.simple_query("SELECT 1")).await {
                    Ok(answer) => { answer?; }
                    Err(_) => return Err(StoreError::Unavailable("the listening connection stopped answering".into())),
                }
            }
        }
    }
}

/// Drives a listening connection, passing its notifications on; ends with
/// the connection (or when nobody listens any more).
async fn forward_notifications<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
        match message {
            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                if tx.send(n.payload().to_owned()).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Applies the pending `migrations` (version, SQL), in order, each once, in
/// one transaction holding an advisory lock named after `owner` and the
/// schema — so replicas starting together wait for each other instead of
/// racing on `CREATE TABLE`.
pub async fn migrate(
    pool: &Pool,
    owner: &str,
    migrations: &[(i32, &str)],
) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || $1))",
        &[&owner],
    )
    .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());",
    )
    .await?;
    for (version, sql) in migrations {
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await?
            .is_some();
        if !done {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[version],
            )
            .await?;
            tracing::info!(version, owner, "applied migration");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Makes the schema ready for a service starting with `mode`: migrates
/// ([`migrate_waiting`]), or waits up to `wait` for the migrations to have
/// been applied by someone else ([`MigrateMode::External`]).
pub async fn prepare_schema(
    pool: &Pool,
    owner: &str,
    migrations: &[(i32, &str)],
    mode: MigrateMode,
    wait: Duration,
) -> Result<(), SchemaError> {
    if mode == MigrateMode::AtStart {
        return Ok(migrate_waiting(pool, owner, migrations, wait).await?);
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let lacking = match missing(pool, migrations).await {
            Ok(versions) if versions.is_empty() => return Ok(()),
            Ok(versions) => SchemaError::NotMigrated(versions),
            Err(e) if e.is_unavailable() => SchemaError::Store(e),
            Err(e) => return Err(e.into()),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(lacking);
        }
        tracing::warn!(error = %lacking, "schema not ready; waiting");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The versions of `migrations` not applied yet (all of them when there is
/// no `schema_migrations` table).
pub async fn missing(pool: &Pool, migrations: &[(i32, &str)]) -> Result<Vec<i32>, StoreError> {
    let client = pool.get().await?;
    let table = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?;
    let applied: Vec<i32> = if table.get(0) {
        client
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect()
    } else {
        Vec::new()
    };
    Ok(migrations
        .iter()
        .map(|(version, _)| *version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// [`migrate`], retrying every 500 ms for up to `wait` while PostgreSQL is
/// unreachable (a replica may start before the database does).
pub async fn migrate_waiting(
    pool: &Pool,
    owner: &str,
    migrations: &[(i32, &str)],
    wait: Duration,
) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match migrate(pool, owner, migrations).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "postgresql not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
