//! Liveness, readiness and draining (SPEC §9), the same in every service.
//!
//! - `GET /livez`: the process runs and answers (200 `{"status":"alive"}`).
//!   Nothing is checked: a liveness probe that checks dependencies restarts
//!   healthy processes when a database blips.
//! - `GET /readyz`: this process can serve — its **own** links only (its
//!   database, cache, broker), never another service's health, so one
//!   outage does not make every service unready in a chain. A link is
//!   *required* (the service cannot serve without it: 503) or not (reported,
//!   still ready: user-service serves from PostgreSQL while Redis is down).
//!   503 also while draining.
//! - **Draining**: when the shutdown signal comes, the process turns unready
//!   at once, keeps serving for `SHUTDOWN_DRAIN_MS` while every answer
//!   carries `Connection: close` (so a proxy stops reusing its pooled
//!   connections to this process and opens new ones elsewhere once the
//!   listener is gone — for nginx a refused connection is safe to retry even
//!   for a POST, nothing having been sent), then stops accepting, finishes
//!   the requests in flight and exits.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::health::{DependencyHealth, HealthStatus};

type LinkFuture = Pin<Box<dyn Future<Output = Vec<Link>> + Send>>;
type LinkCheck = Arc<dyn Fn() -> LinkFuture + Send + Sync>;

/// One of the service's own links, checked.
pub struct Link {
    pub name: &'static str,
    /// Whether the service cannot serve without it.
    pub required: bool,
    pub health: DependencyHealth,
}

impl Link {
    pub fn required(name: &'static str, health: DependencyHealth) -> Link {
        Link {
            name,
            required: true,
            health,
        }
    }

    pub fn optional(name: &'static str, health: DependencyHealth) -> Link {
        Link {
            name,
            required: false,
            health,
        }
    }
}

/// Whether this process should get traffic. Cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    drain: Duration,
    links: LinkCheck,
}

impl Readiness {
    /// Ready while `links` says every required link is up; `drain` is how
    /// long to keep serving after the shutdown signal.
    pub fn new<F, Fut>(drain: Duration, links: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Link>> + Send + 'static,
    {
        Readiness {
            draining: Arc::default(),
            drain,
            links: Arc::new(move || Box::pin(links())),
        }
    }

    /// A service with no links of its own (it only calls other services).
    pub fn without_links(drain: Duration) -> Readiness {
        Readiness::new(drain, || async { Vec::new() })
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Turns unready; called when the shutdown signal arrives.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// How long to keep serving once draining.
    pub fn drain(&self) -> Duration {
        self.drain
    }

    /// The `/readyz` body.
    pub async fn check(&self) -> Ready {
        let links = (self.links)().await;
        let draining = self.is_draining();
        let ready = !draining
            && links
                .iter()
                .all(|l| !l.required || l.health.status == HealthStatus::Healthy);
        Ready {
            status: if draining {
                ReadyStatus::Draining
            } else if ready {
                ReadyStatus::Ready
            } else {
                ReadyStatus::Unready
            },
            links: links
                .into_iter()
                .map(|l| {
                    (
                        l.name.to_owned(),
                        LinkState {
                            required: l.required,
                            health: l.health,
                        },
                    )
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadyStatus {
    Ready,
    Unready,
    Draining,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkState {
    pub required: bool,
    #[serde(flatten)]
    pub health: DependencyHealth,
}

/// The `/readyz` body: 200 when `ready`, else 503.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ready {
    pub status: ReadyStatus,
    pub links: BTreeMap<String, LinkState>,
}

impl IntoResponse for Ready {
    fn into_response(self) -> Response {
        let code = if self.status == ReadyStatus::Ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (code, axum::Json(self)).into_response()
    }
}

/// `/livez` and `/readyz`.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/livez",
            get(|| async { axum::Json(serde_json::json!({"status": "alive"})) }),
        )
        .route(
            "/readyz",
            get(|r: State<Readiness>| async move { r.check().await }),
        )
        .with_state(readiness)
}

/// Middleware: while draining, every answer asks the client to close the
/// connection.
pub async fn close_while_draining(
    State(readiness): State<Readiness>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    if readiness.is_draining() {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::link;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 GET on a fresh connection: (status, whole head), or
    /// `None` when the connection is refused.
    async fn get(port: u16, path: &str) -> Option<(u16, String)> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let status = text.get(9..12)?.parse().ok()?;
        Some((status, text.to_ascii_lowercase()))
    }

    async fn start(
        readiness: Readiness,
    ) -> (
        u16,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let router = crate::http::finish_router(
            utoipa_axum::router::OpenApiRouter::new()
                .route("/work", axum::routing::get(|| async { "done" })),
            crate::http::HttpLimits::default(),
            &readiness,
        );
        let server = crate::Server::bind("127.0.0.1:0".parse().expect("addr"), router, ())
            .await
            .expect("bind")
            .draining(readiness);
        let port = server.port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        (port, tx, task)
    }

    #[tokio::test]
    async fn readiness_counts_required_links_only() {
        let r = Readiness::new(Duration::ZERO, || async {
            vec![
                Link::required("postgresql", link(async { Ok::<(), ()>(()) }).await),
                Link::optional("redis", link(async { Err::<(), ()>(()) }).await),
            ]
        });
        let ready = r.check().await;
        assert_eq!(ready.status, ReadyStatus::Ready);
        assert_eq!(ready.links["redis"].health.status, HealthStatus::Unhealthy);
        let r = Readiness::new(Duration::ZERO, || async {
            vec![Link::required(
                "postgresql",
                link(async { Err::<(), ()>(()) }).await,
            )]
        });
        assert_eq!(r.check().await.status, ReadyStatus::Unready);
    }

    #[tokio::test]
    async fn on_shutdown_the_process_turns_unready_serves_the_drain_then_stops() {
        let (port, stop, task) = start(Readiness::without_links(Duration::from_millis(400))).await;
        let (status, head) = get(port, "/readyz").await.expect("answers");
        assert_eq!(status, 200, "{head}");
        assert!(get(port, "/livez").await.is_some_and(|(s, _)| s == 200));
        stop.send(()).expect("running");
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Draining: unready, but still serving, and asking to close.
        let (status, head) = get(port, "/readyz").await.expect("still answers");
        assert_eq!(status, 503, "{head}");
        assert!(head.contains("\"draining\""), "{head}");
        let (status, head) = get(port, "/work").await.expect("still serves");
        assert_eq!(status, 200);
        assert!(head.contains("connection: close"), "{head}");
        // After the drain: no longer accepting, and the server has ended.
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops after the drain")
            .expect("no panic");
        assert!(
            get(port, "/work").await.is_none(),
            "refused after the drain"
        );
    }
}
