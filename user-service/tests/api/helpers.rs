use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
pub use test_support::assert_error;
use test_support::{RedisPrefix, TestSchema};
use user_service::config::{AuthConfig, Config};
use user_service::domain::AuthMode;
use user_service::service::Users;
use user_service::service::accounts::Lifetimes;
use user_service::store::limits::{Limit, LoginLimits};
use w2meet_platform::auth::ServiceToken;

use user_service::store::{CacheConfig, DbConfig, NearConfig};
use w2meet_platform::http::HttpLimits;

/// A running user-service on an ephemeral port, with its own schema and
/// Redis prefix (cleaned up on drop).
pub struct TestApp {
    pub base: String,
    pub http: Client,
    pub users: Users,
    pub redis: RedisPrefix,
    /// Keys and credentials, shared by replicas of this app.
    pub auth: AuthConfig,
    /// Dropped with the app: the schema goes away.
    _schema: TestSchema,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// What to point the app at, when not the shared servers.
#[derive(Default)]
pub struct Options {
    pub redis_url: Option<String>,
    pub database_url: Option<String>,
    pub auth_mode: Option<AuthMode>,
    pub login_limits: Option<LoginLimits>,
    /// `TLS_CA_FILE`: the CA a private TLS server's certificate chains to.
    pub tls_ca: Option<std::path::PathBuf>,
    /// The near cache (default: on, 10 ms lag).
    pub near: Option<NearConfig>,
    /// Publish change events to this exchange on the shared broker
    /// (default: off).
    pub changes: Option<String>,
}

/// Auth settings for one test app: its own signing key and service
/// credential, fast token lifetimes, and limits high enough not to get in
/// the way of tests that do not test them.
pub fn test_auth(opts: &Options) -> AuthConfig {
    let unlimited = Limit {
        max: 10_000,
        window: Duration::from_secs(60),
    };
    AuthConfig {
        mode: opts.auth_mode.unwrap_or(AuthMode::Open),
        signing_key: Some(w2meet_platform::env::Secret::new(
            user_service::service::tokens::generate_pem().expect("key"),
        )),
        extra_keys: Vec::new(),
        service_token: ServiceToken::new(&uuid::Uuid::new_v4().to_string()),
        lifetimes: Lifetimes {
            access: Duration::from_secs(300),
            refresh: Duration::from_secs(3600),
        },
        hash_concurrency: 2,
        hash_wait: Duration::from_secs(5),
        login_limits: opts.login_limits.unwrap_or(LoginLimits {
            per_account: unlimited,
            per_client: unlimited,
        }),
    }
}

pub fn test_config(
    schema: &TestSchema,
    redis: &RedisPrefix,
    opts: &Options,
    auth: &AuthConfig,
) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        log_dir: std::env::temp_dir(),
        db: DbConfig {
            url: opts
                .database_url
                .clone()
                .unwrap_or_else(|| schema.url.clone()),
            schema: Some(schema.name.clone()),
            pool_size: 8,
            timeout: Duration::from_millis(1500),
            migrate: Default::default(),
            ca_file: opts.tls_ca.clone(),
        },
        cache: CacheConfig {
            url: opts.redis_url.clone().unwrap_or_else(|| redis.url.clone()),
            prefix: redis.prefix.clone(),
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(5),
            connect_timeout: Duration::from_millis(300),
            response_timeout: Duration::from_millis(300),
            retry_after: Duration::from_millis(200),
            epoch_refresh: Duration::from_millis(100),
            ca_file: opts.tls_ca.clone(),
            // On in every test: each cache property is proven with it.
            near: opts.near.unwrap_or(NearConfig {
                max_bytes: 4 * 1024 * 1024,
                lag: Duration::from_millis(10),
            }),
        },
        http: HttpLimits::default(),
        auth: auth.clone(),
        events: None,
        changes: opts
            .changes
            .clone()
            .map(|exchange| user_service::changes::ChangesConfig {
                url: test_support::rabbitmq::amqp_url(),
                exchange,
                reconnect_max: Duration::from_millis(500),
                ca_pem: None,
            }),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    w2meet_platform::telemetry::init_for_tests("user-service");
    let schema = TestSchema::create().await;
    let redis = RedisPrefix::new();
    let auth = test_auth(&opts);
    let app = user_service::startup::build(test_config(&schema, &redis, &opts, &auth))
        .await
        .expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let users = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: test_support::http_client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        users,
        redis,
        auth,
        _schema: schema,
        shutdown: Some(tx),
    }
}

/// Another replica on an existing schema and prefix (what a second process
/// of the same deployment is). Runs until the test ends.
pub async fn spawn_replica(config: Config) -> (String, Users) {
    let app = user_service::startup::build(config)
        .await
        .expect("build replica");
    let base = format!("http://127.0.0.1:{}", app.port());
    let users = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    (base, users)
}

impl TestApp {
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

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn create(&self, email: &str, availabilities: Value) -> Value {
        let res = self
            .post(
                "/users",
                &json!({"email": email, "availabilities": availabilities}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// The configuration of this app (same schema and prefix), for a second
    /// replica.
    pub fn replica_config(&self) -> Config {
        test_config(&self._schema, &self.redis, &Options::default(), &self.auth)
    }

    /// Database reads so far (single and batch).
    pub fn db_reads(&self) -> u64 {
        self.users.store.read_count()
    }
}

pub fn x_cache(res: &Response) -> String {
    res.headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
