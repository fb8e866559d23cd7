//! `meeting-service`: the HTTP API with its outbox relay;
//! `meeting-service migrate` applies the database migrations and exits.

use meeting_service::config::Config;
use w2meet_platform::{env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _logs = telemetry::init("meeting-service", &env::instance_name(), &config.log_dir)?;
    if std::env::args().skip(1).eq(["migrate"]) {
        meeting_service::startup::migrate(&config).await?;
        tracing::info!("meeting-service migrations applied");
        return Ok(());
    }
    let app = meeting_service::startup::build(config)
        .await
        .inspect_err(|e| {
            tracing::error!(error = format!("{e:#}"), "meeting-service failed to start");
        })?;
    tracing::info!(port = app.port(), "meeting-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
