//! The original W2Meet cache-aside endpoints, kept for its clients.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use w2meet_platform::auth::{Auth, Caller};
use w2meet_platform::error::{ErrorBody, Path, Query};

use super::users::{parse_email, set_cache_headers};
use crate::domain::{AvailabilityRecord, Email};
use crate::error::{PATH_EMAIL, UserError};
use crate::service::Users;

/// A user's availability record, cache-aside.
#[utoipa::path(get, path = "/user-avail/cache-aside/{email}", operation_id = "get_availability_record", tag = "cache-aside", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email")),
    responses((status = 200, description = "The availability record; `X-Cache` says how it was served", body = AvailabilityRecord, headers(("X-Cache" = String, description = "HIT, MISS or BYPASS: how the read was served"))),
              (status = 400, description = "Not a valid email", body = ErrorBody),
              (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
              (status = 403, description = "A claimed profile not shared with the caller", body = ErrorBody),
              (status = 404, description = "No such user", body = ErrorBody),
              (status = 503, description = "Cache miss while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn by_path(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<Response, UserError> {
    read(
        users,
        &caller,
        parse_email(&email, &PATH_EMAIL)?,
        PATH_EMAIL,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ByQuery {
    /// The user's email (the original client's parameter name).
    pub user1email: Option<String>,
}

/// The same, with the email as the original client sent it.
#[utoipa::path(get, path = "/user-avail/cache-aside", operation_id = "get_availability_record_by_query", tag = "cache-aside", security((), ("bearer" = [])), params(ByQuery),
    responses((status = 200, description = "The availability record", body = AvailabilityRecord, headers(("X-Cache" = String, description = "HIT, MISS or BYPASS: how the read was served"))),
              (status = 400, description = "Missing or invalid email", body = ErrorBody),
              (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
              (status = 403, description = "A claimed profile not shared with the caller", body = ErrorBody),
              (status = 404, description = "No such user", body = ErrorBody),
              (status = 503, description = "Cache miss while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn by_query(
    State(users): State<Users>,
    Auth(caller): Auth,
    Query(q): Query<ByQuery>,
) -> Result<Response, UserError> {
    let raw = q
        .user1email
        .ok_or_else(|| UserError::invalid(&["query", "user1email"], "field required"))?;
    read(
        users,
        &caller,
        parse_email(&raw, &["query", "user1email"])?,
        ["query", "user1email"],
    )
    .await
}

async fn read(
    users: Users,
    caller: &Caller,
    email: Email,
    loc: [&'static str; 2],
) -> Result<Response, UserError> {
    let (profile, cache) = users.get_for(&email, caller).await?;
    let mut res = match profile {
        Some(p) => (StatusCode::OK, axum::Json(p.user.availability_view())).into_response(),
        None => UserError::NotFound {
            loc,
            emails: vec![email.to_string()],
        }
        .into_response(),
    };
    set_cache_headers(res.headers_mut(), cache);
    Ok(res)
}
