//! An availability request: the group and window (parsed by `w2meet-group`,
//! the one parser every service uses) plus this service's own `detail`.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use w2meet_group::{GroupBody, GroupQuery, GroupRequest, Source};
use w2meet_platform::ErrorDetail;

/// This service's own query parameter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailQuery {
    /// `users` adds each user's own free intervals (`free`).
    pub detail: Option<String>,
}

/// `GET /availabilities` parameters (documented as `params(GroupQuery,
/// DetailQuery)`: utoipa cannot flatten query parameters).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AvailabilityQuery {
    #[serde(flatten)]
    pub group: GroupQuery,
    #[serde(flatten)]
    pub detail: DetailQuery,
}

/// `POST /availabilities` body, for large groups.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AvailabilityBody {
    #[serde(flatten)]
    pub group: GroupBody,
    /// `users` adds each user's own free intervals (`free`).
    pub detail: Option<String>,
}

/// A valid availability request.
#[derive(Debug, Clone)]
pub struct AvailabilityRequest {
    pub group: GroupRequest,
    /// `detail=users`: add each member's own free intervals.
    pub detail_users: bool,
}

impl AvailabilityRequest {
    pub fn from_query(q: AvailabilityQuery) -> Result<Self, Vec<ErrorDetail>> {
        Self::combine(
            Source::Query,
            GroupRequest::from_query(q.group),
            q.detail.detail,
        )
    }

    pub fn from_body(b: AvailabilityBody) -> Result<Self, Vec<ErrorDetail>> {
        Self::combine(Source::Body, GroupRequest::from_body(b.group), b.detail)
    }

    fn combine(
        source: Source,
        group: Result<GroupRequest, Vec<ErrorDetail>>,
        detail: Option<String>,
    ) -> Result<Self, Vec<ErrorDetail>> {
        let detail_users = match detail.as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some("users") => Ok(true),
            Some(other) => Err(ErrorDetail::new(
                [source.as_str(), "detail"],
                format!("unknown detail {other:?}; expected users"),
                "value_error",
            )),
        };
        match (group, detail_users) {
            (Ok(group), Ok(detail_users)) => Ok(Self {
                group,
                detail_users,
            }),
            (Err(mut errors), detail) => {
                errors.extend(detail.err());
                Err(errors)
            }
            (Ok(_), Err(e)) => Err(vec![e]),
        }
    }

    /// The original W2Meet request: `?userId1=&userId2=` and nothing newer.
    /// Its answer has the original fields only.
    pub fn is_original_form(&self) -> bool {
        self.group.is_original_form() && !self.detail_users
    }
}
