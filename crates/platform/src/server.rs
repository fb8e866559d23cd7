//! Serving a finished router: one wrapper for every service, so `main` and
//! the tests start a service the same way (bind, read the port, serve until
//! a shutdown future completes) and background loops stop with the server.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::Router;
use tokio::net::TcpListener;

type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A bound listener, its router, the service's state (for tests and for
/// the loops the service runs beside the router) and those loops.
pub struct Server<S> {
    listener: TcpListener,
    router: Router,
    state: S,
    /// Started when serving starts, aborted when it ends: they only make
    /// sense while the service answers requests.
    background: Vec<Task>,
    /// Turned unready on shutdown, then served for its drain time.
    readiness: Option<crate::probes::Readiness>,
}

impl<S> Server<S> {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, router: Router, state: S) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            router,
            state,
            background: Vec::new(),
            readiness: None,
        })
    }

    /// Drains on shutdown: unready at once, serving `readiness.drain()`
    /// longer, then graceful shutdown (see [`crate::probes`]).
    pub fn draining(mut self, readiness: crate::probes::Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Runs `task` beside the router while it serves.
    pub fn with_background(mut self, task: impl Future<Output = ()> + Send + 'static) -> Self {
        self.background.push(Box::pin(task));
        self
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The service's state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and stops the background tasks.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let running: Vec<_> = self.background.into_iter().map(tokio::spawn).collect();
        let readiness = self.readiness;
        let shutdown = async move {
            shutdown.await;
            if let Some(r) = readiness {
                r.start_draining();
                tracing::info!(
                    drain_ms = r.drain().as_millis() as u64,
                    "draining: unready, closing connections"
                );
                tokio::time::sleep(r.drain()).await;
            }
            tracing::info!("no longer accepting; finishing in-flight requests");
        };
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        for task in running {
            task.abort();
        }
        result
    }
}
