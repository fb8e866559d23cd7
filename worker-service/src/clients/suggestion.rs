//! A typed client for suggestion-service's `POST /suggestions`: one pooled
//! `reqwest::Client` with timeouts, the Case-ID on every call, and each way
//! of failing mapped to a variant that says whether a retry can help.

use axum::http::StatusCode;
use serde_json::Value;
use w2meet_platform::CaseId;
use w2meet_platform::auth::ServiceToken;
use w2meet_platform::upstream::{Upstream, UpstreamError, UpstreamTimeouts};

use crate::config::SuggestionConfig;

#[derive(Debug, thiserror::Error)]
pub enum SuggestionError {
    /// 404: a user is unknown. Permanent.
    #[error("unknown users: {0}")]
    NotFound(String),
    /// 400 or another refusal: the request itself is wrong. Permanent.
    #[error("suggestion-service rejected the request ({status}): {msg}")]
    Rejected { status: u16, msg: String },
    /// 5xx, 408, 429 or an unreadable answer: the service or one behind it
    /// is in trouble. Transient.
    #[error("suggestion-service answered wrongly: {0}")]
    Upstream(String),
    /// No answer in time. Transient.
    #[error("suggestion-service timed out")]
    Timeout,
    /// No replica accepted the connection. Transient.
    #[error("suggestion-service unreachable")]
    Unreachable,
}

impl SuggestionError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            SuggestionError::NotFound(_) | SuggestionError::Rejected { .. }
        )
    }
}

/// suggestion-service through the platform's upstream client: pooled, with
/// timeouts, the Case-ID on every call, round-robin over the replicas listed
/// in `SUGGESTION_SERVICE_URL`.
#[derive(Clone)]
pub struct SuggestionClient {
    upstream: Upstream,
}

impl SuggestionClient {
    /// `service_token` lets the client ask on behalf of a job's submitter.
    pub fn new(
        cfg: &SuggestionConfig,
        service_token: Option<ServiceToken>,
    ) -> anyhow::Result<SuggestionClient> {
        let timeouts = UpstreamTimeouts {
            connect: cfg.connect_timeout,
            request: cfg.timeout,
        };
        Ok(SuggestionClient {
            // Ranking has no side effects: safe to send again elsewhere.
            upstream: Upstream::new("suggestion-service", &cfg.url, timeouts)?
                .idempotent()
                .with_service_token(service_token),
        })
    }

    /// Suggestions for `request` (suggestion-service's JSON body), as
    /// `viewer` (the job's submitter) may see them.
    pub async fn suggest(
        &self,
        case_id: &str,
        request: &Value,
        viewer: Option<&str>,
    ) -> Result<Value, SuggestionError> {
        let case_id = CaseId::parse(case_id).unwrap_or_else(CaseId::generate);
        self.upstream
            .post_json_as("/suggestions", request, &case_id, viewer)
            .await
            .map_err(|e| match e {
                UpstreamError::Rejected { status, detail, .. } => {
                    let msg = detail_messages(&detail);
                    let msg = if msg.is_empty() {
                        status.canonical_reason().unwrap_or("error").to_owned()
                    } else {
                        msg
                    };
                    match status {
                        StatusCode::NOT_FOUND => SuggestionError::NotFound(msg),
                        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                            SuggestionError::Upstream(format!("status {status}"))
                        }
                        _ => SuggestionError::Rejected {
                            status: status.as_u16(),
                            msg,
                        },
                    }
                }
                UpstreamError::BadAnswer { reason, .. } => SuggestionError::Upstream(reason),
                UpstreamError::Degraded { status, .. } => {
                    SuggestionError::Upstream(format!("status {status}"))
                }
                UpstreamError::Unreachable { .. } => SuggestionError::Unreachable,
                UpstreamError::Timeout { .. } => SuggestionError::Timeout,
            })
    }
}

/// The `msg`s of a W2Meet error body's `detail`, joined.
fn detail_messages(detail: &[Value]) -> String {
    detail
        .iter()
        .filter_map(|x| x["msg"].as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use serde_json::json;
    use std::time::Duration;

    fn cfg(url: String) -> SuggestionConfig {
        SuggestionConfig {
            url,
            connect_timeout: Duration::from_millis(300),
            timeout: Duration::from_millis(500),
        }
    }

    async fn stub(status: u16, body: Value) -> String {
        test_support::spawn_stub(Router::new().route(
            "/suggestions",
            post(move |h: HeaderMap| async move {
                assert_eq!(h["case-id"], "case-7", "Case-ID forwarded");
                (StatusCode::from_u16(status).unwrap(), axum::Json(body))
            }),
        ))
        .await
    }

    #[tokio::test]
    async fn answers_are_mapped_to_permanent_and_transient_failures() {
        let ok =
            SuggestionClient::new(&cfg(stub(200, json!({"suggestions": []})).await), None).unwrap();
        assert_eq!(
            ok.suggest("case-7", &json!({}), None).await.unwrap(),
            json!({"suggestions": []})
        );

        let missing = stub(
            404,
            json!({"detail": [{"msg": "One or both users not found"}]}),
        )
        .await;
        let err = SuggestionClient::new(&cfg(missing), None)
            .unwrap()
            .suggest("case-7", &json!({}), None)
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("One or both users not found"),
            "{err}"
        );

        let bad = SuggestionClient::new(&cfg(stub(400, json!({})).await), None).unwrap();
        assert!(
            !bad.suggest("case-7", &json!({}), None)
                .await
                .unwrap_err()
                .is_transient()
        );

        let down = SuggestionClient::new(&cfg(stub(503, json!({})).await), None).unwrap();
        let err = down.suggest("case-7", &json!({}), None).await.unwrap_err();
        assert!(matches!(err, SuggestionError::Upstream(_)), "{err:?}");

        let closed = format!("http://127.0.0.1:{}", test_support::free_port());
        let err = SuggestionClient::new(&cfg(closed), None)
            .unwrap()
            .suggest("case-7", &json!({}), None)
            .await
            .unwrap_err();
        assert!(matches!(err, SuggestionError::Unreachable));
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_timeout() {
        let slow = test_support::spawn_stub(Router::new().route(
            "/suggestions",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        ))
        .await;
        let err = SuggestionClient::new(&cfg(slow), None)
            .unwrap()
            .suggest("case-7", &json!({}), None)
            .await
            .unwrap_err();
        assert!(matches!(err, SuggestionError::Timeout), "{err:?}");
    }
}
