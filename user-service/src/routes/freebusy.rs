//! `/users/{email}/freebusy`: the weekly pattern laid onto real dates.

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Path, Query};

use super::users::parse_email;
use crate::domain::TimeZone;
use crate::error::{PATH_EMAIL, UserError};
use crate::service::Users;

/// Longest window, in days.
const MAX_DAYS: u32 = 62;

#[derive(Debug, Deserialize, IntoParams)]
pub struct FreeBusyQuery {
    /// First day, `YYYY-MM-DD`, in `tz`; default: the first Monday on or
    /// after today in `tz`.
    pub from: Option<String>,
    /// Days in the window, 1–62; default 7.
    pub days: Option<String>,
    /// Minutes per digit, a multiple of 5 from 5 to 1440; default 30.
    pub interval: Option<String>,
    /// Zone the window is laid out in; default the user's own.
    pub tz: Option<String>,
}

/// Graph-style availability view.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreeBusy {
    pub email: String,
    pub from: NaiveDate,
    pub days: u32,
    pub interval: u32,
    pub tz: String,
    /// One digit per interval: `0` free for the whole interval, `1` free
    /// for all of it but only if need be for some of it (SPEC §10), `2` busy
    /// (the weekly pattern, then the person's overrides, then the time
    /// their booked meetings hold).
    pub availability_view: String,
}

/// The user's free/busy view over real dates, like Microsoft Graph's
/// `getSchedule` `availabilityView`.
#[utoipa::path(get, path = "/users/{email}/freebusy", operation_id = "get_freebusy", tag = "users", security((), ("bearer" = [])),
    params(("email" = String, Path, description = "The user's email"), FreeBusyQuery),
    responses((status = 200, description = "The view", body = FreeBusy),
              (status = 400, description = "Bad parameters", body = ErrorBody),
              (status = 401, description = "A claimed profile, and no valid token", body = ErrorBody),
              (status = 403, description = "A claimed profile not shared with the caller", body = ErrorBody),
              (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn freebusy(
    State(users): State<Users>,
    Auth(caller): Auth,
    Path(email): Path<String>,
    Query(q): Query<FreeBusyQuery>,
) -> Result<axum::Json<FreeBusy>, UserError> {
    let email = parse_email(&email, &["path", "email"])?;
    let view_tz =
        q.tz.as_deref()
            .map(|tz| TimeZone::parse(tz).map_err(|m| UserError::invalid(&["query", "tz"], m)))
            .transpose()?;
    let days = parse_number(q.days.as_deref(), 7, "days", 1, MAX_DAYS)?;
    let interval = parse_number(q.interval.as_deref(), 30, "interval", 5, 1440)?;
    if interval % 5 != 0 {
        return Err(UserError::invalid(
            &["query", "interval"],
            "interval must be a multiple of 5",
        ));
    }
    let from = q
        .from
        .as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                UserError::invalid(&["query", "from"], "from must be a real date as YYYY-MM-DD")
            })
        })
        .transpose()?;

    let (profile, _) = users.get_for(&email, &caller).await?;
    let profile = profile.ok_or_else(|| UserError::NotFound {
        loc: PATH_EMAIL,
        emails: vec![email.to_string()],
    })?;
    let (user, dated) = (profile.user, profile.dated);
    let user_tz = user.tz().map_err(UserError::Internal)?;
    let pattern = user
        .pattern()
        .map_err(|e| UserError::Internal(e.to_string()))?;
    let if_need_be = user
        .if_need_be_pattern()
        .map_err(|e| UserError::Internal(e.to_string()))?;
    let view_tz = view_tz.map_or(user_tz, TimeZone::tz);
    let from = from.unwrap_or_else(|| {
        scheduling::first_monday_on_or_after(
            chrono::Utc::now().with_timezone(&view_tz).date_naive(),
        )
    });
    let dated = (dated.overrides.as_slice(), dated.busy.as_slice());
    let patterns = (&pattern, &if_need_be);
    let view = scheduling::freebusy_dated(patterns, user_tz, dated, from, days, interval, view_tz)
        .map_err(|e| UserError::invalid(&["query", e.field()], e.to_string()))?;
    Ok(axum::Json(FreeBusy {
        email: user.email,
        from,
        days,
        interval,
        tz: view_tz.name().to_owned(),
        availability_view: view,
    }))
}

/// A whole number in `min..=max`, or `default` when absent.
fn parse_number(
    raw: Option<&str>,
    default: u32,
    name: &str,
    min: u32,
    max: u32,
) -> Result<u32, UserError> {
    let Some(raw) = raw else { return Ok(default) };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            UserError::invalid(
                &["query", name],
                format!("{name} must be a whole number from {min} to {max}"),
            )
        })
}
