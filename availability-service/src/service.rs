//! The use cases the handlers call: fetch the members' schedules (one batch
//! read from user-service), check that everyone exists, and hand the data
//! to the pure computations in [`crate::domain::answer`].

use w2meet_group::wire::{TimelinesAnswer, TimelinesRequest, WIRE_VERSION};
use w2meet_group::{Email, GroupRequest};
use w2meet_platform::upstream::UpstreamError;
use w2meet_platform::{CaseId, ErrorDetail, memory};

use std::collections::HashSet;

use crate::clients::{BatchSchedules, UserClient, UserSchedule};
use crate::domain::answer::{self, AvailabilityAnswer};
use crate::domain::request::AvailabilityRequest;
use crate::error::AvailabilityError;

/// The service: a user-service client (pooled, with timeouts).
#[derive(Clone, Debug)]
pub struct Availability {
    pub users: UserClient,
}

impl Availability {
    /// `GET/POST /availabilities`.
    pub async fn common(
        &self,
        req: &AvailabilityRequest,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<AvailabilityAnswer, AvailabilityError> {
        let group = &req.group;
        let window = group
            .window(chrono::Utc::now())
            .map_err(|e| AvailabilityError::Invalid(vec![e]))?;
        let batch = self.fetch(group, case_id, viewer).await?;
        let ordered = self.every_member(group.members(), &batch.found)?;
        let hidden: HashSet<&Email> = batch.hidden.iter().collect();
        let answer = answer::common(
            group,
            req.detail_users,
            req.is_original_form(),
            window,
            &ordered,
            &hidden,
            case_id.as_str(),
        );
        tracing::info!(users = ordered.len(), "availability computed");
        release_if_large(ordered.len(), window.days());
        Ok(answer)
    }

    /// `POST /timelines`: the members' timelines in the wire format, or the
    /// unknown members.
    pub async fn timelines(
        &self,
        req: TimelinesRequest,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<TimelinesAnswer, AvailabilityError> {
        let invalid =
            |field: &str, msg: String| ErrorDetail::new(["body", field], msg, "value_error");
        if req.version != WIRE_VERSION {
            return Err(AvailabilityError::Invalid(vec![invalid(
                "version",
                format!("this service speaks version {WIRE_VERSION}"),
            )]));
        }
        let window = req
            .window
            .window()
            .map_err(|e| AvailabilityError::Invalid(vec![invalid("window", e.to_string())]))?;
        let n = req.users.len();
        if !(scheduling::params::MIN_GROUP..=scheduling::params::MAX_GROUP).contains(&n) {
            return Err(AvailabilityError::Invalid(vec![invalid(
                "users",
                format!("a group needs from 2 to 1000 users, got {n}"),
            )]));
        }
        let batch = self.users.schedules(&req.users, case_id, viewer).await?;
        if !batch.missing.is_empty() {
            return Ok(TimelinesAnswer::missing(&window, batch.missing));
        }
        let ordered = self.every_member(&req.users, &batch.found)?;
        let days = window.days();
        let mut answer = answer::timelines(window, &ordered);
        answer.hidden = batch.hidden;
        tracing::info!(users = n, weeks = answer.weeks.len(), "timelines laid out");
        release_if_large(n, days);
        Ok(answer)
    }

    /// The schedules in member order; a 502 when user-service left a member
    /// out without calling it missing (the layout needs one per member).
    fn every_member<'a>(
        &self,
        members: &[Email],
        schedules: &'a [UserSchedule],
    ) -> Result<Vec<&'a UserSchedule>, AvailabilityError> {
        let ordered = answer::in_member_order(members, schedules);
        if ordered.len() == members.len() {
            Ok(ordered)
        } else {
            Err(AvailabilityError::Upstream(UpstreamError::BadAnswer {
                service: self.users.upstream().service,
                reason: format!(
                    "{} of {} users neither found nor missing",
                    members.len() - ordered.len(),
                    members.len()
                ),
            }))
        }
    }

    /// Every member's schedule, or 404 naming the unknown ones.
    async fn fetch(
        &self,
        group: &GroupRequest,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<BatchSchedules, AvailabilityError> {
        let batch = self
            .users
            .schedules(group.members(), case_id, viewer)
            .await?;
        if batch.missing.is_empty() {
            Ok(batch)
        } else {
            Err(AvailabilityError::UnknownUsers(
                group.unknown_members(&batch.missing),
            ))
        }
    }
}

/// A large group's layout leaves megabytes in the allocator: give them back
/// once the answer is out (`memory::release_soon`).
fn release_if_large(members: usize, days: u32) {
    if memory::is_large_group(members, days as usize) {
        memory::release_soon();
    }
}
