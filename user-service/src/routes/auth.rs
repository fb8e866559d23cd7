//! `/auth/*` and `/.well-known/jwks.json`: accounts and tokens (SPEC §6).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use w2meet_platform::auth::{Auth, Jwks};
use w2meet_platform::error::{ErrorBody, Json};

use super::users::parse_email;
use crate::domain::{Password, user::parse_name};
use crate::error::UserError;
use crate::service::accounts::{Accounts, Me, ProfileOutcome, Session};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub email: String,
    /// 8–1024 characters, not one of the most common passwords.
    pub password: String,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Registration {
    pub email: String,
    /// `claimed`: an existing unclaimed profile is now yours;
    /// `created`: a new, empty profile was made.
    pub profile: ProfileOutcome,
    #[serde(flatten)]
    pub session: Session,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Create an account: claims the unclaimed profile with this email, or
/// creates one. Answers with a first pair of tokens.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered and logged in", body = Registration),
        (status = 400, description = "Invalid email, name or password", body = ErrorBody),
        (status = 409, description = "The email already has an account", body = ErrorBody),
        (status = 429, description = "Too many registrations from this client (`Retry-After`)", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable, or password hashing saturated (`Retry-After`)", body = ErrorBody)))]
pub async fn register(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Json(body): Json<RegisterBody>,
) -> Result<Response, UserError> {
    let email = parse_email(&body.email, &["body", "email"]);
    let password =
        Password::parse(body.password).map_err(|m| UserError::invalid(&["body", "password"], m));
    let name = parse_name(body.name).map_err(|m| UserError::invalid(&["body", "name"], m));
    let (email, password, name) = collect_invalid(email, password, name)?;
    let (profile, session) = accounts
        .register(&email, password, name, &client_address(&headers))
        .await?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            axum::Json(Registration {
                email: email.to_string(),
                profile,
                session,
            }),
        )
            .into_response(),
    ))
}

/// All problems of a registration at once.
fn collect_invalid<A, B, C>(
    a: Result<A, UserError>,
    b: Result<B, UserError>,
    c: Result<C, UserError>,
) -> Result<(A, B, C), UserError> {
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (a, b, c) => {
            let fields = [a.err(), b.err(), c.err()]
                .into_iter()
                .flatten()
                .flat_map(|e| match e {
                    UserError::Invalid(f) => f,
                    _ => Vec::new(),
                })
                .collect();
            Err(UserError::Invalid(fields))
        }
    }
}

/// Log in. An unknown email and a wrong password get the same 401.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = Session),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "Invalid email or password", body = ErrorBody),
        (status = 429, description = "Too many attempts for this account or from this client (`Retry-After`)", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable, or password hashing saturated (`Retry-After`)", body = ErrorBody)))]
pub async fn login(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> Result<Response, UserError> {
    let email = parse_email(&body.email, &["body", "email"])?;
    let session = accounts
        .login(&email, body.password, &client_address(&headers))
        .await?;
    Ok(no_store(axum::Json(session).into_response()))
}

/// The client's address as the gateway saw it (`X-Real-IP`, which nginx
/// sets and a client cannot: it overwrites the header), else the last hop
/// of `X-Forwarded-For`, else `direct`.
fn client_address(headers: &HeaderMap) -> String {
    let real = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let forwarded = || {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    real.or_else(forwarded)
        .map(|a| a.chars().take(64).collect())
        .unwrap_or_else(|| "direct".to_owned())
}

/// Trade a refresh token for a new pair. Each refresh token works once; a
/// second use revokes every token of its login.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair", body = Session),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn refresh(
    State(accounts): State<Accounts>,
    Json(body): Json<RefreshBody>,
) -> Result<Response, UserError> {
    let session = accounts.refresh(body.refresh_token.trim()).await?;
    Ok(no_store(axum::Json(session).into_response()))
}

/// Log out: revokes the refresh token and every token of its login. Access
/// tokens already issued run out by themselves (`expires_in`).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 204, description = "Logged out (also for an unknown token)"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn logout(
    State(accounts): State<Accounts>,
    Json(body): Json<RefreshBody>,
) -> Result<StatusCode, UserError> {
    accounts.logout(body.refresh_token.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the access token names.
#[utoipa::path(get, path = "/auth/me", operation_id = "get_me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Me),
        (status = 401, description = "No valid token, or its account is gone", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn me(
    State(accounts): State<Accounts>,
    Auth(caller): Auth,
) -> Result<axum::Json<Me>, UserError> {
    Ok(axum::Json(accounts.me(&caller).await?))
}

/// The public keys that verify access tokens (RFC 7517). Cached for five
/// minutes; a service that meets an unknown `kid` fetches again.
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "get_jwks", tag = "auth",
    responses((status = 200, description = "The key set", body = Object)))]
pub async fn jwks(State(accounts): State<Accounts>) -> Response {
    let jwks: &Jwks = accounts.keys.jwks();
    let mut res = axum::Json(jwks).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// Token answers must not be kept by any cache (RFC 6749 §5.1).
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
