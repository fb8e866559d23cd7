//! meeting-service's `POST /meetings`, as the booking saga needs it: each
//! try carries an `Idempotency-Key` of its own, so a try sent again after a
//! lost answer (or by a redelivered job) finds the meeting it made instead
//! of making a second one.

use axum::http::StatusCode;
use serde_json::Value;
use w2meet_platform::CaseId;
use w2meet_platform::auth::ServiceToken;
use w2meet_platform::upstream::{Upstream, UpstreamError, UpstreamTimeouts};

use crate::config::MeetingConfig;

/// How a try ended, other than with a meeting.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// 409: someone is busy then (the detail says who and with what):
    /// the next candidate may fit.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another 4xx: no candidate will fare better. Permanent.
    #[error("meeting-service refused the booking ({status}): {msg}")]
    Refused { status: u16, msg: String },
    /// Down, slow or answering wrongly. Transient.
    #[error("meeting-service unavailable: {0}")]
    Unavailable(String),
}

#[derive(Clone)]
pub struct MeetingClient {
    upstream: Upstream,
}

impl MeetingClient {
    pub fn new(
        cfg: &MeetingConfig,
        service_token: Option<ServiceToken>,
    ) -> anyhow::Result<MeetingClient> {
        let timeouts = UpstreamTimeouts {
            connect: cfg.connect_timeout,
            request: cfg.timeout,
        };
        // Every call carries its Idempotency-Key: safe to send again elsewhere.
        Ok(MeetingClient {
            upstream: Upstream::new("meeting-service", &cfg.url, timeouts)?
                .idempotent()
                .with_service_token(service_token),
        })
    }

    /// Books `meeting` on behalf of `viewer` under `key`; the meeting.
    pub async fn book(
        &self,
        case_id: &str,
        viewer: Option<&str>,
        meeting: &Value,
        key: &str,
    ) -> Result<Value, BookError> {
        let case_id = CaseId::parse(case_id).unwrap_or_else(CaseId::generate);
        self.upstream
            .post_json_keyed("/meetings", meeting, &case_id, viewer, key)
            .await
            .map_err(|e| match e {
                UpstreamError::Rejected { status, detail, .. } => {
                    let msg = detail
                        .iter()
                        .filter_map(|d| d["msg"].as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    match status {
                        StatusCode::CONFLICT => BookError::Conflict(msg),
                        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                            BookError::Unavailable(format!("status {status}"))
                        }
                        _ => BookError::Refused {
                            status: status.as_u16(),
                            msg,
                        },
                    }
                }
                other => BookError::Unavailable(other.to_string()),
            })
    }
}
