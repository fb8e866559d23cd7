//! Prometheus metrics: a process-wide recorder, a middleware that counts and
//! times every request by route, method and status, and the `/metrics` text
//! (for the operator: each replica's own port; the gateway answers 404).
//!
//! Services add their own series with the `metrics` macros
//! (`metrics::counter!("cache_requests_total", "result" => "hit")`) and
//! describe them (`# HELP`) with `metrics::describe_*!`.
//!
//! - **Buckets fit what they measure**: requests and upstream calls from a
//!   cache hit (0.2 ms) to the gateway's timeout (30 s); a job's latency
//!   (`job_latency_seconds`, queued work with retries) from 50 ms to an hour.
//! - **Upkeep**: a thread drains the histograms' pending samples every 5 s,
//!   so memory stays flat when nothing scrapes.
//! - **Process and build**: `process_resident_memory_bytes`,
//!   `process_cpu_seconds_total`, `process_open_fds`, `process_threads`,
//!   `process_start_time_seconds` (from `/proc/self`, at each scrape) and
//!   `build_info{service,version}`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request and upstream latency, seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0,
];

/// Queued work (`job_latency_seconds`: submission to final state), seconds:
/// retries back off up to a minute each, so a job can take minutes.
const JOB_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// How often pending histogram samples are folded in.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static SERVICE: OnceLock<String> = OnceLock::new();

/// Names the service in `build_info` (called by `telemetry::init`).
pub fn set_service(service: &str) {
    let _ = SERVICE.set(service.to_owned());
}

/// Installs the global recorder once (tests build many apps in one process)
/// and returns the handle that renders it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full("job_latency_seconds".to_owned()),
                    JOB_BUCKETS,
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            let upkeep = handle.clone();
            // A thread, not a task: it outlives any one runtime (tests
            // build many).
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "Requests answered, by route template, method and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request, by route template, method and status"
    );
    describe_histogram!(
        "upstream_request_duration_seconds",
        Unit::Seconds,
        "Calls to another W2Meet service, by upstream and outcome"
    );
    describe_counter!(
        "upstream_errors_total",
        "Calls to another W2Meet service that got no answer, by upstream and kind"
    );
    describe_gauge!("build_info", "Always 1; the labels name the build");
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory"
    );
    describe_counter!(
        "process_cpu_seconds_total",
        Unit::Seconds,
        "User and system CPU time"
    );
    describe_gauge!("process_open_fds", "Open file descriptors");
    describe_gauge!("process_threads", "Threads of this process");
    describe_gauge!(
        "process_start_time_seconds",
        Unit::Seconds,
        "Start time, Unix seconds"
    );
}

/// The `process_*` and `build_info` series, read now.
fn record_process() {
    let service = SERVICE.get().map_or("unknown", String::as_str).to_owned();
    metrics::gauge!("build_info", "service" => service, "version" => env!("CARGO_PKG_VERSION"))
        .set(1.0);
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the parenthesised command name (which may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    // Offsets in `rest` (field 3 of proc(5) is index 0): utime 14, stime
    // 15, num_threads 20, starttime 22, rss 24 — minus 3.
    let ticks = 100.0; // USER_HZ on Linux
    if let Some(t) = num(17) {
        metrics::gauge!("process_threads").set(t);
    }
    if let (Some(start), Some(boot)) = (num(19), boot_time()) {
        metrics::gauge!("process_start_time_seconds").set(boot + start / ticks);
    }
    // VmRSS is in kB whatever the page size.
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        });
    if let Some(kib) = rss_kib {
        metrics::gauge!("process_resident_memory_bytes").set(kib * 1024.0);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
}

fn boot_time() -> Option<f64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Middleware: `http_requests_total` and `http_request_duration_seconds` by
/// route template (not raw path, so emails do not explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    crate::memory::note_request();
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// User and system CPU seconds so far, with the clock ticks' resolution
/// (written by hand: the `metrics` counters are whole numbers).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The exposition text: the recorder's series and the CPU counter.
pub fn render_text() -> String {
    record_process();
    let mut text = handle().render();
    if let Some(cpu) = cpu_seconds() {
        text.push_str(&format!(
            "# HELP process_cpu_seconds_total User and system CPU time, seconds\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {cpu}\n"
        ));
    }
    text
}

/// `GET /metrics`.
pub async fn render() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        render_text(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_histograms_get_long_buckets_and_the_process_is_described() {
        let h = handle();
        set_service("metrics-test");
        metrics::histogram!("job_latency_seconds").record(42.0);
        metrics::histogram!("http_request_duration_seconds", "route" => "/t").record(0.001);
        let _ = h;
        let text = render_text();
        assert!(
            text.contains("job_latency_seconds_bucket{le=\"3600\"} 1"),
            "{text}"
        );
        assert!(!text.contains("http_request_duration_seconds_bucket{route=\"/t\",le=\"3600\"}"));
        assert!(text.contains("http_request_duration_seconds_bucket{route=\"/t\",le=\"30\"} 1"));
        assert!(
            text.contains("# HELP http_request_duration_seconds"),
            "{text}"
        );
        assert!(
            text.contains("build_info{service=\"metrics-test\""),
            "{text}"
        );
        for series in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_threads",
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(series) && !l.starts_with('#'))
                .unwrap_or_else(|| panic!("no {series}: {text}"));
            let value: f64 = line
                .rsplit(' ')
                .next()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0.0);
            assert!(value > 0.0, "{line}");
        }
    }
}
