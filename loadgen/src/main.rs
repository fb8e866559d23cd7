//! W2Meet load generator. See `loadgen --help` and BENCHMARKS.md.

mod cpu;
mod hops;
mod pgfloor;
mod plot;
mod report;
mod rng;
mod stats;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::report::{Point, Results};
use crate::workload::{Ctx, Kind, PointSpec, Workload};

const HELP: &str = "\
loadgen — W2Meet load generator (closed/open loop, client sweeps, floors)

usage: loadgen --gateway URL [options]

  --gateway URL            the nginx gateway (required)
  --direct-user URLS       user-service replicas, comma-separated (floor: bypass the gateway)
  --redis URL              Redis (floor: GET round trip)   --redis-key-prefix P  (keys this run owns)
  --proxy-floor URL        nginx proxying to a static upstream (floor for a proxied read)
  --pg-floor URL           a PostgreSQL database this run may write (floor: pgbench's durable insert)
  --out DIR                results folder (default bench-results/<run-name>)
  --run-name NAME          (default: local time, e.g. 2026-11-22T01-02)
  --clients LIST           sweep, default 1,2,4,8,16,32,64
  --sweep LIST             request types swept in closed loop, default
                           health,proxy,direct,redis,pginsert,cached,uncached,suggest2,suggest50,
                           update,submit,accept,job,mixed (floors without their option are skipped;
                           accept = submit with the consumers paused: the submit path alone)
  --mix TYPE=W,...         the mixed workload, default cached=60,suggest2=15,suggest50=5,update=15,job=5
  --open TYPE=RATE,...     open-loop points (total requests/s), default job=500,job=200,cached=2000,suggest2=500
  --open-clients N         clients of each open-loop point (default 100)
  --submit-clients N       an extra job-submission point at N clients (default 0 = none; the
                           sweep's `submit` measures it at every client count)
  --runs N                 repetitions of everything, medians reported (default 3)
  --warmup SECS            per point (default 0.4)     --duration SECS  per point (default 1.2)
  --users N                shared user pool (default 200)   --quorum K  of 50 (default 35)
  --wait-s S               end-to-end jobs wait for their end with GET /worker/tasks/{id}?wait=S
                           (default 10; 0 = poll every --poll-ms instead)
  --poll-ms MS             job polling interval with --wait-s 0 (default 10)
  --seed N                 (default 42)
  --pids DIR               scripts/up PID files: idle RSS and CPU per process
  --nginx-pid FILE         nginx master PID file (CPU of the gateway)
  --logs DIR               the stack's logs: per-hop durations of the run's requests
  --hops-clients N         which sweep point to break down per hop (default 16)
  --plot-only FILE         redraw plots and the Markdown from an existing results.json
                           (with --logs DIR: recompute the per-hop table from kept logs)
";

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub gateway: String,
    pub direct_user: Vec<String>,
    pub redis: Option<String>,
    pub redis_key_prefix: String,
    pub proxy_floor: Option<String>,
    pub pg_floor: Option<String>,
    pub out: PathBuf,
    pub run_name: String,
    pub clients: Vec<usize>,
    pub sweep: Vec<String>,
    pub mix: String,
    pub open: Vec<(String, f64)>,
    pub open_clients: usize,
    pub submit_clients: usize,
    pub runs: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub users: usize,
    pub quorum: usize,
    pub poll_ms: u64,
    pub wait_s: f64,
    pub seed: u64,
    pub pids: Option<PathBuf>,
    pub nginx_pid: Option<PathBuf>,
    pub logs: Option<PathBuf>,
    pub hops_clients: usize,
    pub command: String,
}

fn list<T: std::str::FromStr>(s: &str) -> Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            x.trim()
                .parse::<T>()
                .map_err(|e| anyhow::anyhow!("{x:?}: {e}"))
        })
        .collect()
}

fn parse_args() -> Result<Option<(Config, Option<PathBuf>)>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let now = chrono::Local::now().format("%Y-%m-%dT%H-%M").to_string();
    let mut c = Config {
        gateway: String::new(),
        direct_user: vec![],
        redis: None,
        redis_key_prefix: "loadgen:".into(),
        proxy_floor: None,
        pg_floor: None,
        out: PathBuf::new(),
        run_name: now,
        clients: vec![1, 2, 4, 8, 16, 32, 64],
        sweep: "health,proxy,direct,redis,pginsert,cached,uncached,suggest2,suggest50,update,submit,accept,job,mixed"
            .split(',')
            .map(str::to_owned)
            .collect(),
        mix: "cached=60,suggest2=15,suggest50=5,update=15,job=5".into(),
        open: vec![
            ("job".into(), 500.0),
            ("job".into(), 200.0),
            ("cached".into(), 2000.0),
            ("suggest2".into(), 500.0),
        ],
        open_clients: 100,
        submit_clients: 0,
        runs: 3,
        warmup_s: 0.4,
        duration_s: 1.2,
        users: 200,
        quorum: 35,
        poll_ms: 10,
        wait_s: 10.0,
        seed: 42,
        pids: None,
        nginx_pid: None,
        logs: None,
        hops_clients: 16,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let mut plot_only = None;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "-h" || flag == "--help" {
            print!("{HELP}");
            return Ok(None);
        }
        let v = args
            .get(i + 1)
            .with_context(|| format!("{flag} needs a value"))?
            .clone();
        match flag {
            "--gateway" => c.gateway = v.trim_end_matches('/').to_owned(),
            "--direct-user" => {
                c.direct_user = v
                    .split(',')
                    .map(|s| s.trim_end_matches('/').to_owned())
                    .collect()
            }
            "--redis" => c.redis = Some(v),
            "--redis-key-prefix" => c.redis_key_prefix = v,
            "--proxy-floor" => c.proxy_floor = Some(v),
            "--pg-floor" => c.pg_floor = Some(v),
            "--out" => out = Some(PathBuf::from(v)),
            "--run-name" => c.run_name = v,
            "--clients" => c.clients = list(&v)?,
            "--sweep" => c.sweep = list(&v)?,
            "--mix" => c.mix = v,
            "--open" => {
                c.open = v
                    .split(',')
                    .filter(|x| !x.trim().is_empty())
                    .map(|x| {
                        let (k, r) = x.split_once('=').context("--open wants TYPE=RATE")?;
                        Ok((k.trim().to_owned(), r.trim().parse::<f64>()?))
                    })
                    .collect::<Result<_>>()?
            }
            "--open-clients" => c.open_clients = v.parse()?,
            "--submit-clients" => c.submit_clients = v.parse()?,
            "--runs" => c.runs = v.parse()?,
            "--warmup" => c.warmup_s = v.parse()?,
            "--duration" => c.duration_s = v.parse()?,
            "--users" => c.users = v.parse()?,
            "--quorum" => c.quorum = v.parse()?,
            "--poll-ms" => c.poll_ms = v.parse()?,
            "--wait-s" => c.wait_s = v.parse()?,
            "--seed" => c.seed = v.parse()?,
            "--pids" => c.pids = Some(v.into()),
            "--nginx-pid" => c.nginx_pid = Some(v.into()),
            "--logs" => c.logs = Some(v.into()),
            "--hops-clients" => c.hops_clients = v.parse()?,
            "--plot-only" => plot_only = Some(PathBuf::from(v)),
            other => bail!("unknown option {other} (see --help)"),
        }
        i += 2;
    }
    c.out = out.unwrap_or_else(|| PathBuf::from("bench-results").join(&c.run_name));
    if plot_only.is_none() {
        if c.gateway.is_empty() {
            bail!("--gateway is required (see --help)");
        }
        if c.users < 50 {
            bail!("--users must be at least 50 (the 50-user suggestion)");
        }
        if c.quorum == 0 || c.quorum > 50 {
            bail!("--quorum must be 1..50");
        }
        if c.runs == 0 || c.clients.is_empty() || c.clients.contains(&0) {
            bail!("--runs and --clients must be positive");
        }
    }
    Ok(Some((c, plot_only)))
}

fn workload_of(name: &str, mix: &str) -> Result<Workload> {
    if name.trim() == "mixed" {
        Ok(Workload::Mix(workload::parse_mix(mix)?))
    } else {
        Ok(Workload::One(Kind::parse(name)?))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let Some((cfg, plot_only)) = parse_args()? else {
        return Ok(());
    };
    plot::register_font()?;
    if let Some(file) = plot_only {
        let mut results: Results = serde_json::from_slice(&std::fs::read(&file)?)?;
        if let Some(dir) = &cfg.logs {
            results.hops = hops::analyse(dir, &results.tag, cfg.hops_clients)?;
        }
        let dir = file.parent().map(PathBuf::from).unwrap_or_default();
        report::write_all(&results, &dir)?;
        eprintln!("redrew {}", dir.display());
        return Ok(());
    }
    run(cfg).await
}

async fn run(cfg: Config) -> Result<()> {
    let started = SystemTime::now();
    std::fs::create_dir_all(&cfg.out).with_context(|| format!("creating {}", cfg.out.display()))?;
    let watch = cpu::Watch::new(cfg.pids.as_deref(), cfg.nginx_pid.as_deref());

    // Idle memory first, before this run sends anything.
    let mut rss_idle = BTreeMap::new();
    for (name, pid) in watch.services() {
        if let Some((rss, _)) = cpu::rss_kib(pid) {
            rss_idle.insert(name, rss);
        }
    }

    let max_clients = cfg
        .clients
        .iter()
        .copied()
        .chain([cfg.open_clients, cfg.submit_clients])
        .max()
        .unwrap_or(1)
        .max(1);
    w2meet_tls::install_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4 * max_clients)
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()?;

    // A tag unique to this run: every user, key and Case-ID it makes
    // carries it, so it never touches anything it does not own.
    let nanos = started.duration_since(SystemTime::UNIX_EPOCH)?.as_nanos();
    let tag = format!("lg{:x}{:x}", (nanos / 1_000_000) as u64, std::process::id());
    let pool: Vec<String> = (0..cfg.users)
        .map(|i| format!("{tag}-p{i}@bench.example"))
        .collect();
    let own: Vec<String> = (0..max_clients)
        .map(|i| format!("{tag}-c{i}@bench.example"))
        .collect();
    let mut everyone = pool.clone();
    everyone.extend(own.iter().cloned());
    eprintln!(
        "loadgen {tag}: seeding {} users through {}",
        everyone.len(),
        cfg.gateway
    );
    workload::seed_users(&http, &cfg.gateway, &everyone, cfg.seed).await?;

    let redis_key = format!("{}{tag}:floor", cfg.redis_key_prefix);
    let redis = match &cfg.redis {
        Some(url) => {
            let client = redis::Client::open(url.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            // A value the size of a cached user, under a key this run owns.
            let value = "x".repeat(320);
            let _: () = redis::cmd("SET")
                .arg(&redis_key)
                .arg(value)
                .arg("EX")
                .arg(3600)
                .query_async(&mut conn)
                .await?;
            Some(client)
        }
        None => None,
    };
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        gateway: cfg.gateway.clone(),
        direct_user: if cfg.direct_user.is_empty() {
            vec![format!("{}/users", cfg.gateway)]
        } else {
            cfg.direct_user.clone()
        },
        redis,
        redis_key: redis_key.clone(),
        proxy_floor: cfg.proxy_floor.clone(),
        pg_floor: cfg.pg_floor.clone(),
        pool,
        own,
        tag: tag.clone(),
        seed: cfg.seed,
        poll: Duration::from_millis(cfg.poll_ms),
        wait_s: cfg.wait_s,
        quorum: cfg.quorum,
        clock: (Instant::now(), SystemTime::now()),
    });

    let mut sweep = Vec::new();
    for s in &cfg.sweep {
        let w = workload_of(s, &cfg.mix)?;
        if matches!(w, Workload::One(Kind::DirectCachedRead)) && cfg.direct_user.is_empty() {
            eprintln!("(no --direct-user: skipping the direct floor)");
            continue;
        }
        if matches!(w, Workload::One(Kind::RedisGet)) && cfg.redis.is_none() {
            eprintln!("(no --redis: skipping the Redis floor)");
            continue;
        }
        if matches!(w, Workload::One(Kind::ProxyStatic)) && cfg.proxy_floor.is_none() {
            eprintln!("(no --proxy-floor: skipping the proxy floor)");
            continue;
        }
        if matches!(w, Workload::One(Kind::PgInsert)) && cfg.pg_floor.is_none() {
            eprintln!("(no --pg-floor: skipping the insert floor)");
            continue;
        }
        sweep.push(w);
    }
    let open: Vec<(Workload, f64)> = cfg
        .open
        .iter()
        .map(|(k, r)| Ok((workload_of(k, &cfg.mix)?, *r)))
        .collect::<Result<_>>()?;

    let warmup = Duration::from_secs_f64(cfg.warmup_s);
    let duration = Duration::from_secs_f64(cfg.duration_s);
    let mut plan = Vec::new();
    for run in 1..=cfg.runs {
        for &clients in &cfg.clients {
            for w in &sweep {
                plan.push(PointSpec {
                    workload: w.clone(),
                    clients,
                    rate: None,
                    warmup,
                    duration,
                    run,
                });
            }
        }
        if cfg.submit_clients > 0 {
            plan.push(PointSpec {
                workload: Workload::One(Kind::JobSubmit),
                clients: cfg.submit_clients,
                rate: None,
                warmup,
                duration,
                run,
            });
        }
        for (w, rate) in &open {
            plan.push(PointSpec {
                workload: w.clone(),
                clients: cfg.open_clients,
                rate: Some(*rate),
                warmup,
                duration: duration.max(Duration::from_secs(2)),
                run,
            });
        }
    }
    let est: f64 = plan
        .iter()
        .map(|p| (p.warmup + p.duration).as_secs_f64() + 0.1)
        .sum();
    eprintln!("{} points, about {:.0} s of load", plan.len(), est);

    let mut points = Vec::new();
    for (n, spec) in plan.iter().enumerate() {
        let c2 = ctx.clone();
        let w2 = watch.clone();
        let (warm, dur) = (spec.warmup, spec.duration);
        // CPU per process over the measured window only.
        let cpu_task = tokio::spawn(async move {
            tokio::time::sleep(warm + Duration::from_millis(20)).await;
            let a = w2.snapshot();
            let t = Instant::now();
            tokio::time::sleep(dur).await;
            let b = w2.snapshot();
            cpu::cores_used(&a, &b, t.elapsed().as_secs_f64())
        });
        let paused = matches!(spec.workload, Workload::One(Kind::JobAccept));
        if paused {
            signal_consumers(&watch, "-STOP");
        }
        let point = workload::run_point(c2, spec).await;
        if paused {
            signal_consumers(&watch, "-CONT");
        }
        let (rec, seconds) = point?;
        let cores = cpu_task.await?;
        let types = rec.stats(seconds);
        let line: Vec<String> = types
            .iter()
            .map(|(k, s)| {
                format!(
                    "{k}: {:.0}/s p50 {:.2} p99 {:.2} ms err {}",
                    s.throughput, s.p50_ms, s.p99_ms, s.errors
                )
            })
            .collect();
        eprintln!(
            "[{}/{}] {} | {}",
            n + 1,
            plan.len(),
            spec.label(),
            line.join(" | ")
        );
        points.push(Point {
            workload: spec.workload.name(),
            mode: if spec.rate.is_some() {
                "open".into()
            } else {
                "closed".into()
            },
            rate: spec.rate,
            clients: spec.clients,
            run: spec.run,
            seconds,
            types,
            cores,
        });
        if matches!(
            spec.workload,
            Workload::One(Kind::JobSubmit | Kind::JobAccept | Kind::Job)
        ) || matches!(&spec.workload, Workload::Mix(m) if m.iter().any(|(k, _)| *k == Kind::Job))
        {
            drain_jobs(&ctx).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // "After the run" is after the load: the services give back what the
    // load left in their allocator's arenas once they have been quiet for a
    // second (`memory::note_request`), so read after a few seconds of quiet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut rss_after = BTreeMap::new();
    for (name, pid) in watch.services() {
        if let Some(v) = cpu::rss_kib(pid) {
            rss_after.insert(name, v);
        }
    }

    // Clean up what this run made (and only that).
    if let Some(client) = &ctx.redis
        && let Ok(mut conn) = client.get_multiplexed_async_connection().await
    {
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(&redis_key)
            .query_async(&mut conn)
            .await;
    }
    if let Some(url) = &cfg.pg_floor {
        pgfloor::cleanup(url).await;
    }
    let failed = workload::delete_users(&http, &cfg.gateway, &everyone).await;
    if failed > 0 {
        eprintln!("warning: {failed} of the run's users could not be deleted");
    }

    let hops = match &cfg.logs {
        Some(dir) => {
            eprintln!("reading per-hop durations from {}", dir.display());
            hops::analyse(dir, &tag, cfg.hops_clients)?
        }
        None => vec![],
    };

    let results = Results::new(cfg.clone(), tag, started, points, rss_idle, rss_after, hops);
    report::write_all(&results, &cfg.out)?;
    eprintln!(
        "results in {} ({:.0} s)",
        cfg.out.display(),
        started.elapsed().map_or(0.0, |d| d.as_secs_f64())
    );
    Ok(())
}

/// Sends `signal` (`-STOP`, `-CONT`) to the stack's queue consumers (the
/// `worker-consumer-*` PID files).
fn signal_consumers(watch: &cpu::Watch, signal: &str) {
    for (name, pid) in watch.services() {
        if name.starts_with("worker-consumer") {
            let sent = std::process::Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
            if !sent.is_ok_and(|s| s.success()) {
                eprintln!("warning: kill {signal} {name} ({pid}) failed");
            }
        }
    }
}

/// Waits (at most 60 s) until the last job submitted is finished, so that a
/// backlog does not load the next point.
async fn drain_jobs(ctx: &Ctx) {
    let Some(id) = workload::LAST_JOB.lock().expect("lock").clone() else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match workload::get_job(ctx, &id, &format!("{}.drain", ctx.tag)).await {
            Ok((s, _)) if s == "succeeded" || s == "failed" => return,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    eprintln!("warning: job {id} still unfinished after 60 s");
}
