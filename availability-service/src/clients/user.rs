//! The user-service, as this service needs it: many users' schedules in one
//! batch read.

use chrono_tz::Tz;
use scheduling::WeeklyPattern;
use serde::Deserialize;
use serde_json::{Value, json};
use w2meet_platform::CaseId;
use w2meet_platform::upstream::{Upstream, UpstreamError};

/// One user's schedule as the intersection needs it.
#[derive(Debug, Clone)]
pub struct UserSchedule {
    pub email: String,
    pub preference: String,
    pub tz: Tz,
    pub pattern: WeeklyPattern,
}

#[derive(Deserialize)]
struct BatchAnswer {
    users: Vec<BatchUser>,
    missing: Vec<String>,
}

#[derive(Deserialize)]
struct BatchUser {
    email: String,
    preferences: String,
    timezone: String,
    availabilities: Value,
}

/// The found users (in no particular order) and the unknown emails.
pub struct Fetched {
    pub users: Vec<UserSchedule>,
    pub missing: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct UserClient {
    upstream: Upstream,
}

impl UserClient {
    pub fn new(upstream: Upstream) -> Self {
        Self { upstream }
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// All users in one call (`POST /users/batch`).
    pub async fn schedules(
        &self,
        emails: &[String],
        case_id: &CaseId,
    ) -> Result<Fetched, UpstreamError> {
        let answer: BatchAnswer = self
            .upstream
            .post_json("/users/batch", &json!({ "emails": emails }), case_id)
            .await?;
        let bad = |reason: String| UpstreamError::BadAnswer {
            service: self.upstream.service,
            reason,
        };
        let users = answer
            .users
            .into_iter()
            .map(|u| {
                let pattern = WeeklyPattern::from_json(&u.availabilities)
                    .map_err(|e| bad(format!("availability of {}: {e}", u.email)))?;
                let tz = u
                    .timezone
                    .parse::<Tz>()
                    .map_err(|_| bad(format!("time zone of {}: {:?}", u.email, u.timezone)))?;
                Ok(UserSchedule {
                    email: u.email,
                    preference: u.preferences,
                    tz,
                    pattern,
                })
            })
            .collect::<Result<Vec<_>, UpstreamError>>()?;
        Ok(Fetched {
            users,
            missing: answer.missing,
        })
    }
}
