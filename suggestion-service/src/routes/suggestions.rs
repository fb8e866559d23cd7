//! `/suggestions`: ranked meeting times for a group.

use axum::extract::State;
use w2meet_platform::CaseId;
use w2meet_platform::error::{ErrorBody, Json, Query};

use crate::error::SuggestionError;
use crate::request::{SuggestBody, SuggestParams, SuggestQuery};
use crate::service::{self, SuggestionsResponse};
use crate::startup::AppState;

/// Meeting suggestions (query-string form). Without `count` and
/// `preference`: one suggestion per distinct stored preference, as the
/// original W2Meet did.
#[utoipa::path(get, path = "/suggestions", tag = "suggestions", params(SuggestQuery),
    responses(
        (status = 200, description = "Suggestions, or why none fit", body = SuggestionsResponse),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "availability-service answered wrongly", body = ErrorBody),
        (status = 503, description = "availability-service unreachable", body = ErrorBody),
        (status = 504, description = "availability-service too slow", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    case_id: CaseId,
    Query(q): Query<SuggestQuery>,
) -> Result<axum::Json<SuggestionsResponse>, SuggestionError> {
    answer(
        state,
        case_id,
        SuggestParams::from_query(q).map_err(SuggestionError::Invalid)?,
    )
    .await
}

/// The same with a JSON body, for large groups (and the worker's jobs).
#[utoipa::path(post, path = "/suggestions", tag = "suggestions", request_body = SuggestBody,
    responses(
        (status = 200, description = "Suggestions, or why none fit", body = SuggestionsResponse),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    case_id: CaseId,
    Json(body): Json<SuggestBody>,
) -> Result<axum::Json<SuggestionsResponse>, SuggestionError> {
    answer(
        state,
        case_id,
        SuggestParams::from_body(body).map_err(SuggestionError::Invalid)?,
    )
    .await
}

async fn answer(
    state: AppState,
    case_id: CaseId,
    params: SuggestParams,
) -> Result<axum::Json<SuggestionsResponse>, SuggestionError> {
    let availability = state
        .availability
        .group(&params.group, &case_id)
        .await
        .map_err(|source| SuggestionError::Upstream {
            at: params.at,
            source,
        })?;
    let ranked = service::rank(&params, &availability, case_id.as_str()).map_err(|detail| {
        if detail.first().is_some_and(|d| d.kind == "bad_gateway") {
            SuggestionError::BadAnswer(detail)
        } else {
            SuggestionError::Invalid(detail)
        }
    })?;
    tracing::info!(
        users = availability.users.len(),
        suggestions = ranked.suggestions.len(),
        empty_reason = ranked.empty_reason.as_deref(),
        "suggestions ranked"
    );
    Ok(axum::Json(ranked))
}
