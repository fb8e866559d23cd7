//! A fresh PostgreSQL schema per test, dropped when the test ends.

/// The server tests use: `TEST_DATABASE_URL`, default the local trust-auth
/// server's `postgres` database.
pub fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A schema that exists for one test. Point a service at it with
/// `DATABASE_URL = url`, `DATABASE_SCHEMA = name`.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    pub async fn create() -> TestSchema {
        let url = database_url();
        let name = crate::unique_name("test");
        let client = connect(&url).await;
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .expect("create test schema");
        TestSchema { url, name }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server is reachable (see TEST_DATABASE_URL)");
    tokio::spawn(conn);
    client
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop may run inside a runtime, which cannot block on another one:
        // clean up from a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = client.batch_execute(&sql).await;
                    }
                });
            }
        })
        .join();
    }
}

/// A PostgreSQL server of the test's own (a fresh cluster, trust auth) that
/// accepts TLS with a certificate a [`crate::tls::TestCa`] signed. The
/// server refuses to run as root, so as root it runs as the `postgres`
/// user (`runuser`); its folder is removed when it is dropped.
pub struct PrivatePostgres {
    pub port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl PrivatePostgres {
    pub fn start_tls(ca: &crate::tls::TestCa) -> PrivatePostgres {
        use std::os::unix::fs::PermissionsExt;
        let bin = postgres_bin_dir();
        let dir = std::env::temp_dir().join(crate::unique_name("pg"));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let run = |program: &str| as_server_user(&bin.join(program));
        let status = run("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        let cert = ca.server_cert("postgres");
        for (from, to) in [
            (&cert.cert_file, "server.crt"),
            (&cert.key_file, "server.key"),
        ] {
            std::fs::copy(from, data.join(to)).unwrap();
            std::fs::set_permissions(data.join(to), std::fs::Permissions::from_mode(0o600))
                .unwrap();
            if is_root() {
                let ok = std::process::Command::new("chown")
                    .arg("postgres")
                    .arg(data.join(to))
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "chown {to}");
            }
        }
        let port = crate::free_port();
        let child = run("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("postgres starts");
        let server = PrivatePostgres {
            port,
            dir,
            child: Some(child),
        };
        // Ready when it accepts sessions, not when it accepts TCP: a server
        // still starting up answers "the database system is starting up".
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let ready = || {
            std::process::Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        };
        while !ready() {
            assert!(
                std::time::Instant::now() < deadline,
                "private postgres did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// The `postgres` database over TLS (`sslmode=require`, host `localhost`
    /// as in the certificate).
    pub fn tls_url(&self) -> String {
        format!(
            "postgres://postgres@localhost:{}/postgres?sslmode=require",
            self.port
        )
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An immediate stop, by the server's own tool and user (a
            // signal to runuser would not reach the server).
            let _ = as_server_user(&postgres_bin_dir().join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-D"])
                .arg(self.dir.join("data"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `program` run as the `postgres` user when we are root (the server
/// refuses root), as ourselves otherwise.
fn as_server_user(program: &std::path::Path) -> std::process::Command {
    if is_root() {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        std::process::Command::new(program)
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The newest installed server's binaries (Debian: /usr/lib/postgresql/N/bin).
fn postgres_bin_dir() -> std::path::PathBuf {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort();
    let newest = versions.last().expect("a PostgreSQL version installed");
    std::path::PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"))
}
