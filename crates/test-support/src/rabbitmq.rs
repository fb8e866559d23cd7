//! RabbitMQ for tests: queue names of a test's own on the shared broker
//! (deleted on drop), small AMQP helpers, and a private broker node a test
//! may stop and start (the shared broker at 127.0.0.1:5672 is never
//! stopped).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

/// The shared broker: `TEST_AMQP_URL`, default guest/guest on 127.0.0.1:5672.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A queue name owned by one test. The queues named in `cleanup` are
/// deleted when it is dropped (add derived ones such as retry queues with
/// [`TestQueue::also_delete`]).
pub struct TestQueue {
    pub url: String,
    pub name: String,
    cleanup: std::sync::Mutex<Vec<String>>,
    /// Exchanges the test declared, deleted with the queues.
    exchanges: std::sync::Mutex<Vec<String>>,
}

impl TestQueue {
    /// A fresh name on the shared broker; `{name}` and `{name}.dead` are
    /// cleaned up.
    pub fn new() -> TestQueue {
        Self::on(&amqp_url())
    }

    /// A fresh name on the broker at `url`.
    pub fn on(url: &str) -> TestQueue {
        let name = crate::unique_name("test_jobs");
        TestQueue {
            url: url.to_owned(),
            cleanup: std::sync::Mutex::new(vec![name.clone(), format!("{name}.dead")]),
            exchanges: std::sync::Mutex::default(),
            name,
        }
    }

    /// Deletes the exchange `exchange` too when the test ends.
    pub fn also_delete_exchange(&self, exchange: impl Into<String>) {
        if let Ok(mut e) = self.exchanges.lock() {
            e.push(exchange.into());
        }
    }

    /// Deletes `queue` too when the test ends.
    pub fn also_delete(&self, queue: impl Into<String>) {
        if let Ok(mut c) = self.cleanup.lock() {
            c.push(queue.into());
        }
    }
}

impl Default for TestQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestQueue {
    fn drop(&mut self) {
        let url = self.url.clone();
        let names = self.cleanup.lock().map(|c| c.clone()).unwrap_or_default();
        let exchanges = self.exchanges.lock().map(|e| e.clone()).unwrap_or_default();
        // Drop may run inside a runtime, which cannot block on another one.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let connect = Connection::connect(&url, ConnectionProperties::default());
                let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(3), connect).await
                else {
                    return;
                };
                for name in names {
                    if let Ok(ch) = conn.create_channel().await {
                        let _ = ch
                            .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                            .await;
                    }
                }
                for name in exchanges {
                    if let Ok(ch) = conn.create_channel().await {
                        let _ = ch
                            .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
                            .await;
                    }
                }
                let _ = conn.close(200, "test done".into()).await;
            });
        })
        .join();
    }
}

/// Ready messages in `queue`, or `None` if it does not exist or the broker
/// is unreachable.
pub async fn message_count(url: &str, queue: &str) -> Option<u32> {
    counts(url, queue).await.map(|(messages, _)| messages)
}

/// Consumers of `queue` (a consumer subscribes after declaring and binding
/// its queue, so one here means messages routed to it now reach it), or
/// `None` as for [`message_count`].
pub async fn consumer_count(url: &str, queue: &str) -> Option<u32> {
    counts(url, queue).await.map(|(_, consumers)| consumers)
}

/// `(ready messages, consumers)` of `queue`.
async fn counts(url: &str, queue: &str) -> Option<(u32, u32)> {
    let conn = tokio::time::timeout(
        Duration::from_secs(3),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .ok()?
    .ok()?;
    let ch = conn.create_channel().await.ok()?;
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .ok();
    let _ = conn.close(200, "count done".into()).await;
    q.map(|q| (q.message_count(), q.consumer_count()))
}

/// Publishes `body` as-is (persistent, no confirm) to `queue` through the
/// default exchange: for malformed messages and hand-made jobs.
pub async fn publish_raw(url: &str, queue: &str, body: &[u8], headers: FieldTable) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("the test broker is reachable (see TEST_AMQP_URL)");
    let ch = conn.create_channel().await.expect("channel");
    ch.basic_publish(
        "".into(),
        queue.into(),
        BasicPublishOptions::default(),
        body,
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_headers(headers),
    )
    .await
    .expect("publish");
    let _ = conn.close(200, "publish done".into()).await;
}

/// A RabbitMQ node of the test's own — own node name, AMQP port,
/// distribution port, data and log directories, config (no plugins, so no
/// management port clash) — that the test may stop and start. It registers
/// with the machine's shared epmd (4369), which serves any number of nodes;
/// a private epmd would outlive the test as a daemon.
pub struct PrivateRabbit {
    pub port: u16,
    dir: PathBuf,
    node: String,
    dist_port: u16,
    child: Option<Child>,
    /// With [`PrivateRabbit::start_tls`]: the port of its TLS listener.
    tls_port: Option<u16>,
}

impl PrivateRabbit {
    /// Starts a node and waits (up to 90 s) until it accepts AMQP.
    pub async fn start() -> PrivateRabbit {
        Self::start_with(None).await
    }

    /// Starts a node that also listens for AMQP over TLS (`amqps://`, see
    /// [`PrivateRabbit::tls_url`]) with a certificate `ca` signed.
    pub async fn start_tls(ca: &crate::tls::TestCa) -> PrivateRabbit {
        Self::start_with(Some(ca)).await
    }

    async fn start_with(ca: Option<&crate::tls::TestCa>) -> PrivateRabbit {
        let dir = std::env::temp_dir().join(crate::unique_name("rabbit"));
        std::fs::create_dir_all(dir.join("log")).expect("create private rabbit dir");
        let port = port_below(45_535);
        let mut dist_port = port_below(65_000);
        while dist_port == port {
            dist_port = port_below(65_000);
        }
        let mut conf = format!("listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n");
        let tls_port = ca.map(|ca| {
            let mut tls_port = port_below(45_535);
            while tls_port == port || tls_port == dist_port {
                tls_port = port_below(45_535);
            }
            let cert = ca.server_cert("rabbitmq");
            conf.push_str(&format!(
                "listeners.ssl.default = 127.0.0.1:{tls_port}\n\
                 ssl_options.cacertfile = {}\n\
                 ssl_options.certfile = {}\n\
                 ssl_options.keyfile = {}\n\
                 ssl_options.verify = verify_none\n\
                 ssl_options.fail_if_no_peer_cert = false\n",
                ca.ca_file().display(),
                cert.cert_file.display(),
                cert.key_file.display()
            ));
            tls_port
        });
        std::fs::write(dir.join("rabbitmq.conf"), conf).expect("write rabbitmq.conf");
        std::fs::write(dir.join("rabbitmq-env.conf"), "").expect("write env file");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("write enabled_plugins");
        let node = format!("{}@localhost", crate::unique_name("w2mtest"));
        let mut r = PrivateRabbit {
            port,
            dir,
            node,
            dist_port,
            child: None,
            tls_port,
        };
        r.resume().await;
        r
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// The TLS listener (`amqps://`, host `localhost` as in its certificate).
    pub fn tls_url(&self) -> String {
        let port = self.tls_port.expect("started with start_tls");
        format!("amqps://guest:guest@localhost:{port}/%2f")
    }

    fn spawn(&self) -> Child {
        use std::os::unix::process::CommandExt;
        let d = |p: &str| self.dir.join(p);
        let out = std::fs::File::create(d("log/stdout.log")).expect("stdout log");
        let err = std::fs::File::create(d("log/stderr.log")).expect("stderr log");
        Command::new("/usr/lib/rabbitmq/bin/rabbitmq-server")
            .env("HOME", &self.dir)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", d("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("rabbitmq-server is installed (/usr/lib/rabbitmq/bin)")
    }

    /// Starts the node again (same port, same data) and waits until it
    /// accepts AMQP.
    pub async fn resume(&mut self) {
        self.child = Some(self.spawn());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while tokio::time::Instant::now() < deadline {
            let attempt = tokio::time::timeout(
                Duration::from_secs(2),
                Connection::connect(&self.url(), ConnectionProperties::default()),
            )
            .await;
            if let Ok(Ok(conn)) = attempt {
                let _ = conn.close(200, "ready".into()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "private rabbitmq node {} on port {} did not start; see {}",
            self.node,
            self.port,
            self.dir.join("log").display()
        );
    }

    /// Stops the node (SIGTERM to its process group: a clean broker
    /// shutdown) and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "TERM");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                if !matches!(child.try_wait(), Ok(None)) && !group_alive(&child) {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    signal_group(&child, "KILL");
                    let _ = child.wait();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

fn group_alive(child: &Child) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A free TCP port from 20000 up to `max` (RabbitMQ derives ports from the
/// node port, so it must stay low).
fn port_below(max: u16) -> u16 {
    for _ in 0..200 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % u128::from(max - 20_000)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {max}");
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
