//! Builds the application from a [`Config`]: pool, cache, migrations, router,
//! listener. `main` and the tests both go through [`Application::build`].

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use utoipa::OpenApi;

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

pub struct Application {
    listener: TcpListener,
    router: Router,
    users: Users,
}

impl Application {
    /// Connects, migrates (waiting up to `startup_wait` for PostgreSQL), and
    /// binds. Redis may be down: the service then serves from PostgreSQL.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = UserStore::new(&config.db)?;
        let cache = Cache::new(config.cache.clone())?;
        store.migrate_waiting(Duration::from_secs(30)).await?;
        let users = Users::new(store, cache);
        users.refresh_epoch().await?;
        let listener = TcpListener::bind(config.bind).await?;
        let router = router(users.clone(), &config);
        Ok(Application {
            listener,
            router,
            users,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The service's state, for tests (hooks, counters).
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let refresher = self.users.spawn_epoch_refresher();
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        refresher.abort();
        result
    }
}
