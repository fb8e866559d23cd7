//! Builds the application: the user-service client, the router, the listener.

use std::future::Future;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use w2meet_platform::upstream::Upstream;

use crate::clients::UserClient;
use crate::config::Config;
use crate::routes::{availabilities, health};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "W2Meet availability-service",
        description = "Intersects the weekly schedules of 2–1000 users over real dates, each in their own time zone."
    ),
    paths(availabilities::get, availabilities::post, health::health)
)]
pub struct ApiDoc;

/// Cheap handles shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// One pooled HTTP client for the user-service, with its timeouts.
    pub users: UserClient,
}

pub fn router(state: AppState, config: &Config) -> Router {
    let routes = Router::new()
        .route(
            "/availabilities",
            get(availabilities::get).post(availabilities::post),
        )
        .route("/health", get(health::health))
        .with_state(state);
    w2meet_platform::http::finish_router(routes, ApiDoc::openapi(), config.http)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let upstream = Upstream::new("user-service", &config.user_service_url, config.upstream)?
            // Batch reads and intersections have no side effects.
            .idempotent();
        let state = AppState {
            users: UserClient::new(upstream),
        };
        let listener = TcpListener::bind(config.bind).await?;
        Ok(Application {
            router: router(state, &config),
            listener,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
