//! Access and refresh tokens (SPEC §6).
//!
//! - **Access tokens** are EdDSA (Ed25519) JWTs: `iss`/`aud` `w2meet`, `sub`
//!   the email, `aid` the account id, `iat`, `exp` (`AUTH_ACCESS_TTL_SECS`,
//!   default 15 minutes), and the signing key's `kid` (its RFC 7638
//!   thumbprint) in the header. Every service verifies them with the public
//!   keys published at `/.well-known/jwks.json`.
//! - **Rotation without logging anyone out**: the JWKS lists the signing key
//!   and every key in `AUTH_EXTRA_KEY_FILES`. To rotate, add the new key as
//!   an extra key everywhere, then make it the signing key and move the old
//!   one to the extras, and drop the old one once its last tokens expired.
//!   Refresh tokens do not depend on the key at all.
//! - **Refresh tokens** are 256 random bits (base64url), stored as SHA-256.
//!   Each login starts a family; each refresh uses one token and issues its
//!   successor (see `store::accounts::AccountStore::rotate`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use w2meet_platform::auth::{AUDIENCE, Claims, ISSUER, Jwks, PublicJwk};

/// The key that signs, and every key that verifies.
#[derive(Clone)]
pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    jwks: Jwks,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A new Ed25519 private key as PKCS#8 PEM (for `user-service keygen`).
pub fn generate_pem() -> anyhow::Result<String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok(key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?
        .to_string())
}

fn parse_pem(pem: &str) -> anyhow::Result<SigningKey> {
    SigningKey::from_pkcs8_pem(pem.trim())
        .map_err(|_| anyhow::anyhow!("not an Ed25519 private key in PKCS#8 PEM"))
}

impl SigningKeys {
    /// From the signing key's PEM and the extra (verification-only) keys'.
    pub fn from_pems(signing: &str, extra: &[String]) -> anyhow::Result<SigningKeys> {
        let key = parse_pem(signing)?;
        let der = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
        let current = PublicJwk::ed25519(key.verifying_key().as_bytes());
        let mut keys = vec![current.clone()];
        for pem in extra {
            let jwk = PublicJwk::ed25519(parse_pem(pem)?.verifying_key().as_bytes());
            if !keys.contains(&jwk) {
                keys.push(jwk);
            }
        }
        Ok(SigningKeys {
            kid: current.kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwks: Jwks { keys },
        })
    }

    /// A key made up now: tokens die with the process and replicas do not
    /// accept each other's. For tests and a first local run only.
    pub fn ephemeral() -> anyhow::Result<SigningKeys> {
        SigningKeys::from_pems(&generate_pem()?, &[])
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// An access token for `email`'s account, valid for `ttl`.
    pub fn issue(
        &self,
        email: &str,
        account: Uuid,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: email.to_owned(),
            aid: account,
            iat: now.timestamp(),
            exp: now.timestamp() + ttl.as_secs() as i64,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))
    }
}

/// A new refresh token and the hash that is stored.
pub fn new_refresh_token() -> anyhow::Result<(String, Vec<u8>)> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = refresh_hash(&token);
    Ok((token, hash))
}

pub fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use w2meet_platform::auth::{AuthError, Verifier};

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[tokio::test]
    async fn a_token_verifies_with_the_published_keys_and_says_who() {
        let keys = SigningKeys::ephemeral().expect("keys");
        let account = Uuid::new_v4();
        let token = keys
            .issue(
                "ann@example.com",
                account,
                now(),
                std::time::Duration::from_secs(60),
            )
            .expect("token");
        let verifier = Verifier::from_jwks(keys.jwks(), None);
        let claims = verifier.verify(&token).await.expect("verifies");
        assert_eq!(claims.sub, "ann@example.com");
        assert_eq!(claims.aid, account);
    }

    #[tokio::test]
    async fn an_old_key_kept_as_extra_still_verifies_after_rotation() {
        let old_pem = generate_pem().expect("pem");
        let old = SigningKeys::from_pems(&old_pem, &[]).expect("old");
        let token = old
            .issue(
                "ann@example.com",
                Uuid::new_v4(),
                now(),
                std::time::Duration::from_secs(60),
            )
            .expect("token");
        let rotated =
            SigningKeys::from_pems(&generate_pem().expect("pem"), &[old_pem]).expect("new");
        assert_ne!(rotated.kid(), old.kid());
        let verifier = Verifier::from_jwks(rotated.jwks(), None);
        assert!(verifier.verify(&token).await.is_ok());
        // Without the old key, its tokens are refused (unknown kid).
        let only_new = Verifier::from_jwks(
            &Jwks {
                keys: vec![rotated.jwks().keys[0].clone()],
            },
            None,
        );
        assert_eq!(
            only_new.verify(&token).await,
            Err(AuthError::Invalid("unknown kid"))
        );
    }

    #[tokio::test]
    async fn forged_and_expired_tokens_are_refused() {
        let keys = SigningKeys::ephemeral().expect("keys");
        let verifier = Verifier::from_jwks(keys.jwks(), None);
        let account = Uuid::new_v4();
        let good = keys
            .issue(
                "ann@example.com",
                account,
                now(),
                std::time::Duration::from_secs(60),
            )
            .expect("token");
        let (head, rest) = good.split_once('.').expect("three parts");
        let (payload, _sig) = rest.split_once('.').expect("three parts");

        // Expired (beyond the 5 s leeway).
        let expired = keys
            .issue(
                "ann@example.com",
                account,
                now() - chrono::Duration::seconds(120),
                std::time::Duration::from_secs(60),
            )
            .expect("token");
        assert_eq!(verifier.verify(&expired).await, Err(AuthError::Expired));

        // `alg: none` with no signature.
        let none_head = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            keys.kid()
        ));
        assert!(
            verifier
                .verify(&format!("{none_head}.{payload}."))
                .await
                .is_err()
        );

        // Algorithm confusion: HS256 keyed with the public key.
        let public = keys.jwks().keys[0].x.clone();
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(keys.kid().to_owned());
        let claims: Claims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
        let confused =
            jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(public.as_bytes()))
                .expect("hs256");
        assert_eq!(
            verifier.verify(&confused).await,
            Err(AuthError::Invalid("algorithm"))
        );

        // A changed payload under the original signature.
        let mut tampered_claims = claims.clone();
        tampered_claims.sub = "eve@example.com".into();
        let tampered_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered_claims).expect("json"));
        let sig = good.rsplit('.').next().expect("sig");
        assert_eq!(
            verifier
                .verify(&format!("{head}.{tampered_payload}.{sig}"))
                .await,
            Err(AuthError::Invalid("signature"))
        );

        // Signed by a key that is not ours, under our kid.
        let other = SigningKeys::ephemeral().expect("keys");
        let foreign = other
            .issue(
                "ann@example.com",
                account,
                now(),
                std::time::Duration::from_secs(60),
            )
            .expect("token");
        let (_, foreign_rest) = foreign.split_once('.').expect("parts");
        assert_eq!(
            verifier.verify(&format!("{head}.{foreign_rest}")).await,
            Err(AuthError::Invalid("signature"))
        );

        // An unknown kid.
        assert_eq!(
            verifier.verify(&foreign).await,
            Err(AuthError::Invalid("unknown kid"))
        );
        assert!(verifier.verify("not a token").await.is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token().expect("token");
        let (b, _) = new_refresh_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(refresh_hash(&a), hash_a);
        assert_ne!(hash_a, a.as_bytes());
    }
}
