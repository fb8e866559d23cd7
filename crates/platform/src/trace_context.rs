//! W3C Trace Context beside the Case-ID: a request's `traceparent` (and
//! `tracestate`) are accepted, carried on every call and message the
//! request causes, and every log line names its `trace_id` — so a tracing
//! backend, or a caller that already has a trace, can follow W2Meet's part.
//!
//! How it works, without any exporter:
//! - [`TraceContextLayer`] gives every span a [`SpanContext`] (stored in the
//!   span's extensions): a child of its parent span's (same trace, its own
//!   span id), or a new trace for a root span.
//! - Where a request or a job message arrives, [`adopt`] makes that span a
//!   child of the caller's context instead, when the caller sent a valid
//!   `traceparent` (an invalid one is ignored, as the spec asks: a new
//!   trace starts).
//! - Outbound, [`current_headers`] gives the `traceparent` naming the
//!   current span as the parent, and the `tracestate` received, untouched.
//!
//! The Case-ID stays the id people quote; the trace id is for tools.

use std::fmt;

use tracing::Span;
use tracing::span::{Attributes, Id};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The header names (lower case, as HTTP/2 sends them; AMQP headers use the
/// same names).
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// A `traceparent` value: version 00, a trace id, a parent (span) id and
/// the flags (bit 0: sampled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub span_id: u64,
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` header (W3C Trace Context §3.2): `00-` + 32
    /// lower-case hex + `-` + 16 + `-` + 2; all-zero ids and version `ff`
    /// are invalid. A later version is read by its first four fields, as
    /// the spec allows.
    pub fn parse(header: &str) -> Option<TraceParent> {
        let header = header.trim();
        let mut parts = header.split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        let rest = parts.next();
        let hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(version, 2) || version == "ff" || (version == "00" && rest.is_some()) {
            return None;
        }
        if !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
            return None;
        }
        let parsed = TraceParent {
            trace_id: u128::from_str_radix(trace, 16).ok()?,
            span_id: u64::from_str_radix(span, 16).ok()?,
            flags: u8::from_str_radix(flags, 16).ok()?,
        };
        (parsed.trace_id != 0 && parsed.span_id != 0).then_some(parsed)
    }

    /// A new trace (sampled), for a span with no parent.
    pub fn new_root() -> TraceParent {
        TraceParent {
            trace_id: uuid::Uuid::new_v4().as_u128(),
            span_id: new_span_id(),
            flags: 1,
        }
    }

    /// The context of a span whose parent is `self`: same trace and flags,
    /// a span id of its own.
    pub fn child(&self) -> TraceParent {
        TraceParent {
            span_id: new_span_id(),
            ..*self
        }
    }

    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

fn new_span_id() -> u64 {
    // Never zero (an invalid id).
    (uuid::Uuid::new_v4().as_u128() as u64).max(1)
}

/// What a span carries: its own context (`parent`: the `traceparent` it
/// sends, naming itself), its parent's span id, and the `tracestate` it
/// passes on.
#[derive(Debug, Clone)]
pub struct SpanContext {
    pub parent: TraceParent,
    /// The span id of its parent (0: a root), and whether that parent is
    /// another process's (adopted from a header).
    pub parent_span_id: u64,
    pub remote_parent: bool,
    pub tracestate: Option<String>,
}

/// What an exported span also needs (kept only when exporting).
struct Recorded {
    start: std::time::SystemTime,
    attributes: Vec<opentelemetry::KeyValue>,
}

/// Gives every new span its [`SpanContext`] (see the module doc) and, with
/// a sink ([`crate::otlp`]), exports each span when it closes.
#[derive(Default)]
pub struct TraceContextLayer {
    sink: Option<crate::otlp::SpanSink>,
}

impl TraceContextLayer {
    pub fn exporting(sink: Option<crate::otlp::SpanSink>) -> TraceContextLayer {
        TraceContextLayer { sink }
    }
}

impl<S> Layer<S> for TraceContextLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let inherited = span
            .parent()
            .and_then(|p| p.extensions().get::<SpanContext>().cloned());
        let context = match inherited {
            Some(parent) => SpanContext {
                parent: parent.parent.child(),
                parent_span_id: parent.parent.span_id,
                remote_parent: false,
                tracestate: parent.tracestate,
            },
            None => SpanContext {
                parent: TraceParent::new_root(),
                parent_span_id: 0,
                remote_parent: false,
                tracestate: None,
            },
        };
        let mut extensions = span.extensions_mut();
        extensions.insert(context);
        if self.sink.is_some() {
            let mut recorded = Recorded {
                start: std::time::SystemTime::now(),
                attributes: Vec::new(),
            };
            attrs.record(&mut Attributes_(&mut recorded.attributes));
            extensions.insert(recorded);
        }
    }

    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        if self.sink.is_none() {
            return;
        }
        if let Some(span) = ctx.span(id)
            && let Some(recorded) = span.extensions_mut().get_mut::<Recorded>()
        {
            values.record(&mut Attributes_(&mut recorded.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(sink) = &self.sink else {
            return;
        };
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let (Some(context), Some(recorded)) = (
            extensions.get_mut::<SpanContext>().map(|c| c.clone()),
            extensions.remove::<Recorded>(),
        ) else {
            return;
        };
        sink.send(exported(span.name(), context, recorded));
    }
}

/// The OpenTelemetry form of a finished span: request spans are the
/// server side of a call, the rest internal.
fn exported(
    name: &'static str,
    context: SpanContext,
    recorded: Recorded,
) -> opentelemetry_sdk::trace::SpanData {
    use opentelemetry::trace::{SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    let state = context
        .tracestate
        .as_deref()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    opentelemetry_sdk::trace::SpanData {
        span_context: opentelemetry::trace::SpanContext::new(
            TraceId::from_bytes(context.parent.trace_id.to_be_bytes()),
            SpanId::from_bytes(context.parent.span_id.to_be_bytes()),
            TraceFlags::new(context.parent.flags),
            false,
            state,
        ),
        parent_span_id: SpanId::from_bytes(context.parent_span_id.to_be_bytes()),
        parent_span_is_remote: context.remote_parent,
        span_kind: if name == "request" {
            SpanKind::Server
        } else {
            SpanKind::Internal
        },
        name: name.into(),
        start_time: recorded.start,
        end_time: std::time::SystemTime::now(),
        attributes: recorded.attributes,
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: opentelemetry::InstrumentationScope::builder("w2meet").build(),
    }
}

/// Span fields as OpenTelemetry attributes (text; empty fields skipped).
struct Attributes_<'a>(&'a mut Vec<opentelemetry::KeyValue>);

impl tracing::field::Visit for Attributes_<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if !value.is_empty() {
            self.0
                .push(opentelemetry::KeyValue::new(field.name(), value.to_owned()));
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push(opentelemetry::KeyValue::new(
            field.name(),
            format!("{value:?}"),
        ));
    }
}

/// Makes `span` a child of the caller's `traceparent` (and passes
/// `tracestate` on), when the header is valid; otherwise it keeps the
/// new trace the layer gave it.
pub fn adopt(span: &Span, traceparent: Option<&str>, tracestate: Option<&str>) {
    let Some(remote) = traceparent.and_then(TraceParent::parse) else {
        return;
    };
    with_context(span, |context| {
        context.parent = remote.child();
        context.parent_span_id = remote.span_id;
        context.remote_parent = true;
        context.tracestate = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 512)
            .map(str::to_owned);
    });
}

/// The current span's context, if it has one (the layer is installed and
/// the span enabled).
pub fn current() -> Option<SpanContext> {
    with_context(&Span::current(), |context| context.clone())
}

/// The headers an outbound call or message carries: `traceparent` naming
/// the current span as the parent, and the `tracestate` received.
pub fn current_headers() -> Vec<(&'static str, String)> {
    let Some(context) = current() else {
        return Vec::new();
    };
    let mut headers = vec![(TRACEPARENT, context.parent.to_string())];
    if let Some(state) = context.tracestate {
        headers.push((TRACESTATE, state));
    }
    headers
}

fn with_context<R>(span: &Span, f: impl FnOnce(&mut SpanContext) -> R) -> Option<R> {
    let id = span.id()?;
    let mut f = Some(f);
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(&id)?;
        let mut extensions = data.extensions_mut();
        let context = extensions.get_mut::<SpanContext>()?;
        f.take().map(|f| f(context))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_spec_example_parses_and_formats_back() {
        let tp = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(tp.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(tp.span_id, 0x00f067aa0ba902b7);
        assert_eq!(tp.flags, 1);
        assert_eq!(tp.to_string(), EXAMPLE);
    }

    #[test]
    fn invalid_headers_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        // A later version may add fields; its first four are read.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab")
                .is_some()
        );
    }

    #[test]
    fn spans_inherit_the_adopted_trace_and_name_themselves_as_the_next_parent() {
        let subscriber = tracing_subscriber::registry().with(TraceContextLayer::default());
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request");
            adopt(&request, Some(EXAMPLE), Some("vendor=x"));
            let _in_request = request.enter();
            let outer = current().unwrap();
            assert_eq!(outer.parent.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
            assert_ne!(
                outer.parent.span_id, 0x00f067aa0ba902b7,
                "a span id of its own"
            );
            let child = tracing::info_span!("call");
            let _in_child = child.enter();
            let inner = current().unwrap();
            assert_eq!(inner.parent.trace_id, outer.parent.trace_id);
            assert_ne!(inner.parent.span_id, outer.parent.span_id);
            let headers = current_headers();
            assert_eq!(headers[0], (TRACEPARENT, inner.parent.to_string()));
            assert_eq!(headers[1], (TRACESTATE, "vendor=x".to_owned()));
        });
    }

    #[test]
    fn with_a_sink_each_closed_span_is_exported_with_its_parent() {
        let (sink, mut spans) = crate::otlp::SpanSink::for_tests();
        let subscriber =
            tracing_subscriber::registry().with(TraceContextLayer::exporting(Some(sink)));
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", case_id = "c-1");
            adopt(&request, Some(EXAMPLE), None);
            request.in_scope(|| {
                let _inner = tracing::info_span!("inner").entered();
            });
        });
        let inner = spans.try_recv().expect("the inner span, closed first");
        let request = spans.try_recv().expect("the request span");
        assert_eq!(inner.name, "inner");
        assert_eq!(inner.parent_span_id, request.span_context.span_id());
        assert_eq!(
            inner.span_context.trace_id(),
            request.span_context.trace_id()
        );
        assert_eq!(
            request.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(request.parent_span_id.to_string(), "00f067aa0ba902b7");
        assert!(request.parent_span_is_remote);
        assert_eq!(request.span_kind, opentelemetry::trace::SpanKind::Server);
        assert!(
            request
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "case_id" && kv.value.as_str() == "c-1")
        );
    }

    #[test]
    fn without_a_sink_nothing_is_kept_for_export() {
        let subscriber = tracing_subscriber::registry().with(TraceContextLayer::default());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", case_id = "c-2");
            let kept = tracing::dispatcher::get_default(|d| {
                let registry = d.downcast_ref::<Registry>().unwrap();
                registry
                    .span(&span.id().unwrap())
                    .unwrap()
                    .extensions()
                    .get::<Recorded>()
                    .is_some()
            });
            assert!(!kept, "no start time or attributes kept when not exporting");
        });
    }

    #[test]
    fn without_a_valid_traceparent_a_span_starts_a_new_trace() {
        let subscriber = tracing_subscriber::registry().with(TraceContextLayer::default());
        tracing::subscriber::with_default(subscriber, || {
            let a = tracing::info_span!("request");
            adopt(&a, Some("garbage"), None);
            let b = tracing::info_span!("request");
            let trace = |s: &Span| s.in_scope(|| current().unwrap().parent.trace_id);
            assert_ne!(trace(&a), trace(&b));
            assert_ne!(trace(&a), 0);
        });
    }
}
