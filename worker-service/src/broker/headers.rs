//! The AMQP headers every job message carries: `Case-ID` (the submitting
//! request's), `job_id`, `attempt` (1-based), and the W3C `traceparent` /
//! `tracestate` of the span that published it. Consumers put them on the
//! job's span, so every log line of the job can be found by Case-ID and
//! the job joins the submitter's trace.

use lapin::types::{AMQPValue, FieldTable, LongString};
use uuid::Uuid;

pub const CASE_ID: &str = "Case-ID";
pub const JOB_ID: &str = "job_id";
pub const ATTEMPT: &str = "attempt";

/// Headers for attempt `attempt` of a job.
pub fn job_headers(case_id: &str, job_id: Uuid, attempt: u32) -> FieldTable {
    let mut t = FieldTable::default();
    t.insert(
        CASE_ID.into(),
        AMQPValue::LongString(LongString::from(case_id)),
    );
    t.insert(
        JOB_ID.into(),
        AMQPValue::LongString(LongString::from(job_id.to_string())),
    );
    t.insert(ATTEMPT.into(), AMQPValue::LongUInt(attempt));
    for (name, value) in w2meet_platform::trace_context::current_headers() {
        t.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
    }
    t
}

/// What the headers of a delivery say (each part optional: a message from
/// elsewhere may lack them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobHeaders {
    pub case_id: Option<String>,
    pub job_id: Option<String>,
    pub attempt: Option<u32>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl JobHeaders {
    pub fn read(table: Option<&FieldTable>) -> JobHeaders {
        let Some(table) = table else {
            return JobHeaders::default();
        };
        let get = |name: &str| {
            table
                .inner()
                .iter()
                .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        JobHeaders {
            case_id: get(CASE_ID).and_then(as_string),
            job_id: get(JOB_ID).and_then(as_string),
            attempt: get(ATTEMPT).and_then(as_u32),
            traceparent: get(w2meet_platform::trace_context::TRACEPARENT).and_then(as_string),
            tracestate: get(w2meet_platform::trace_context::TRACESTATE).and_then(as_string),
        }
    }
}

fn as_string(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn as_u32(v: &AMQPValue) -> Option<u32> {
    let n: i128 = match v {
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => (*n).into(),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok()?,
        _ => return None,
    };
    u32::try_from(n).ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let id = Uuid::new_v4();
        let t = job_headers("case-1", id, 3);
        assert_eq!(
            JobHeaders::read(Some(&t)),
            JobHeaders {
                case_id: Some("case-1".into()),
                job_id: Some(id.to_string()),
                attempt: Some(3),
                // Published outside any span: no trace to join.
                traceparent: None,
                tracestate: None,
            }
        );
        assert_eq!(JobHeaders::read(None), JobHeaders::default());
    }

    #[test]
    fn a_message_carries_the_publishing_span_as_the_jobs_trace_parent() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(w2meet_platform::trace_context::TraceContextLayer::default());
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request");
            w2meet_platform::trace_context::adopt(
                &request,
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                Some("w2m=1"),
            );
            let read =
                request.in_scope(|| JobHeaders::read(Some(&job_headers("c", Uuid::new_v4(), 1))));
            let parent = read.traceparent.expect("a traceparent header");
            assert!(
                parent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{parent}"
            );
            assert_eq!(read.tracestate.as_deref(), Some("w2m=1"));
        });
    }
}
