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

    /// One call for the whole group.
    pub async fn timelines(
        &self,
        request: &TimelinesRequest,
        case_id: &CaseId,
    ) -> Result<TimelinesAnswer, UpstreamError> {
        self.upstream
            .post_json("/timelines", request, case_id)
            .await
    }
}
