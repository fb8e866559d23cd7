//! Redis for tests: a key prefix per test on the shared server, and private
//! servers for tests that stop Redis.

use std::path::PathBuf;

use redis::Commands;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared server: `TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix owned by one test; its keys are deleted on drop.
pub struct RedisPrefix {
    pub url: String,
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> RedisPrefix {
        RedisPrefix {
            url: redis_url(),
            prefix: format!("{}:", crate::unique_name("test")),
        }
    }

    /// Keys under the prefix right now.
    pub fn keys(&self) -> Vec<String> {
        keys_matching(&self.url, &format!("{}*", self.prefix))
    }
}

impl Default for RedisPrefix {
    fn default() -> Self {
        Self::new()
    }
}

fn keys_matching(url: &str, pattern: &str) -> Vec<String> {
    let Ok(client) = redis::Client::open(url) else {
        return vec![];
    };
    let Ok(mut conn) = client.get_connection() else {
        return vec![];
    };
    let Ok(iter) = conn.scan_match::<_, String>(pattern) else {
        return vec![];
    };
    iter.filter_map(Result::ok).collect()
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(mut conn) =
            redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// A `redis-server` of the test's own, on its own port and directory, that
/// the test may stop and start (the shared server is never stopped).
pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Whether it keeps its data on disk across restarts (`dump.rdb`).
    persistent: bool,
    /// TLS only (`rediss://`): its certificate, key and the CA that signed them.
    tls: Option<(crate::tls::ServerCert, PathBuf)>,
}

impl PrivateRedis {
    /// Starts a server that forgets everything when stopped.
    pub fn start() -> PrivateRedis {
        Self::start_with(false)
    }

    /// Starts a server that saves its data on shutdown and reloads it on
    /// start: what a Redis with snapshots does, and the case where stale
    /// entries survive an outage.
    pub fn start_persistent() -> PrivateRedis {
        Self::start_with(true)
    }

    /// Starts a server that speaks TLS only, with a certificate `ca` signed
    /// (its URL is `rediss://localhost:PORT`).
    pub fn start_tls(ca: &crate::tls::TestCa) -> PrivateRedis {
        Self::start_with_tls(false, Some((ca.server_cert("redis"), ca.ca_file())))
    }

    fn start_with(persistent: bool) -> PrivateRedis {
        Self::start_with_tls(persistent, None)
    }

    fn start_with_tls(
        persistent: bool,
        tls: Option<(crate::tls::ServerCert, PathBuf)>,
    ) -> PrivateRedis {
        let dir = std::env::temp_dir().join(crate::unique_name("redis"));
        std::fs::create_dir_all(&dir).expect("create private redis dir");
        let mut r = PrivateRedis {
            port: crate::free_port(),
            dir,
            child: None,
            persistent,
            tls,
        };
        r.resume();
        r
    }

    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://localhost:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// A client of this server (trusting its CA when it speaks TLS).
    fn client(&self) -> redis::RedisResult<redis::Client> {
        match &self.tls {
            Some((_, ca)) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(ca).expect("the test CA file")),
                },
            ),
            None => redis::Client::open(self.url()),
        }
    }

    /// Stops the server (saving first if persistent) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.persistent
                && let Ok(mut conn) = self.client().and_then(|c| c.get_connection())
            {
                let _: redis::RedisResult<()> = redis::cmd("SAVE").query(&mut conn);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and waits until it answers.
    pub fn resume(&mut self) {
        let save = if self.persistent { "3600 1" } else { "" };
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some((cert, ca)) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(&cert.cert_file)
                .arg("--tls-key-file")
                .arg(&cert.key_file)
                .arg("--tls-ca-cert-file")
                .arg(ca),
        };
        let child = command
            .args(["--bind", "127.0.0.1", "--save", save])
            .args(["--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ping = self
                .client()
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("private redis-server on port {} did not start", self.port);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
