//! `/suggestions`: ranked meeting times for a group.

use axum::extract::State;
use w2meet_group::{GroupQuery, RankQuery, SuggestBody, SuggestQuery, SuggestionRequest};
use w2meet_platform::CaseId;
use w2meet_platform::auth::Auth;
use w2meet_platform::error::{ErrorBody, Json, Query};

use crate::domain::ranking::SuggestionsAnswer;
use crate::error::SuggestionError;
use crate::state::AppState;

/// Meeting suggestions (query-string form). Without `count` and
/// `preference`: one suggestion per distinct stored preference, as the
/// original W2Meet did; the original request (`userId1`/`userId2` and no
/// newer parameter) gets the original body, `{"case_id","suggestions":[{"day","slot"}]}`.
#[utoipa::path(get, path = "/suggestions", tag = "suggestions", security((), ("bearer" = [])), params(GroupQuery, RankQuery),
    responses(
        (status = 200, description = "Suggestions, or why none fit", body = SuggestionsAnswer),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "availability-service answered wrongly", body = ErrorBody),
        (status = 503, description = "availability-service unreachable", body = ErrorBody),
        (status = 504, description = "availability-service too slow", body = ErrorBody)))]
pub async fn get_suggestions(
    State(state): State<AppState>,
    case_id: CaseId,
    Auth(caller): Auth,
    Query(q): Query<SuggestQuery>,
) -> Result<axum::Json<SuggestionsAnswer>, SuggestionError> {
    let req = SuggestionRequest::from_query(q).map_err(SuggestionError::Invalid)?;
    Ok(axum::Json(
        state
            .suggestions
            .suggest(&req, &case_id, caller.viewer())
            .await?,
    ))
}

/// The same with a JSON body, for large groups and the worker's jobs
/// (always the full answer).
#[utoipa::path(post, path = "/suggestions", tag = "suggestions", security((), ("bearer" = [])), request_body = SuggestBody,
    responses(
        (status = 200, description = "Suggestions, or why none fit", body = SuggestionsAnswer),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "A token or service credential that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown users, listed", body = ErrorBody),
        (status = 502, description = "availability-service answered wrongly", body = ErrorBody),
        (status = 503, description = "availability-service unreachable", body = ErrorBody),
        (status = 504, description = "availability-service too slow", body = ErrorBody)))]
pub async fn post_suggestions(
    State(state): State<AppState>,
    case_id: CaseId,
    Auth(caller): Auth,
    Json(body): Json<SuggestBody>,
) -> Result<axum::Json<SuggestionsAnswer>, SuggestionError> {
    let req = SuggestionRequest::from_body(body).map_err(SuggestionError::Invalid)?;
    Ok(axum::Json(
        state
            .suggestions
            .suggest(&req, &case_id, caller.viewer())
            .await?,
    ))
}
