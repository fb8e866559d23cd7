//! The availability-service, as this service needs it: the group's
//! timelines in the wire format (`POST /timelines`, see `w2meet_group::wire`).

use w2meet_group::wire::{TimelinesAnswer, TimelinesRequest};
use w2meet_platform::CaseId;
use w2meet_platform::upstream::{Upstream, UpstreamError};

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

    /// One call for the whole group, with the service credential on behalf
    /// of `viewer` (availability says whom that person may not see).
    pub async fn timelines(
        &self,
        request: &TimelinesRequest,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<TimelinesAnswer, UpstreamError> {
        self.upstream
            .post_json_as("/timelines", request, case_id, viewer)
            .await
    }
}
