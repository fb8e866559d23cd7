//! Builds the two kinds of process from a [`Config`]: the HTTP API
//! ([`Application`]) and a queue consumer ([`ConsumerApp`]). `main` and the
//! tests both go through these.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use w2meet_platform::Server;
use w2meet_platform::auth::SecuritySchemes;
use w2meet_platform::auth::Verifier;
use w2meet_platform::health::link;
use w2meet_platform::probes::{Link, Readiness};
use w2meet_platform::upstream::{Upstream, UpstreamTimeouts};

use crate::broker::{Broker, Topology};
use crate::clients::{Callbacks, MeetingClient, SuggestionClient, Webhooks};
use crate::config::Config;
use crate::consumer::{Consumer, JobContext};
use crate::routes::{health, tasks, watches};
use crate::service::Tasks;
use crate::state::AppState;
use crate::store::{JobStore, JobWrites, MigrateMode};

/// How long start-up waits for PostgreSQL.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

#[derive(OpenApi)]
#[openapi(
    servers((url = "/worker", description = "Through the gateway (paths below are the service's own; the gateway adds this prefix)")),
    info(
        title = "W2Meet worker-service",
        description = "Asynchronous suggestion jobs. A submission is stored in PostgreSQL and queued on RabbitMQ (durable queue, persistent messages, publisher confirms) before the 202; consumers compute it through suggestion-service, retry transient failures with backoff, and store the result."
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The router with every route and the platform layers.
pub fn router(state: AppState, config: &Config, readiness: &Readiness) -> Router {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tasks::submit))
        .routes(routes!(tasks::get_task))
        .routes(routes!(watches::create_watch))
        .routes(routes!(watches::get_watch, watches::delete_watch))
        .routes(routes!(health::health))
        .with_state(state);
    w2meet_platform::http::finish_router(routes, config.http, readiness)
}

/// The job store, migrated.
async fn job_store(config: &Config) -> anyhow::Result<JobStore> {
    let store = JobStore::new(&config.db)?;
    store
        .prepare_schema(config.db.migrate, STARTUP_WAIT)
        .await?;
    Ok(store)
}

/// `worker-service migrate`: applies the pending migrations, then returns — the
/// run before a rollout (deploy/k8s's Job) whose replicas start with
/// `DB_MIGRATE=external`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    JobStore::new(&config.db)?
        .prepare_schema(MigrateMode::AtStart, STARTUP_WAIT)
        .await?;
    Ok(())
}

fn topology(config: &Config) -> Topology {
    Topology::new(&config.amqp.queue, config.jobs)
}

/// The running HTTP API (see [`w2meet_platform::Server`]); its state is
/// the job service, which tests use directly.
pub type Application = Server<Tasks>;

/// Migrates (waiting for PostgreSQL) and binds. RabbitMQ may be down: it
/// is connected on first use, and submissions get 503 until it is back.
/// Beside the router run the queue-depth gauge and the sweep that
/// republishes jobs whose submitter died before the broker's confirm.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    crate::job_metrics::describe();
    let store = job_store(&config).await?;
    let broker = Broker::new(
        &config.amqp.url,
        config.amqp.ca_pem.clone(),
        topology(&config),
        config.amqp.timeout,
    );
    let tasks =
        Tasks::new(store, Arc::new(broker)).with_request_timeout(config.http.request_timeout);
    let (depth, sweeper) = (tasks.clone(), tasks.clone());
    let finishes = tasks.finishes.clone();
    let pool = tasks.store.pool();
    let interval = config.amqp.depth_interval;
    let keys = Upstream::new(
        "user-service",
        &config.user_service_url,
        UpstreamTimeouts {
            connect: config.suggestion.connect_timeout,
            request: config.suggestion.timeout,
        },
    )?
    .idempotent();
    let state = AppState {
        watches: crate::watches::Watches {
            store: tasks.store.watches(),
            suggestions: SuggestionClient::new(&config.suggestion, config.service_token.clone())?,
        },
        tasks: tasks.clone(),
        verifier: Verifier::remote(keys, config.service_token.clone()),
    };
    // Ready while PostgreSQL and RabbitMQ answer: a submission needs both.
    let probe = tasks.clone();
    let readiness = Readiness::new(config.http.drain, move || {
        let tasks = probe.clone();
        async move {
            let (postgres, rabbitmq) =
                tokio::join!(link(tasks.store.ping()), link(tasks.broker.ping()));
            vec![
                Link::required("postgresql", postgres),
                Link::required("rabbitmq", rabbitmq),
            ]
        }
    });
    let server = Server::bind(config.bind, router(state, &config, &readiness), tasks)
        .await?
        .draining(readiness)
        .with_background(async move {
            loop {
                depth.refresh_depth().await;
                tokio::time::sleep(interval).await;
            }
        })
        .with_background(async move {
            loop {
                tokio::time::sleep(ABANDONED_SWEEP_EVERY).await;
                sweeper.republish_abandoned(ABANDONED_AFTER).await;
            }
        })
        .with_background(finishes.listen_forever(config.db.clone()))
        .with_background(w2meet_pg::close_idle_forever(
            pool,
            "jobs_api",
            w2meet_pg::IDLE_CLOSE_AFTER,
        ));
    Ok(server)
}

/// A stored job with no broker confirm after this long was abandoned by its
/// submitter (a submit waits at most the AMQP timeout for its confirm).
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(30);
/// How often the API looks for such jobs.
const ABANDONED_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// A consumer process.
pub struct ConsumerApp {
    consumer: Consumer,
    /// Evaluates watches and delivers their events beside the jobs
    /// (`WATCHES=false`: not here).
    watcher: Option<crate::watcher::Watcher>,
    /// The job store's pool, whose idle connections are closed while the
    /// consumer runs.
    pool: deadpool_postgres::Pool,
}

impl ConsumerApp {
    /// Migrates (waiting for PostgreSQL) and prepares the clients. RabbitMQ
    /// may be down: the consumer connects when it can.
    pub async fn build(config: Config) -> anyhow::Result<ConsumerApp> {
        crate::job_metrics::describe();
        let store = job_store(&config).await?;
        let ctx = JobContext {
            writes: JobWrites::new(&store),
            store,
            suggestions: SuggestionClient::new(&config.suggestion, config.service_token.clone())?,
            meetings: MeetingClient::new(&config.meetings, config.service_token.clone())?,
            callbacks: Callbacks::new(config.callback.clone())?,
            topology: topology(&config),
            policy: config.jobs,
            amqp_timeout: config.amqp.timeout,
        };
        let instance = w2meet_platform::env::instance_name();
        let pool = ctx.store.pool();
        let watcher = if config.watches.enabled {
            Some(crate::watcher::Watcher::new(
                ctx.store.watches(),
                ctx.suggestions.clone(),
                Webhooks::new(
                    config.watches.webhook_timeout,
                    config.callback.ca_file.as_deref(),
                )?,
                config.watches.clone(),
                &config.amqp,
                config.suggestion.timeout,
            ))
        } else {
            None
        };
        Ok(ConsumerApp {
            consumer: Consumer::new(ctx, config.amqp.clone(), &instance),
            watcher,
            pool,
        })
    }

    /// Consumes until `shutdown` completes, then lets in-flight jobs finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let idle = tokio::spawn(w2meet_pg::close_idle_forever(
            self.pool,
            "jobs_consumer",
            w2meet_pg::IDLE_CLOSE_AFTER,
        ));
        let watcher = self.watcher.map(|w| tokio::spawn(w.run(rx.clone())));
        self.consumer.run(rx).await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        signal.abort();
        idle.abort();
        Ok(())
    }
}
