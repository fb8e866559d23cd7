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
    /// `SHUTDOWN_DRAIN_MS`: after the shutdown signal, how long the process
    /// keeps serving (unready, closing connections) before it stops
    /// accepting (see [`crate::probes`]).
    pub drain: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            drain: Duration::ZERO,
        }
    }
}

/// Adds the common routes and layers to a service's router; `readiness`
/// answers `/readyz` and tells the layers when the process is draining.
pub fn finish_router(
    routes: utoipa_axum::router::OpenApiRouter,
    limits: HttpLimits,
    readiness: &crate::probes::Readiness,
) -> Router {
    // Install the recorder now: metrics recorded before it exists are lost.
    crate::metrics::handle();
    // One list of routes gives both the router and the document's paths
    // (each handler's #[utoipa::path]): nothing is routed undocumented or
    // documented unrouted.
    let (router, mut openapi) = routes.split_for_parts();
    document_unsupported_media_type(&mut openapi);
    document_case_id(&mut openapi);
    let openapi_json = Arc::new(serde_json::to_value(&openapi).unwrap_or_default());
    let plain_docs = Arc::new(crate::docs::page(&openapi_json));
    let docs = Arc::new(crate::docs::swagger_page(&openapi_json));
    router
        .merge(crate::probes::routes(readiness.clone()))
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
        .route(
            "/docs/{*file}",
            get(crate::docs::file_handler).with_state(plain_docs),
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
                .layer(axum::middleware::from_fn_with_state(
                    readiness.clone(),
                    crate::probes::close_while_draining,
                ))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    limits.request_timeout,
                ))
                .layer(DefaultBodyLimit::max(limits.body_limit_bytes)),
        )
}

/// Every operation takes an optional `Case-ID` request header and every
/// answer carries one (the layers below do it for every route): say so once
/// here rather than in every handler.
fn document_case_id(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let parameter = ParameterBuilder::new()
        .name("Case-ID")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "The id that follows this request through every service and log line: 1–128 characters of A-Z a-z 0-9 . _ : - (anything else is replaced by a new one, which the answer carries). A new UUID when absent.",
        ))
        .schema(Some(string()))
        .build();
    let header = HeaderBuilder::new()
        .schema(Some(string()))
        .description(Some(
            "The request's Case-ID (the one sent, or the one made for it)",
        ))
        .build();
    for item in openapi.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let params = op.parameters.get_or_insert_with(Vec::new);
            let named = |p: &RefOr<utoipa::openapi::path::Parameter>| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("case-id"));
            if !params.iter().any(named) {
                params.push(RefOr::T(parameter.clone()));
            }
            for response in op.responses.responses.values_mut() {
                if let RefOr::T(r) = response {
                    r.headers
                        .entry("Case-ID".to_owned())
                        .or_insert_with(|| RefOr::T(header.clone()));
                }
            }
        }
    }
}

/// Every operation that takes a JSON body can answer 415 (the `Json`
/// extractor refuses a missing or wrong `Content-Type`): say so in the
/// document, with the common error body, instead of in every handler.
fn document_unsupported_media_type(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let response = ResponseBuilder::new()
        .description("The body is not JSON: `Content-Type: application/json` is required")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for item in openapi.paths.paths.values_mut() {
        for op in [&mut item.post, &mut item.put, &mut item.patch]
            .into_iter()
            .flatten()
        {
            if op.request_body.is_some() {
                op.responses
                    .responses
                    .entry("415".to_owned())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

fn request_span(req: &Request) -> Span {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let case_id = header(CASE_ID_HEADER.as_str()).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        case_id,
        method = %req.method(),
        path = %req.uri().path(),
        // Filled by handlers that read through a cache (`hit`, `miss`,
        // `bypass`), so the request's own log line says how it was served.
        cache = tracing::field::Empty,
        viewer = tracing::field::Empty,
    );
    crate::trace_context::adopt(
        &span,
        header(crate::trace_context::TRACEPARENT),
        header(crate::trace_context::TRACESTATE),
    );
    span
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

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::ServiceExt;
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::JsonLines;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Every test in this module logs through a thread-local subscriber: a
    /// thread that ran with none could otherwise leave tracing's global
    /// callsite cache saying "disabled" for the request span.
    fn capture_logs(lines: &Lines) -> tracing::subscriber::DefaultGuard {
        let sink = lines.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines::new("test", "t1"))
                .with_writer(move || sink.clone()),
        );
        tracing::subscriber::set_default(subscriber)
    }

    fn app() -> Router {
        let routes = utoipa_axum::router::OpenApiRouter::new()
            .route(
                "/echo",
                axum::routing::post(|body: String| async move { body }),
            )
            .route(
                "/fail",
                get(|| async { crate::ApiError::bad_request(["query", "x"], "x is wrong") }),
            );
        let limits = HttpLimits {
            body_limit_bytes: 16,
            request_timeout: Duration::from_secs(5),
            drain: Duration::ZERO,
        };
        finish_router(
            routes,
            limits,
            &crate::probes::Readiness::without_links(Duration::ZERO),
        )
    }

    async fn call(req: Request<Body>) -> (StatusCode, String, Value) {
        let res = app().oneshot(req).await.unwrap();
        let status = res.status();
        let case_id = res.headers()[CASE_ID_HEADER].to_str().unwrap().to_owned();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            case_id,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A documented handler (the test's own `#[utoipa::path]`).
    #[utoipa::path(get, path = "/documented", responses((status = 200, description = "ok")))]
    async fn documented() -> &'static str {
        "documented"
    }

    #[tokio::test]
    async fn the_document_lists_exactly_the_documented_routes_it_serves() {
        let routes = utoipa_axum::router::OpenApiRouter::new()
            .routes(utoipa_axum::routes!(documented))
            .route("/plain", get(|| async { "plain" }));
        let app = finish_router(
            routes,
            HttpLimits::default(),
            &crate::probes::Readiness::without_links(Duration::ZERO),
        );
        let get = |path: &str| {
            let app = app.clone();
            let req = Request::get(path).body(Body::empty()).unwrap();
            async move {
                let res = app.oneshot(req).await.unwrap();
                let status = res.status();
                let bytes = res.into_body().collect().await.unwrap().to_bytes();
                (status, bytes)
            }
        };
        let (status, body) = get("/documented").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"documented"[..]));
        let (_, doc) = get("/openapi.json").await;
        let doc: Value = serde_json::from_slice(&doc).unwrap();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(
            paths,
            ["/documented"],
            "routed with its #[utoipa::path], and only that"
        );
        assert!(doc["paths"]["/documented"]["get"].is_object());
    }

    #[tokio::test]
    async fn an_oversized_case_id_is_replaced_and_the_replacement_is_logged_under_the_new_id() {
        let lines = Lines::default();
        let _guard = capture_logs(&lines);
        let huge = "x".repeat(10_000);
        let req = Request::get("/nope")
            .header("case-id", huge.as_str())
            .body(Body::empty())
            .unwrap();
        let (status, case_id, body) = call(req).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            uuid::Uuid::parse_str(&case_id).is_ok(),
            "replaced by a UUID"
        );
        assert_eq!(body["case_id"], case_id.as_str());
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let warning = logged
            .iter()
            .find(|l| l["message"] == "invalid Case-ID replaced with a new one")
            .expect("the replacement is logged");
        assert_eq!(warning["case_id"], case_id.as_str());
        assert_eq!(warning["original_len"], 10_000);
        assert!(
            !text.contains(&huge[..200]),
            "the invalid id itself is not logged"
        );
        let done = logged
            .iter()
            .find(|l| l["message"] == "request completed")
            .unwrap();
        assert_eq!(done["status"], 404);
        assert_eq!(done["path"], "/nope");
    }

    #[tokio::test]
    async fn every_error_gets_the_json_body_with_the_case_id() {
        let _guard = capture_logs(&Lines::default());
        let get = |uri: &str| {
            Request::get(uri)
                .header("case-id", "c-1")
                .body(Body::empty())
                .unwrap()
        };
        let (status, id, body) = call(get("/fail")).await;
        assert_eq!((status, id.as_str()), (StatusCode::BAD_REQUEST, "c-1"));
        assert_eq!(body["detail"][0]["loc"], serde_json::json!(["query", "x"]));
        assert_eq!(body["case_id"], "c-1");
        let (status, _, body) = call(get("/missing")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["detail"][0]["type"], "not_found");
        let delete = Request::builder()
            .method(Method::DELETE)
            .uri("/fail")
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = call(delete).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["detail"][0]["type"], "method_not_allowed");
        let big = Request::post("/echo")
            .body(Body::from("y".repeat(64)))
            .unwrap();
        let (status, _, body) = call(big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body["case_id"].is_string(), "{body}");
    }
}

#[cfg(test)]
mod openapi_tests {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    use super::document_unsupported_media_type;

    #[test]
    fn every_operation_with_a_body_documents_415_and_no_other_does() {
        let with_body = OperationBuilder::new()
            .request_body(Some(RequestBodyBuilder::new().build()))
            .build();
        let mut doc = OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path("/things", PathItem::new(HttpMethod::Post, with_body))
                    .path(
                        "/things/{id}",
                        PathItem::new(HttpMethod::Get, OperationBuilder::new().build()),
                    ),
            )
            .build();
        document_unsupported_media_type(&mut doc);
        let post = doc.paths.paths["/things"].post.as_ref().expect("post");
        assert!(post.responses.responses.contains_key("415"));
        let get = doc.paths.paths["/things/{id}"].get.as_ref().expect("get");
        assert!(!get.responses.responses.contains_key("415"));
    }
}

/// `Idempotency-Key`: a client's name for one submission, so that sending it
/// again (after a timeout, say) returns the first answer instead of doing
/// the work twice (worker jobs, meeting bookings).
pub static IDEMPOTENCY_KEY: axum::http::HeaderName =
    axum::http::HeaderName::from_static("idempotency-key");
/// Set to `true` on an answer that repeats an earlier submission's.
pub static IDEMPOTENT_REPLAYED: axum::http::HeaderName =
    axum::http::HeaderName::from_static("idempotent-replayed");

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The request's `Idempotency-Key`, if any: 1–255 visible ASCII characters,
/// else the problem, located at the header.
pub fn idempotency_key(
    headers: &axum::http::HeaderMap,
) -> Result<Option<String>, crate::ErrorDetail> {
    let Some(v) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s)
            if !s.is_empty()
                && s.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && s.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(s.to_owned()))
        }
        _ => Err(crate::ErrorDetail::new(
            ["header", "Idempotency-Key"],
            "Idempotency-Key must be 1-255 visible ASCII characters",
            "value_error",
        )),
    }
}
