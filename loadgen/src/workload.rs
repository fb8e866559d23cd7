//! The simulated clients: request types, the closed and open loops, seeding
//! the users a run owns.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::rng::Rng;
use crate::stats::Recorder;

/// One kind of request a simulated client can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Floor: nginx answering `GET /health` itself.
    Health,
    /// Floor: an nginx like the gateway proxying, with keepalive, to a
    /// static upstream (another nginx returning a user-sized body): the
    /// least any proxied read can cost.
    ProxyStatic,
    /// Floor: the cached read sent straight to a user-service port.
    DirectCachedRead,
    /// Floor: one Redis `GET` round trip.
    RedisGet,
    /// Floor: pgbench's single-row durable `INSERT … COMMIT` into the
    /// stack's PostgreSQL — the least a durable job can cost.
    PgInsert,
    /// `GET /users/user-avail/cache-aside/{email}` (a cache hit).
    CachedRead,
    /// The same read right after a `PUT` of that user (a cache miss); only
    /// the read is timed.
    UncachedRead,
    /// `GET /suggestion/suggestions?userId1=&userId2=`.
    Suggest2,
    /// 50 users, `min_attendees`, `count=3`, `preference=best`.
    Suggest50,
    /// `PUT /users/users/{email}` (invalidates the cache).
    Update,
    /// `POST /worker/tasks`, then poll until it succeeded: end-to-end.
    Job,
    /// `POST /worker/tasks` alone: accepted (stored + broker-confirmed).
    JobSubmit,
    /// The same submission with the consumers paused (SIGSTOP) for the
    /// point: the submit path alone, like for like with the insert floor;
    /// the queue is drained after it.
    JobAccept,
}

pub const ALL_KINDS: [Kind; 13] = [
    Kind::Health,
    Kind::ProxyStatic,
    Kind::DirectCachedRead,
    Kind::RedisGet,
    Kind::PgInsert,
    Kind::CachedRead,
    Kind::UncachedRead,
    Kind::Suggest2,
    Kind::Suggest50,
    Kind::Update,
    Kind::Job,
    Kind::JobSubmit,
    Kind::JobAccept,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Health => "floor_nginx_health",
            Kind::ProxyStatic => "floor_nginx_proxy",
            Kind::PgInsert => "floor_pg_insert",
            Kind::DirectCachedRead => "floor_direct_cached_read",
            Kind::RedisGet => "floor_redis_get",
            Kind::CachedRead => "cached_read",
            Kind::UncachedRead => "uncached_read",
            Kind::Suggest2 => "suggest2",
            Kind::Suggest50 => "suggest50_quorum",
            Kind::Update => "update_user",
            Kind::Job => "job_e2e",
            Kind::JobSubmit => "job_submit",
            Kind::JobAccept => "job_accept_paused",
        }
    }

    pub fn parse(s: &str) -> Result<Kind> {
        let s = s.trim();
        ALL_KINDS
            .into_iter()
            .find(|k| k.name() == s || k.short() == s)
            .with_context(|| format!("unknown request type {s:?}"))
    }

    /// Short alias accepted on the command line.
    fn short(self) -> &'static str {
        match self {
            Kind::Health => "health",
            Kind::ProxyStatic => "proxy",
            Kind::PgInsert => "pginsert",
            Kind::DirectCachedRead => "direct",
            Kind::RedisGet => "redis",
            Kind::CachedRead => "cached",
            Kind::UncachedRead => "uncached",
            Kind::Suggest2 => "suggest2",
            Kind::Suggest50 => "suggest50",
            Kind::Update => "update",
            Kind::Job => "job",
            Kind::JobSubmit => "submit",
            Kind::JobAccept => "accept",
        }
    }
}

/// What the clients of one point do: one request type, or a weighted mix.
#[derive(Debug, Clone)]
pub enum Workload {
    One(Kind),
    Mix(Vec<(Kind, u32)>),
}

impl Workload {
    pub fn name(&self) -> String {
        match self {
            Workload::One(k) => k.name().to_owned(),
            Workload::Mix(_) => "mixed".to_owned(),
        }
    }

    fn pick(&self, rng: &mut Rng) -> Kind {
        match self {
            Workload::One(k) => *k,
            Workload::Mix(w) => {
                let total: u32 = w.iter().map(|(_, n)| n).sum();
                let mut x = (rng.next_u64() % u64::from(total.max(1))) as u32;
                for (k, n) in w {
                    if x < *n {
                        return *k;
                    }
                    x -= n;
                }
                w[0].0
            }
        }
    }
}

/// `cached=60,suggest2=15,...`
pub fn parse_mix(s: &str) -> Result<Vec<(Kind, u32)>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, w) = part
            .split_once('=')
            .with_context(|| format!("mix entry {part:?} is not TYPE=WEIGHT"))?;
        let w: u32 = w.trim().parse().context("mix weight")?;
        if w > 0 {
            out.push((Kind::parse(k)?, w));
        }
    }
    if out.is_empty() {
        bail!("the mix is empty");
    }
    Ok(out)
}

/// Shared by every client of a run.
pub struct Ctx {
    pub http: reqwest::Client,
    pub gateway: String,
    pub direct_user: Vec<String>,
    pub redis: Option<redis::Client>,
    pub redis_key: String,
    /// The proxy floor's URL (`--proxy-floor`).
    pub proxy_floor: Option<String>,
    /// The durable-insert floor's database (`--pg-floor`).
    pub pg_floor: Option<String>,
    /// The shared pool of users read and grouped.
    pub pool: Vec<String>,
    /// One private user per client slot (updated and re-read only by it).
    pub own: Vec<String>,
    pub tag: String,
    pub seed: u64,
    pub poll: Duration,
    /// Seconds each read of an end-to-end job waits for its end
    /// (`?wait=`); 0 polls every `poll` instead.
    pub wait_s: f64,
    pub quorum: usize,
    /// Maps an `Instant` to wall-clock time (jobs finish at a server time).
    pub clock: (Instant, SystemTime),
}

impl Ctx {
    fn wall(&self, at: Instant) -> SystemTime {
        self.clock.1 + at.saturating_duration_since(self.clock.0)
    }
}

/// Where one point's clients are and what they do.
#[derive(Debug, Clone)]
pub struct PointSpec {
    pub workload: Workload,
    pub clients: usize,
    /// `Some(total requests/s)`: open loop; `None`: closed loop.
    pub rate: Option<f64>,
    pub warmup: Duration,
    pub duration: Duration,
    pub run: usize,
}

impl PointSpec {
    pub fn label(&self) -> String {
        let mode = match self.rate {
            Some(r) => format!("o{}n", r as u64),
            None => "c".to_owned(),
        };
        format!(
            "{}.{}{}.r{}",
            self.workload.name(),
            mode,
            self.clients,
            self.run
        )
    }
}

struct ClientState {
    index: usize,
    rng: Rng,
    own: String,
    redis: Option<redis::aio::MultiplexedConnection>,
    seq: u64,
    case_prefix: String,
}

/// Runs one point: `clients` tasks for warm-up + duration; returns the
/// merged measurements and the measured seconds.
pub async fn run_point(ctx: Arc<Ctx>, spec: &PointSpec) -> Result<(Recorder, f64)> {
    if matches!(spec.workload, Workload::One(Kind::PgInsert)) {
        let url = ctx
            .pg_floor
            .as_deref()
            .context("the insert floor needs --pg-floor")?;
        return crate::pgfloor::run(url, spec).await;
    }
    let label = spec.label();
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let mut tasks = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        let redis = match (&spec.workload, &ctx.redis) {
            (Workload::One(Kind::RedisGet), Some(c)) => Some(
                c.get_multiplexed_async_connection()
                    .await
                    .context("connecting to Redis")?,
            ),
            (Workload::One(Kind::RedisGet), None) => bail!("the Redis floor needs --redis"),
            _ => None,
        };
        let st = ClientState {
            index: i,
            rng: Rng::stream(ctx.seed, (spec.run as u64) << 32 | i as u64),
            own: ctx.own[i % ctx.own.len()].clone(),
            redis,
            seq: 0,
            case_prefix: format!("{}.{}.{}", ctx.tag, label, i),
        };
        let ctx = ctx.clone();
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            client_loop(ctx, spec, st, start, measure_from, end).await
        }));
    }
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(&t.await.context("client task")?);
    }
    Ok((all, spec.duration.as_secs_f64()))
}

async fn client_loop(
    ctx: Arc<Ctx>,
    spec: PointSpec,
    mut st: ClientState,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> Recorder {
    let mut rec = Recorder::default();
    tokio::time::sleep_until(start.into()).await;
    match spec.rate {
        None => loop {
            let t0 = Instant::now();
            if t0 >= end {
                break;
            }
            rec.active = t0 >= measure_from;
            let kind = spec.workload.pick(&mut st.rng);
            exec(&ctx, &mut st, &mut rec, kind, t0).await;
        },
        Some(rate) => {
            // Client i sends at start + (i + k·N)/rate: the arrivals of all
            // clients together are evenly spaced at `rate`. Latency counts
            // from the intended time, so a stall is charged to every request
            // that should have been sent during it (no coordinated omission).
            let n = spec.clients as f64;
            let interval = Duration::from_secs_f64(n / rate);
            let mut intended = start + Duration::from_secs_f64(st.index as f64 / rate);
            while intended < end {
                let now = Instant::now();
                if now < intended {
                    tokio::time::sleep_until(intended.into()).await;
                }
                rec.active = intended >= measure_from;
                let kind = spec.workload.pick(&mut st.rng);
                if Instant::now().saturating_duration_since(intended) > Duration::from_millis(1) {
                    rec.note(kind.name(), "sent_late_over_1ms");
                }
                exec(&ctx, &mut st, &mut rec, kind, intended).await;
                intended += interval;
            }
        }
    }
    rec
}

/// Makes one request of `kind`, charging its latency from `t0`.
async fn exec(ctx: &Ctx, st: &mut ClientState, rec: &mut Recorder, kind: Kind, t0: Instant) {
    st.seq += 1;
    let case_id = format!("{}-{}", st.case_prefix, st.seq);
    let res = match kind {
        Kind::Health => get_ok(ctx, &format!("{}/health", ctx.gateway), &case_id, rec, kind)
            .await
            .map(|_| t0.elapsed()),
        Kind::DirectCachedRead => {
            let base = &ctx.direct_user[st.index % ctx.direct_user.len()];
            let email = &ctx.pool[st.rng.below(ctx.pool.len())];
            let url = format!("{base}/user-avail/cache-aside/{email}");
            get_ok(ctx, &url, &case_id, rec, kind)
                .await
                .map(|_| t0.elapsed())
        }
        Kind::RedisGet => redis_get(ctx, st).await.map(|_| t0.elapsed()),
        Kind::ProxyStatic => match &ctx.proxy_floor {
            Some(url) => get_ok(ctx, url, &case_id, rec, kind)
                .await
                .map(|_| t0.elapsed()),
            None => Err("the proxy floor needs --proxy-floor".to_owned()),
        },
        Kind::PgInsert => Err("pgbench runs the insert floor as a point of its own".to_owned()),
        Kind::CachedRead => {
            let email = &ctx.pool[st.rng.below(ctx.pool.len())];
            let url = format!("{}/users/user-avail/cache-aside/{email}", ctx.gateway);
            get_ok(ctx, &url, &case_id, rec, kind)
                .await
                .map(|_| t0.elapsed())
        }
        Kind::UncachedRead => {
            // The write is setup, not measured: the read after it misses.
            match put_user(ctx, st, &format!("{case_id}-w")).await {
                Err(e) => Err(format!("setup PUT: {e}")),
                Ok(()) => {
                    let url = format!("{}/users/user-avail/cache-aside/{}", ctx.gateway, st.own);
                    let t1 = Instant::now();
                    get_ok(ctx, &url, &case_id, rec, kind)
                        .await
                        .map(|_| t1.elapsed())
                }
            }
        }
        Kind::Suggest2 => {
            let p = st.rng.sample(ctx.pool.len(), 2);
            let url = format!(
                "{}/suggestion/suggestions?userId1={}&userId2={}",
                ctx.gateway, ctx.pool[p[0]], ctx.pool[p[1]]
            );
            get_ok(ctx, &url, &case_id, rec, kind)
                .await
                .map(|_| t0.elapsed())
        }
        Kind::Suggest50 => {
            let group: Vec<&str> = st
                .rng
                .sample(ctx.pool.len(), 50)
                .into_iter()
                .map(|i| ctx.pool[i].as_str())
                .collect();
            let url = format!(
                "{}/suggestion/suggestions?users={}&min_attendees={}&count=3&preference=best",
                ctx.gateway,
                group.join(","),
                ctx.quorum
            );
            get_ok(ctx, &url, &case_id, rec, kind)
                .await
                .map(|_| t0.elapsed())
        }
        Kind::Update => put_user(ctx, st, &case_id).await.map(|_| t0.elapsed()),
        Kind::Job | Kind::JobSubmit | Kind::JobAccept => {
            job(ctx, st, rec, kind, &case_id, t0).await
        }
    };
    match res {
        Ok(lat) => rec.ok(kind.name(), lat),
        Err(e) => rec.error(kind.name(), e),
    }
}

fn classify(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "transport".into()
    }
}

/// GET expecting 200; notes the `X-Cache` header when there is one.
async fn get_ok(
    ctx: &Ctx,
    url: &str,
    case_id: &str,
    rec: &mut Recorder,
    kind: Kind,
) -> Result<(), String> {
    let resp = ctx
        .http
        .get(url)
        .header("Case-ID", case_id)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let status = resp.status();
    if let Some(c) = resp.headers().get("x-cache").and_then(|v| v.to_str().ok()) {
        rec.note(kind.name(), &format!("x_cache_{}", c.to_ascii_lowercase()));
    }
    // Read to the end, as a real client would.
    resp.bytes().await.map_err(|e| classify(&e))?;
    if status.as_u16() != 200 {
        return Err(format!("http_{}", status.as_u16()));
    }
    Ok(())
}

async fn redis_get(ctx: &Ctx, st: &mut ClientState) -> Result<(), String> {
    let conn = st.redis.as_mut().ok_or("no redis connection")?;
    let v: Option<Vec<u8>> = redis::cmd("GET")
        .arg(&ctx.redis_key)
        .query_async(conn)
        .await
        .map_err(|e| format!("redis: {:?}", e.kind()))?;
    match v {
        Some(_) => Ok(()),
        None => Err("redis: key missing".into()),
    }
}

/// A random weekly pattern: working hours in each weekday, most kept.
pub fn random_week(rng: &mut Rng) -> Value {
    let mut days = serde_json::Map::new();
    for day in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
        let hours: Vec<u32> = (8..18).filter(|_| rng.chance(0.75)).collect();
        days.insert(day.to_owned(), json!(hours));
    }
    if rng.chance(0.3) {
        days.insert("saturday".to_owned(), json!(["10:00-12:30"]));
    }
    Value::Object(days)
}

pub fn user_body(rng: &mut Rng, email: &str) -> Value {
    const ZONES: [&str; 3] = ["UTC", "Europe/London", "Europe/Berlin"];
    const PREFS: [&str; 3] = ["first", "last", "random"];
    json!({
        "email": email,
        "name": "loadgen user",
        "timezone": ZONES[rng.below(ZONES.len())],
        "preferences": PREFS[rng.below(PREFS.len())],
        "availabilities": random_week(rng),
    })
}

async fn put_user(ctx: &Ctx, st: &mut ClientState, case_id: &str) -> Result<(), String> {
    let body = user_body(&mut st.rng, &st.own);
    let resp = ctx
        .http
        .put(format!("{}/users/users/{}", ctx.gateway, st.own))
        .header("Case-ID", case_id)
        .json(&body)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let status = resp.status().as_u16();
    let _ = resp.bytes().await;
    if status == 200 {
        Ok(())
    } else {
        Err(format!("http_{status}"))
    }
}

/// Submits a two-user job; for `Job`, waits for its end (`?wait=`, or by
/// polling with `--wait-s 0`) and charges the
/// time from `t0` to the job's own `updated_at` (the moment the consumer
/// stored the result), so neither the read nor the polling interval
/// inflates it.
async fn job(
    ctx: &Ctx,
    st: &mut ClientState,
    rec: &mut Recorder,
    kind: Kind,
    case_id: &str,
    t0: Instant,
) -> Result<Duration, String> {
    let p = st.rng.sample(ctx.pool.len(), 2);
    let body = json!({"userId1": ctx.pool[p[0]], "userId2": ctx.pool[p[1]], "preference": "first"});
    let resp = ctx
        .http
        .post(format!("{}/worker/tasks", ctx.gateway))
        .header("Case-ID", case_id)
        .json(&body)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.map_err(|_| "bad 202 body".to_owned())?;
    if status != 202 {
        return Err(format!("submit http_{status}"));
    }
    let accepted = t0.elapsed();
    let job_id = v["job_id"].as_str().ok_or("no job_id")?.to_owned();
    *LAST_JOB.lock().expect("lock") = Some(job_id.clone());
    if kind != Kind::Job {
        return Ok(accepted);
    }
    rec.ok(Kind::JobSubmit.name(), accepted);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, v) = if ctx.wait_s > 0.0 {
            get_job_waiting(ctx, &job_id, case_id, ctx.wait_s).await?
        } else {
            tokio::time::sleep(ctx.poll).await;
            get_job(ctx, &job_id, case_id).await?
        };
        match status.as_str() {
            "succeeded" => {
                let done = v["updated_at"]
                    .as_str()
                    .and_then(parse_rfc3339)
                    .ok_or("no updated_at")?;
                // The result exists from `done`, but a client can know of
                // the job only from its 202: whichever is later.
                let lat = done
                    .duration_since(ctx.wall(t0))
                    .unwrap_or(Duration::from_micros(1));
                return Ok(lat.max(accepted));
            }
            "failed" => return Err("job failed".into()),
            _ if Instant::now() > deadline => return Err("job not done in 30 s".into()),
            _ => {}
        }
    }
}

/// The id of the most recently submitted job (to wait for the queue to
/// drain before the next point).
pub static LAST_JOB: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

pub async fn get_job(ctx: &Ctx, job_id: &str, case_id: &str) -> Result<(String, Value), String> {
    get_job_waiting(ctx, job_id, case_id, 0.0).await
}

/// Reads a job, waiting up to `wait_s` seconds for its end (0: at once).
async fn get_job_waiting(
    ctx: &Ctx,
    job_id: &str,
    case_id: &str,
    wait_s: f64,
) -> Result<(String, Value), String> {
    let query = if wait_s > 0.0 {
        format!("?wait={wait_s}")
    } else {
        String::new()
    };
    let resp = ctx
        .http
        .get(format!("{}/worker/tasks/{job_id}{query}", ctx.gateway))
        .header("Case-ID", format!("{case_id}-p"))
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let code = resp.status().as_u16();
    let v: Value = resp.json().await.map_err(|_| "bad job body".to_owned())?;
    if code != 200 {
        return Err(format!("poll http_{code}"));
    }
    Ok((v["status"].as_str().unwrap_or("").to_owned(), v))
}

/// `2026-11-22T00:51:01.461268Z` (or with an offset) → wall-clock time.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let nanos = t.timestamp_nanos_opt()?;
    let d = Duration::from_nanos(u64::try_from(nanos).ok()?);
    Some(SystemTime::UNIX_EPOCH + d)
}

/// Creates every user the run owns (pool + one per client slot), 16 at a
/// time; a 200 (identical retry) is fine, anything else is an error.
pub async fn seed_users(
    http: &reqwest::Client,
    gateway: &str,
    emails: &[String],
    seed: u64,
) -> Result<()> {
    let mut rng = Rng::stream(seed, u64::MAX);
    let bodies: Vec<Value> = emails.iter().map(|e| user_body(&mut rng, e)).collect();
    for chunk in bodies.chunks(16) {
        let mut futs = Vec::new();
        for b in chunk {
            let req = http.post(format!("{gateway}/users/users")).json(b).send();
            futs.push(req);
        }
        for (f, b) in futs.into_iter().zip(chunk) {
            let resp = f.await.context("creating a user")?;
            let status = resp.status().as_u16();
            if status != 201 && status != 200 {
                let text = resp.text().await.unwrap_or_default();
                bail!("creating {}: HTTP {status}: {text}", b["email"]);
            }
        }
    }
    Ok(())
}

/// Deletes the users this run created (and nothing else).
pub async fn delete_users(http: &reqwest::Client, gateway: &str, emails: &[String]) -> usize {
    let mut failed = 0;
    for chunk in emails.chunks(16) {
        let futs: Vec<_> = chunk
            .iter()
            .map(|e| http.delete(format!("{gateway}/users/users/{e}")).send())
            .collect();
        for f in futs {
            match f.await {
                Ok(r) if r.status().as_u16() == 204 || r.status().as_u16() == 404 => {}
                _ => failed += 1,
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix = parse_mix("cached=3,suggest2=1,update=0").unwrap();
        assert_eq!(mix, vec![(Kind::CachedRead, 3), (Kind::Suggest2, 1)]);
        let w = Workload::Mix(mix);
        let mut rng = Rng::new(3);
        let n = (0..4000)
            .filter(|_| w.pick(&mut rng) == Kind::CachedRead)
            .count();
        assert!((2800..3200).contains(&n), "{n}");
        assert!(parse_mix("nope=1").is_err());
        assert!(parse_mix("").is_err());
    }

    #[test]
    fn kinds_round_trip_through_names() {
        for k in ALL_KINDS {
            assert_eq!(Kind::parse(k.name()).unwrap(), k);
            assert_eq!(Kind::parse(k.short()).unwrap(), k);
        }
    }

    #[test]
    fn rfc3339_with_micros() {
        let t = parse_rfc3339("1970-01-01T00:00:01.000500Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_micros(1_000_500)
        );
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
