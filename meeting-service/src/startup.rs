//! Builds the service from a [`Config`]: the router, the outbox relay
//! beside it, and the application `main` and the tests run.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use tokio::sync::Notify;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use w2meet_platform::Server;
use w2meet_platform::auth::{SecuritySchemes, Verifier};
use w2meet_platform::health::link;
use w2meet_platform::probes::{Link, Readiness};
use w2meet_platform::upstream::Upstream;

use crate::clients::UserClient;
use crate::config::Config;
use crate::relay::{Broker, Relay};
use crate::routes::{calendars, health, invites, meetings};
use crate::service::Meetings;
use crate::state::AppState;
use crate::store::{MeetingStore, MigrateMode};

/// How long start-up waits for PostgreSQL.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

#[derive(OpenApi)]
#[openapi(
    servers((url = "/meetings", description = "Through the gateway (paths below are the service's own; the gateway adds this prefix)")),
    info(
        title = "W2Meet meeting-service",
        description = "Meetings booked from suggestions: no double booking (the database decides), invites with PENDING/YES/MAYBE/NO, RSVPs to public meetings, calendars and RFC 5545 ICS feeds, and an append-only history of domain events published through an outbox to the `w2meet.meetings` topic exchange."
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The router with every route and the platform layers.
pub fn router(state: AppState, config: &Config, readiness: &Readiness) -> Router {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meetings::book, meetings::list_public))
        .routes(routes!(meetings::get, meetings::update, meetings::cancel))
        .routes(routes!(meetings::history))
        .routes(routes!(meetings::event_ics))
        .routes(routes!(invites::answer))
        .routes(routes!(invites::rsvp))
        .routes(routes!(calendars::calendar))
        .routes(routes!(calendars::feed))
        .routes(routes!(calendars::new_token, calendars::revoke_token))
        .routes(routes!(health::health))
        .with_state(state);
    w2meet_platform::http::finish_router(routes, config.http, readiness)
}

/// The running service; its state is the use cases (tests reach the store
/// through it).
pub type Application = Server<Meetings>;

/// `meeting-service migrate`: applies the pending migrations, then returns — the
/// run before a rollout (deploy/k8s's Job) whose replicas start with
/// `DB_MIGRATE=external`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    MeetingStore::new(&config.db)?
        .prepare_schema(MigrateMode::AtStart, STARTUP_WAIT)
        .await?;
    Ok(())
}

/// Migrates (waiting for PostgreSQL), binds, and runs the outbox relay
/// beside the router (unless `OUTBOX_RELAY=false`). RabbitMQ may be down:
/// bookings still commit, and their events wait in the outbox.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let store = MeetingStore::new(&config.db)?;
    store
        .prepare_schema(config.db.migrate, STARTUP_WAIT)
        .await?;
    let user_service = Upstream::new("user-service", &config.user_service_url, config.upstream)?
        .idempotent()
        .with_service_token(config.service_token.clone());
    let keys =
        Upstream::new("user-service", &config.user_service_url, config.upstream)?.idempotent();
    let wake = Arc::new(Notify::new());
    let meetings = Meetings {
        store: store.clone(),
        users: UserClient::new(user_service),
        mode: config.auth_mode,
        wake: wake.clone(),
    };
    let broker = Arc::new(Broker::new(
        &config.amqp.url,
        config.amqp.ca_pem.clone(),
        &config.amqp.exchange,
        config.amqp.timeout,
    ));
    let state = AppState {
        meetings: meetings.clone(),
        broker: broker.clone(),
        verifier: Verifier::remote(keys, config.service_token.clone()),
    };
    // Ready while PostgreSQL answers: bookings need it. RabbitMQ is not
    // needed to book (events wait in the outbox), so it is reported only.
    let (probe_store, probe_broker) = (store.clone(), broker.clone());
    let readiness = Readiness::new(config.http.drain, move || {
        let (store, broker) = (probe_store.clone(), probe_broker.clone());
        async move {
            let (postgres, rabbitmq) = tokio::join!(link(store.ping()), link(broker.ping()));
            vec![
                Link::required("postgresql", postgres),
                Link::optional("rabbitmq", rabbitmq),
            ]
        }
    });
    let mut server = Server::bind(config.bind, router(state, &config, &readiness), meetings)
        .await?
        .draining(readiness)
        .with_background(w2meet_pg::close_idle_forever(
            store.pool(),
            "meetings",
            w2meet_pg::IDLE_CLOSE_AFTER,
        ));
    if config.amqp.relay {
        let relay = Relay {
            store,
            broker,
            wake,
            poll: config.amqp.outbox_poll,
        };
        server = server.with_background(relay.run_forever());
    }
    Ok(server)
}
