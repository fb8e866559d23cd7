use suggestion_service::config::Config;
use w2meet_platform::{env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _logs = telemetry::init("suggestion-service", &env::instance_name(), &config.log_dir)?;
    let app = suggestion_service::startup::build(config).await?;
    tracing::info!(port = app.port(), "suggestion-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
