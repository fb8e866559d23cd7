//! `/users/{email}/shares`: whom a claimed profile is shared with. Only its
//! owner reads or changes the list; a viewer may then read the owner's
//! pattern, overrides and calendar (SPEC §6). Sharing is one-way.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use w2meet_platform::auth::{Auth, AuthError, Caller};
use w2meet_platform::error::{ErrorBody, Path};

use super::users::parse_email;
use crate::error::UserError;
use crate::service::accounts::Accounts;

#[derive(Serialize, ToSchema)]
pub struct Shares {
    pub owner: String,
    /// Sorted.
    pub viewers: Vec<String>,
}

/// The people a profile is shared with.
#[utoipa::path(get, path = "/users/{email}/shares", operation_id = "list_shares", tag = "sharing", security(("bearer" = [])),
    params(("email" = String, Path, description = "The owner's email")),
    responses(
        (status = 200, description = "The viewers", body = Shares),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "No valid token of the owner", body = ErrorBody),
        (status = 403, description = "Someone else's profile, or one nobody has claimed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn list(
    State(accounts): State<Accounts>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<axum::Json<Shares>, UserError> {
    require_person(&caller)?;
    let owner = parse_email(&email, &["path", "email"])?;
    let viewers = accounts.shares(&owner, &caller).await?;
    Ok(axum::Json(Shares {
        owner: owner.to_string(),
        viewers,
    }))
}

/// Share the profile with `viewer` (idempotent).
#[utoipa::path(put, path = "/users/{email}/shares/{viewer}", operation_id = "share", tag = "sharing", security(("bearer" = [])),
    params(("email" = String, Path, description = "The owner's email"),
           ("viewer" = String, Path, description = "Who may read it")),
    responses(
        (status = 200, description = "Shared; the whole list", body = Shares),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "No valid token of the owner", body = ErrorBody),
        (status = 403, description = "Someone else's profile, or one nobody has claimed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn add(
    State(accounts): State<Accounts>,
    Auth(caller): Auth,
    Path((email, viewer)): Path<(String, String)>,
) -> Result<axum::Json<Shares>, UserError> {
    change(accounts, caller, email, viewer, true).await
}

/// Stop sharing with `viewer` (idempotent).
#[utoipa::path(delete, path = "/users/{email}/shares/{viewer}", operation_id = "unshare", tag = "sharing", security(("bearer" = [])),
    params(("email" = String, Path, description = "The owner's email"),
           ("viewer" = String, Path, description = "Who may no longer read it")),
    responses(
        (status = 200, description = "No longer shared; the whole list", body = Shares),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "No valid token of the owner", body = ErrorBody),
        (status = 403, description = "Someone else's profile, or one nobody has claimed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn remove(
    State(accounts): State<Accounts>,
    Auth(caller): Auth,
    Path((email, viewer)): Path<(String, String)>,
) -> Result<axum::Json<Shares>, UserError> {
    change(accounts, caller, email, viewer, false).await
}

/// Only an owner manages a list: without a token, nothing else is looked
/// at (401 before any 400 about the path).
fn require_person(caller: &Caller) -> Result<(), UserError> {
    match caller {
        Caller::Person { .. } => Ok(()),
        _ => Err(UserError::Unauthenticated(AuthError::Required)),
    }
}

async fn change(
    accounts: Accounts,
    caller: Caller,
    email: String,
    viewer: String,
    shared: bool,
) -> Result<axum::Json<Shares>, UserError> {
    require_person(&caller)?;
    let owner = parse_email(&email, &["path", "email"])?;
    let viewer = parse_email(&viewer, &["path", "viewer"])?;
    if viewer == owner {
        return Err(UserError::invalid(
            &["path", "viewer"],
            "a profile is always visible to its owner",
        ));
    }
    let viewers = accounts
        .set_shared(&owner, &viewer, shared, &caller)
        .await?;
    Ok(axum::Json(Shares {
        owner: owner.to_string(),
        viewers,
    }))
}

/// Who owns a profile and whom it is shared with, for the platform's other
/// services (meeting-service decides with it who may act for a person and
/// read their calendar).
#[derive(Serialize, ToSchema)]
pub struct AccessView {
    pub email: String,
    /// Whether someone registered the profile (it is then theirs alone).
    pub claimed: bool,
    /// Sorted.
    pub viewers: Vec<String>,
}

/// A profile's ownership and sharing (services only).
#[utoipa::path(get, path = "/users/{email}/access", operation_id = "get_access", tag = "sharing", security(("service" = [])),
    params(("email" = String, Path, description = "The profile's email")),
    responses(
        (status = 200, description = "Claimed or not, and the viewers", body = AccessView),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "No service credential", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn access(
    State(users): State<crate::service::Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<axum::Json<AccessView>, UserError> {
    if !caller.is_service() {
        return Err(UserError::Unauthenticated(AuthError::Required));
    }
    let email = parse_email(&email, &["path", "email"])?;
    let (profile, _) = users.get(&email).await?;
    let profile = profile.ok_or_else(|| UserError::NotFound {
        loc: ["path", "email"],
        emails: vec![email.to_string()],
    })?;
    Ok(axum::Json(AccessView {
        email: email.to_string(),
        claimed: profile.access.claimed(),
        viewers: profile.access.viewers,
    }))
}
