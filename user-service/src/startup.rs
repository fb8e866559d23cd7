//! Builds the application from a [`Config`]: pool, cache, migrations, router,
//! listener. `main` and the tests both go through [`build`].

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utoipa::OpenApi;
use w2meet_platform::Server;

use crate::config::Config;
use crate::routes::{cache_aside, freebusy, health, users};
use crate::service::Users;
use crate::store::{Cache, UserStore};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "W2Meet user-service",
        description = "Users and their weekly availability. PostgreSQL is the source of truth; reads go through a Redis cache (`X-Cache: HIT|MISS|BYPASS`)."
    ),
    paths(
        users::create_user,
        users::get_user,
        users::replace_user,
        users::delete_user,
        users::batch_get,
        users::batch_post,
        freebusy::freebusy,
        cache_aside::by_path,
        cache_aside::by_query,
        health::health,
    )
)]
pub struct ApiDoc;

/// The router with every route and the platform layers.
pub fn router(users: Users, config: &Config) -> Router {
    let routes = Router::new()
        .route("/users", post(users::create_user).get(users::batch_get))
        // 1000 emails of up to 254 characters do not fit the general limit.
        .route(
            "/users/batch",
            post(users::batch_post).layer(DefaultBodyLimit::max(users::MAX_BATCH_BODY_BYTES)),
        )
        .route(
            "/users/{email}",
            get(users::get_user)
                .put(users::replace_user)
                .delete(users::delete_user),
        )
        .route("/users/{email}/freebusy", get(freebusy::freebusy))
        .route("/user-avail/cache-aside", get(cache_aside::by_query))
        .route("/user-avail/cache-aside/{email}", get(cache_aside::by_path))
        .route("/health", get(health::health))
        .with_state(users);
    w2meet_platform::http::finish_router(routes, ApiDoc::openapi(), config.http)
}

/// The running service (see [`w2meet_platform::Server`]); its state is the
/// user service, which tests use directly (hooks, counters).
pub type Application = Server<Users>;

/// Connects, migrates (waiting up to 30 s for PostgreSQL), and binds.
/// Redis may be down: the service then serves from PostgreSQL. Beside the
/// router run the cache-epoch refresher and the closing of idle database
/// connections.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let store = UserStore::new(&config.db)?;
    let cache = Cache::new(config.cache.clone())?;
    store.migrate_waiting(Duration::from_secs(30)).await?;
    let users = Users::new(store, cache);
    users.refresh_epoch().await?;
    let router = router(users.clone(), &config);
    let refresher = users.clone();
    let pool = users.store.pool();
    Ok(Server::bind(config.bind, router, users)
        .await?
        .with_background(async move { refresher.refresh_epoch_forever().await })
        .with_background(w2meet_pg::close_idle_forever(
            pool,
            w2meet_pg::IDLE_CLOSE_AFTER,
        )))
}
