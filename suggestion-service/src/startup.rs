//! Builds the application: the availability-service client, the router,
//! the listener.

use axum::Router;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use w2meet_platform::Server;
use w2meet_platform::auth::SecuritySchemes;
use w2meet_platform::auth::Verifier;
use w2meet_platform::probes::Readiness;
use w2meet_platform::upstream::Upstream;

use crate::clients::AvailabilityClient;
use crate::config::Config;
use crate::routes::{health, suggestions};
use crate::service::Suggestions;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    servers((url = "/suggestion", description = "Through the gateway (paths below are the service's own; the gateway adds this prefix)")),
    info(
        title = "W2Meet suggestion-service",
        description = "Ranks candidate meeting times for a group from the timelines availability-service lays out."
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

pub fn router(state: AppState, config: &Config, readiness: &Readiness) -> Router {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            suggestions::get_suggestions,
            suggestions::post_suggestions
        ))
        .routes(routes!(health::health))
        .with_state(state);
    w2meet_platform::http::finish_router(routes, config.http, readiness)
}

/// The running service (see [`w2meet_platform::Server`]).
pub type Application = Server<AppState>;

/// Builds the client and the router and binds.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let upstream = Upstream::new(
        "availability-service",
        &config.availability_service_url,
        config.upstream,
    )?
    // Laying out timelines has no side effects: safe to send to another replica.
    .idempotent()
    .with_service_token(config.service_token.clone());
    let keys =
        Upstream::new("user-service", &config.user_service_url, config.upstream)?.idempotent();
    let state = AppState {
        verifier: Verifier::remote(keys, config.service_token.clone()),
        suggestions: Suggestions {
            availability: AvailabilityClient::new(upstream),
        },
    };
    // No links of its own: ready unless draining (the services it calls
    // have their own probes).
    let readiness = Readiness::without_links(config.http.drain);
    let router = router(state.clone(), &config, &readiness);
    Ok(Server::bind(config.bind, router, state)
        .await?
        .draining(readiness))
}
