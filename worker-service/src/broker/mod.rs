//! RabbitMQ: the queue topology ([`topology`]), message headers
//! ([`headers`]) and a connection that publishes with confirms
//! ([`Broker`]).

pub mod headers;
pub mod topology;

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::sync::Mutex;

pub use topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker could not be reached, or did not answer in time.
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
    /// The broker refused or could not route the message.
    #[error("message broker did not take the message: {0}")]
    Rejected(String),
}

impl From<lapin::Error> for BrokerError {
    fn from(e: lapin::Error) -> Self {
        BrokerError::Unavailable(e.to_string())
    }
}

/// Runs `fut` with a deadline; a timeout is [`BrokerError::Unavailable`].
pub async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, lapin::Error>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(BrokerError::from),
        Err(_) => Err(BrokerError::Unavailable(format!("{what} timed out"))),
    }
}

/// Connects to `url`: `amqps://` is TLS (rustls with the ring provider),
/// the server verified against the bundled public roots and `ca_pem`.
pub async fn connect(url: &str, ca_pem: Option<&str>) -> Result<Connection, lapin::Error> {
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: ca_pem.map(str::to_owned),
    };
    let runtime = lapin::runtime::default_runtime()?;
    let url = w2meet_platform::env::amqp_url_with_frame_max(url);
    Connection::connect_with_config(&url, ConnectionProperties::default(), tls, runtime).await
}

/// Opens a connection and a channel in confirm mode, and declares the
/// topology on it.
pub async fn open(
    url: &str,
    ca_pem: Option<&str>,
    topology: &Topology,
    timeout: Duration,
) -> Result<(Connection, Channel), BrokerError> {
    let conn = within(timeout, "connect", connect(url, ca_pem)).await?;
    let channel = within(timeout, "open channel", conn.create_channel()).await?;
    within(
        timeout,
        "confirm.select",
        channel.confirm_select(ConfirmSelectOptions::default()),
    )
    .await?;
    within(timeout, "declare queues", topology.declare(&channel)).await?;
    Ok((conn, channel))
}

/// Publishes persistently to the default exchange and waits for the broker's
/// confirm. `mandatory` makes an unroutable message (a missing queue) come
/// back instead of vanishing.
pub async fn publish_confirmed(
    channel: &Channel,
    routing_key: &str,
    body: &[u8],
    headers: FieldTable,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let props = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_headers(headers);
    let confirm = within(
        timeout,
        "publish",
        channel.basic_publish(
            "".into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            props,
        ),
    )
    .await?;
    match within(timeout, "publisher confirm", confirm).await? {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => Err(BrokerError::Rejected(format!(
            "no queue named {routing_key:?}"
        ))),
        Confirmation::Nack(_) => Err(BrokerError::Rejected("nack".to_owned())),
        Confirmation::NotRequested => Err(BrokerError::Rejected(
            "the channel is not in confirm mode".to_owned(),
        )),
    }
}

/// The API's link to RabbitMQ: one connection and one confirm-mode channel,
/// opened on first use and reopened after a failure. Publishes from many
/// requests share the channel; lapin matches each confirm to its publish.
pub struct Broker {
    url: String,
    /// Extra CA (PEM) for `amqps://`.
    ca_pem: Option<String>,
    topology: Topology,
    timeout: Duration,
    /// Held only while (re)connecting, so that a burst of requests after an
    /// outage opens one connection, not one each.
    link: Mutex<Option<(Connection, Channel)>>,
    /// After a failed connect, requests fail at once until then instead of
    /// each waiting out a connect timeout in turn (a small circuit breaker).
    retry_at: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// How long the API stops trying to connect after a failed attempt.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

impl Broker {
    pub fn new(url: &str, ca_pem: Option<String>, topology: Topology, timeout: Duration) -> Broker {
        Broker {
            url: url.to_owned(),
            ca_pem,
            topology,
            timeout,
            link: Mutex::new(None),
            retry_at: std::sync::Mutex::new(None),
        }
    }

    /// The connect/publish/confirm timeout: a submit waits at most about
    /// three of these for the broker.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A connected channel, reconnecting if needed.
    async fn channel(&self) -> Result<Channel, BrokerError> {
        let mut link = self.link.lock().await;
        if let Some((conn, channel)) = link.as_ref()
            && conn.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *link = None;
        let paused = self
            .retry_at
            .lock()
            .expect("broker retry lock")
            .is_some_and(|at| tokio::time::Instant::now() < at);
        if paused {
            return Err(BrokerError::Unavailable(
                "unreachable a moment ago; not retried yet".to_owned(),
            ));
        }
        match open(
            &self.url,
            self.ca_pem.as_deref(),
            &self.topology,
            self.timeout,
        )
        .await
        {
            Ok((conn, channel)) => {
                *link = Some((conn, channel.clone()));
                *self.retry_at.lock().expect("broker retry lock") = None;
                Ok(channel)
            }
            Err(e) => {
                *self.retry_at.lock().expect("broker retry lock") =
                    Some(tokio::time::Instant::now() + RECONNECT_PAUSE);
                Err(e)
            }
        }
    }

    /// Forgets the link after an error so the next call reconnects.
    async fn reset(&self) {
        if let Some((conn, _)) = self.link.lock().await.take() {
            let _ = tokio::time::timeout(self.timeout, conn.close(320, "reset".into())).await;
        }
    }

    /// Publishes a job message to the main queue; returns once confirmed.
    pub async fn publish(&self, body: &[u8], headers: FieldTable) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        let result =
            publish_confirmed(&channel, self.topology.main(), body, headers, self.timeout).await;
        if matches!(result, Err(BrokerError::Unavailable(_))) {
            self.reset().await;
        }
        result
    }

    /// Messages ready in the main and dead-letter queues.
    pub async fn depths(&self) -> Result<(u32, u32), BrokerError> {
        let channel = self.channel().await?;
        let result = within(self.timeout, "queue depth", self.topology.depths(&channel)).await;
        if result.is_err() {
            self.reset().await;
        }
        result
    }

    /// `/health`: a live connection (opened if needed).
    pub async fn ping(&self) -> Result<(), BrokerError> {
        self.depths().await.map(drop)
    }
}
