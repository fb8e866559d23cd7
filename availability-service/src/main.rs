use availability_service::config::Config;
use availability_service::startup::Application;
use w2meet_platform::{env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _logs = telemetry::init(
        "availability-service",
        &env::instance_name(),
        &config.log_dir,
    )?;
    let app = Application::build(config).await?;
    tracing::info!(port = app.port(), "availability-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
