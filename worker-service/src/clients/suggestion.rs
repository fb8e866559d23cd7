//! A typed client for suggestion-service's `POST /suggestions`: one pooled
//! `reqwest::Client` with timeouts, the Case-ID on every call, and each way
//! of failing mapped to a variant that says whether a retry can help.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use w2meet_platform::case_id::CASE_ID_HEADER;

use crate::config::SuggestionConfig;

#[derive(Debug, thiserror::Error)]
pub enum SuggestionError {
    /// 404: a user is unknown. Permanent.
    #[error("unknown users: {0}")]
    NotFound(String),
    /// 400 or another refusal: the request itself is wrong. Permanent.
    #[error("suggestion-service rejected the request ({status}): {msg}")]
    Rejected { status: u16, msg: String },
    /// 5xx, 408 or 429: the service or one behind it is in trouble. Transient.
    #[error("suggestion-service answered {0}")]
    Upstream(u16),
    /// No answer in time. Transient.
    #[error("suggestion-service timed out")]
    Timeout,
    /// No connection. Transient.
    #[error("suggestion-service unreachable")]
    Unreachable,
    /// A 200 that is not JSON (a misbehaving proxy or replica). Transient.
    #[error("suggestion-service sent an unreadable answer")]
    BadBody,
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

#[derive(Clone)]
pub struct SuggestionClient {
    http: Client,
    url: String,
}

impl SuggestionClient {
    pub fn new(cfg: &SuggestionConfig) -> anyhow::Result<SuggestionClient> {
        let http = Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(SuggestionClient {
            http,
            url: format!("{}/suggestions", cfg.url.trim_end_matches('/')),
        })
    }

    /// Suggestions for `request` (suggestion-service's JSON body).
    pub async fn suggest(&self, case_id: &str, request: &Value) -> Result<Value, SuggestionError> {
        let res = self
            .http
            .post(&self.url)
            .header(&CASE_ID_HEADER, case_id)
            .json(request)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SuggestionError::Timeout
                } else {
                    SuggestionError::Unreachable
                }
            })?;
        let status = res.status();
        if status.is_success() {
            return res.json::<Value>().await.map_err(|e| {
                if e.is_timeout() {
                    SuggestionError::Timeout
                } else {
                    SuggestionError::BadBody
                }
            });
        }
        if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            return Err(SuggestionError::Upstream(status.as_u16()));
        }
        let msg = res
            .json::<Value>()
            .await
            .ok()
            .map(|body| detail_messages(&body))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        if status == StatusCode::NOT_FOUND {
            Err(SuggestionError::NotFound(msg))
        } else {
            Err(SuggestionError::Rejected {
                status: status.as_u16(),
                msg,
            })
        }
    }
}

/// The `msg`s of a W2Meet error body, joined.
fn detail_messages(body: &Value) -> String {
    body["detail"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x["msg"].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use serde_json::json;

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
        let ok = SuggestionClient::new(&cfg(stub(200, json!({"suggestions": []})).await)).unwrap();
        assert_eq!(
            ok.suggest("case-7", &json!({})).await.unwrap(),
            json!({"suggestions": []})
        );

        let missing = stub(
            404,
            json!({"detail": [{"msg": "One or both users not found"}]}),
        )
        .await;
        let err = SuggestionClient::new(&cfg(missing))
            .unwrap()
            .suggest("case-7", &json!({}))
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("One or both users not found"),
            "{err}"
        );

        let bad = SuggestionClient::new(&cfg(stub(400, json!({})).await)).unwrap();
        assert!(
            !bad.suggest("case-7", &json!({}))
                .await
                .unwrap_err()
                .is_transient()
        );

        let down = SuggestionClient::new(&cfg(stub(503, json!({})).await)).unwrap();
        let err = down.suggest("case-7", &json!({})).await.unwrap_err();
        assert!(matches!(err, SuggestionError::Upstream(503)));

        let closed = format!("http://127.0.0.1:{}", test_support::free_port());
        let err = SuggestionClient::new(&cfg(closed))
            .unwrap()
            .suggest("case-7", &json!({}))
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
        let err = SuggestionClient::new(&cfg(slow))
            .unwrap()
            .suggest("case-7", &json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, SuggestionError::Timeout), "{err:?}");
    }
}
