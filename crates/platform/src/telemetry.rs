//! JSON logs: one object per line, to stdout and to a file per process.
//!
//! Every line carries `timestamp` (RFC 3339, UTC, microseconds), `level`,
//! `service`, `instance`, `message`, the event's own fields, and the fields of
//! every span it happened in, flattened to the top level — so `case_id`,
//! `method` and `path` from the request span appear on each line written while
//! handling that request, and `grep '"case_id":"X"'` finds all of them.
//! tracing-subscriber's stock JSON format nests span fields, which is why this
//! module has its own [`FormatEvent`].

use std::fmt;
use std::io;
use std::path::Path;

use file_rotate::compression::Compression;
use file_rotate::suffix::{AppendTimestamp, FileLimit};
use file_rotate::{ContentLimit, FileRotate};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Formats events as flat JSON lines.
#[derive(Clone)]
pub struct JsonLines {
    service: String,
    instance: String,
}

impl JsonLines {
    pub fn new(service: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            instance: instance.into(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), event.metadata().level().as_str().into());
        line.insert("service".into(), self.service.clone().into());
        line.insert("instance".into(), self.instance.clone().into());
        if let Some(scope) = ctx.event_scope() {
            // The innermost span's trace, formatted once per line.
            let mut trace = None;
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(context) = ext.get::<crate::trace_context::SpanContext>() {
                    trace = Some(context.parent);
                }
                let Some(fields) = ext.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields) {
                    line.extend(map);
                }
            }
            if let Some(trace) = trace {
                line.insert("trace_id".into(), trace.trace_id_hex().into());
            }
        }
        event.record(&mut FieldVisitor(&mut line));
        line.insert("target".into(), event.metadata().target().into());
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct FieldVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole cause chain: the outermost message alone rarely says why.
        let mut msg = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        self.0.insert(field.name().into(), msg.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

/// Keeps the background log writers alive; drop it last in `main` so the
/// final lines are flushed.
#[must_use = "logs stop being written when the guard is dropped"]
pub struct LogGuards(#[allow(dead_code)] Vec<WorkerGuard>);

/// Installs the global subscriber: JSON lines to
/// `{log_dir}/{service}-{instance}.log` (appended, rotated: [`Rotation`]) and
/// to stdout. Each line is
/// formatted once and written to both by background threads. `LOG_STDOUT=false`
/// drops the stdout copy — for launchers such as `scripts/up` that would only
/// redirect it into a second file with the same lines. The filter comes from
/// `RUST_LOG`, default `info`.
pub fn init(service: &str, instance: &str, log_dir: &Path) -> io::Result<LogGuards> {
    crate::metrics::set_service(service);
    let rotation = Rotation::from_env().map_err(io::Error::other)?;
    let file = rotation.open(&log_dir.join(format!("{service}-{instance}.log")))?;
    let to_stdout = crate::env::parse_or("LOG_STDOUT", true).map_err(io::Error::other)?;
    let (file_writer, file_guard) = background_writer(file);
    let mut guards = vec![file_guard];
    let writer = if to_stdout {
        let (stdout_writer, stdout_guard) = background_writer(io::stdout());
        guards.push(stdout_guard);
        BoxMakeWriter::new(file_writer.and(stdout_writer))
    } else {
        BoxMakeWriter::new(file_writer)
    };
    let spans = crate::otlp::from_env(service).map_err(io::Error::other)?;
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with(crate::trace_context::TraceContextLayer::exporting(spans))
        .with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines::new(service, instance))
                .with_writer(writer),
        )
        .try_init()
        .map_err(io::Error::other)?;
    Ok(LogGuards(guards))
}

/// Lines waiting for a log writer's thread at most; more are dropped (and
/// counted by tracing-appender) rather than blocking a request. The
/// default, 128 000, preallocates a 4 MiB channel per writer — a quarter
/// of an idle service's memory — for a backlog no writer here reaches: a
/// thread appending to a file keeps up with every request this machine
/// can serve.
pub const LOG_BACKLOG_LINES: usize = 16_384;

fn background_writer<W: io::Write + Send + 'static>(
    writer: W,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_BACKLOG_LINES)
        .lossy(true)
        .finish(writer)
}

/// How the log file rotates: when it passes `LOG_MAX_BYTES` (default 100 MiB)
/// it is renamed `{name}.log.{YYYYmmddTHHMMSS}` and a new one begins;
/// rotated files older than `LOG_MAX_AGE_HOURS` (default 168, a week) are
/// deleted at the next rotation. The writer runs on the logging thread, so
/// a rotation never holds up a request. `scripts/trace` reads rotated files
/// too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: usize,
    pub max_age: std::time::Duration,
}

impl Rotation {
    pub fn from_env() -> Result<Self, crate::env::ConfigError> {
        let max_bytes: usize = crate::env::parse_or("LOG_MAX_BYTES", 100 * 1024 * 1024)?;
        let hours: u64 = crate::env::parse_or("LOG_MAX_AGE_HOURS", 168)?;
        Ok(Rotation {
            max_bytes: max_bytes.max(4096),
            max_age: std::time::Duration::from_secs(hours.clamp(1, 24 * 365 * 100) * 3600),
        })
    }

    /// The rotating file at `path` (its folder made if missing). Fails when
    /// the file cannot be opened for appending, as a plain file would.
    pub fn open(&self, path: &Path) -> io::Result<FileRotate<AppendTimestamp>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let age = chrono::Duration::from_std(self.max_age).map_err(io::Error::other)?;
        Ok(FileRotate::new(
            path,
            AppendTimestamp::default(FileLimit::Age(age)),
            ContentLimit::BytesSurpassed(self.max_bytes),
            Compression::None,
            None,
        ))
    }
}

/// A subscriber for tests: the same JSON lines, written through the test
/// harness's capture (shown only for failing tests). Safe to call often.
pub fn init_for_tests(service: &str) {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with(crate::trace_context::TraceContextLayer::default())
        .with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines::new(service, "test"))
                .with_test_writer(),
        )
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_log_rotates_by_size_and_old_files_go_by_age() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("w2meet-rotation-{}", uuid::Uuid::new_v4()));
        let path = dir.join("svc-1.log");
        std::fs::create_dir_all(&dir).unwrap();
        // A rotated file from long ago, and one from now (kept).
        std::fs::write(dir.join("svc-1.log.20000101T000000"), "old\n").unwrap();
        let rotation = Rotation {
            max_bytes: 4096,
            max_age: std::time::Duration::from_secs(3600),
        };
        let mut file = rotation.open(&path).unwrap();
        let line = format!("{{\"case_id\":\"c\",\"pad\":\"{}\"}}\n", "x".repeat(100));
        for _ in 0..100 {
            file.write_all(line.as_bytes()).unwrap();
        }
        file.flush().unwrap();
        drop(file);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert!(
            !names.contains(&"svc-1.log.20000101T000000".to_owned()),
            "the old file stays: {names:?}"
        );
        assert!(names.contains(&"svc-1.log".to_owned()));
        assert!(
            names.iter().any(|n| n.starts_with("svc-1.log.2")),
            "no rotated file: {names:?}"
        );
        // Every line is in one of the files, whole.
        let mut lines = 0;
        for n in &names {
            let text = std::fs::read_to_string(dir.join(n)).unwrap();
            assert!(
                std::fs::metadata(dir.join(n)).unwrap().len() <= 4096 + line.len() as u64,
                "{n} too big"
            );
            for l in text.lines() {
                assert!(
                    l.starts_with('{') && l.ends_with('}'),
                    "a cut line in {n}: {l}"
                );
                lines += 1;
            }
        }
        assert_eq!(lines, 100);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn span_fields_are_flattened_onto_every_line() {
        let buf = Buf::default();
        let w = buf.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines::new("svc", "i1"))
                .with_writer(move || w.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", case_id = "abc", method = "GET");
            let _g = span.enter();
            tracing::info!(cache = "hit", "read user");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["case_id"], "abc");
        assert_eq!(line["method"], "GET");
        assert_eq!(line["cache"], "hit");
        assert_eq!(line["message"], "read user");
        assert_eq!(line["service"], "svc");
        assert_eq!(line["instance"], "i1");
        assert_eq!(line["level"], "INFO");
        let ts = line["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok());
        assert_eq!(ts.len(), "2026-01-01T00:00:00.000000Z".len(), "{ts}");
    }
}
