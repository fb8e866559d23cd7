//! The layers every service wraps its router in, and the routes every service
//! has besides its own (`/metrics`, `/openapi.json`, `/docs`, JSON 404/405).
//!
//! Order, outermost first: drop an invalid Case-ID → set one (tower-http
//! `SetRequestId`) → request span + one log line per request (`TraceLayer`)
//! → echo the Case-ID (`PropagateRequestId`) → metrics → JSON error bodies →
//! request timeout → handler. Applied with `Router::layer`, so the fallback
//! (unknown routes, wrong methods) goes through the same stack.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::case_id::{CASE_ID_HEADER, MakeCaseId, ReplacedCaseId, sanitize_case_id};
use crate::error::render_error_bodies;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body accepted; larger ones get 413.
    pub body_limit_bytes: usize,
    /// A request still running after this gets 503 (the handler is dropped).
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Adds the common routes and layers to a service's router.
pub fn finish_router(
    router: Router,
    openapi: utoipa::openapi::OpenApi,
    limits: HttpLimits,
) -> Router {
    // Install the recorder now: metrics recorded before it exists are lost.
    crate::metrics::handle();
    let openapi_json = Arc::new(serde_json::to_value(&openapi).unwrap_or_default());
    let docs = Arc::new(crate::docs::page(&openapi_json));
    router
        .route("/metrics", get(crate::metrics::render))
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi_json.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let page = docs.clone();
                async move { Html((*page).clone()) }
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(
            ServiceBuilder::new()
                .map_request(sanitize_case_id)
                .layer(SetRequestIdLayer::new(CASE_ID_HEADER, MakeCaseId))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(on_request)
                        .on_response(on_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(CASE_ID_HEADER))
                .layer(axum::middleware::from_fn(crate::metrics::track))
                .layer(axum::middleware::from_fn(render_error_bodies))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    limits.request_timeout,
                ))
                .layer(DefaultBodyLimit::max(limits.body_limit_bytes)),
        )
}

fn request_span(req: &Request) -> Span {
    let case_id = req
        .headers()
        .get(&CASE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        case_id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}

fn on_request(req: &Request, _: &Span) {
    if let Some(r) = req.extensions().get::<ReplacedCaseId>() {
        tracing::warn!(
            original_len = r.original_len,
            "invalid Case-ID replaced with a new one"
        );
    }
}

fn on_response(res: &Response, latency: Duration, _: &Span) {
    let status = res.status().as_u16();
    let duration_ms = (latency.as_secs_f64() * 1e6).round() / 1e3;
    if res.status().is_server_error() {
        tracing::error!(status, duration_ms, "request failed");
    } else {
        tracing::info!(status, duration_ms, "request completed");
    }
}

/// Makes a handler's success response with the common error policy: use as
/// `Result<impl IntoResponse, ApiError>`. Re-exported for symmetry.
pub type ApiResult<T> = Result<T, crate::error::ApiError>;

/// A `Json` response with a status.
pub fn json<T: serde::Serialize>(status: StatusCode, body: T) -> Response {
    (status, axum::Json(body)).into_response()
}
