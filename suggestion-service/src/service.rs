//! The use case the handlers call: ask availability-service for the
//! group's timelines over the resolved window (one call), then rank them
//! with the pure [`crate::domain::ranking`].

use w2meet_group::wire::{TimelinesRequest, WIRE_VERSION, WindowSpec};
use w2meet_group::{Email, SuggestionRequest};
use w2meet_platform::{CaseId, memory};

use crate::clients::AvailabilityClient;
use crate::domain::ranking::{self, Members, SuggestionsAnswer};
use crate::error::SuggestionError;

/// The service: an availability-service client (pooled, with timeouts).
#[derive(Clone, Debug)]
pub struct Suggestions {
    pub availability: AvailabilityClient,
}

impl Suggestions {
    /// `GET/POST /suggestions`.
    pub async fn suggest(
        &self,
        req: &SuggestionRequest,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<SuggestionsAnswer, SuggestionError> {
        let group = &req.group;
        let window = group
            .window(chrono::Utc::now())
            .map_err(|e| SuggestionError::Invalid(vec![e]))?;
        let answer = self
            .availability
            .timelines(
                &TimelinesRequest {
                    version: WIRE_VERSION,
                    users: group.members().to_vec(),
                    window: WindowSpec::of(&window),
                },
                case_id,
                viewer,
            )
            .await?;
        if !answer.missing.is_empty() {
            return Err(SuggestionError::UnknownUsers(
                group.unknown_members(&answer.missing),
            ));
        }
        let decoded = answer
            .decode()
            .map_err(|e| SuggestionError::BadAnswer(e.to_string()))?;
        if !same_members(&decoded.members, group.members()) || *decoded.group.window() != window {
            return Err(SuggestionError::BadAnswer(
                "timelines for another group or window".to_owned(),
            ));
        }
        let named = Members {
            hidden: decoded
                .members
                .iter()
                .map(|(e, _)| answer.hidden.contains(e))
                .collect(),
            members: &decoded.members,
        };
        let mut ranked = ranking::rank(req, &decoded.group, &named, case_id.as_str());
        if let SuggestionsAnswer::Full(full) = &mut ranked
            && let Some(change) = &mut full.smallest_change
        {
            change.days = self.days_needed(req, &window, case_id, viewer).await;
        }
        // A large group's bitsets and counters leave megabytes in the
        // allocator: give them back once the answer is out.
        if memory::is_large_group(decoded.members.len(), window.days() as usize) {
            memory::release_soon();
        }
        tracing::info!(
            users = decoded.members.len(),
            suggestions = ranked.suggestions(),
            "suggestions ranked"
        );
        Ok(ranked)
    }

    /// When nothing fits: the fewest days from the same first date that
    /// would hold a meeting, from the group's timelines over a longer window
    /// (one more call, only for empty answers). `None` when even that holds
    /// none, or when the longer window cannot be had now (logged: the rest
    /// of the answer stands without it).
    async fn days_needed(
        &self,
        req: &SuggestionRequest,
        window: &scheduling::Window,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Option<u32> {
        let days = (window.days() + ranking::LOOKAHEAD_DAYS).min(scheduling::params::MAX_DAYS);
        if days <= window.days() {
            return None;
        }
        let longer = scheduling::Window::new(window.from(), days, window.tz()).ok()?;
        let answer = self
            .availability
            .timelines(
                &TimelinesRequest {
                    version: WIRE_VERSION,
                    users: req.group.members().to_vec(),
                    window: WindowSpec::of(&longer),
                },
                case_id,
                viewer,
            )
            .await;
        let decoded = answer
            .map_err(|e| e.to_string())
            .and_then(|a| a.decode().map_err(|e| e.to_string()))
            .inspect_err(|e| tracing::warn!(error = %e, "no window relaxation: the longer window's timelines failed"))
            .ok()?;
        // One may have been deleted since the first call.
        if !same_members(&decoded.members, req.group.members()) {
            return None;
        }
        let one = scheduling::Count::new(1).expect("1 is a valid count");
        let request = ranking::core_request(req, scheduling::Preference::First, one);
        scheduling::days_needed(&decoded.group, &request)
    }
}

/// Whether an answer's members are the group's, in the group's order: the
/// attendance's indexes (who is required) point into that order.
fn same_members(answered: &[(Email, String)], group: &[Email]) -> bool {
    answered.len() == group.len() && answered.iter().zip(group).all(|((a, _), b)| a == b)
}
