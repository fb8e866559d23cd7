//! `worker-service [api|consume|all|migrate]`: the HTTP API (default), a
//! queue consumer, both in one process, or the job store's migrations
//! (applied, then it exits).

use w2meet_platform::{env, shutdown, telemetry};
use worker_service::config::Config;
use worker_service::startup::ConsumerApp;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "api".to_owned());
    if !matches!(mode.as_str(), "api" | "consume" | "all" | "migrate") {
        anyhow::bail!("usage: worker-service [api|consume|all|migrate] (got {mode:?})");
    }
    let config = Config::from_env()?;
    let _logs = telemetry::init("worker-service", &env::instance_name(), &config.log_dir)?;
    let result = if mode == "migrate" {
        worker_service::startup::migrate(&config)
            .await
            .inspect(|()| {
                tracing::info!("worker-service migrations applied");
            })
    } else {
        run(&mode, config).await
    };
    if let Err(e) = &result {
        tracing::error!(error = format!("{e:#}"), mode, "worker-service failed");
    }
    result
}

async fn run(mode: &str, config: Config) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown::signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // The consumer process serves /health and /metrics only when asked to:
    // several consumers start without a port of their own.
    let serve_http = match mode {
        "consume" => config.consumer_bind.map(|bind| Config {
            bind,
            ..config.clone()
        }),
        _ => Some(config.clone()),
    };
    let api = match serve_http {
        Some(cfg) => {
            let app = worker_service::startup::build(cfg).await?;
            tracing::info!(port = app.port(), "worker-service listening");
            Some(tokio::spawn(app.run_until(stopped(stop_rx.clone()))))
        }
        None => None,
    };
    let consumer = if mode == "api" {
        None
    } else {
        let consumer = ConsumerApp::build(config).await?;
        Some(tokio::spawn(consumer.run_until(stopped(stop_rx.clone()))))
    };
    if let Some(api) = api {
        api.await??;
    }
    if let Some(consumer) = consumer {
        consumer.await??;
    }
    Ok(())
}
