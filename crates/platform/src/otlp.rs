//! OTLP export of spans — only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! The spans exported are the ones [`crate::trace_context`] already gives
//! ids to and propagates, so what a tracing backend shows is exactly what
//! travelled in `traceparent` headers and job messages: one id scheme, not
//! two. Finished spans go into a bounded queue (full: dropped, never a
//! blocked request) that a background task sends in batches (up to
//! [`BATCH`] spans, at least every [`FLUSH_EVERY`]) with the OpenTelemetry
//! OTLP/HTTP exporter (JSON; the endpoint and headers from the standard
//! `OTEL_EXPORTER_OTLP_*` variables, `/v1/traces` appended).
//!
//! Unset, nothing of this exists: no queue, no task, no per-span work
//! beyond the ids.

use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use tokio::sync::mpsc;

/// Spans per export request.
pub const BATCH: usize = 512;
/// The longest a finished span waits before it is sent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Finished spans waiting to be sent; beyond this they are dropped.
const QUEUE: usize = 8192;

/// Where finished spans go. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SpanSink(mpsc::Sender<SpanData>);

impl SpanSink {
    /// Queues a finished span for export (dropped if the queue is full).
    pub fn send(&self, span: SpanData) {
        let _ = self.0.try_send(span);
    }

    /// A sink whose spans a test reads.
    #[cfg(test)]
    pub(crate) fn for_tests() -> (SpanSink, mpsc::Receiver<SpanData>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (SpanSink(tx), rx)
    }
}

/// The sink, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and a runtime is
/// running; `None` (and no work at all) otherwise.
pub fn from_env(service: &str) -> Result<Option<SpanSink>, String> {
    start(
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().as_deref(),
        service,
    )
}

/// [`from_env`] with the variable's value given (the exporter itself reads
/// the endpoint and the other `OTEL_EXPORTER_OTLP_*` variables).
fn start(endpoint: Option<&str>, service: &str) -> Result<Option<SpanSink>, String> {
    if endpoint.is_none_or(|e| e.trim().is_empty()) {
        return Ok(None);
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Err("OTEL_EXPORTER_OTLP_ENDPOINT is set but no runtime runs".to_owned());
    };
    w2meet_tls::install_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_http_client(http)
        .build()
        .map_err(|e| e.to_string())?;
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name(service.to_owned())
            .build(),
    );
    let (tx, rx) = mpsc::channel(QUEUE);
    runtime.spawn(send_batches(exporter, rx));
    Ok(Some(SpanSink(tx)))
}

async fn send_batches(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: mpsc::Receiver<SpanData>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let deadline = tokio::time::sleep(FLUSH_EVERY);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                span = rx.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= BATCH {
                            break;
                        }
                    }
                    None => {
                        if !batch.is_empty() {
                            let _ = exporter.export(std::mem::take(&mut batch)).await;
                        }
                        return;
                    }
                },
                () = &mut deadline => break,
            }
        }
        if !batch.is_empty() {
            // A failed export is dropped: tracing must never hold up the
            // service or grow without bound while a collector is away.
            let _ = exporter.export(std::mem::take(&mut batch)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unset_or_empty_means_no_exporter_at_all() {
        // No runtime here: had it tried to start an exporter, this would
        // be an error, not `None`.
        assert!(super::start(None, "x").unwrap().is_none());
        assert!(super::start(Some("  "), "x").unwrap().is_none());
        assert!(super::start(Some("http://127.0.0.1:4318"), "x").is_err());
    }
}
