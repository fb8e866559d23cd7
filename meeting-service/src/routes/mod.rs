//! Thin HTTP handlers, one file per resource, and the little parsing they
//! share (ids, emails, windows, `If-Match`, `ETag`).

pub mod calendars;
pub mod health;
pub mod invites;
pub mod meetings;

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use w2meet_group::Email;
use w2meet_platform::if_match::IfMatch;

use crate::error::MeetingError;

/// Days a window covers when `to` is left out.
const DEFAULT_WINDOW_DAYS: u64 = 90;
/// The longest window one answer covers.
const MAX_WINDOW_DAYS: i64 = 366;

fn parse_id(raw: &str) -> Result<Uuid, MeetingError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| MeetingError::invalid(&["path", "id"], "id must be a meeting id (a UUID)"))
}

fn parse_email(raw: &str) -> Result<Email, MeetingError> {
    Email::parse(raw).map_err(|m| MeetingError::invalid(&["path", "email"], m))
}

fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, MeetingError> {
    headers
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str().map(IfMatch::parse).map_err(|_| {
                MeetingError::invalid(&["header", "If-Match"], "If-Match must be visible ASCII")
            })
        })
        .transpose()
}

fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

/// `from` and `to`: RFC 3339 times or dates (`YYYY-MM-DD`, midnight UTC).
#[derive(Debug, Deserialize, IntoParams)]
pub struct Window {
    /// Start of the window (default: today, 00:00 UTC).
    pub from: Option<String>,
    /// End of the window (default: 90 days after `from`; at most 366).
    pub to: Option<String>,
}

impl Window {
    fn parse(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), MeetingError> {
        let at = |name: &str, raw: &str| -> Result<DateTime<Utc>, MeetingError> {
            if let Ok(day) = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
                return Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
            }
            crate::domain::meeting::parse_time(raw).map_err(|m| {
                MeetingError::invalid(&["query", name], format!("{m} or a date YYYY-MM-DD"))
            })
        };
        let from = match &self.from {
            Some(raw) => at("from", raw)?,
            None => Utc::now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc(),
        };
        let to = match &self.to {
            Some(raw) => at("to", raw)?,
            None => from
                .checked_add_days(Days::new(DEFAULT_WINDOW_DAYS))
                .ok_or_else(|| MeetingError::invalid(&["query", "from"], "from is too late"))?,
        };
        for (name, t) in [("from", from), ("to", to)] {
            if !(1..=9999).contains(&chrono::Datelike::year(&t)) {
                return Err(MeetingError::invalid(
                    &["query", name],
                    "years 1 to 9999 only",
                ));
            }
        }
        if to <= from {
            return Err(MeetingError::invalid(
                &["query", "to"],
                "to must be after from",
            ));
        }
        if to - from > chrono::Duration::days(MAX_WINDOW_DAYS) {
            return Err(MeetingError::invalid(
                &["query", "to"],
                format!("a window covers at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        Ok((from, to))
    }
}
