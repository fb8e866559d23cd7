//! The `/health` shape shared by every service:
//! `{"case_id","service","status","dependencies":{NAME:{"status","response_time_ms"}}}`,
//! 200 when every dependency is healthy, 503 otherwise.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::case_id::CaseId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// One dependency's state as seen from this process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DependencyHealth {
    pub status: HealthStatus,
    /// How long the check took, in milliseconds.
    pub response_time_ms: f64,
    /// A short, generic reason when unhealthy (`timeout`, `unreachable`, ...);
    /// never a connection string or a raw driver message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `/health` body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub case_id: String,
    pub service: String,
    pub status: HealthStatus,
    pub dependencies: BTreeMap<String, DependencyHealth>,
}

impl Health {
    /// Healthy exactly when every dependency is.
    pub fn new(
        case_id: &CaseId,
        service: &str,
        dependencies: BTreeMap<String, DependencyHealth>,
    ) -> Self {
        let healthy = dependencies
            .values()
            .all(|d| d.status == HealthStatus::Healthy);
        Self {
            case_id: case_id.to_string(),
            service: service.to_owned(),
            status: if healthy {
                HealthStatus::Healthy
            } else {
                HealthStatus::Unhealthy
            },
            dependencies,
        }
    }
}

impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let status = match self.status {
            HealthStatus::Healthy => StatusCode::OK,
            HealthStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, axum::Json(self)).into_response()
    }
}

/// Runs one dependency check with a deadline and times it. The check's error
/// is reduced to `describe(err)` — the caller decides what is safe to show.
pub async fn check<F, E>(
    timeout: Duration,
    check: F,
    describe: impl FnOnce(&E) -> String,
) -> DependencyHealth
where
    F: Future<Output = Result<(), E>>,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, check).await;
    let response_time_ms = (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(describe(&e)),
        Err(_) => Some("timeout".to_owned()),
    };
    DependencyHealth {
        status: if error.is_none() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Unhealthy
        },
        response_time_ms,
        error,
    }
}

/// How long one dependency check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A service's own link (database, cache, broker), checked with
/// [`CHECK_TIMEOUT`]; its error is never shown, only `unreachable`.
pub async fn link<F, E>(check_fut: F) -> DependencyHealth
where
    F: Future<Output = Result<(), E>>,
{
    check(CHECK_TIMEOUT, check_fut, |_| "unreachable".to_owned()).await
}

/// The health of a service whose one dependency is the upstream service it
/// calls, named after it: healthy while that service is *ready* (its
/// `/readyz`: its own links), so an outage behind it — Redis behind
/// user-service, say — does not turn every service in the chain unhealthy.
#[cfg(feature = "client")]
pub async fn of_upstream(
    case_id: &CaseId,
    service: &str,
    upstream: &crate::upstream::Upstream,
) -> Health {
    let dependency = check(CHECK_TIMEOUT, upstream.health(case_id), |e| e.to_string()).await;
    Health::new(
        case_id,
        service,
        BTreeMap::from([(upstream.service.to_owned(), dependency)]),
    )
}
