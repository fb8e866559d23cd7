use user_service::config::Config;

use w2meet_platform::{env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _logs = telemetry::init("user-service", &env::instance_name(), &config.log_dir)?;
    let app = user_service::startup::build(config)
        .await
        .inspect_err(|e| {
            tracing::error!(error = format!("{e:#}"), "user-service failed to start");
        })?;
    tracing::info!(port = app.port(), "user-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
