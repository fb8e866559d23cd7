//! The user-service, as this service needs it: many users' schedules in one
//! batch read.

use chrono_tz::Tz;
use scheduling::WeeklyPattern;
use serde::Deserialize;
use serde_json::{Value, json};
use w2meet_group::Email;
use w2meet_platform::CaseId;
use w2meet_platform::upstream::{Upstream, UpstreamError};

/// One user's schedule as the intersection needs it.
#[derive(Debug, Clone)]
pub struct UserSchedule {
    pub email: Email,
    /// The stored ranking preference, as user-service spells it.
    pub preference: String,
    pub tz: Tz,
    pub pattern: WeeklyPattern,
    /// Time free only if need be (SPEC §10); empty when none.
    pub if_need_be: WeeklyPattern,
    /// Dated overrides (in `tz`) and booked busy time, applied on top of
    /// the pattern.
    pub dated: Dated,
}

/// A user's dated time, as user-service answers it (`dated: true`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dated {
    #[serde(default)]
    pub overrides: Vec<scheduling::Override>,
    #[serde(default)]
    pub busy: Vec<scheduling::Busy>,
}

/// `POST /users/batch`'s answer, as far as this service reads it.
#[derive(Deserialize)]
struct BatchAnswer {
    users: Vec<BatchUser>,
    missing: Vec<String>,
    #[serde(default)]
    hidden: Vec<String>,
}

#[derive(Deserialize)]
struct BatchUser {
    email: String,
    preferences: String,
    timezone: String,
    availabilities: Value,
    #[serde(default)]
    if_need_be: Option<Value>,
    #[serde(default)]
    dated: Dated,
}

/// The users user-service knows (in no particular order), those it does
/// not, and those of the found whom the viewer may not see by address.
pub struct BatchSchedules {
    pub found: Vec<UserSchedule>,
    pub missing: Vec<Email>,
    pub hidden: Vec<Email>,
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

    /// All users in one call (`POST /users/batch`), with the service
    /// credential (so claimed profiles are included) on behalf of `viewer`
    /// (so user-service says whom that person may not see).
    pub async fn schedules(
        &self,
        emails: &[Email],
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<BatchSchedules, UpstreamError> {
        let answer: BatchAnswer = self
            .upstream
            .post_json_as(
                "/users/batch",
                &json!({ "emails": emails, "dated": true }),
                case_id,
                viewer,
            )
            .await?;
        let wrong = |reason: String| UpstreamError::BadAnswer {
            service: self.upstream.service,
            reason,
        };
        let email = |raw: &str| Email::parse(raw).map_err(|e| wrong(format!("email {raw:?}: {e}")));
        let found = answer
            .users
            .into_iter()
            .map(|u| {
                let pattern = WeeklyPattern::from_json(&u.availabilities)
                    .map_err(|e| wrong(format!("availability of {}: {e}", u.email)))?;
                let if_need_be = u
                    .if_need_be
                    .as_ref()
                    .map_or(Ok(WeeklyPattern::default()), WeeklyPattern::from_json)
                    .map_err(|e| wrong(format!("if-need-be time of {}: {e}", u.email)))?;
                let tz = u
                    .timezone
                    .parse::<Tz>()
                    .map_err(|_| wrong(format!("time zone of {}: {:?}", u.email, u.timezone)))?;
                Ok(UserSchedule {
                    email: email(&u.email)?,
                    preference: u.preferences,
                    tz,
                    pattern,
                    if_need_be,
                    dated: u.dated,
                })
            })
            .collect::<Result<Vec<_>, UpstreamError>>()?;
        let missing = answer
            .missing
            .iter()
            .map(|m| email(m))
            .collect::<Result<Vec<_>, _>>()?;
        let hidden = answer
            .hidden
            .iter()
            .map(|m| email(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchSchedules {
            found,
            missing,
            hidden,
        })
    }
}
