//! Password hashing: Argon2id with OWASP's parameters (19 MiB, 2 passes,
//! 1 lane), run on tokio's blocking pool behind a semaphore.
//!
//! Why bounded: one hash costs tens of milliseconds of a core and 19 MiB.
//! Unbounded, a login flood would occupy every core and push the cached
//! read path's latency up with it; with `AUTH_HASH_CONCURRENCY` permits
//! (default 1 on this 2-core machine) the flood queues for a permit instead,
//! and a request that cannot get one within `AUTH_HASH_WAIT_MS` is answered
//! 503 with `Retry-After` rather than waiting without end.
//!
//! Unknown emails are verified against a dummy hash made with the same
//! parameters, so they cost the same time as a wrong password.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet (2025): m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// No hashing permit came free in time.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is saturated")]
pub struct Busy;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    wait: Duration,
    /// A hash of a random password, verified for unknown emails.
    dummy: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hasher {
    pub fn new(concurrency: usize, wait: Duration) -> anyhow::Result<Hasher> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let dummy = hash_now(&random)?;
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
            dummy: dummy.into(),
        })
    }

    /// The PHC string of `password` (salted).
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        self.run(move || hash_now(password.as_bytes())).await
    }

    /// Whether `password` matches `phc` — or, for `None` (no such account),
    /// the same work against the dummy hash, always `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, Busy> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let matched = self
            .run(move || {
                argon2()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matched)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| Busy);
        // Each Argon2id hash takes 19 MiB, which glibc then keeps in the
        // blocking thread's arena: give it back (once per burst of logins).
        w2meet_platform::memory::release_soon();
        done
    }
}

fn hash_now(password: &[u8]) -> anyhow::Result<String> {
    argon2()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let h = Hasher::new(1, Duration::from_secs(5)).expect("hasher");
        let phc = h
            .hash("correct horse".into())
            .await
            .expect("permit")
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            h.verify("correct horse".into(), Some(phc.clone()))
                .await
                .expect("permit")
        );
        assert!(
            !h.verify("wrong horse".into(), Some(phc))
                .await
                .expect("permit")
        );
        assert!(
            !h.verify("correct horse".into(), None)
                .await
                .expect("permit")
        );
    }

    #[tokio::test]
    async fn a_caller_that_cannot_get_a_permit_in_time_is_told_so() {
        let h = Hasher::new(1, Duration::from_millis(20)).expect("hasher");
        let held = Arc::clone(&h.permits)
            .acquire_owned()
            .await
            .expect("permit");
        assert!(h.verify("x".into(), None).await.is_err());
        drop(held);
        assert!(h.verify("x".into(), None).await.is_ok());
    }
}
