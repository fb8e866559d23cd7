//! The availability-service, as this service needs it: the group's window
//! and every user's own free intervals (`detail=users`).

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use w2meet_platform::CaseId;
use w2meet_platform::upstream::{Upstream, UpstreamError};

#[derive(Debug, Clone, Deserialize)]
pub struct WindowIn {
    pub from: NaiveDate,
    pub days: u32,
    pub tz: String,
}

/// The parts of `POST /availabilities?detail=users` this service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AvailabilityAnswer {
    pub users: Vec<String>,
    pub preferences: Map<String, Value>,
    pub window: WindowIn,
    /// Email → `[[start, end], ...]` in RFC 3339.
    pub free: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub struct AvailabilityClient {
    upstream: Upstream,
}

impl AvailabilityClient {
    pub fn new(upstream: Upstream) -> Self {
        Self { upstream }
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// One call for the whole group.
    pub async fn group(
        &self,
        body: &Value,
        case_id: &CaseId,
    ) -> Result<AvailabilityAnswer, UpstreamError> {
        self.upstream
            .post_json("/availabilities", body, case_id)
            .await
    }
}
