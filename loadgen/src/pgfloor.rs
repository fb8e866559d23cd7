//! The durable-insert floor: pgbench running a one-row `INSERT` (each its
//! own transaction, so one commit each, as durable as the job store's) at
//! the point's client count, against a table of this run's own.
//!
//! pgbench logs every transaction (`-l`); those that completed after the
//! warm-up are the point's measurements, so its figures are read the same
//! way as every other point's.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::stats::Recorder;
use crate::workload::{Kind, PointSpec};

/// The floor's table: about a job row's size, with its own id default.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS loadgen_floor_insert (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())";

const SCRIPT: &str = "INSERT INTO loadgen_floor_insert (body) VALUES \
    ('{\"userId1\": \"a@bench.example\", \"userId2\": \"b@bench.example\", \"preference\": \"first\"}');\n";

/// Runs one point of the floor.
pub async fn run(url: &str, spec: &PointSpec) -> Result<(Recorder, f64)> {
    let dir = std::env::temp_dir().join(format!(
        "loadgen-pg-{}-{}",
        std::process::id(),
        spec.label()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = measure(url, spec, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn psql(url: &str, sql: &str) -> Result<()> {
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .await
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Drops the floor's table (at the end of a run).
pub async fn cleanup(url: &str) {
    let _ = psql(url, "DROP TABLE IF EXISTS loadgen_floor_insert").await;
}

async fn measure(url: &str, spec: &PointSpec, dir: &Path) -> Result<(Recorder, f64)> {
    psql(url, TABLE).await?;
    let script = dir.join("insert.sql");
    std::fs::write(&script, SCRIPT)?;
    let total = spec.warmup + spec.duration;
    let seconds = total.as_secs_f64().ceil().max(1.0) as u64;
    let clients = spec.clients.to_string();
    let threads = spec.clients.min(4).to_string();
    let prefix = dir.join("tx");
    let out = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-f"])
        .arg(&script)
        .args([
            "-c",
            &clients,
            "-j",
            &threads,
            "-T",
            &seconds.to_string(),
            "-l",
        ])
        .arg(format!("--log-prefix={}", prefix.display()))
        .arg(url)
        .output()
        .await
        .context("running pgbench (Debian: postgresql-client)")?;
    if !out.status.success() {
        // Most often the shared server's max_connections at high client
        // counts: the point shows the error instead of ending the run.
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why
            .lines()
            .find(|l| l.contains("FATAL"))
            .unwrap_or("pgbench failed");
        eprintln!("pgbench at {} clients: {}", spec.clients, why.trim());
        let mut rec = Recorder {
            active: true,
            ..Recorder::default()
        };
        rec.error(Kind::PgInsert.name(), why.trim().to_owned());
        return Ok((rec, spec.duration.as_secs_f64()));
    }
    // Lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
    let mut done: Vec<(u128, u64)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("tx"))
        {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [_, _, latency, _, secs, micros, ..] = f[..]
                && let (Ok(l), Ok(s), Ok(u)) = (
                    latency.parse::<u64>(),
                    secs.parse::<u128>(),
                    micros.parse::<u128>(),
                )
            {
                done.push((s * 1_000_000 + u, l));
            }
        }
    }
    let Some(first) = done.iter().map(|(at, l)| at - u128::from(*l)).min() else {
        bail!("pgbench logged no transactions");
    };
    let from = first + spec.warmup.as_micros();
    let to = from + spec.duration.as_micros();
    let mut rec = Recorder {
        active: true,
        ..Recorder::default()
    };
    for (at, latency) in done {
        if at >= from && at < to {
            rec.ok(Kind::PgInsert.name(), Duration::from_micros(latency));
        }
    }
    Ok((rec, spec.duration.as_secs_f64()))
}
