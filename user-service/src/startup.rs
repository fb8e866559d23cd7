//! Builds the application from a [`Config`]: pool, cache, migrations, router,
//! listener. `main` and the tests both go through [`build`].

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use w2meet_platform::Server;
use w2meet_platform::auth::SecuritySchemes;
use w2meet_platform::auth::Verifier;
use w2meet_platform::health::link;
use w2meet_platform::probes::{Link, Readiness};

use crate::config::Config;
use crate::routes::{auth, cache_aside, freebusy, health, overrides, shares, users};
use crate::service::Users;
use crate::service::accounts::Accounts;
use crate::service::passwords::Hasher;
use crate::service::tokens::SigningKeys;
use crate::state::AppState;
use crate::store::limits::RateLimiter;
use crate::store::{AccountStore, Cache, MigrateMode, UserStore};

#[derive(OpenApi)]
#[openapi(
    servers((url = "/users", description = "Through the gateway (paths below are the service's own; the gateway adds this prefix)")),
    info(
        title = "W2Meet user-service",
        description = "Users and their weekly availability. PostgreSQL is the source of truth; reads go through a Redis cache (`X-Cache: HIT|MISS|BYPASS`)."
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The router with every route and the platform layers.
pub fn router(state: AppState, config: &Config, readiness: &Readiness) -> Router {
    // 1000 emails of up to 254 characters do not fit the general limit.
    let (schemas, paths, batch_post) = routes!(users::batch_post);
    let batch_post = batch_post.layer(DefaultBodyLimit::max(users::MAX_BATCH_BODY_BYTES));
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::create_user, users::batch_get))
        .routes((schemas, paths, batch_post))
        .routes(routes!(
            users::get_user,
            users::replace_user,
            users::delete_user
        ))
        .routes(routes!(freebusy::freebusy))
        .routes(routes!(cache_aside::by_query))
        .routes(routes!(cache_aside::by_path))
        .routes(routes!(shares::add, shares::remove))
        .routes(routes!(shares::list))
        .routes(routes!(shares::access))
        .routes(routes!(overrides::get_overrides, overrides::put_overrides))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::jwks))
        .routes(routes!(health::health))
        .with_state(state);
    w2meet_platform::http::finish_router(routes, config.http, readiness)
}

/// The running service (see [`w2meet_platform::Server`]); its state is the
/// user service, which tests use directly (hooks, counters).
pub type Application = Server<Users>;

/// How long start-up waits for PostgreSQL (or for the schema).
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// `user-service migrate`: applies the pending migrations, then returns — the
/// run before a rollout (deploy/k8s's Job) whose replicas start with
/// `DB_MIGRATE=external`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    UserStore::new(&config.db)?
        .prepare_schema(MigrateMode::AtStart, STARTUP_WAIT)
        .await?;
    Ok(())
}

/// Connects, migrates (waiting up to 30 s for PostgreSQL, or for the
/// `migrate` command with `DB_MIGRATE=external`), and binds.
/// Redis may be down: the service then serves from PostgreSQL. Beside the
/// router run the cache-epoch refresher and the closing of idle database
/// connections.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let store = UserStore::new(&config.db)?;
    let cache = Cache::new(config.cache.clone())?;
    store
        .prepare_schema(config.db.migrate, STARTUP_WAIT)
        .await?;
    let accounts_store = AccountStore::new(store.pool());
    let mut users = Users::new(store, cache, config.auth.mode);
    let publisher = config.changes.clone().map(|changes| {
        let (feed, publisher) = crate::changes::ChangeFeed::start(changes);
        users.changes = feed;
        publisher
    });
    users.refresh_epoch().await?;
    let keys = match &config.auth.signing_key {
        Some(pem) => {
            let extra: Vec<String> = config
                .auth
                .extra_keys
                .iter()
                .map(|k| k.expose().to_owned())
                .collect();
            SigningKeys::from_pems(pem.expose(), &extra)?
        }
        None => {
            tracing::warn!(
                "no AUTH_SIGNING_KEY(_FILE): signing with a key made up now; tokens die with this process"
            );
            SigningKeys::ephemeral()?
        }
    };
    let verifier = Verifier::from_jwks(keys.jwks(), config.auth.service_token.clone());
    let accounts = Accounts {
        users: users.clone(),
        store: accounts_store,
        hasher: Hasher::new(config.auth.hash_concurrency, config.auth.hash_wait)?,
        limiter: RateLimiter::new(
            users.cache.connection(),
            &config.cache.prefix,
            config.auth.login_limits,
        ),
        keys: std::sync::Arc::new(keys),
        lifetimes: config.auth.lifetimes,
    };
    let state = AppState {
        users: users.clone(),
        accounts,
        verifier,
    };
    // Ready while PostgreSQL answers; Redis is reported but not required
    // (reads then go to PostgreSQL).
    let probe = users.clone();
    let readiness = Readiness::new(config.http.drain, move || {
        let users = probe.clone();
        async move {
            let (postgres, redis) =
                tokio::join!(link(users.store.ping()), link(users.cache.ping()));
            vec![
                Link::required("postgresql", postgres),
                Link::optional("redis", redis),
            ]
        }
    });
    let router = router(state, &config, &readiness);
    let refresher = users.clone();
    let pool = users.store.pool();
    let consumer = users.clone();
    let mut server = Server::bind(config.bind, router, users)
        .await?
        .draining(readiness)
        .with_background(async move { refresher.refresh_epoch_forever().await })
        .with_background(w2meet_pg::close_idle_forever(
            pool,
            "users",
            w2meet_pg::IDLE_CLOSE_AFTER,
        ));
    if let Some(tracker) = server.state().cache.track_near()? {
        server = server.with_background(tracker);
    }
    if let Some(events) = config.events.clone() {
        server = server.with_background(crate::events::consume_forever(consumer, events));
    }
    if let Some(publisher) = publisher {
        server = server.with_background(publisher);
    }
    Ok(server)
}
