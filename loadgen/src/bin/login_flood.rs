//! Cached reads with and without a concurrent login flood (BENCHMARKS.md,
//! "Reads during a login flood"; run by `scripts/bench-login`).
//!
//! `CLIENTS` closed-loop clients read cached users (`GET /users/users/{e}`)
//! through the gateway for `DURATION` seconds; in the "flood" phase an
//! open-loop generator meanwhile sends `RATE` correct logins per second
//! (each one Argon2id verification). Phases alternate quiet, flood, quiet,
//! flood… for `RUNS` pairs, so both see the same machine; the report gives
//! each phase's median p50/p99 over the runs and the p99 ratio.
//!
//! usage: login_flood --gateway URL [--clients 16] [--rate 20] [--runs 3]
//!        [--duration 10] [--warmup 2] [--out FILE.json]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

struct Args {
    gateway: String,
    clients: usize,
    rate: f64,
    runs: usize,
    duration: Duration,
    warmup: Duration,
    out: Option<String>,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        gateway: String::new(),
        clients: 16,
        rate: 20.0,
        runs: 3,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        out: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--gateway" => a.gateway = v,
            "--clients" => a.clients = v.parse()?,
            "--rate" => a.rate = v.parse()?,
            "--runs" => a.runs = v.parse()?,
            "--duration" => a.duration = Duration::from_secs_f64(v.parse()?),
            "--warmup" => a.warmup = Duration::from_secs_f64(v.parse()?),
            "--out" => a.out = Some(v),
            other => bail!("unknown argument {other}"),
        }
        i += 2;
    }
    if a.gateway.is_empty() {
        bail!("--gateway URL is required");
    }
    Ok(a)
}

/// One phase's measurements.
struct Phase {
    reads: Histogram<u64>,
    read_errors: u64,
    logins_ok: u64,
    logins_failed: u64,
    login_p50_ms: f64,
    seconds: f64,
}

async fn phase(
    http: &reqwest::Client,
    a: &Args,
    readers: &[String],
    accounts: &[String],
    password: &str,
    flood: bool,
) -> Result<Phase> {
    let stop = Arc::new(AtomicBool::new(false));
    let recording = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let (http, stop, recording, errors) = (
            http.clone(),
            stop.clone(),
            recording.clone(),
            errors.clone(),
        );
        let url = format!("{}/users/users/{}", a.gateway, readers[c % readers.len()]);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = match http.get(&url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if recording.load(Ordering::Relaxed) {
                    if ok {
                        h.saturating_record(t.elapsed().as_micros() as u64);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            h
        }));
    }
    let logins = Arc::new(std::sync::Mutex::new((
        0u64,
        0u64,
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds"),
    )));
    let flooder = flood.then(|| {
        let (http, stop, logins) = (http.clone(), stop.clone(), logins.clone());
        let (gateway, accounts, password) =
            (a.gateway.clone(), accounts.to_vec(), password.to_owned());
        let every = Duration::from_secs_f64(1.0 / a.rate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let body = json!({"email": accounts[n % accounts.len()], "password": password});
                n += 1;
                let (http, logins, url) = (
                    http.clone(),
                    logins.clone(),
                    format!("{gateway}/users/auth/login"),
                );
                // Open loop: a slow login does not slow the next one down.
                tokio::spawn(async move {
                    let t = Instant::now();
                    let ok = matches!(http.post(&url).json(&body).send().await,
                        Ok(r) if r.status().is_success());
                    let mut l = logins.lock().expect("lock");
                    if ok {
                        l.0 += 1;
                        l.2.saturating_record(t.elapsed().as_micros() as u64);
                    } else {
                        l.1 += 1;
                    }
                });
            }
        })
    });
    tokio::time::sleep(a.warmup).await;
    if let Ok(mut l) = logins.lock() {
        *l = (0, 0, l.2.clone());
        l.2.reset();
    }
    recording.store(true, Ordering::Relaxed);
    let t = Instant::now();
    tokio::time::sleep(a.duration).await;
    recording.store(false, Ordering::Relaxed);
    let seconds = t.elapsed().as_secs_f64();
    let (logins_ok, logins_failed, login_p50_ms) = {
        let l = logins.lock().expect("lock");
        (l.0, l.1, l.2.value_at_quantile(0.5) as f64 / 1000.0)
    };
    stop.store(true, Ordering::Relaxed);
    let mut reads = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    for t in tasks {
        reads.add(&t.await?)?;
    }
    if let Some(f) = flooder {
        f.abort();
    }
    // Let the last logins finish before the next phase.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Phase {
        reads,
        read_errors: errors.load(Ordering::Relaxed),
        logins_ok,
        logins_failed,
        login_p50_ms,
        seconds,
    })
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = parse()?;
    w2meet_tls::install_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4 * a.clients + 64)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let tag = format!(
        "lf{:x}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_millis()
    );
    let password = format!("bench passphrase {tag}");
    // Readers: unclaimed profiles (one per client); accounts: registered,
    // so every login verifies a real hash.
    let readers: Vec<String> = (0..a.clients)
        .map(|i| format!("{tag}-r{i}@bench.example"))
        .collect();
    let accounts: Vec<String> = (0..8)
        .map(|i| format!("{tag}-a{i}@bench.example"))
        .collect();
    for e in &readers {
        let r = http
            .post(format!("{}/users/users", a.gateway))
            .json(&json!({"email": e, "availabilities": {"monday": [9, 10]}}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("seeding {e}: {}", r.status());
        }
    }
    let mut tokens = Vec::new();
    for e in &accounts {
        let r = http
            .post(format!("{}/users/auth/register", a.gateway))
            .json(&json!({"email": e, "password": password}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("registering {e}: {}", r.status());
        }
        let body: Value = r.json().await?;
        tokens.push(body["access_token"].as_str().unwrap_or_default().to_owned());
    }
    let mut quiet = Vec::new();
    let mut flooded = Vec::new();
    for run in 1..=a.runs {
        for flood in [false, true] {
            let p = phase(&http, &a, &readers, &accounts, &password, flood).await?;
            eprintln!(
                "run {run} {:>6}: reads {:.0}/s p50 {:.2} ms p99 {:.2} ms err {} | logins {:.1}/s ok, {} failed, p50 {:.0} ms",
                if flood { "flood" } else { "quiet" },
                p.reads.len() as f64 / p.seconds,
                ms(&p.reads, 0.5),
                ms(&p.reads, 0.99),
                p.read_errors,
                p.logins_ok as f64 / p.seconds,
                p.logins_failed,
                p.login_p50_ms,
            );
            if flood {
                flooded.push(p)
            } else {
                quiet.push(p)
            }
        }
    }
    let summary = |ps: &[Phase]| -> Value {
        json!({
            "reads_per_s": median(ps.iter().map(|p| p.reads.len() as f64 / p.seconds).collect()),
            "p50_ms": median(ps.iter().map(|p| ms(&p.reads, 0.5)).collect()),
            "p99_ms": median(ps.iter().map(|p| ms(&p.reads, 0.99)).collect()),
            "read_errors": ps.iter().map(|p| p.read_errors).sum::<u64>(),
            "logins_per_s": median(ps.iter().map(|p| p.logins_ok as f64 / p.seconds).collect()),
            "login_failures": ps.iter().map(|p| p.logins_failed).sum::<u64>(),
            "login_p50_ms": median(ps.iter().map(|p| p.login_p50_ms).collect()),
        })
    };
    let (q, f) = (summary(&quiet), summary(&flooded));
    let ratio = f["p99_ms"].as_f64().unwrap_or(0.0) / q["p99_ms"].as_f64().unwrap_or(1.0);
    let result = json!({
        "clients": a.clients, "login_rate": a.rate, "runs": a.runs,
        "duration_s": a.duration.as_secs_f64(), "quiet": q, "flood": f,
        "p99_ratio": ratio,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_vec_pretty(&result)?).with_context(|| out.clone())?;
    }
    // Clean up what this run made (claimed profiles with their owners'
    // tokens; they outlive the run's few minutes).
    for e in &readers {
        let _ = http
            .delete(format!("{}/users/users/{e}", a.gateway))
            .send()
            .await;
    }
    for (e, t) in accounts.iter().zip(&tokens) {
        let _ = http
            .delete(format!("{}/users/users/{e}", a.gateway))
            .bearer_auth(t)
            .send()
            .await;
    }
    Ok(())
}
