use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use test_support::rabbitmq::TestQueue;
use test_support::{TestSchema, wait_until};
use w2meet_platform::http::HttpLimits;
use worker_service::broker::Topology;
use worker_service::config::{
    AmqpConfig, CallbackConfig, Config, JobConfig, MeetingConfig, SuggestionConfig, WatchConfig,
};
use worker_service::domain::JobStatus;
use worker_service::startup::{self, ConsumerApp};
use worker_service::store::DbConfig;

/// How long a test waits for something that should happen quickly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A stub suggestion-service: answers from `script` in order (then 200),
/// counts calls, records the Case-IDs it received. A status of 0 means
/// "hang" (never answer), for a consumer killed mid-job.
#[derive(Clone)]
pub struct Stub {
    pub url: String,
    pub calls: Arc<AtomicUsize>,
    pub case_ids: Arc<Mutex<Vec<String>>>,
    /// The `W2Meet-Viewer` of each call that presented a service credential.
    pub viewers: Arc<Mutex<Vec<Option<String>>>>,
}

impl Stub {
    pub async fn start(script: Vec<u16>) -> Stub {
        Self::start_with_delay(script, Duration::ZERO).await
    }

    /// Like [`Stub::start`], each answer taking `delay`.
    pub async fn start_with_delay(script: Vec<u16>, delay: Duration) -> Stub {
        let calls = Arc::new(AtomicUsize::new(0));
        let case_ids = Arc::new(Mutex::new(Vec::new()));
        let viewers = Arc::new(Mutex::new(Vec::new()));
        let (c, ids, seen) = (calls.clone(), case_ids.clone(), viewers.clone());
        let router = Router::new().route(
            "/suggestions",
            post(move |headers: HeaderMap, body: axum::Json<Value>| {
                let (c, ids, script, seen) = (c.clone(), ids.clone(), script.clone(), seen.clone());
                async move {
                    let n = c.fetch_add(1, Ordering::SeqCst);
                    if headers.contains_key("w2meet-service-token") {
                        let viewer = headers.get("w2meet-viewer").and_then(|v| v.to_str().ok());
                        seen.lock().unwrap().push(viewer.map(str::to_owned));
                    }
                    if let Some(id) = headers.get("case-id").and_then(|v| v.to_str().ok()) {
                        ids.lock().unwrap().push(id.to_owned());
                    }
                    let status = script.get(n).copied().unwrap_or(200);
                    if status == 0 {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    tokio::time::sleep(delay).await;
                    let case_id = ids.lock().unwrap().last().cloned();
                    let body = match status {
                        // The rich shape, echoing the request it answers.
                        200 => json!({"case_id": case_id,
                                      "suggestions": [{"day": "monday", "slot": [9, 10],
                                                       "start": "2027-01-04T09:00:00Z", "score": 1.0}],
                                      "empty_reason": null, "alternatives": [], "request": body.0}),
                        404 => json!({"case_id": "x", "detail": [{"loc": ["query", "users"],
                                      "msg": "One or both users not found: ghost@x.io", "type": "not_found"}]}),
                        _ => json!({"case_id": "x", "detail": [{"loc": [], "msg": "down", "type": "service_unavailable"}]}),
                    };
                    (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                }
            }),
        );
        Stub {
            url: test_support::spawn_stub(router).await,
            calls,
            case_ids,
            viewers,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A test's own schema, queue name and configuration.
pub struct TestEnv {
    pub schema: TestSchema,
    pub queue: TestQueue,
    pub config: Config,
    pub logs: PathBuf,
}

impl TestEnv {
    pub async fn new(suggestion_url: &str) -> TestEnv {
        Self::on_broker(suggestion_url, &test_support::rabbitmq::amqp_url()).await
    }

    pub async fn on_broker(suggestion_url: &str, amqp_url: &str) -> TestEnv {
        w2meet_platform::telemetry::init_for_tests("worker-service");
        let schema = TestSchema::create().await;
        let queue = TestQueue::on(amqp_url);
        let logs = std::env::temp_dir().join(test_support::unique_name("worker_logs"));
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            consumer_bind: None,
            log_dir: logs.clone(),
            db: DbConfig {
                url: schema.url.clone(),
                schema: Some(schema.name.clone()),
                pool_size: 8,
                timeout: Duration::from_millis(2000),
                migrate: Default::default(),
                ca_file: None,
            },
            amqp: AmqpConfig {
                url: amqp_url.to_owned(),
                queue: queue.name.clone(),
                prefetch: 4,
                timeout: Duration::from_millis(2000),
                reconnect_max: Duration::from_millis(500),
                depth_interval: Duration::from_millis(200),
                ca_pem: None,
            },
            jobs: JobConfig {
                max_attempts: 5,
                retry_base: Duration::from_millis(50),
                retry_max: Duration::from_millis(200),
            },
            suggestion: SuggestionConfig {
                url: suggestion_url.to_owned(),
                connect_timeout: Duration::from_millis(500),
                timeout: Duration::from_secs(5),
            },
            // No meeting-service unless a test sets one (auto-book jobs).
            meetings: MeetingConfig {
                url: "http://127.0.0.1:9".to_owned(),
                connect_timeout: Duration::from_millis(300),
                timeout: Duration::from_secs(3),
            },
            callback: CallbackConfig {
                max_attempts: 3,
                retry_base: Duration::from_millis(50),
                timeout: Duration::from_secs(2),
                ca_file: None,
            },
            // Off unless a test watches (`TestEnv::watching`).
            watches: WatchConfig {
                enabled: false,
                exchange: format!("{}.users", queue.name),
                queue: format!("{}.users.watches", queue.name),
                coalesce: Duration::from_millis(100),
                sweep_every: Duration::from_secs(3600),
                max_attempts: 4,
                retry_base: Duration::from_millis(100),
                retry_max: Duration::from_millis(400),
                webhook_timeout: Duration::from_secs(2),
            },
            http: HttpLimits::default(),
            // No user-service unless a test starts one (tokens are then
            // refused as unverifiable, which no other test sends).
            user_service_url: "http://127.0.0.1:9".to_owned(),
            service_token: Some(user_service::testing::service_token()),
        };
        let env = TestEnv {
            schema,
            queue,
            config,
            logs,
        };
        env.track_queues();
        env
    }

    /// Turns watches on for this test's consumers (its own exchange and
    /// queue, cleaned up).
    pub fn watching(&mut self) {
        self.config.watches.enabled = true;
        self.queue.also_delete(self.config.watches.queue.clone());
        self.queue
            .also_delete_exchange(self.config.watches.exchange.clone());
    }

    /// Registers every queue of the current config for cleanup.
    pub fn track_queues(&self) {
        for q in Topology::new(&self.config.amqp.queue, self.config.jobs).all_queues() {
            self.queue.also_delete(q);
        }
    }

    /// RabbitMQ "down" for this app: its URL names a port nobody listens on.
    pub fn point_broker_at_a_closed_port(&mut self) {
        self.config.amqp.url = format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f",
            test_support::free_port()
        );
    }

    /// One number from the job table: `sql` with `{schema}` replaced.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let (client, conn) = tokio_postgres::connect(&self.schema.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .query_one(&sql.replace("{schema}", &self.schema.name), &[])
            .await
            .unwrap()
            .get(0)
    }

    /// Runs `sql` (`{schema}` names the test's schema).
    pub async fn execute(&self, sql: &str) {
        let (client, conn) = tokio_postgres::connect(&self.schema.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&sql.replace("{schema}", &self.schema.name))
            .await
            .unwrap();
    }

    /// Every job's status, straight from the table.
    pub async fn statuses(&self) -> Vec<(String, String, i32)> {
        let (client, conn) = tokio_postgres::connect(&self.schema.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .query(
                &format!(
                    "SELECT id::text, status, attempts FROM {}.jobs ORDER BY created_at",
                    self.schema.name
                ),
                &[],
            )
            .await
            .map(|rows| {
                rows.iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Environment for a consumer child process.
    pub fn child_env(&self) -> Vec<(String, String)> {
        let c = &self.config;
        vec![
            ("DATABASE_URL".into(), c.db.url.clone()),
            ("DATABASE_SCHEMA".into(), self.schema.name.clone()),
            ("AMQP_URL".into(), c.amqp.url.clone()),
            ("JOB_QUEUE".into(), c.amqp.queue.clone()),
            ("PREFETCH".into(), c.amqp.prefetch.to_string()),
            ("AMQP_RECONNECT_MAX_MS".into(), "500".into()),
            ("SUGGESTION_SERVICE_URL".into(), c.suggestion.url.clone()),
            ("JOB_MAX_ATTEMPTS".into(), c.jobs.max_attempts.to_string()),
            (
                "JOB_RETRY_BASE_MS".into(),
                c.jobs.retry_base.as_millis().to_string(),
            ),
            (
                "JOB_RETRY_MAX_MS".into(),
                c.jobs.retry_max.as_millis().to_string(),
            ),
            ("LOG_DIR".into(), self.logs.display().to_string()),
            ("RUST_LOG".into(), "info".into()),
            // The test's own exchange and queue even when watches are off
            // (the defaults name the shared ones).
            ("WATCHES".into(), c.watches.enabled.to_string()),
            ("USER_EXCHANGE".into(), c.watches.exchange.clone()),
            ("WATCH_CHANGES_QUEUE".into(), c.watches.queue.clone()),
        ]
    }

    /// Records every write that finishes a job in `{schema}.finishes`: one
    /// that leaves it `succeeded` or `failed` and changes its status or its
    /// `finished_at` (every finishing statement sets it to its own `now()`),
    /// whatever the row held before — so a job finished twice, by two
    /// consumers or a stale one overwriting, shows as two rows, which the
    /// job table alone would hide. Bookkeeping on a finished row (a late
    /// `published_at`) is not a finish. Call after the schema's migrations
    /// ran (an API or consumer was built).
    pub async fn record_finishes(&self) {
        self.execute(
            "CREATE TABLE {schema}.finishes (id UUID NOT NULL, status TEXT NOT NULL);
             CREATE FUNCTION {schema}.record_finish() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO {schema}.finishes VALUES (NEW.id, NEW.status); RETURN NEW; END $$;
             CREATE TRIGGER record_finish AFTER UPDATE ON {schema}.jobs FOR EACH ROW
                 WHEN (NEW.status IN ('succeeded', 'failed')
                       AND (OLD.status IS DISTINCT FROM NEW.status
                            OR OLD.finished_at IS DISTINCT FROM NEW.finished_at))
                 EXECUTE FUNCTION {schema}.record_finish();",
        )
        .await;
    }

    /// How many times each job was finished (see [`TestEnv::record_finishes`]).
    pub async fn finishes(&self) -> std::collections::HashMap<String, i64> {
        let (client, conn) = tokio_postgres::connect(&self.schema.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let sql = format!(
            "SELECT id::text, count(*) FROM {}.finishes GROUP BY id",
            self.schema.name
        );
        client
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    /// Every JSON log line the child consumers wrote.
    pub fn child_log_lines(&self) -> Vec<Value> {
        let Ok(dir) = std::fs::read_dir(&self.logs) else {
            return vec![];
        };
        dir.filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .flat_map(|text| {
                text.lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// A running API on an ephemeral port.
pub struct TestApi {
    pub base: String,
    pub http: Client,
    /// The API's state, for tests that stage what no request can.
    pub tasks: worker_service::service::Tasks,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app(config: Config) -> TestApi {
    let app = startup::build(config).await.expect("build api");
    let base = format!("http://127.0.0.1:{}", app.port());
    let tasks = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApi {
        base,
        tasks,
        http: test_support::http_client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        shutdown: Some(tx),
    }
}

impl TestApi {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Submits a job and returns its id (asserting the 202).
    pub async fn submit(&self, body: &Value) -> String {
        let res = self.post("/tasks", body).await;
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
        let v: Value = res.json().await.unwrap();
        v["job_id"].as_str().unwrap().to_owned()
    }

    pub async fn job(&self, id: &str) -> Value {
        self.get(&format!("/tasks/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Waits until the job reaches `status`; returns it.
    pub async fn wait_for(&self, id: &str, status: JobStatus) -> Value {
        let ok = wait_until(PATIENCE, || async {
            self.job(id).await["status"] == status.as_str()
        })
        .await;
        let job = self.job(id).await;
        assert!(ok, "job {id} never became {status}: {job}");
        job
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }
}

/// A consumer running in this process.
pub struct TestConsumer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_consumer(config: Config) -> TestConsumer {
    let consumer = ConsumerApp::build(config).await.expect("build consumer");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(consumer.run_until(async {
        let _ = rx.await;
    }));
    TestConsumer {
        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestConsumer {
    /// Asks it to stop and waits until in-flight jobs are done.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(PATIENCE, h).await;
        }
    }
}

impl Drop for TestConsumer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A consumer as a child process of the built binary (`worker-service
/// consume`), so a test can SIGKILL or SIGTERM it.
pub struct ChildConsumer {
    pub child: Child,
}

impl ChildConsumer {
    pub fn start(env: &TestEnv, instance: &str) -> ChildConsumer {
        ChildConsumer {
            child: spawn_worker(env, "consume", instance, &[]),
        }
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ChildConsumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `worker-service MODE` as a child process with the test's environment
/// (plus `extra`), named `instance` in its logs.
fn spawn_worker(env: &TestEnv, mode: &str, instance: &str, extra: &[(&str, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_worker-service"))
        .arg(mode)
        .envs(env.child_env())
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .env("INSTANCE", instance)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start worker-service {mode}: {e}"))
}

/// The API as a child process of the built binary (`worker-service api`)
/// on a port of its own, so a test can SIGKILL it mid-submit.
pub struct ChildApi {
    pub child: Child,
    pub base: String,
}

impl ChildApi {
    pub async fn start(env: &TestEnv, instance: &str) -> ChildApi {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bind = ("BIND_ADDR", format!("127.0.0.1:{port}"));
        let child = spawn_worker(env, "api", instance, &[bind]);
        let base = format!("http://127.0.0.1:{port}");
        let http = Client::new();
        let ready = wait_until(PATIENCE, || async {
            http.get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(ready, "the child API answers /health");
        ChildApi { child, base }
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn pair() -> Value {
    json!({"userId1": "ann@example.com", "userId2": "bob@example.com", "preference": "first"})
}

/// The shared error-body assertion, with the status as a plain number (as
/// these tests write it).
pub async fn assert_error(res: Response, status: u16) -> Value {
    test_support::assert_error(res, status).await
}
