//! The use cases the handlers call: fetch the members' schedules (one batch
//! read from user-service), check that everyone exists, and hand the data
//! to the pure computations in [`crate::domain::answer`].

use w2meet_group::wire::{TimelinesAnswer, TimelinesRequest, WIRE_VERSION};
use w2meet_group::{Email, Source};
use w2meet_platform::{CaseId, ErrorDetail};

use crate::clients::{UserClient, UserSchedule};
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
    ) -> Result<AvailabilityAnswer, AvailabilityError> {
        let group = &req.group;
        let window = group
            .window(chrono::Utc::now())
            .map_err(|e| AvailabilityError::Invalid(vec![e]))?;
        let schedules = self.fetch(group.members(), group.source(), case_id).await?;
        let ordered = answer::in_member_order(group.members(), &schedules);
        let answer = answer::common(
            group,
            req.detail_users,
            req.is_original_form(),
            window,
            &ordered,
            case_id.as_str(),
        );
        tracing::info!(users = ordered.len(), "availability computed");
        Ok(answer)
    }

    /// `POST /timelines`: the members' timelines in the wire format, or the
    /// unknown members.
    pub async fn timelines(
        &self,
        req: TimelinesRequest,
        case_id: &CaseId,
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
        let batch = self.users.schedules(&req.users, case_id).await?;
        if !batch.missing.is_empty() {
            return Ok(TimelinesAnswer::missing(&window, batch.missing));
        }
        let ordered = answer::in_member_order(&req.users, &batch.found);
        if ordered.len() != n {
            return Err(AvailabilityError::Invalid(vec![invalid(
                "users",
                "the users must be distinct".to_owned(),
            )]));
        }
        let answer = answer::timelines(window, &ordered);
        tracing::info!(users = n, weeks = answer.weeks.len(), "timelines laid out");
        Ok(answer)
    }

    /// Every member's schedule, or 404 naming the unknown ones.
    async fn fetch(
        &self,
        members: &[Email],
        source: Source,
        case_id: &CaseId,
    ) -> Result<Vec<UserSchedule>, AvailabilityError> {
        let batch = self.users.schedules(members, case_id).await?;
        if batch.missing.is_empty() {
            Ok(batch.found)
        } else {
            Err(AvailabilityError::UnknownUsers {
                at: source,
                emails: batch.missing,
            })
        }
    }
}
