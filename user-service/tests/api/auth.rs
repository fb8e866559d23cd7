//! Accounts, tokens, owner-only writes, sharing and privacy (SPEC §6),
//! against the real PostgreSQL and Redis.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use user_service::domain::AuthMode;
use user_service::store::limits::{Limit, LoginLimits};
use w2meet_platform::auth::SERVICE_TOKEN_HEADER;

use crate::helpers::*;

const PASSWORD: &str = "a long and unusual passphrase";

impl TestApp {
    async fn register(&self, email: &str) -> Value {
        let res = self
            .post(
                "/auth/register",
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// An access token for a newly registered `email`.
    pub async fn token(&self, email: &str) -> String {
        self.register(email).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn with(&self, req: RequestBuilder, token: &str) -> RequestBuilder {
        req.bearer_auth(token)
    }

    fn as_service(&self, req: RequestBuilder) -> RequestBuilder {
        req.header(
            &SERVICE_TOKEN_HEADER,
            self.auth.service_token.as_ref().unwrap().header_value(),
        )
    }
}

fn pattern(hours: &[u8]) -> Value {
    json!({"monday": hours})
}

#[tokio::test]
async fn register_login_refresh_and_logout() {
    let app = spawn_app().await;
    let reg = app.register("ann@example.com").await;
    assert_eq!(reg["profile"], "created");
    assert_eq!(reg["token_type"], "Bearer");
    assert_eq!(reg["expires_in"], 300);

    // The new profile is empty, in UTC, and only its owner reads it.
    let res = app.get("/users/ann@example.com").await;
    assert_error(res, 401u16).await;
    let token = reg["access_token"].as_str().unwrap();
    let me: Value = app
        .with(app.http.get(app.url("/auth/me")), token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["shared_with"], json!([]));

    // Login starts a second family; each refresh token works once.
    let res = app
        .post(
            "/auth/login",
            &json!({"email": " ANN@example.com ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let login: Value = res.json().await.unwrap();
    let first = login["refresh_token"].as_str().unwrap().to_owned();
    let res = app
        .post("/auth/refresh", &json!({"refresh_token": first}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let access = rotated["access_token"].as_str().unwrap();
    let res = app
        .with(app.http.get(app.url("/auth/me")), access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Replaying the used token revokes the whole family, its successor too.
    let res = app
        .post("/auth/refresh", &json!({"refresh_token": first}))
        .await;
    let body = assert_error(res, 401u16).await;
    assert_eq!(body["detail"][0]["type"], "invalid_refresh_token");
    let res = app
        .post("/auth/refresh", &json!({"refresh_token": second}))
        .await;
    assert_error(res, 401u16).await;

    // The registration's own family is untouched by that; logout ends it.
    let reg_refresh = reg["refresh_token"].as_str().unwrap();
    let res = app
        .post("/auth/logout", &json!({"refresh_token": reg_refresh}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post("/auth/refresh", &json!({"refresh_token": reg_refresh}))
        .await;
    assert_error(res, 401u16).await;
    // Logging out again, or with nonsense, is harmless.
    let res = app
        .post("/auth/logout", &json!({"refresh_token": "nonsense"}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn registration_claims_an_unclaimed_profile_and_refuses_a_second_account() {
    let app = spawn_app().await;
    let created = app.create("bob@example.com", pattern(&[9, 10])).await;
    let reg = app.register("bob@example.com").await;
    assert_eq!(reg["profile"], "claimed");
    let token = reg["access_token"].as_str().unwrap();
    let res = app
        .with(app.http.get(app.url("/users/bob@example.com")), token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mine: Value = res.json().await.unwrap();
    assert_eq!(mine, created, "claiming keeps the profile as it was");

    let res = app
        .post(
            "/auth/register",
            &json!({"email": "bob@example.com", "password": "another long passphrase"}),
        )
        .await;
    assert_error(res, 409u16).await;

    // Policy: too short, too common, unknown fields — every problem named.
    let res = app
        .post(
            "/auth/register",
            &json!({"email": "not-an-email", "password": "short"}),
        )
        .await;
    let body = assert_error(res, 400u16).await;
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert!(locs.contains(&&json!(["body", "email"])), "{body}");
    assert!(locs.contains(&&json!(["body", "password"])), "{body}");
    let res = app
        .post(
            "/auth/register",
            &json!({"email": "cy@example.com", "password": "Password123!"}),
        )
        .await;
    assert_error(res, 400u16).await;
    let res = app
        .post(
            "/auth/register",
            &json!({"email": "cy@example.com", "password": PASSWORD, "admin": true}),
        )
        .await;
    assert_error(res, 400u16).await;
}

#[tokio::test]
async fn a_claimed_profile_is_changed_only_by_its_owner_in_open_mode() {
    let app = spawn_app().await;
    let owner = app.token("ann@example.com").await;
    let other = app.token("eve@example.com").await;
    let body = json!({"availabilities": pattern(&[8])});
    let put = |token: Option<&str>| {
        let req = app.http.put(app.url("/users/ann@example.com")).json(&body);
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    };
    let res = put(None).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"w2meet\"");
    assert_error(res, 401u16).await;
    assert_error(put(Some(&other)).send().await.unwrap(), 403u16).await;
    let res = put(Some(&owner)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["availabilities"]["monday"], json!([8]));

    // A create over it is a write too.
    let res = app
        .post(
            "/users",
            &json!({"email": "ann@example.com", "availabilities": {}}),
        )
        .await;
    assert_error(res, 401u16).await;
    let res = app
        .http
        .delete(app.url("/users/ann@example.com"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_error(res, 403u16).await;

    // Nothing of that changed the stored profile.
    let res = app
        .with(app.http.get(app.url("/users/ann@example.com")), &owner)
        .send()
        .await
        .unwrap();
    let now: Value = res.json().await.unwrap();
    assert_eq!(now, stored);

    // Unclaimed profiles keep the original behaviour, tokens or not.
    app.create("free@example.com", pattern(&[1])).await;
    let res = app
        .http
        .put(app.url("/users/free@example.com"))
        .bearer_auth(&other)
        .json(&json!({"availabilities": pattern(&[2])}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_deleted_account_leaves_no_working_token_and_nothing_shared() {
    let app = spawn_app().await;
    let reg = app.register("ann@example.com").await;
    let owner = reg["access_token"].as_str().unwrap().to_owned();
    let viewer = app.token("bob@example.com").await;
    // Bob shares with Ann, then Ann deletes herself.
    let res = app
        .http
        .put(app.url("/users/bob@example.com/shares/ann@example.com"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .http
        .delete(app.url("/users/ann@example.com"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = app
        .with(app.http.get(app.url("/auth/me")), &owner)
        .send()
        .await
        .unwrap();
    assert_error(res, 401u16).await;
    let res = app
        .post(
            "/auth/refresh",
            &json!({"refresh_token": reg["refresh_token"]}),
        )
        .await;
    assert_error(res, 401u16).await;
    let shares: Value = app
        .with(
            app.http.get(app.url("/users/bob@example.com/shares")),
            &viewer,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shares["viewers"],
        json!([]),
        "whoever registers ann@ next inherits nothing"
    );

    // Someone registers the email again: the old token is not theirs.
    let fresh = app.token("ann@example.com").await;
    let put = |t: &str| {
        app.http
            .put(app.url("/users/ann@example.com"))
            .bearer_auth(t)
            .json(&json!({"availabilities": pattern(&[3])}))
    };
    assert_error(put(&owner).send().await.unwrap(), 401u16).await;
    assert_eq!(put(&fresh).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn required_mode_needs_the_owners_token_for_every_write() {
    let app = spawn_app_with(Options {
        auth_mode: Some(AuthMode::Required),
        ..Options::default()
    })
    .await;
    let res = app
        .post(
            "/users",
            &json!({"email": "ann@example.com", "availabilities": {}}),
        )
        .await;
    assert_error(res, 401u16).await;
    let owner = app.token("ann@example.com").await;
    let other = app.token("eve@example.com").await;
    let res = app
        .http
        .post(app.url("/users"))
        .bearer_auth(&other)
        .json(&json!({"email": "zed@example.com", "availabilities": {}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 403u16).await;
    let res = app
        .http
        .put(app.url("/users/ann@example.com"))
        .bearer_auth(&owner)
        .json(&json!({"availabilities": pattern(&[9])}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .http
        .put(app.url("/users/ann@example.com"))
        .json(&json!({"availabilities": pattern(&[10])}))
        .send()
        .await
        .unwrap();
    assert_error(res, 401u16).await;
}

#[tokio::test]
async fn sharing_grants_and_revokes_reading_at_once_through_the_cache() {
    let app = spawn_app().await;
    let owner = app.token("ann@example.com").await;
    let viewer = app.token("bob@example.com").await;
    let read = |path: &'static str| {
        let req = app.http.get(app.url(path)).bearer_auth(&viewer);
        async move { req.send().await.unwrap() }
    };
    let paths = [
        "/users/ann@example.com",
        "/user-avail/cache-aside/ann@example.com",
        "/user-avail/cache-aside?user1email=ann@example.com",
        "/users/ann@example.com/freebusy?from=2027-01-04&days=1",
    ];
    for p in paths {
        // Twice: the second read is a cache hit and must still refuse.
        assert_error(read(p).await, 403u16).await;
        assert_error(read(p).await, 403u16).await;
    }
    let res = app
        .http
        .put(app.url("/users/ann@example.com/shares/BOB@example.com"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let shares: Value = res.json().await.unwrap();
    assert_eq!(
        shares,
        json!({"owner": "ann@example.com", "viewers": ["bob@example.com"]})
    );
    for p in paths {
        assert_eq!(read(p).await.status(), StatusCode::OK, "{p}");
    }
    // Only the owner manages the list, and sharing goes one way.
    let res = app
        .http
        .put(app.url("/users/ann@example.com/shares/eve@example.com"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_error(res, 403u16).await;
    let res = app
        .http
        .get(app.url("/users/bob@example.com"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_error(res, 403u16).await;

    let res = app
        .http
        .delete(app.url("/users/ann@example.com/shares/bob@example.com"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for p in paths {
        assert_error(read(p).await, 403u16).await;
    }
}

#[tokio::test]
async fn a_batch_read_shows_claimed_people_only_to_whom_may_see_them() {
    let app = spawn_app().await;
    app.create("free@example.com", pattern(&[9])).await;
    let owner = app.token("ann@example.com").await;
    let batch = json!({"emails": ["free@example.com", "ann@example.com", "gone@example.com"]});

    let anonymous: Value = app.post("/users/batch", &batch).await.json().await.unwrap();
    let emails = |v: &Value| -> Vec<String> {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails(&anonymous), ["free@example.com"]);
    assert_eq!(anonymous["hidden"], json!(["ann@example.com"]));
    assert_eq!(anonymous["missing"], json!(["gone@example.com"]));

    let own: Value = app
        .with(app.http.post(app.url("/users/batch")).json(&batch), &owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(emails(&own), ["free@example.com", "ann@example.com"]);
    assert!(own.get("hidden").is_none(), "{own}");

    // A service gets everyone's data, told whom its viewer may not see.
    let service: Value = app
        .as_service(app.http.post(app.url("/users/batch")).json(&batch))
        .header("w2meet-viewer", "eve@example.com")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(emails(&service), ["free@example.com", "ann@example.com"]);
    assert_eq!(service["hidden"], json!(["ann@example.com"]));

    // A wrong service credential is refused, not taken for anonymous.
    let res = app
        .http
        .post(app.url("/users/batch"))
        .header(&SERVICE_TOKEN_HEADER, "guess")
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_error(res, 401u16).await;
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_refused() {
    let app = spawn_app().await;
    let token = app.token("ann@example.com").await;
    let mut parts = token.split('.');
    let (head, payload, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let reencode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("not-a-key-we-have");
    claims["exp"] = json!(1);
    let forged = [
        format!("{}.{payload}.", reencode(&none_header)),
        format!("{head}.{}.{sig}", reencode(&claims)),
        format!("{}.{payload}.{sig}", reencode(&unknown_kid)),
        format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 64])),
        "garbage".to_owned(),
    ];
    for bad in &forged {
        let res = app
            .http
            .get(app.url("/auth/me"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"w2meet\", error=\"invalid_token\""
        );
        let body = assert_error(res, 401u16).await;
        assert!(
            !body.to_string().contains(bad.as_str()),
            "the token is not echoed"
        );
    }
    let res = app
        .http
        .get(app.url("/auth/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_error(res, 401u16).await;
    let res = app
        .http
        .get(app.url("/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer_in_the_same_time() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let attempt = |email: &'static str| {
        let req = app
            .http
            .post(app.url("/auth/login"))
            .header("case-id", "same-case")
            .json(&json!({"email": email, "password": "not the password at all"}));
        async move {
            let started = Instant::now();
            let res = req.send().await.unwrap();
            let status = res.status();
            let mut headers: Vec<(String, String)> = res
                .headers()
                .iter()
                .filter(|(k, _)| k.as_str() != "date")
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            headers.sort();
            let body = res.text().await.unwrap();
            (status, headers, body, started.elapsed())
        }
    };
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for _ in 0..5 {
        let u = attempt("nobody@example.com").await;
        let w = attempt("ann@example.com").await;
        assert_eq!(u.0, StatusCode::UNAUTHORIZED);
        assert_eq!((&u.0, &u.1, &u.2), (&w.0, &w.1, &w.2));
        unknown.push(u.3);
        wrong.push(w.3);
    }
    unknown.sort();
    wrong.sort();
    // Both verify one Argon2id hash: the medians are of one size (a
    // missing dummy hash would make the unknown email ~100× faster).
    let ratio = unknown[2].as_secs_f64() / wrong[2].as_secs_f64();
    assert!((0.3..3.0).contains(&ratio), "{unknown:?} vs {wrong:?}");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_account_and_recover() {
    let window = Duration::from_secs(2);
    let app = spawn_app_with(Options {
        login_limits: Some(LoginLimits {
            per_account: Limit { max: 3, window },
            per_client: Limit { max: 1000, window },
        }),
        ..Options::default()
    })
    .await;
    app.register("ann@example.com").await;
    let login = |password: &'static str| {
        app.http
            .post(app.url("/auth/login"))
            .json(&json!({"email": "ann@example.com", "password": password}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            login("wrong password here").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = login(PASSWORD).await.unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_error(res, 429u16).await;
    // Another account from the same client is not affected.
    app.register("bob@example.com").await;
    let res = app
        .post(
            "/auth/login",
            &json!({"email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = login(PASSWORD).await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "the limit never recovered");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_client() {
    let window = Duration::from_secs(60);
    let app = spawn_app_with(Options {
        login_limits: Some(LoginLimits {
            per_account: Limit { max: 1000, window },
            per_client: Limit { max: 2, window },
        }),
        ..Options::default()
    })
    .await;
    let from = |ip: &'static str, email: &'static str| {
        app.http
            .post(app.url("/auth/login"))
            .header("x-real-ip", ip)
            .json(&json!({"email": email, "password": "whatever it is"}))
            .send()
    };
    assert_eq!(
        from("10.0.0.1", "a@example.com").await.unwrap().status(),
        401
    );
    assert_eq!(
        from("10.0.0.1", "b@example.com").await.unwrap().status(),
        401
    );
    assert_error(from("10.0.0.1", "c@example.com").await.unwrap(), 429u16).await;
    assert_eq!(
        from("10.0.0.2", "c@example.com").await.unwrap().status(),
        401
    );
}

#[tokio::test]
async fn a_token_from_one_replica_works_on_another_and_the_jwks_names_its_key() {
    let app = spawn_app().await;
    let (replica, _) = spawn_replica(app.replica_config()).await;
    let token = app.token("ann@example.com").await;
    let res = app
        .http
        .get(format!("{replica}/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
}

#[tokio::test]
async fn a_remote_verifier_learns_a_rotated_in_key_and_forgets_a_removed_one() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use user_service::service::tokens::{SigningKeys, generate_pem};
    use w2meet_platform::auth::{AuthError, Jwks, Verifier};
    use w2meet_platform::upstream::{Upstream, UpstreamTimeouts};

    let (old_pem, new_pem) = (generate_pem().unwrap(), generate_pem().unwrap());
    let old = SigningKeys::from_pems(&old_pem, &[]).unwrap();
    let new = SigningKeys::from_pems(&new_pem, std::slice::from_ref(&old_pem)).unwrap();
    let served: Arc<Mutex<Jwks>> = Arc::new(Mutex::new(old.jwks().clone()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (s, f) = (served.clone(), fetches.clone());
    let stub = test_support::spawn_stub(axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                axum::Json(s.lock().unwrap().clone())
            }
        }),
    ))
    .await;
    let timeouts = UpstreamTimeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(500),
    };
    let verifier = Verifier::remote_with(
        Upstream::new("user-service", &stub, timeouts).unwrap(),
        None,
        Duration::from_millis(1500),
        Duration::from_millis(200),
    );
    let issue = |keys: &SigningKeys| {
        keys.issue(
            "ann@example.com",
            uuid::Uuid::new_v4(),
            chrono::Utc::now(),
            Duration::from_secs(60),
        )
        .unwrap()
    };
    let (old_token, new_token) = (issue(&old), issue(&new));
    assert!(verifier.verify(&old_token).await.is_ok());
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );
    assert!(verifier.verify(&old_token).await.is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // Rotation step 2: user-service signs with the new key, publishing both.
    *served.lock().unwrap() = new.jwks().clone();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        verifier.verify(&new_token).await.is_ok(),
        "unknown kid → refetch"
    );
    assert!(
        verifier.verify(&old_token).await.is_ok(),
        "nobody logged out"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // Made-up kids cannot turn into a flood of fetches.
    let other = SigningKeys::ephemeral().unwrap();
    for _ in 0..20 {
        assert!(verifier.verify(&issue(&other)).await.is_err());
    }
    assert!(fetches.load(Ordering::SeqCst) <= 3, "{fetches:?}");

    // Step 3: the old key leaves the JWKS; once the cached set is too old,
    // its tokens stop verifying everywhere.
    *served.lock().unwrap() = Jwks {
        keys: vec![new.jwks().keys[0].clone()],
    };
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(verifier.verify(&new_token).await.is_ok());
    assert_eq!(
        verifier.verify(&old_token).await,
        Err(AuthError::Invalid("unknown kid"))
    );
}

#[tokio::test]
async fn two_people_who_share_with_each_other_can_both_leave_at_once() {
    let app = spawn_app().await;
    for round in 0..3 {
        let (a, b) = (
            format!("a{round}@example.com"),
            format!("b{round}@example.com"),
        );
        let (ta, tb) = (app.token(&a).await, app.token(&b).await);
        for (owner, token, viewer) in [(&a, &ta, &b), (&b, &tb, &a)] {
            let res = app
                .http
                .put(app.url(&format!("/users/{owner}/shares/{viewer}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        let delete = |who: &String, token: &String| {
            app.http
                .delete(app.url(&format!("/users/{who}")))
                .bearer_auth(token)
                .send()
        };
        let (ra, rb) = tokio::join!(delete(&a, &ta), delete(&b, &tb));
        assert_eq!(ra.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(rb.unwrap().status(), StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn registrations_are_limited_per_client() {
    let window = Duration::from_secs(60);
    let app = spawn_app_with(Options {
        login_limits: Some(LoginLimits {
            per_account: Limit { max: 1000, window },
            per_client: Limit { max: 2, window },
        }),
        ..Options::default()
    })
    .await;
    let register = |email: &'static str| {
        app.http
            .post(app.url("/auth/register"))
            .header("x-real-ip", "10.0.0.9")
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };
    assert_eq!(register("a@example.com").await.unwrap().status(), 201);
    assert_eq!(register("b@example.com").await.unwrap().status(), 201);
    let res = register("c@example.com").await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 429u16).await;
}

#[tokio::test]
async fn claiming_with_a_name_is_a_new_version() {
    let app = spawn_app().await;
    let created = app.create("ann@example.com", pattern(&[9])).await;
    assert_eq!(created["version"], 1);
    let res = app
        .post(
            "/auth/register",
            &json!({"email": "ann@example.com", "password": PASSWORD, "name": "Ann"}),
        )
        .await;
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .http
        .get(app.url("/users/ann@example.com"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], "\"2\"");
    let now: Value = res.json().await.unwrap();
    assert_eq!(
        (now["name"].as_str(), now["version"].as_i64()),
        (Some("Ann"), Some(2))
    );
}
