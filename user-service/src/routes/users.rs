//! `/users`: create, read, replace, delete, batch read, free/busy view.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::auth::{Auth, Caller};
use w2meet_platform::error::{ErrorBody, Json, Path, Query};

use crate::domain::{Email, IfMatch, UserDraft, UserInput, UserRecord};
use crate::error::{PATH_EMAIL, UserError};
use crate::service::{CacheStatus, Created, Users};

/// Most users one batch read may ask for.
pub const MAX_BATCH: usize = 1000;

/// Body limit of `POST /users/batch`: `MAX_BATCH` emails of the longest
/// length, quoted and separated, plus room for the envelope.
pub const MAX_BATCH_BODY_BYTES: usize = MAX_BATCH * (254 + 3) + 1024;

pub static X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// On hits: `near` (this process's memory) or `redis`.
pub static X_CACHE_LAYER: HeaderName = HeaderName::from_static("x-cache-layer");

/// A user with its `ETag` (the version) and, for reads, `X-Cache`.
pub(crate) fn user_response(
    status: StatusCode,
    user: &UserRecord,
    cache: Option<CacheStatus>,
) -> Response {
    let mut res = (status, axum::Json(user)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", user.version)) {
        res.headers_mut().insert(header::ETAG, etag);
    }
    if let Some(c) = cache {
        set_cache_headers(res.headers_mut(), c);
    }
    res
}

/// `X-Cache`, and on hits `X-Cache-Layer`.
pub(crate) fn set_cache_headers(headers: &mut axum::http::HeaderMap, status: CacheStatus) {
    headers.insert(&X_CACHE, HeaderValue::from_static(status.as_str()));
    let layer = match status {
        CacheStatus::NearHit => "near",
        CacheStatus::Hit => "redis",
        CacheStatus::Miss | CacheStatus::Bypass => return,
    };
    headers.insert(&X_CACHE_LAYER, HeaderValue::from_static(layer));
}

pub(crate) fn parse_email(raw: &str, loc: &[&str]) -> Result<Email, UserError> {
    Email::parse(raw).map_err(|m| UserError::invalid(loc, m))
}

/// Create a user.
#[utoipa::path(post, path = "/users", request_body = UserInput, tag = "users", security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserRecord, headers(("ETag" = String, description = "The stored version, quoted: send it back in If-Match"))),
        (status = 200, description = "An identical user already existed (a retried create)", body = UserRecord, headers(("ETag" = String, description = "The stored version, quoted: send it back in If-Match"))),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "A claimed profile (or `AUTH_MODE=required`) and no valid owner's token", body = ErrorBody),
        (status = 403, description = "Someone else's claimed profile", body = ErrorBody),
        (status = 409, description = "The email exists with different data", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn create_user(
    State(users): State<Users>,
    Auth(caller): Auth,
    Json(input): Json<UserInput>,
) -> Result<Response, UserError> {
    let draft = UserDraft::parse(input, None).map_err(UserError::Invalid)?;
    Ok(match users.create(&draft, &caller).await? {
        Created::New(p) => user_response(StatusCode::CREATED, &p.user, None),
        Created::AlreadyExists(p) => user_response(StatusCode::OK, &p.user, None),
    })
}

/// Read a user (cache-aside).
#[utoipa::path(get, path = "/users/{email}", tag = "users", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email")),
    responses(
        (status = 200, description = "The user; `X-Cache` says how it was served", body = UserRecord, headers(("ETag" = String, description = "The stored version, quoted: send it back in If-Match"), ("X-Cache" = String, description = "HIT, MISS or BYPASS: how the read was served"))),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "A claimed profile and no valid token of its owner or a viewer", body = ErrorBody),
        (status = 403, description = "A claimed profile not shared with the caller", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 503, description = "Cache miss while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn get_user(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<Response, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    match users.get_for(&email, &caller).await? {
        (Some(p), cache) => Ok(user_response(StatusCode::OK, &p.user, Some(cache))),
        (None, cache) => {
            let mut res = UserError::NotFound {
                loc: PATH_EMAIL,
                emails: vec![email.to_string()],
            }
            .into_response();
            set_cache_headers(res.headers_mut(), cache);
            Ok(res)
        }
    }
}

/// Replace a user. Send `If-Match: "<version>"` (or a list, or `*`) to
/// refuse to overwrite a change you have not seen.
#[utoipa::path(put, path = "/users/{email}", request_body = UserInput, tag = "users", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email"),
           ("If-Match" = Option<String>, Header, description = "Expected version, as returned in `ETag`")),
    responses(
        (status = 200, description = "Replaced", body = UserRecord, headers(("ETag" = String, description = "The stored version, quoted: send it back in If-Match"))),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "A claimed profile (or `AUTH_MODE=required`) and no valid owner's token", body = ErrorBody),
        (status = 403, description = "Someone else's claimed profile", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 412, description = "`If-Match` names no current version (or the user is absent)", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn replace_user(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
    headers: HeaderMap,
    Json(input): Json<UserInput>,
) -> Result<Response, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    let if_match = parse_if_match(&headers);
    let draft = UserDraft::parse(input, Some(&email)).map_err(UserError::Invalid)?;
    let profile = users.replace(&draft, if_match.as_ref(), &caller).await?;
    Ok(user_response(StatusCode::OK, &profile.user, None))
}

/// `If-Match`, if sent. A value that is not even text matches nothing.
fn parse_if_match(headers: &HeaderMap) -> Option<IfMatch> {
    headers
        .get(header::IF_MATCH)
        .map(|v| IfMatch::parse(v.to_str().unwrap_or_default()))
}

/// Delete a user.
#[utoipa::path(delete, path = "/users/{email}", tag = "users", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email")),
    responses((status = 204, description = "Deleted"),
              (status = 400, description = "Not a valid email", body = ErrorBody),
              (status = 401, description = "A claimed profile (or `AUTH_MODE=required`) and no valid owner's token", body = ErrorBody),
              (status = 403, description = "Someone else's claimed profile", body = ErrorBody),
              (status = 404, description = "No such user", body = ErrorBody),
              (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn delete_user(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<StatusCode, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    users.delete(&email, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct BatchQuery {
    /// Comma-separated emails, at most 1000.
    pub emails: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchBody {
    /// At most 1000 emails; duplicates are collapsed.
    pub emails: Vec<String>,
    /// Also answer each user's `dated` time (overrides and booked busy
    /// time): what availability-service lays onto real dates.
    #[serde(default)]
    pub dated: bool,
}

/// A user in a batch answer: the record, and its dated time when asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchUser {
    #[serde(flatten)]
    pub user: UserRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub dated: Option<crate::domain::Dated>,
}

/// A batch answer: found users in the order asked, and the emails not found.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub users: Vec<BatchUser>,
    pub missing: Vec<String>,
    /// Claimed profiles the viewer may not see (SPEC §6). For a person,
    /// these are left out of `users`; for a service (which needs everyone's
    /// data to compute a group answer), they are in `users` and listed
    /// here so that the answer names them only as a count. Absent when
    /// empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<String>,
}

/// Read many users at once (GET form).
#[utoipa::path(get, path = "/users", operation_id = "batch_get_users", tag = "users", security((), ("bearer" = [])), params(BatchQuery),
    responses((status = 200, description = "Found and missing users", body = BatchResponse, headers(("X-Cache" = String, description = "HIT, MISS or BYPASS: how the read was served"))),
              (status = 400, description = "No, too many or invalid emails", body = ErrorBody),
              (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
              (status = 503, description = "Cache misses while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn batch_get(
    State(users): State<Users>,
    Auth(caller): Auth,
    Query(q): Query<BatchQuery>,
) -> Result<Response, UserError> {
    let raw: Vec<String> = q
        .emails
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    batch(users, &caller, raw, "query", false).await
}

/// Read many users at once (POST form, for large groups).
#[utoipa::path(post, path = "/users/batch", operation_id = "batch_post_users", tag = "users", security((), ("bearer" = [])), request_body = BatchBody,
    responses((status = 200, description = "Found and missing users", body = BatchResponse, headers(("X-Cache" = String, description = "HIT, MISS or BYPASS: how the read was served"))),
              (status = 400, description = "No, too many or invalid emails", body = ErrorBody),
              (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
              (status = 503, description = "Cache misses while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn batch_post(
    State(users): State<Users>,
    Auth(caller): Auth,
    Json(body): Json<BatchBody>,
) -> Result<Response, UserError> {
    batch(users, &caller, body.emails, "body", body.dated).await
}

async fn batch(
    users: Users,
    caller: &Caller,
    raw: Vec<String>,
    location: &str,
    dated: bool,
) -> Result<Response, UserError> {
    if raw.is_empty() {
        return Err(UserError::invalid(
            &[location, "emails"],
            "at least one email is required",
        ));
    }
    let mut emails: Vec<Email> = Vec::with_capacity(raw.len());
    let mut seen = HashSet::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        match Email::parse(r) {
            Ok(e) => {
                if seen.insert(e.clone()) {
                    emails.push(e);
                }
            }
            Err(msg) => errors.push(crate::domain::user::InvalidField {
                loc: vec![location.to_owned(), "emails".to_owned(), i.to_string()],
                msg,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(UserError::Invalid(errors));
    }
    if emails.len() > MAX_BATCH {
        return Err(UserError::invalid(
            &[location, "emails"],
            format!("at most {MAX_BATCH} distinct emails per batch"),
        ));
    }
    let (found, missing, cache) = users.get_many(&emails).await?;
    let viewer = caller.viewer();
    let mut shown = Vec::with_capacity(found.len());
    let mut hidden = Vec::new();
    for p in found {
        let email = p.user.email.as_str();
        let visible = p.access.visible_to(email, viewer);
        if !visible {
            hidden.push(p.user.email.clone());
        }
        if visible || caller.is_service() {
            shown.push(BatchUser {
                user: p.user,
                dated: dated.then_some(p.dated),
            });
        }
    }
    let mut res = axum::Json(BatchResponse {
        users: shown,
        missing,
        hidden,
    })
    .into_response();
    set_cache_headers(res.headers_mut(), cache);
    Ok(res)
}
