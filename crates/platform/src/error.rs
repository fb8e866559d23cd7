//! The error body every W2Meet service answers with, the original W2Meet
//! (FastAPI) shape plus the Case-ID:
//! `{"case_id": "...", "detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
//!
//! Policy: each service has its own error enum and turns it into an
//! [`ApiError`]. A handler does not know the Case-ID when it builds the error,
//! so [`ApiError`]'s response carries the body parts in an extension and the
//! platform middleware ([`render_error_bodies`]) writes the JSON with the
//! request's Case-ID. The same middleware gives every other 4xx/5xx that is
//! not JSON yet (unknown route, wrong method, body too large, a timeout) the
//! same shape, so no client ever sees a plain-text error. 5xx bodies carry a
//! generic message only: causes are logged, never returned.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::case_id::case_id_of;

/// One problem with a request, as FastAPI reports validation errors.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct ErrorDetail {
    /// Where the problem is: `["body","availabilities","monday","0"]`,
    /// `["query","userId2"]`, `["path","email"]`.
    pub loc: Vec<String>,
    /// What is wrong, for a person.
    pub msg: String,
    /// A stable machine-readable kind, e.g. `value_error`, `not_found`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ErrorDetail {
    pub fn new<L: Into<String>>(
        loc: impl IntoIterator<Item = L>,
        msg: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            loc: loc.into_iter().map(Into::into).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

/// The JSON error body (the OpenAPI schema of every error response).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub case_id: String,
    pub detail: Vec<ErrorDetail>,
}

/// An error response waiting for its Case-ID.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Vec<ErrorDetail>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: ErrorDetail) -> Self {
        Self {
            status,
            detail: vec![detail],
        }
    }

    /// 400 with one detail of type `value_error`.
    pub fn bad_request<L: Into<String>>(
        loc: impl IntoIterator<Item = L>,
        msg: impl Into<String>,
    ) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorDetail::new(loc, msg, "value_error"),
        )
    }

    /// A 5xx whose body only names the status; log the cause before calling.
    pub fn server(status: StatusCode, msg: impl Into<String>) -> Self {
        Self::new(
            status,
            ErrorDetail::new(Vec::<String>::new(), msg, kind_for(status)),
        )
    }
}

/// The body parts travel to [`render_error_bodies`] in this extension.
#[derive(Clone)]
struct PendingError(Vec<ErrorDetail>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.extensions_mut().insert(PendingError(self.detail));
        res
    }
}

fn kind_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        StatusCode::GATEWAY_TIMEOUT => "gateway_timeout",
        s if s.is_server_error() => "internal_error",
        _ => "client_error",
    }
}

/// Middleware: writes [`ApiError`] bodies with the request's Case-ID and turns
/// any other non-JSON 4xx/5xx into the same shape.
pub async fn render_error_bodies(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let case_id = case_id_of(&parts);
    let mut res = next.run(Request::from_parts(parts, body)).await;
    let status = res.status();
    let detail = match res.extensions_mut().remove::<PendingError>() {
        Some(PendingError(detail)) => detail,
        None if (status.is_client_error() || status.is_server_error()) && !is_json(&res) => {
            let msg = status.canonical_reason().unwrap_or("Error");
            vec![ErrorDetail::new(
                Vec::<String>::new(),
                msg,
                kind_for(status),
            )]
        }
        None => return res,
    };
    let body = ErrorBody {
        case_id: case_id.to_string(),
        detail,
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut res = (parts, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `axum::Json` whose rejections are [`ApiError`]s: malformed JSON, wrong
/// types, non-UTF-8, a missing content type or an oversized body get the
/// common error body instead of axum's plain text. Every W2Meet body is a
/// JSON object: anything else (`[]`, `"x"`, `3`) is a 400 here, before serde
/// could read a sequence into a struct's fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorDetail::new(
                    ["body"],
                    "Expected request with `Content-Type: application/json`",
                    "content_type",
                ),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                let status = r.status();
                let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "body_error"
                };
                ApiError::new(status, ErrorDetail::new(["body"], r.body_text(), kind))
            })?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorDetail::new(["body"], "the body must be a JSON object", "type_error"),
            ));
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| Json(v))
            .map_err(json_rejection)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    // axum answers wrong types with 422; the W2Meet contract is 400 for any
    // malformed or invalid input.
    let status = match &rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
            StatusCode::BAD_REQUEST
        }
        r => r.status(),
    };
    let kind = match &rejection {
        JsonRejection::JsonDataError(_) => "type_error",
        JsonRejection::JsonSyntaxError(_) => "json_invalid",
        JsonRejection::MissingJsonContentType(_) => "content_type",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        _ => "body_error",
    };
    // serde's message names the field and position but never echoes the
    // input, so it is safe and useful to return.
    ApiError::new(
        status,
        ErrorDetail::new(["body"], rejection.body_text(), kind),
    )
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|r: QueryRejection| ApiError::bad_request(["query"], r.body_text()))
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s (e.g. a path
/// segment that is not valid UTF-8 after percent-decoding).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|r| ApiError::bad_request(["path"], r.body_text()))
    }
}
