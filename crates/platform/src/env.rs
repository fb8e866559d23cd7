//! Reading configuration from the environment: every variable has a working
//! local default, and a malformed value is an error that names the variable.

use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

/// `name` as a path, or `None` when unset or empty (an optional file).
pub fn path_or_none(name: &str) -> Option<std::path::PathBuf> {
    Some(string_or(name, ""))
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
}

/// `TLS_CA_FILE`'s certificates as PEM text (checked), or `None` when
/// unset: for clients that take extra CAs as text (AMQP over TLS).
pub fn tls_ca_pem() -> Result<Option<String>, ConfigError> {
    let path = path_or_none("TLS_CA_FILE");
    w2meet_tls::ca_pem(path.as_deref()).map_err(|e| ConfigError {
        name: "TLS_CA_FILE".to_owned(),
        value: path.map(|p| p.display().to_string()).unwrap_or_default(),
        reason: e.to_string(),
    })
}

/// `name` parsed as `T`, or `default` when unset or empty.
pub fn parse_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError {
            name: name.to_owned(),
            value: v.clone(),
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// `name` as a string, or `default` when unset or empty.
pub fn string_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => default.to_owned(),
    }
}

/// A duration given in milliseconds by `name`.
pub fn millis_or(name: &str, default_ms: u64) -> Result<std::time::Duration, ConfigError> {
    parse_or(name, default_ms).map(std::time::Duration::from_millis)
}

/// This process's instance name for logs: `INSTANCE`, else `HOSTNAME`, else
/// `pid-<pid>`.
pub fn instance_name() -> String {
    std::env::var("INSTANCE")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("pid-{}", std::process::id()))
}

/// A secret value: its `Debug` is `<redacted>`, so a config printed whole
/// (`{config:?}`) shows no key or credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A secret given inline by `name` or in the file named by `file_var`
/// (the file wins; surrounding whitespace is dropped). `None` when neither
/// is set. The value never appears in an error.
pub fn secret(name: &str, file_var: &str) -> Result<Option<Secret>, ConfigError> {
    match std::env::var(file_var) {
        Ok(path) if !path.trim().is_empty() => std::fs::read_to_string(path.trim())
            .map(|s| {
                Some(s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .map(Secret)
            })
            .map_err(|e| ConfigError {
                name: file_var.to_owned(),
                value: path.clone(),
                reason: format!("cannot read the file: {e}"),
            }),
        _ => Ok(std::env::var(name)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(Secret)),
    }
}

/// The platform's service credential (`SERVICE_TOKEN` or
/// `SERVICE_TOKEN_FILE`); see [`crate::auth`].
pub fn service_token() -> Result<Option<crate::auth::ServiceToken>, ConfigError> {
    Ok(secret("SERVICE_TOKEN", "SERVICE_TOKEN_FILE")?
        .and_then(|s| crate::auth::ServiceToken::new(s.expose())))
}

/// The largest AMQP frame the services ask for. lapin keeps 32 frames of
/// buffer each way per connection, filled in at once: at RabbitMQ's
/// default (128 KiB) that is 8 MiB per connection, more than an idle
/// service needs for everything else. Every message the platform sends is
/// a few KiB; a larger one is split into frames, as AMQP does anyway.
pub const AMQP_FRAME_MAX: u32 = 16 * 1024;

/// `url` asking for frames of at most [`AMQP_FRAME_MAX`], unless it names
/// a `frame_max` itself.
pub fn amqp_url_with_frame_max(url: &str) -> String {
    let has = url
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p.starts_with("frame_max=")));
    if has {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&frame_max={AMQP_FRAME_MAX}")
    } else {
        format!("{url}?frame_max={AMQP_FRAME_MAX}")
    }
}

#[cfg(test)]
mod amqp_url_tests {
    use super::*;

    #[test]
    fn frame_max_is_added_unless_the_url_names_one() {
        assert_eq!(
            amqp_url_with_frame_max("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:guest@127.0.0.1:5672/%2f?frame_max=16384"
        );
        assert_eq!(
            amqp_url_with_frame_max("amqps://h/%2f?heartbeat=10"),
            "amqps://h/%2f?heartbeat=10&frame_max=16384"
        );
        let own = "amqp://h/%2f?heartbeat=5&frame_max=131072";
        assert_eq!(amqp_url_with_frame_max(own), own);
    }
}
