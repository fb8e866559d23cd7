//! Calling another W2Meet service: one pooled `reqwest::Client` with connect
//! and request timeouts, the Case-ID on every call, and every failure mapped
//! to a variant that says which status the caller should answer with
//! (SPEC §2: upstream 5xx → 502, unreachable → 503, timeout → 504).
//!
//! Services wrap an [`Upstream`] in a typed client of their own
//! (`UserClient`, `AvailabilityClient`) that names the paths and types.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::case_id::{CASE_ID_HEADER, CaseId};
use crate::error::{ApiError, ErrorDetail};

/// How a call to another service failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered 4xx: the caller usually passes the status and
    /// the upstream's `detail` on (404 unknown users, 400 bad parameters).
    #[error("{service} answered {status}")]
    Rejected {
        service: &'static str,
        status: StatusCode,
        detail: Vec<serde_json::Value>,
    },
    /// 5xx, or a body that is not what was promised: a 502.
    #[error("{service} answered wrongly: {reason}")]
    BadAnswer {
        service: &'static str,
        reason: String,
    },
    /// The upstream answered 503 or 504 itself: something behind it is down
    /// or slow. Passed on with the same status, so a client sees the same
    /// code for the same failure however many hops away it happened.
    #[error("{service} answered {status}")]
    Degraded {
        service: &'static str,
        status: StatusCode,
    },
    /// No connection could be made: a 503.
    #[error("{service} is unreachable")]
    Unreachable {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// No answer in time: a 504.
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
}

impl UpstreamError {
    /// The response for the caller's client. 4xx from upstream keep their
    /// status and detail; the rest carry a generic message naming the
    /// service (logged with its cause by the caller's error mapping).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            UpstreamError::Rejected { status, detail, .. } => {
                let detail = detail
                    .iter()
                    .filter_map(|d| serde_json::from_value::<DetailIn>(d.clone()).ok())
                    .map(|d| ErrorDetail::new(d.loc, d.msg, d.kind))
                    .collect::<Vec<_>>();
                ApiError {
                    status: *status,
                    detail: if detail.is_empty() {
                        vec![ErrorDetail::new(
                            Vec::<String>::new(),
                            "rejected by an upstream service",
                            "upstream_rejected",
                        )]
                    } else {
                        detail
                    },
                }
            }
            UpstreamError::BadAnswer { service, .. } => ApiError::server(
                StatusCode::BAD_GATEWAY,
                format!("{service} answered with an error"),
            ),
            UpstreamError::Degraded { service, status }
                if *status == StatusCode::GATEWAY_TIMEOUT =>
            {
                ApiError::server(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("{service} (or a service behind it) did not answer in time"),
                )
            }
            UpstreamError::Degraded { service, .. } => ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{service} (or a service behind it) is unavailable"),
            ),
            UpstreamError::Unreachable { service, .. } => ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{service} is unavailable"),
            ),
            UpstreamError::Timeout { service } => ApiError::server(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{service} did not answer in time"),
            ),
        }
    }
}

#[derive(serde::Deserialize)]
struct DetailIn {
    #[serde(default)]
    loc: Vec<String>,
    msg: String,
    #[serde(rename = "type", default = "default_kind")]
    kind: String,
}

fn default_kind() -> String {
    "upstream_rejected".to_owned()
}

#[derive(serde::Deserialize)]
struct ErrorBodyIn {
    #[serde(default)]
    detail: Vec<serde_json::Value>,
}

/// An upstream that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamConfigError {
    #[error("no base URL given for {0}")]
    NoBaseUrl(&'static str),
    #[error("cannot build the HTTP client")]
    Client(#[from] reqwest::Error),
}

/// Timeouts for one upstream.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamTimeouts {
    pub connect: Duration,
    pub request: Duration,
}

/// One upstream service: its name (for errors and logs), the base URL of
/// each replica and the shared pooled client.
///
/// Calls go round-robin over the replicas; a replica that refuses the
/// connection is skipped for the next one (nothing was sent, so this is safe
/// for every method). Only when no replica accepts is the service
/// unreachable (503).
#[derive(Clone, Debug)]
pub struct Upstream {
    pub service: &'static str,
    bases: Arc<[String]>,
    next: Arc<AtomicUsize>,
    /// Whether a request that failed in transit (the replica died with the
    /// connection open) may be sent again to the next replica. Only for
    /// calls without side effects; see [`Upstream::idempotent`].
    idempotent: bool,
    /// Sent on every call, so the upstream treats this service as a
    /// service (SPEC §6) and not as an anonymous client.
    service_token: Option<crate::auth::ServiceToken>,
    http: reqwest::Client,
}

impl Upstream {
    /// `base_urls` is one URL or a comma-separated list, one per replica;
    /// each may carry a path prefix (`http://127.0.0.1:8080/users`).
    pub fn new(
        service: &'static str,
        base_urls: &str,
        timeouts: UpstreamTimeouts,
    ) -> Result<Upstream, UpstreamConfigError> {
        w2meet_tls::install_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        let bases: Vec<String> = base_urls
            .split(',')
            .map(|b| b.trim().trim_end_matches('/').to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        if bases.is_empty() {
            return Err(UpstreamConfigError::NoBaseUrl(service));
        }
        Ok(Upstream {
            service,
            bases: bases.into(),
            next: Arc::default(),
            idempotent: false,
            service_token: None,
            http,
        })
    }

    /// Declares every call through this client free of side effects (reads,
    /// computations), so that one that failed in transit — a replica killed
    /// mid-request, a pooled connection found dead — is retried on the next
    /// replica. Timeouts are never retried: they already took their time.
    pub fn idempotent(mut self) -> Upstream {
        self.idempotent = true;
        self
    }

    /// Presents the platform's service credential on every call.
    pub fn with_service_token(mut self, token: Option<crate::auth::ServiceToken>) -> Upstream {
        self.service_token = token;
        self
    }

    /// The replicas' base URLs.
    pub fn base_urls(&self) -> &[String] {
        &self.bases
    }

    /// `POST {base}{path}` with a JSON body; the answer decoded as `T`.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        case_id: &CaseId,
    ) -> Result<T, UpstreamError> {
        self.post_json_as(path, body, case_id, None).await
    }

    /// `POST {base}{path}` on behalf of `viewer` (see [`crate::auth`]): the
    /// upstream answers what that person may see.
    pub async fn post_json_as<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<T, UpstreamError> {
        self.send(
            |base| self.http.post(format!("{base}{path}")).json(body),
            case_id,
            viewer,
        )
        .await
    }

    /// `POST {base}{path}` on behalf of `viewer` with an `Idempotency-Key`:
    /// for calls with side effects that the upstream deduplicates by key,
    /// so that sending one again (after a lost answer) repeats nothing.
    pub async fn post_json_keyed<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        case_id: &CaseId,
        viewer: Option<&str>,
        idempotency_key: &str,
    ) -> Result<T, UpstreamError> {
        self.send(
            |base| {
                self.http
                    .post(format!("{base}{path}"))
                    .header(&crate::http::IDEMPOTENCY_KEY, idempotency_key)
                    .json(body)
            },
            case_id,
            viewer,
        )
        .await
    }

    /// `GET {base}{path}`; the answer decoded as `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        case_id: &CaseId,
    ) -> Result<T, UpstreamError> {
        self.get_json_as(path, case_id, None).await
    }

    /// `GET {base}{path}` on behalf of `viewer`.
    pub async fn get_json_as<T: DeserializeOwned>(
        &self,
        path: &str,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<T, UpstreamError> {
        self.send(
            |base| self.http.get(format!("{base}{path}")),
            case_id,
            viewer,
        )
        .await
    }

    /// For this service's own `/health`: Ok when some replica answers its
    /// `/readyz` with 200 (each tried in turn), so one replica draining in
    /// a rolling restart does not make this service unhealthy.
    pub async fn health(&self, case_id: &CaseId) -> Result<(), UpstreamError> {
        let mut last = None;
        for _ in 0..self.bases.len() {
            match self.get_json::<serde_json::Value>("/readyz", case_id).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(UpstreamError::BadAnswer {
            service: self.service,
            reason: "no replica".to_owned(),
        }))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
        case_id: &CaseId,
        viewer: Option<&str>,
    ) -> Result<T, UpstreamError> {
        let service = self.service;
        let started = Instant::now();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0;
        let res = loop {
            let base = &self.bases[(first + attempt) % self.bases.len()];
            let mut req = request(base).header(CASE_ID_HEADER, case_id.header_value());
            for (name, value) in crate::trace_context::current_headers() {
                req = req.header(name, value);
            }
            if let Some(token) = &self.service_token {
                req = req.header(&crate::auth::SERVICE_TOKEN_HEADER, token.header_value());
                if let Some(viewer) = viewer {
                    req = req.header(&crate::auth::VIEWER_HEADER, viewer);
                }
            }
            match req.send().await {
                Ok(res) => break res,
                Err(e)
                    if (e.is_connect() || (self.idempotent && !e.is_timeout()))
                        && attempt + 1 < self.bases.len() =>
                {
                    tracing::warn!(upstream = service, replica = %base, error = %e, "replica failed; trying the next");
                    attempt += 1;
                }
                Err(e) => return Err(self.classify(e)),
            }
        };
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| self.classify(e))?;
        metrics::histogram!("upstream_request_duration_seconds",
            "upstream" => service, "status" => status.as_u16().to_string())
        .record(started.elapsed().as_secs_f64());
        let upstream_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        tracing::info!(
            upstream = service,
            upstream_status = status.as_u16(),
            upstream_ms,
            "upstream call"
        );
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| UpstreamError::BadAnswer {
                service,
                reason: format!("undecodable body: {e}"),
            });
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            // Clients' tokens are never forwarded (services verify them and
            // ask as a service): a refusal is of this service's own
            // credential — a deployment fault, not the client's.
            tracing::error!(
                upstream = service,
                upstream_status = status.as_u16(),
                "the upstream refused this service's credential (SERVICE_TOKEN)"
            );
            return Err(UpstreamError::BadAnswer {
                service,
                reason: format!("refused the service credential ({status})"),
            });
        }
        if status.is_client_error() {
            let detail = serde_json::from_slice::<ErrorBodyIn>(&bytes)
                .map(|b| b.detail)
                .unwrap_or_default();
            return Err(UpstreamError::Rejected {
                service,
                status,
                detail,
            });
        }
        if matches!(
            status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        ) {
            return Err(UpstreamError::Degraded { service, status });
        }
        Err(UpstreamError::BadAnswer {
            service,
            reason: format!("status {status}"),
        })
    }

    fn classify(&self, e: reqwest::Error) -> UpstreamError {
        let service = self.service;
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "unreachable"
        } else {
            "transport"
        };
        metrics::counter!("upstream_errors_total", "upstream" => service, "kind" => kind)
            .increment(1);
        if e.is_timeout() {
            UpstreamError::Timeout { service }
        } else if e.is_connect() {
            UpstreamError::Unreachable { service, source: e }
        } else {
            UpstreamError::BadAnswer {
                service,
                reason: e.to_string(),
            }
        }
    }
}
