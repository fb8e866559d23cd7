//! `/users/{email}/overrides`: a person's dated overrides (busy or free, in
//! their zone), and — for whoever may read the profile — the time their
//! booked meetings hold.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Path};

use super::users::parse_email;
use crate::domain::Profile;
use crate::domain::dated::{self, OverrideView, OverridesInput};
use crate::error::{PATH_EMAIL, UserError};
use crate::service::Users;

/// A booked meeting's time, as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusyView {
    /// RFC 3339, UTC.
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overrides {
    pub email: String,
    /// The zone the overrides are read in (the user's).
    pub timezone: String,
    /// In the order given; a later one wins where two overlap.
    pub overrides: Vec<OverrideView>,
    /// Time booked meetings hold (from meeting-service), busy whatever
    /// the overrides say.
    pub busy: Vec<BusyView>,
    /// The user's version after the change (the `ETag` of `/users/{email}`).
    pub version: i64,
}

fn view(p: &Profile) -> Overrides {
    Overrides {
        email: p.user.email.clone(),
        timezone: p.user.timezone.clone(),
        overrides: p.dated.overrides.iter().map(OverrideView::of).collect(),
        busy: p
            .dated
            .busy
            .iter()
            .map(|b| BusyView {
                start: b.start,
                end: b.end,
            })
            .collect(),
        version: p.user.version,
    }
}

/// A person's overrides and booked time.
#[utoipa::path(get, path = "/users/{email}/overrides", operation_id = "get_overrides", tag = "users", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email")),
    responses(
        (status = 200, description = "Overrides and booked time", body = Overrides),
        (status = 400, description = "Not a valid email", body = ErrorBody),
        (status = 401, description = "A claimed profile, and no valid token of its owner or a viewer", body = ErrorBody),
        (status = 403, description = "A claimed profile not shared with the caller", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 503, description = "Cache miss while PostgreSQL is unavailable", body = ErrorBody)))]
pub async fn get_overrides(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
) -> Result<axum::Json<Overrides>, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    match users.get_for(&email, &caller).await? {
        (Some(p), _) => Ok(axum::Json(view(&p))),
        (None, _) => Err(UserError::NotFound {
            loc: PATH_EMAIL,
            emails: vec![email.to_string()],
        }),
    }
}

/// Replace a person's overrides (the whole list).
///
/// Each is a whole local day (`date`), a range of days (`from`/`to` as
/// dates, both included) or a local time range (`from`/`to` as
/// `YYYY-MM-DDTHH:MM`, `to` excluded), `busy` or `free`. Availability and
/// suggestions apply them on top of the weekly pattern.
#[utoipa::path(put, path = "/users/{email}/overrides", operation_id = "put_overrides", tag = "users", security((), ("bearer" = [])),
    request_body = OverridesInput,
    params(("email" = String, Path, description = "The user's email")),
    responses(
        (status = 200, description = "Stored", body = Overrides),
        (status = 400, description = "An invalid override (each located)", body = ErrorBody),
        (status = 401, description = "A claimed profile (or `AUTH_MODE=required`) and no valid owner's token", body = ErrorBody),
        (status = 403, description = "Someone else's claimed profile", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 503, description = "PostgreSQL unavailable", body = ErrorBody)))]
pub async fn put_overrides(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
    Json(input): Json<OverridesInput>,
) -> Result<axum::Json<Overrides>, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    let overrides = dated::parse(&input).map_err(UserError::Invalid)?;
    let stored = users.set_overrides(&email, &overrides, &caller).await?;
    // The stored row carries no busy time; read it back through the cache.
    match users.get(&email).await? {
        (Some(p), _) => Ok(axum::Json(view(&p))),
        (None, _) => Ok(axum::Json(view(&stored))),
    }
}
