use user_service::config::Config;

use w2meet_platform::{env, shutdown, telemetry};

/// `user-service` runs the service; `user-service keygen PATH` writes a new
/// Ed25519 signing key (PKCS#8 PEM, mode 0600) for `AUTH_SIGNING_KEY_FILE`;
/// `user-service migrate` applies the database migrations and exits.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, path] = args.as_slice()
        && cmd == "keygen"
    {
        return keygen(path);
    }
    let config = Config::from_env()?;
    let _logs = telemetry::init("user-service", &env::instance_name(), &config.log_dir)?;
    if args == ["migrate"] {
        user_service::startup::migrate(&config).await?;
        tracing::info!("user-service migrations applied");
        return Ok(());
    }
    let app = user_service::startup::build(config)
        .await
        .inspect_err(|e| {
            tracing::error!(error = format!("{e:#}"), "user-service failed to start");
        })?;
    tracing::info!(port = app.port(), "user-service listening");
    app.run_until(shutdown::signal()).await?;
    Ok(())
}

fn keygen(path: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let pem = user_service::service::tokens::generate_pem()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(pem.as_bytes())?;
    println!("wrote a new signing key to {path}");
    Ok(())
}
