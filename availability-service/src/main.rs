use availability_service::config::Config;
use w2meet_platform::{env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _logs = telemetry::init(
        "availability-service",
        &env::instance_name(),
        &config.log_dir,
    )?;
    let app = availability_service::startup::build(config).await?;
    tracing::info!(port = app.port(), "availability-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
