//! Who is calling (SPEC §6): the same answer in every service, so that a
//! token means the same thing at every hop.
//!
//! A request is made by one of three [`Caller`]s:
//! - **a person**: `Authorization: Bearer <JWT>`, an EdDSA-signed access
//!   token from user-service, verified here with user-service's public keys
//!   (no call to user-service per request);
//! - **a service** of the platform: `W2Meet-Service-Token: <secret>`, the
//!   credential every service is configured with, optionally with
//!   `W2Meet-Viewer: <email>` naming the person on whose behalf it asks (the
//!   worker computing a job for its submitter, suggestion asking
//!   availability for its caller). The gateway removes both headers from
//!   every client request, so a client cannot forge them through it;
//! - **nobody**: no credential at all.
//!
//! A token that is present but wrong (bad signature, `alg: none` or any
//! algorithm but EdDSA, unknown `kid`, expired, wrong issuer) is a 401, never
//! "anonymous": a client that sent a token expects it to count.
//!
//! Keys: a [`Verifier`] holds the public keys by `kid`. user-service builds
//! one from its own key files; the other services fetch user-service's JWKS
//! (`/.well-known/jwks.json`, feature `client`) and fetch again when a token
//! names a `kid` they do not know (a key rotated in) — at most once per
//! [`REFETCH_AFTER`], so a flood of made-up `kid`s cannot turn into a flood of
//! fetches — and every [`KEYS_MAX_AGE`] so that a retired key stops working.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ErrorDetail};

/// The service credential's header (removed by the gateway).
pub static SERVICE_TOKEN_HEADER: HeaderName = HeaderName::from_static("w2meet-service-token");
/// Whose view a service asks for (trusted only with the service credential).
pub static VIEWER_HEADER: HeaderName = HeaderName::from_static("w2meet-viewer");

/// The `iss` of every W2Meet access token.
pub const ISSUER: &str = "w2meet";
/// The `aud` of every W2Meet access token.
pub const AUDIENCE: &str = "w2meet";

/// A remote key set is fetched again after this long, so that a key removed
/// from user-service's JWKS stops verifying everywhere.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(300);
/// An unknown `kid` triggers a fetch at most this often.
pub const REFETCH_AFTER: Duration = Duration::from_secs(5);

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The person's email.
    pub sub: String,
    /// The account id: a token outlives neither its account nor a
    /// re-registration of the same email (user-service compares it).
    pub aid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// `AUTH_MODE`: whether anyone may act for a profile nobody has claimed
/// (SPEC §6). user-service applies it to profiles, meeting-service to
/// whoever a meeting is organized or answered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Unclaimed profiles behave as in the original (the default).
    Open,
    /// Every write needs the owner's token.
    Required,
}

impl AuthMode {
    pub fn parse(s: &str) -> Result<AuthMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "open" => Ok(AuthMode::Open),
            "required" => Ok(AuthMode::Required),
            other => Err(format!("AUTH_MODE must be open or required, not {other:?}")),
        }
    }
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A person, by a verified access token.
    Person {
        email: String,
        account: Uuid,
    },
    /// Another W2Meet service, asking for everyone's data, on behalf of
    /// `viewer` when it names one.
    Service {
        viewer: Option<String>,
    },
}

impl Caller {
    /// The person whose view of other people's data applies: the token's
    /// subject, or the person a service asks for. `None`: nobody's (only
    /// unclaimed profiles are visible).
    pub fn viewer(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Person { email, .. } => Some(email),
            Caller::Service { viewer } => viewer.as_deref(),
        }
    }

    pub fn is_service(&self) -> bool {
        matches!(self, Caller::Service { .. })
    }
}

/// Why a credential was refused. Every variant is a 401 (the reason is
/// logged, and named to the client only in general terms).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// 401: the `Authorization` header is not `Bearer <token>`.
    #[error("malformed Authorization header")]
    Malformed,
    /// 401: the token does not verify (signature, algorithm, `kid`, claims).
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// 401: the token was valid once and has expired.
    #[error("token expired")]
    Expired,
    /// 401: a service credential that is not ours.
    #[error("invalid service credential")]
    BadServiceToken,
    /// 401: the route needs a person and none was named.
    #[error("authentication required")]
    Required,
    /// 503: no signing key is known yet — user-service's key set could not
    /// be fetched — so no token can be judged either way.
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

impl AuthError {
    pub fn to_api_error(&self) -> ApiError {
        if *self == AuthError::KeysUnavailable {
            return ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "tokens cannot be verified right now (the signing keys are unavailable)",
            );
        }
        let msg = match self {
            AuthError::Required => {
                "authentication required: send Authorization: Bearer <access token>"
            }
            AuthError::Expired => "the access token has expired; refresh it",
            AuthError::Malformed => "the Authorization header must be \"Bearer <access token>\"",
            AuthError::Invalid(_) | AuthError::BadServiceToken | AuthError::KeysUnavailable => {
                "the credential is not valid"
            }
        };
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDetail::new(["header", "Authorization"], msg, "unauthorized"),
        )
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        tracing::info!(auth_error = %self, "credential refused");
        let mut res = self.to_api_error().into_response();
        if self == AuthError::KeysUnavailable {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return res;
        }
        let challenge = match self {
            AuthError::Required => "Bearer realm=\"w2meet\"",
            _ => "Bearer realm=\"w2meet\", error=\"invalid_token\"",
        };
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        res
    }
}

/// The platform's shared service credential, kept only as its SHA-256 so
/// that comparing it takes the same time however much of a guess is right
/// (equal digests of unequal inputs cannot be steered).
#[derive(Clone)]
pub struct ServiceToken {
    secret: Arc<str>,
    digest: [u8; 32],
}

impl ServiceToken {
    /// `None` for an empty secret (then no caller is ever a service).
    pub fn new(secret: &str) -> Option<ServiceToken> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| ServiceToken {
            secret: secret.into(),
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest == self.digest
    }

    /// For outgoing calls.
    pub fn header_value(&self) -> HeaderValue {
        let mut v = HeaderValue::from_str(&self.secret).unwrap_or(HeaderValue::from_static(""));
        v.set_sensitive(true);
        v
    }
}

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceToken(<redacted>)")
    }
}

/// One public key as published in a JWKS (RFC 8037 `OKP`/`Ed25519`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    pub kid: String,
    #[serde(rename = "use", default)]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
}

impl PublicJwk {
    /// The JWK of an Ed25519 public key; its `kid` is the RFC 7638
    /// thumbprint, so the same key has the same id on every replica.
    pub fn ed25519(public: &[u8; 32]) -> PublicJwk {
        let x = URL_SAFE_NO_PAD.encode(public);
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        PublicJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            kid,
            use_: Some("sig".into()),
            alg: Some("EdDSA".into()),
        }
    }
}

/// `{"keys": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

/// Decoding keys by `kid`, and when they were learnt.
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    fetched: Instant,
}

impl KeySet {
    fn from_jwks(jwks: &Jwks) -> KeySet {
        let keys = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "OKP" && k.crv == "Ed25519")
            .filter_map(|k| {
                DecodingKey::from_ed_components(&k.x)
                    .ok()
                    .map(|d| (k.kid.clone(), d))
            })
            .collect();
        KeySet {
            keys,
            fetched: Instant::now(),
        }
    }
}

/// Where keys come from.
enum Source {
    /// user-service's own keys: nothing to fetch.
    Static,
    /// user-service's JWKS, fetched through an upstream client.
    #[cfg(feature = "client")]
    Remote(crate::upstream::Upstream),
}

struct Inner {
    source: Source,
    keys: RwLock<KeySet>,
    /// Serialises fetches; holds when the last one was tried.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    fetching: tokio::sync::Mutex<Option<Instant>>,
    service_token: Option<ServiceToken>,
    validation: Validation,
    /// [`KEYS_MAX_AGE`] and [`REFETCH_AFTER`] unless a test says otherwise.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    max_age: Duration,
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    refetch_after: Duration,
}

/// Verifies access tokens and the service credential. Cheap to clone.
#[derive(Clone)]
pub struct Verifier(Arc<Inner>);

impl Verifier {
    fn with(source: Source, jwks: &Jwks, service_token: Option<ServiceToken>) -> Verifier {
        // Only EdDSA: `alg: none`, HS256 with the public key as the secret
        // (algorithm confusion) and every other algorithm are refused
        // before any signature is looked at.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Verifier(Arc::new(Inner {
            source,
            keys: RwLock::new(KeySet::from_jwks(jwks)),
            fetching: tokio::sync::Mutex::new(None),
            service_token,
            validation,
            max_age: KEYS_MAX_AGE,
            refetch_after: REFETCH_AFTER,
        }))
    }

    /// A verifier over a fixed key set (user-service's own keys).
    pub fn from_jwks(jwks: &Jwks, service_token: Option<ServiceToken>) -> Verifier {
        Verifier::with(Source::Static, jwks, service_token)
    }

    /// A verifier that fetches user-service's JWKS through `users`
    /// (`GET /.well-known/jwks.json`), lazily on the first token.
    #[cfg(feature = "client")]
    pub fn remote(
        users: crate::upstream::Upstream,
        service_token: Option<ServiceToken>,
    ) -> Verifier {
        Verifier::remote_with(users, service_token, KEYS_MAX_AGE, REFETCH_AFTER)
    }

    /// [`Verifier::remote`] with another key-set lifetime and refetch
    /// interval (tests of rotation use short ones).
    #[cfg(feature = "client")]
    pub fn remote_with(
        users: crate::upstream::Upstream,
        service_token: Option<ServiceToken>,
        max_age: Duration,
        refetch_after: Duration,
    ) -> Verifier {
        let mut v = Verifier::with(Source::Remote(users), &Jwks::default(), service_token);
        if let Some(inner) = Arc::get_mut(&mut v.0) {
            inner.max_age = max_age;
            inner.refetch_after = refetch_after;
            // Stale from the start: the first token fetches.
            if let Ok(keys) = inner.keys.get_mut() {
                keys.fetched = Instant::now()
                    .checked_sub(max_age + Duration::from_secs(1))
                    .unwrap_or_else(Instant::now);
            }
        }
        v
    }

    pub fn service_token(&self) -> Option<&ServiceToken> {
        self.0.service_token.as_ref()
    }

    /// The caller of a request, from its headers.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        if let Some(presented) = headers.get(&SERVICE_TOKEN_HEADER) {
            let ok = self
                .0
                .service_token
                .as_ref()
                .is_some_and(|t| t.matches(presented.as_bytes()));
            if !ok {
                return Err(AuthError::BadServiceToken);
            }
            let viewer = headers
                .get(&VIEWER_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_ascii_lowercase);
            return Ok(Caller::Service { viewer });
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        let token = bearer(value)?;
        let claims = self.verify(token).await?;
        Ok(Caller::Person {
            email: claims.sub,
            account: claims.aid,
        })
    }

    /// Verifies one access token.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let head = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid("header"))?;
        if head.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid("algorithm"));
        }
        let kid = head.kid.ok_or(AuthError::Invalid("no kid"))?;
        if self.stale() {
            self.fetch(false).await;
        }
        let key = match self.key(&kid) {
            Some(k) => k,
            None => {
                self.fetch(true).await;
                match self.key(&kid) {
                    Some(k) => k,
                    // Nothing was ever fetched: unknown to us, not known bad.
                    None if self.no_keys() => return Err(AuthError::KeysUnavailable),
                    None => return Err(AuthError::Invalid("unknown kid")),
                }
            }
        };
        jsonwebtoken::decode::<Claims>(token, &key, &self.0.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    AuthError::Invalid("signature")
                }
                _ => AuthError::Invalid("claims"),
            })
    }

    fn no_keys(&self) -> bool {
        self.0
            .keys
            .read()
            .map(|k| k.keys.is_empty())
            .unwrap_or(true)
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.0.keys.read().ok()?.keys.get(kid).cloned()
    }

    fn stale(&self) -> bool {
        match &self.0.source {
            Source::Static => false,
            #[cfg(feature = "client")]
            Source::Remote(_) => self
                .0
                .keys
                .read()
                .map(|k| k.fetched.elapsed() > self.0.max_age)
                .unwrap_or(true),
        }
    }

    /// Fetches the remote key set: one fetch at a time, at most one per
    /// [`REFETCH_AFTER`]. A failed fetch keeps the keys already known.
    #[allow(unused_variables)]
    async fn fetch(&self, because_unknown: bool) {
        #[cfg(feature = "client")]
        if let Source::Remote(users) = &self.0.source {
            // A refresh of a stale set does not wait for one in flight: the
            // keys known so far serve meanwhile. An unknown `kid` waits.
            let mut last = if because_unknown {
                self.0.fetching.lock().await
            } else {
                match self.0.fetching.try_lock() {
                    Ok(guard) => guard,
                    Err(_) => return,
                }
            };
            // At most one fetch per `refetch_after`, whatever the reason and
            // however it ended: while user-service is down, requests use the
            // keys already known instead of each waiting for a fetch.
            if last.is_some_and(|t| t.elapsed() < self.0.refetch_after) {
                return;
            }
            if !because_unknown && !self.stale() {
                return; // another request fetched while this one waited
            }
            *last = Some(Instant::now());
            let case_id = crate::CaseId::generate();
            match users
                .get_json::<Jwks>("/.well-known/jwks.json", &case_id)
                .await
            {
                Ok(jwks) => {
                    let set = KeySet::from_jwks(&jwks);
                    tracing::info!(keys = set.keys.len(), "signing keys fetched");
                    if let Ok(mut keys) = self.0.keys.write() {
                        *keys = set;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot fetch the signing keys"),
            }
        }
    }
}

fn bearer(value: &HeaderValue) -> Result<&str, AuthError> {
    let s = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = s.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

/// The security schemes routes name: `bearer` (an access token:
/// `security(("bearer" = []))`, or `security((), ("bearer" = []))` where it
/// is optional) and `service` (the service credential, for service-only
/// routes). Add them with `modifiers(&SecuritySchemes)`.
pub struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /users/auth/login` (EdDSA JWT; keys at `/users/.well-known/jwks.json`). Optional where anonymous use is allowed: with it, answers are what its owner may see; a claimed profile is changed only with its owner's token.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "service",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "W2Meet-Service-Token",
                "The platform's service credential (SERVICE_TOKEN_FILE). The gateway removes it from every client request: service-only routes cannot be used through it.",
            ))),
        );
    }
}

/// Extractor: the request's [`Caller`], or a 401 for a credential that does
/// not verify. Needs a [`Verifier`] in the state.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl<S> FromRequestParts<S> for Auth
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let caller = verifier.caller(&parts.headers).await?;
        if let Some(viewer) = caller.viewer() {
            tracing::Span::current().record("viewer", viewer);
        }
        Ok(Auth(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_needs_the_scheme_and_a_token() {
        let ok = HeaderValue::from_static("Bearer abc.def.ghi");
        assert_eq!(bearer(&ok), Ok("abc.def.ghi"));
        let lower = HeaderValue::from_static("bearer abc");
        assert_eq!(bearer(&lower), Ok("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            assert_eq!(
                bearer(&HeaderValue::from_static(bad)),
                Err(AuthError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_service_token_matches_only_itself() {
        let t = ServiceToken::new("s3cret-value").expect("token");
        assert!(t.matches(b"s3cret-value"));
        assert!(!t.matches(b"s3cret-valu"));
        assert!(!t.matches(b""));
        assert!(ServiceToken::new("  ").is_none());
        assert_eq!(format!("{t:?}"), "ServiceToken(<redacted>)");
    }

    #[test]
    fn a_kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .expect("b64");
        let public: [u8; 32] = x.try_into().expect("32 bytes");
        assert_eq!(
            PublicJwk::ed25519(&public).kid,
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
