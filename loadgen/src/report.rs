//! results.json, summary.md and the plots of a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::Config;
use crate::hops::Hop;
use crate::stats::{Stats, median_f};

/// One measured point of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub workload: String,
    /// `closed` or `open`.
    pub mode: String,
    /// Open loop: the total arrival rate asked for (requests/s).
    pub rate: Option<f64>,
    pub clients: usize,
    pub run: usize,
    pub seconds: f64,
    /// Per request type (a mixed point has several).
    pub types: BTreeMap<String, Stats>,
    /// Cores used per process group during the measured window.
    pub cores: BTreeMap<String, f64>,
}

/// The median over runs of one point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub workload: String,
    pub mode: String,
    pub rate: Option<f64>,
    pub clients: usize,
    pub runs: usize,
    pub types: BTreeMap<String, Stats>,
    pub cores: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    /// Median of the runs.
    pub value: f64,
    pub unit: String,
    pub per_run: Vec<f64>,
    pub met: bool,
    /// How far from the goal, in words.
    pub margin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub mem_total_kib: u64,
    pub cpu_model: String,
    pub kernel: String,
    pub loadavg_start: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub run_name: String,
    pub tag: String,
    pub started_unix: u64,
    pub started: String,
    pub command: String,
    pub config: serde_json::Value,
    pub machine: Machine,
    pub points: Vec<Point>,
    pub summary: Vec<Summary>,
    pub targets: Vec<Target>,
    /// Service process → KiB, before the run's first request.
    pub rss_idle_kib: BTreeMap<String, u64>,
    /// Service process → (KiB now, KiB peak) after the run.
    pub rss_after_kib: BTreeMap<String, (u64, u64)>,
    pub hops: Vec<Hop>,
}

fn machine() -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mem = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        mem_total_kib: mem,
        cpu_model: model,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        loadavg_start: read("/proc/loadavg").trim().to_owned(),
    }
}

impl Results {
    pub fn new(
        cfg: Config,
        tag: String,
        started: SystemTime,
        points: Vec<Point>,
        rss_idle_kib: BTreeMap<String, u64>,
        rss_after_kib: BTreeMap<String, (u64, u64)>,
        hops: Vec<Hop>,
    ) -> Results {
        let unix = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let started_s = chrono::DateTime::<chrono::Utc>::from(started)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let summary = summarise(&points);
        let mut r = Results {
            run_name: cfg.run_name.clone(),
            tag,
            started_unix: unix,
            started: started_s,
            command: cfg.command.clone(),
            config: serde_json::to_value(&cfg).unwrap_or_default(),
            machine: machine(),
            points,
            summary,
            targets: vec![],
            rss_idle_kib,
            rss_after_kib,
            hops,
        };
        r.targets = targets(&r);
        r
    }

    pub fn find(&self, workload: &str, mode: &str, clients: usize) -> Option<&Summary> {
        self.summary
            .iter()
            .find(|s| s.workload == workload && s.mode == mode && s.clients == clients)
    }

    /// Per run, `f` of the closed-loop point (workload, clients).
    fn per_run(
        &self,
        workload: &str,
        clients: usize,
        f: &dyn Fn(&Point) -> Option<f64>,
    ) -> Vec<f64> {
        let mut v: Vec<(usize, f64)> = self
            .points
            .iter()
            .filter(|p| p.workload == workload && p.mode == "closed" && p.clients == clients)
            .filter_map(|p| f(p).map(|x| (p.run, x)))
            .collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|x| x.1).collect()
    }

    /// Per run, the ratio of two closed-loop points' throughput measured in
    /// the same run (side by side).
    pub fn ratio_per_run(&self, num: &str, den: &str, clients: usize) -> Vec<f64> {
        let thr = |w: &str, run: usize| {
            self.points
                .iter()
                .find(|p| {
                    p.workload == w && p.mode == "closed" && p.clients == clients && p.run == run
                })
                .and_then(|p| p.types.get(w))
                .map(|s| s.throughput)
        };
        let runs: Vec<usize> = {
            let mut r: Vec<usize> = self.points.iter().map(|p| p.run).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        runs.into_iter()
            .filter_map(|run| match (thr(num, run), thr(den, run)) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            })
            .collect()
    }
}

fn key(p: &Point) -> (String, String, u64, usize) {
    (
        p.workload.clone(),
        p.mode.clone(),
        p.rate.unwrap_or(0.0) as u64,
        p.clients,
    )
}

fn summarise(points: &[Point]) -> Vec<Summary> {
    let mut groups: BTreeMap<(String, String, u64, usize), Vec<&Point>> = BTreeMap::new();
    for p in points {
        groups.entry(key(p)).or_default().push(p);
    }
    let mut out: Vec<Summary> = groups
        .into_values()
        .map(|ps| {
            let mut names: Vec<&String> = ps.iter().flat_map(|p| p.types.keys()).collect();
            names.sort();
            names.dedup();
            let types = names
                .into_iter()
                .map(|n| {
                    let runs: Vec<&Stats> = ps.iter().filter_map(|p| p.types.get(n)).collect();
                    (n.clone(), Stats::median(&runs))
                })
                .collect();
            let mut cnames: Vec<&String> = ps.iter().flat_map(|p| p.cores.keys()).collect();
            cnames.sort();
            cnames.dedup();
            let cores = cnames
                .into_iter()
                .map(|n| {
                    let v = ps
                        .iter()
                        .map(|p| p.cores.get(n).copied().unwrap_or(0.0))
                        .collect();
                    (n.clone(), median_f(v))
                })
                .collect();
            Summary {
                workload: ps[0].workload.clone(),
                mode: ps[0].mode.clone(),
                rate: ps[0].rate,
                clients: ps[0].clients,
                runs: ps.len(),
                types,
                cores,
            }
        })
        .collect();
    let order = |w: &str| {
        crate::workload::ALL_KINDS
            .iter()
            .position(|k| k.name() == w)
            .unwrap_or(99)
    };
    out.sort_by(|a, b| {
        (
            a.mode.as_str(),
            order(&a.workload),
            &a.workload,
            a.clients,
            a.rate.unwrap_or(0.0) as u64,
        )
            .cmp(&(
                b.mode.as_str(),
                order(&b.workload),
                &b.workload,
                b.clients,
                b.rate.unwrap_or(0.0) as u64,
            ))
    });
    out
}

fn target(
    name: &str,
    goal: &str,
    unit: &str,
    per_run: Vec<f64>,
    limit: f64,
    at_most: bool,
) -> Target {
    let value = median_f(per_run.clone());
    let met = !per_run.is_empty()
        && if at_most {
            value < limit
        } else {
            value >= limit
        };
    let margin = if per_run.is_empty() {
        "not measured".to_owned()
    } else if at_most {
        if met {
            format!("met: {:.0}% under the limit", (1.0 - value / limit) * 100.0)
        } else {
            format!(
                "missed: {:.1}× the limit ({:+.2} {unit})",
                value / limit,
                value - limit
            )
        }
    } else if met {
        format!("met: {:.0}% above the floor", (value / limit - 1.0) * 100.0)
    } else {
        format!(
            "missed: {:.0}% of the goal ({:.2} short)",
            value / limit * 100.0,
            limit - value
        )
    };
    Target {
        name: name.to_owned(),
        goal: goal.to_owned(),
        value,
        unit: unit.to_owned(),
        per_run,
        met,
        margin,
    }
}

/// The targets of the speed issue, each against a floor measured in the
/// same run where it has one (BENCHMARKS.md explains each).
fn targets(r: &Results) -> Vec<Target> {
    let stat = |w: &'static str, f: fn(&Stats) -> f64| move |p: &Point| p.types.get(w).map(f);
    let mut t = vec![
        target(
            "cached read via gateway ÷ nginx proxying a static upstream, 32 clients",
            ">= 0.60",
            "ratio",
            r.ratio_per_run("cached_read", "floor_nginx_proxy", 32),
            0.60,
            false,
        ),
        target(
            "cached read p99, 32 clients",
            "< 5 ms",
            "ms",
            r.per_run("cached_read", 32, &stat("cached_read", |s| s.p99_ms)),
            5.0,
            true,
        ),
        target(
            "jobs accepted per second ÷ pgbench single-row durable insert, 16 clients",
            ">= 0.50",
            "ratio",
            r.ratio_per_run("job_submit", "floor_pg_insert", 16),
            0.50,
            false,
        ),
        // Like for like with the floor (which runs no consumer): the submit
        // path alone, the consumers paused for the point.
        target(
            "jobs accepted per second with the consumers paused ÷ pgbench insert, 16 clients",
            ">= 0.50",
            "ratio",
            r.ratio_per_run("job_accept_paused", "floor_pg_insert", 16),
            0.50,
            false,
        ),
    ];
    // The target's rate is 500/s: the open-loop job point nearest to it.
    let rate = r
        .points
        .iter()
        .filter(|p| p.workload == "job_e2e" && p.mode == "open")
        .filter_map(|p| p.rate)
        .min_by(|a, b| (a - 500.0).abs().total_cmp(&(b - 500.0).abs()))
        .unwrap_or(0.0);
    let open_job = |p: &Point| p.workload == "job_e2e" && p.mode == "open" && p.rate == Some(rate);
    let mut v: Vec<(usize, f64)> = r
        .points
        .iter()
        .filter(|p| open_job(p))
        .filter_map(|p| p.types.get("job_e2e").map(|s| (p.run, s.p99_ms)))
        .collect();
    v.sort_by_key(|x| x.0);
    t.push(target(
        &format!("job end-to-end p99, open loop at {rate:.0} jobs/s"),
        "< 100 ms",
        "ms",
        v.into_iter().map(|x| x.1).collect(),
        100.0,
        true,
    ));
    t.push(target(
        "two-user suggestion p50, 16 clients",
        "< 3 ms",
        "ms",
        r.per_run("suggest2", 16, &stat("suggest2", |s| s.p50_ms)),
        3.0,
        true,
    ));
    t.push(target(
        "two-user suggestion p99, 16 clients",
        "< 10 ms",
        "ms",
        r.per_run("suggest2", 16, &stat("suggest2", |s| s.p99_ms)),
        10.0,
        true,
    ));
    t.push(target(
        "50-user quorum suggestion p99, 16 clients",
        "< 20 ms",
        "ms",
        r.per_run(
            "suggest50_quorum",
            16,
            &stat("suggest50_quorum", |s| s.p99_ms),
        ),
        20.0,
        true,
    ));
    for (name, (kib, _peak)) in &r.rss_after_kib {
        t.push(target(
            &format!("RSS of {name} after the run"),
            "< 40 MiB",
            "MiB",
            vec![*kib as f64 / 1024.0],
            40.0,
            true,
        ));
    }
    t
}

fn f(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn cores_text(c: &BTreeMap<String, f64>) -> String {
    let mut v: Vec<(&String, &f64)> = c
        .iter()
        .filter(|(k, v)| k.as_str() != "machine" && **v >= 0.05)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1));
    let machine = c.get("machine").copied().unwrap_or(0.0);
    let parts: Vec<String> = v
        .iter()
        .take(5)
        .map(|(k, x)| format!("{k} {x:.2}"))
        .collect();
    format!("{machine:.2}: {}", parts.join(", "))
}

pub fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let w = &mut md;
    let cfg = &r.config;
    let runs = cfg["runs"].as_u64().unwrap_or(0);
    let _ = writeln!(w, "# Benchmark run `{}`\n", r.run_name);
    let _ = writeln!(w, "- started {} (tag `{}`)", r.started, r.tag);
    let _ = writeln!(w, "- command: `{}`", r.command);
    let _ = writeln!(
        w,
        "- machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}; load average at start `{}`",
        r.machine.nproc,
        r.machine.cpu_model,
        r.machine.mem_total_kib as f64 / 1024.0 / 1024.0,
        r.machine.kernel,
        r.machine.loadavg_start
    );
    // Results from before `--wait-s` existed polled.
    let job_reads = match cfg["wait_s"].as_f64() {
        Some(s) if s > 0.0 => {
            format!("end-to-end jobs read with `?wait={s}` (one waiting read per job)")
        }
        _ => format!("job polling every {} ms", cfg["poll_ms"]),
    };
    let _ = writeln!(
        w,
        "- {} runs; each point {} s warm-up + {} s measured; {} pool users, quorum {} of 50; seed {}; {job_reads}",
        runs, cfg["warmup_s"], cfg["duration_s"], cfg["users"], cfg["quorum"], cfg["seed"],
    );
    let _ = writeln!(
        w,
        "- every figure is the **median of the {runs} runs**; ratios are computed per run between points measured side by side, then the median taken. Latencies in ms, throughput in successful requests/s. \"CPU\" is cores busy on the whole machine during the measured window, then the biggest consumers."
    );

    let _ = writeln!(
        w,
        "\n## Targets (each against its floor where it has one)\n"
    );
    let _ = writeln!(w, "| target | goal | median | per run | verdict |");
    let _ = writeln!(w, "|---|---|---|---|---|");
    for t in &r.targets {
        let per: Vec<String> = t.per_run.iter().map(|x| f(*x)).collect();
        let _ = writeln!(
            w,
            "| {} | {} | {} {} | {} | {} |",
            t.name,
            t.goal,
            f(t.value),
            t.unit,
            per.join(" / "),
            if t.met {
                format!("✅ {}", t.margin)
            } else {
                format!("❌ {}", t.margin)
            }
        );
    }

    // Floors side by side.
    let closed: Vec<&Summary> = r.summary.iter().filter(|s| s.mode == "closed").collect();
    let mut cs: Vec<usize> = closed.iter().map(|s| s.clients).collect();
    cs.sort_unstable();
    cs.dedup();
    let get = |wl: &str, c: usize| {
        r.find(wl, "closed", c)
            .and_then(|s| s.types.get(wl))
            .cloned()
    };
    let _ = writeln!(w, "\n## Floors and the cached read, side by side\n");
    let _ = writeln!(
        w,
        "| clients | nginx /health /s | direct user-service /s | Redis GET /s | cached read via gateway /s | cached ÷ nginx | cached ÷ direct | p50 nginx / direct / Redis / cached | p99 nginx / direct / Redis / cached |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    for &c in &cs {
        let h = get("floor_nginx_health", c);
        let d = get("floor_direct_cached_read", c);
        let rd = get("floor_redis_get", c);
        let cr = get("cached_read", c);
        let thr = |s: &Option<Stats>| s.as_ref().map_or("–".into(), |s| f(s.throughput));
        let p =
            |s: &Option<Stats>, q: fn(&Stats) -> f64| s.as_ref().map_or("–".into(), |s| f(q(s)));
        let rh = r.ratio_per_run("cached_read", "floor_nginx_health", c);
        let rdir = r.ratio_per_run("cached_read", "floor_direct_cached_read", c);
        let ratio = |v: Vec<f64>| {
            if v.is_empty() {
                "–".into()
            } else {
                format!("{:.2}", median_f(v))
            }
        };
        let _ = writeln!(
            w,
            "| {c} | {} | {} | {} | {} | {} | {} | {} / {} / {} / {} | {} / {} / {} / {} |",
            thr(&h),
            thr(&d),
            thr(&rd),
            thr(&cr),
            ratio(rh),
            ratio(rdir),
            p(&h, |s| s.p50_ms),
            p(&d, |s| s.p50_ms),
            p(&rd, |s| s.p50_ms),
            p(&cr, |s| s.p50_ms),
            p(&h, |s| s.p99_ms),
            p(&d, |s| s.p99_ms),
            p(&rd, |s| s.p99_ms),
            p(&cr, |s| s.p99_ms),
        );
    }

    let _ = writeln!(w, "\n## Floors that name the limit, side by side\n");
    let _ = writeln!(
        w,
        "| clients | nginx → static upstream /s | cached read /s | cached ÷ proxy floor | pgbench durable insert /s | jobs accepted /s | jobs ÷ insert floor | accepted, consumers paused /s | paused ÷ insert floor |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    for &c in &cs {
        let thr = |wl: &str| get(wl, c).map_or("–".into(), |s| f(s.throughput));
        let ratio = |v: Vec<f64>| {
            if v.is_empty() {
                "–".into()
            } else {
                format!("{:.2}", median_f(v))
            }
        };
        let _ = writeln!(
            w,
            "| {c} | {} | {} | {} | {} | {} | {} | {} | {} |",
            thr("floor_nginx_proxy"),
            thr("cached_read"),
            ratio(r.ratio_per_run("cached_read", "floor_nginx_proxy", c)),
            thr("floor_pg_insert"),
            thr("job_submit"),
            ratio(r.ratio_per_run("job_submit", "floor_pg_insert", c)),
            thr("job_accept_paused"),
            ratio(r.ratio_per_run("job_accept_paused", "floor_pg_insert", c)),
        );
    }

    // Where CPU goes: CPU time per request, per process, at 16 clients.
    let _ = writeln!(
        w,
        "\n## CPU per request, 16 clients (process CPU seconds ÷ requests, in ms; medians)\n"
    );
    let _ = writeln!(
        w,
        "| request type | req/s | whole machine | by process (largest first) |"
    );
    let _ = writeln!(w, "|---|---|---|---|");
    for s16 in closed
        .iter()
        .filter(|s| s.clients == 16 && s.workload != "mixed")
    {
        let Some(st) = s16.types.get(&s16.workload) else {
            continue;
        };
        if st.throughput <= 0.0 {
            continue;
        }
        let per = |cores: f64| cores / st.throughput * 1000.0;
        let mut procs: Vec<(&String, &f64)> = s16
            .cores
            .iter()
            .filter(|(k, v)| k.as_str() != "machine" && **v >= 0.02)
            .collect();
        procs.sort_by(|a, b| b.1.total_cmp(a.1));
        let parts: Vec<String> = procs
            .iter()
            .take(8)
            .map(|(k, v)| format!("{k} {:.3}", per(**v)))
            .collect();
        let _ = writeln!(
            w,
            "| `{}` | {} | {:.3} | {} |",
            s16.workload,
            f(st.throughput),
            per(s16.cores.get("machine").copied().unwrap_or(0.0)),
            parts.join(", ")
        );
    }

    let _ = writeln!(w, "\n## Closed-loop sweep, per request type\n");
    let mut workloads: Vec<&str> = closed.iter().map(|s| s.workload.as_str()).collect();
    workloads.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for wl in workloads {
        if !seen.insert(wl) {
            continue;
        }
        let _ = writeln!(w, "### `{wl}`\n");
        if wl != "job_submit" && wl != "mixed" {
            let _ = writeln!(w, "![latency {wl}](latency-{wl}.png)\n");
        }
        if wl == "mixed" {
            let _ = writeln!(w, "![latency mixed](latency-mixed.png)\n");
        }
        let _ = writeln!(
            w,
            "| clients | type | req/s | p50 | p90 | p99 | p99.9 | max | errors (median) | notes (all runs) | CPU |"
        );
        let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|");
        for s in closed.iter().filter(|s| s.workload == wl) {
            for (ty, st) in &s.types {
                let notes: Vec<String> = st
                    .notes
                    .iter()
                    .chain(st.error_kinds.iter())
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    s.clients,
                    ty,
                    f(st.throughput),
                    f(st.p50_ms),
                    f(st.p90_ms),
                    f(st.p99_ms),
                    f(st.p999_ms),
                    f(st.max_ms),
                    st.errors,
                    notes.join(", "),
                    cores_text(&s.cores)
                );
            }
        }
        let _ = writeln!(w);
    }

    let open: Vec<&Summary> = r.summary.iter().filter(|s| s.mode == "open").collect();
    if !open.is_empty() {
        let _ = writeln!(
            w,
            "## Open loop (fixed arrival rate; latency from the intended send time)\n"
        );
        let _ = writeln!(
            w,
            "| workload | asked /s | clients | type | achieved /s | p50 | p90 | p99 | p99.9 | max | errors | notes | CPU |"
        );
        let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for s in open {
            for (ty, st) in &s.types {
                let notes: Vec<String> = st
                    .notes
                    .iter()
                    .chain(st.error_kinds.iter())
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                let _ = writeln!(
                    w,
                    "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    s.workload,
                    s.rate.unwrap_or(0.0),
                    s.clients,
                    ty,
                    f(st.throughput),
                    f(st.p50_ms),
                    f(st.p90_ms),
                    f(st.p99_ms),
                    f(st.p999_ms),
                    f(st.max_ms),
                    st.errors,
                    notes.join(", "),
                    cores_text(&s.cores)
                );
            }
        }
    }

    if !r.rss_idle_kib.is_empty() {
        let _ = writeln!(w, "\n## Memory per service process (RSS, MiB)\n");
        let _ = writeln!(
            w,
            "| process | idle (before the run) | after the run | peak (VmHWM) |"
        );
        let _ = writeln!(w, "|---|---|---|---|");
        for (name, idle) in &r.rss_idle_kib {
            let (after, peak) = r.rss_after_kib.get(name).copied().unwrap_or((0, 0));
            let _ = writeln!(
                w,
                "| {name} | {:.1} | {:.1} | {:.1} |",
                *idle as f64 / 1024.0,
                after as f64 / 1024.0,
                peak as f64 / 1024.0
            );
        }
    }

    if !r.hops.is_empty() {
        let _ = writeln!(
            w,
            "\n## Per hop (from the services' and the gateway's logs, this run's Case-IDs, all runs)\n"
        );
        let _ = writeln!(
            w,
            "The gateway logs in seconds with 1 ms resolution: its p50s of 0 mean \"under 1 ms\".\n"
        );
        let _ = writeln!(w, "| point | hop | route | lines | p50 | p90 | p99 |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        for h in &r.hops {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                h.point,
                h.service,
                h.route,
                h.count,
                f(h.p50_ms),
                f(h.p90_ms),
                f(h.p99_ms)
            );
        }
    }

    let _ = writeln!(w, "\n## Plots\n");
    let _ = writeln!(w, "![throughput](throughput.png)\n");
    let _ = writeln!(w, "![p99](p99.png)");
    md
}

pub fn write_all(r: &Results, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string(r)?;
    std::fs::write(dir.join("results.json"), json).context("writing results.json")?;
    std::fs::write(dir.join("summary.md"), markdown(r)).context("writing summary.md")?;
    crate::plot::draw_all(r, dir)?;
    Ok(())
}
