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

/// What a span carries: its own context and the `tracestate` it passes on.
#[derive(Debug, Clone)]
pub struct SpanContext {
    pub parent: TraceParent,
    pub tracestate: Option<String>,
}

/// Gives every new span its [`SpanContext`] (see the module doc).
pub struct TraceContextLayer;

impl<S> Layer<S> for TraceContextLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let inherited = span
            .parent()
            .and_then(|p| p.extensions().get::<SpanContext>().cloned());
        let context = match inherited {
            Some(parent) => SpanContext {
                parent: parent.parent.child(),
                tracestate: parent.tracestate,
            },
            None => SpanContext {
                parent: TraceParent::new_root(),
                tracestate: None,
            },
        };
        span.extensions_mut().insert(context);
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
        let subscriber = tracing_subscriber::registry().with(TraceContextLayer);
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
    fn without_a_valid_traceparent_a_span_starts_a_new_trace() {
        let subscriber = tracing_subscriber::registry().with(TraceContextLayer);
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
