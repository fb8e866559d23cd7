//! Where a request's time goes: the services' JSON log lines (`duration_ms`
//! per request, per process; `upstream_ms` of each call to the next service)
//! and the gateway's access log (`request_time_s`, `upstream_time_s`, 1 ms
//! resolution), matched by this run's
//! Case-IDs and grouped per point and hop.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hop {
    /// `suggest2.c16` etc.: workload and mode+clients.
    pub point: String,
    /// `gateway`, `user-service`, `worker-consumer`…
    pub service: String,
    /// `GET /users/user-avail/cache-aside/{}` or a consumer event.
    pub route: String,
    /// Log lines over all runs.
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

/// Path with per-request parts (emails, ids) replaced by `{}`.
fn route(method: &str, path: &str) -> String {
    let norm: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if seg.contains('@') || seg.len() >= 32 {
                "{}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", norm.join("/"))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The point part of one of this run's Case-IDs:
/// `{tag}.{workload}.{c16|o500N}.{rK}.{client}-{seq}` → `workload.c16`.
fn point_of(case_id: &str, tag: &str) -> Option<String> {
    let rest = case_id.strip_prefix(tag)?.strip_prefix('.')?;
    let mut it = rest.split('.');
    let w = it.next()?;
    let m = it.next()?;
    Some(format!("{w}.{m}"))
}

pub fn analyse(dir: &Path, tag: &str, hops_clients: usize) -> Result<Vec<Hop>> {
    let wanted_closed = format!(".c{hops_clients}");
    let mut groups: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    for entry in fs::read_dir(dir)?.flatten() {
        let p = entry.path();
        if p.extension().is_none_or(|x| x != "log") {
            continue;
        }
        let f = BufReader::new(fs::File::open(&p)?);
        for line in f.lines() {
            let Ok(line) = line else { continue };
            if !line.contains(tag) {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let Some(point) = v["case_id"].as_str().and_then(|c| point_of(c, tag)) else {
                continue;
            };
            // The chosen sweep point and every open-loop point.
            let mode = point.rsplit('.').next().unwrap_or("");
            if !(point.ends_with(&wanted_closed) || mode.starts_with('o')) {
                continue;
            }
            let service = v["service"].as_str().unwrap_or("?");
            let method = v["method"].as_str().unwrap_or("");
            let path = v["path"].as_str().unwrap_or("");
            let msg = v["message"].as_str().unwrap_or("");
            let mut push = |svc: &str, r: String, ms: f64| {
                groups
                    .entry((point.clone(), svc.to_owned(), r))
                    .or_default()
                    .push(ms);
            };
            if service == "gateway" {
                // `request_time_s`/`upstream_time_s` (earlier: `duration_ms`/
                // `upstream_ms`, in seconds despite the name).
                let total = v["request_time_s"]
                    .as_f64()
                    .or_else(|| v["duration_ms"].as_f64())
                    .unwrap_or(0.0)
                    * 1000.0;
                let r = route(method, path);
                push("gateway", format!("{r} (total)"), total);
                // `upstream_ms` is "0.002" or, after a retry, "0.001, 0.002".
                let up = v["upstream_time_s"]
                    .as_str()
                    .or_else(|| v["upstream_ms"].as_str());
                if let Some(up) = up.filter(|s| !s.is_empty()) {
                    let up: f64 = up
                        .split(',')
                        .filter_map(|x| x.trim().parse::<f64>().ok())
                        .sum::<f64>()
                        * 1000.0;
                    push("gateway", format!("{r} (upstream)"), up);
                    push(
                        "gateway",
                        format!("{r} (own = total - upstream)"),
                        (total - up).max(0.0),
                    );
                }
            } else if msg == "request completed" {
                if let Some(ms) = v["duration_ms"].as_f64() {
                    let svc = match v["instance"].as_str() {
                        Some(i) if i.starts_with("worker-consumer") => "worker-consumer",
                        Some(i) if i.starts_with("worker-api") => "worker-api",
                        _ => service,
                    };
                    push(svc, route(method, path), ms);
                }
            } else if msg == "upstream call" {
                // The caller's view of its call to the next service.
                if let Some(ms) = v["upstream_ms"].as_f64() {
                    let to = v["upstream"].as_str().unwrap_or("?");
                    push(service, format!("call to {to} (upstream_ms)"), ms);
                }
            } else if msg == "job succeeded"
                && let Some(ms) = v["latency_ms"].as_f64()
            {
                push(
                    "worker-consumer",
                    "job created → succeeded (latency_ms)".into(),
                    ms,
                );
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|((point, service, route), mut v)| {
            v.sort_by(|a, b| a.total_cmp(b));
            Hop {
                point,
                service,
                route,
                count: v.len(),
                p50_ms: pct(&v, 0.5),
                p90_ms: pct(&v, 0.9),
                p99_ms: pct(&v, 0.99),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_hide_emails_and_ids() {
        assert_eq!(
            route("GET", "/users/user-avail/cache-aside/a@b.c"),
            "GET /users/user-avail/cache-aside/{}"
        );
        assert_eq!(
            route("GET", "/worker/tasks/0190a8b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b"),
            "GET /worker/tasks/{}"
        );
    }

    #[test]
    fn point_from_case_id() {
        assert_eq!(
            point_of("lgab.suggest2.c16.r2.3-9", "lgab").as_deref(),
            Some("suggest2.c16")
        );
        assert_eq!(point_of("other.suggest2.c16.r2.3-9", "lgab"), None);
    }

    #[test]
    fn reads_log_lines_of_this_run_only() {
        let dir = std::env::temp_dir().join(format!("loadgen-hops-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let lines = [
            r#"{"service":"user-service","instance":"user-service-1","case_id":"lgx.cached_read.c16.r1.0-1","method":"GET","path":"/user-avail/cache-aside/a@b.c","message":"request completed","status":200,"duration_ms":0.25}"#,
            r#"{"service":"user-service","instance":"user-service-1","case_id":"lgx.cached_read.c4.r1.0-1","method":"GET","path":"/user-avail/cache-aside/a@b.c","message":"request completed","status":200,"duration_ms":9.0}"#,
            r#"{"service":"gateway","case_id":"lgx.cached_read.c16.r1.0-1","method":"GET","path":"/users/user-avail/cache-aside/a@b.c","status":200,"upstream_time_s":"0.001","request_time_s":0.002}"#,
            r#"{"service":"user-service","case_id":"other.cached_read.c16.r1.0-1","message":"request completed","duration_ms":5.0}"#,
        ];
        fs::write(dir.join("x.log"), lines.join("\n")).unwrap();
        let hops = analyse(&dir, "lgx", 16).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let us: Vec<&Hop> = hops
            .iter()
            .filter(|h| h.service == "user-service")
            .collect();
        assert_eq!(us.len(), 1);
        assert_eq!(us[0].count, 1);
        assert_eq!(us[0].p50_ms, 0.25);
        let own = hops.iter().find(|h| h.route.contains("own")).unwrap();
        assert!((own.p50_ms - 1.0).abs() < 1e-9);
    }
}
