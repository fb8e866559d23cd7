//! Accounts and sharing (SPEC §6): register, login, refresh, logout, who am
//! I, and the owner's sharing list. Handlers call this; it knows no HTTP.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use w2meet_platform::auth::{AuthError, Caller};

use super::Users;
use super::passwords::{Busy, Hasher};
use super::tokens::{SigningKeys, new_refresh_token, refresh_hash};
use crate::domain::{Email, Password, Profile};
use crate::error::UserError;
use crate::store::limits::RateLimiter;
use crate::store::{AccountStore, NewRefresh, Registered, Rotation, StoreError};

/// Token lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// `AUTH_ACCESS_TTL_SECS`, default 900.
    pub access: Duration,
    /// `AUTH_REFRESH_TTL_SECS`, default 30 days.
    pub refresh: Duration,
}

/// What login, register and refresh answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// A signed JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Use once at `POST /auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Who the token names.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub email: String,
    #[schema(value_type = String)]
    pub account_id: Uuid,
    pub name: Option<String>,
    /// The people this profile is shared with.
    pub shared_with: Vec<String>,
}

/// Whether registration claimed a profile or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOutcome {
    Claimed,
    Created,
}

/// The account use cases. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    pub users: Users,
    pub store: AccountStore,
    pub hasher: Hasher,
    pub keys: Arc<SigningKeys>,
    pub limiter: RateLimiter,
    pub lifetimes: Lifetimes,
}

fn store_err(e: StoreError) -> UserError {
    UserError::Store(Arc::new(e))
}

fn busy(_: Busy) -> UserError {
    metrics::counter!("password_hashing_busy_total").increment(1);
    UserError::HashingBusy
}

impl Accounts {
    pub async fn register(
        &self,
        email: &Email,
        password: Password,
        name: Option<String>,
        client: &str,
    ) -> Result<(ProfileOutcome, Session), UserError> {
        if let Some(retry_after) = self.limiter.register_attempt(client).await {
            return Err(UserError::RateLimited { retry_after });
        }
        let hash = self
            .hasher
            .hash(password.expose().to_owned())
            .await
            .map_err(busy)?
            .map_err(|e| UserError::Internal(e.to_string()))?;
        let empty = scheduling::WeeklyPattern::default().to_json();
        let (outcome, epoch) = self
            .store
            .register(
                email,
                name.as_deref(),
                &hash,
                &empty,
                self.users.cache.degraded(),
            )
            .await
            .map_err(store_err)?;
        let (outcome, account) = match outcome {
            Registered::Taken => return Err(UserError::AlreadyRegistered(email.clone())),
            Registered::Claimed { account } => (ProfileOutcome::Claimed, account),
            Registered::Created { account } => (ProfileOutcome::Created, account),
        };
        self.users.invalidate(&[email.as_str()], epoch).await?;
        metrics::counter!("accounts_registered_total").increment(1);
        tracing::info!(profile = ?outcome, "account registered");
        Ok((outcome, self.start_session(email.as_str(), account).await?))
    }

    /// Logs in. Unknown email and wrong password take the same path (a
    /// dummy hash is verified) and give the same error.
    pub async fn login(
        &self,
        email: &Email,
        password: String,
        client: &str,
    ) -> Result<Session, UserError> {
        if let Some(retry_after) = self.limiter.login_attempt(email.as_str(), client).await {
            metrics::counter!("logins_total", "result" => "rate_limited").increment(1);
            return Err(UserError::RateLimited { retry_after });
        }
        let credentials = self.store.credentials(email).await.map_err(store_err)?;
        let (account, phc) = match credentials {
            Some(c) => (Some(c.account), Some(c.password_hash)),
            None => (None, None),
        };
        let matched = self.hasher.verify(password, phc).await.map_err(busy)?;
        match account.filter(|_| matched) {
            Some(account) => {
                metrics::counter!("logins_total", "result" => "ok").increment(1);
                self.start_session(email.as_str(), account).await
            }
            None => {
                metrics::counter!("logins_total", "result" => "refused").increment(1);
                Err(UserError::InvalidCredentials)
            }
        }
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, UserError> {
        let (next, next_hash) =
            new_refresh_token().map_err(|e| UserError::Internal(e.to_string()))?;
        let expires = Utc::now() + self.lifetimes.refresh;
        let rotation = self
            .store
            .rotate(&refresh_hash(refresh_token), &next_hash, expires)
            .await
            .map_err(store_err)?;
        match rotation {
            Rotation::Rotated { email, account } => Ok(Session {
                access_token: self.access_token(&email, account)?,
                refresh_token: next,
                token_type: "Bearer",
                expires_in: self.lifetimes.access.as_secs(),
            }),
            Rotation::Reused => {
                metrics::counter!("refresh_token_reuse_total").increment(1);
                tracing::warn!("a used refresh token was presented again; its family is revoked");
                Err(UserError::InvalidRefreshToken)
            }
            Rotation::Invalid => Err(UserError::InvalidRefreshToken),
        }
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), UserError> {
        self.store
            .revoke_family_of(&refresh_hash(refresh_token))
            .await
            .map_err(store_err)
    }

    /// The caller's own account; 401 unless a person's token names a live
    /// account.
    pub async fn me(&self, caller: &Caller) -> Result<Me, UserError> {
        let Caller::Person { email, account } = caller else {
            return Err(UserError::Unauthenticated(AuthError::Required));
        };
        let live = self
            .store
            .account_email(*account)
            .await
            .map_err(store_err)?;
        if live.as_deref() != Some(email.as_str()) {
            return Err(UserError::Unauthenticated(AuthError::Invalid(
                "account gone",
            )));
        }
        let email = Email::parse(email)
            .map_err(|_| UserError::Unauthenticated(AuthError::Invalid("subject")))?;
        let profile = self.owned_profile(&email, caller).await?;
        Ok(Me {
            email: email.to_string(),
            account_id: *account,
            name: profile.user.name,
            shared_with: profile.access.viewers,
        })
    }

    /// The people `owner` shares with; only the owner may ask.
    pub async fn shares(&self, owner: &Email, caller: &Caller) -> Result<Vec<String>, UserError> {
        Ok(self.owned_profile(owner, caller).await?.access.viewers)
    }

    /// Shares `owner`'s data with `viewer` (`shared`) or stops sharing it.
    pub async fn set_shared(
        &self,
        owner: &Email,
        viewer: &Email,
        shared: bool,
        caller: &Caller,
    ) -> Result<Vec<String>, UserError> {
        let profile = self.owned_profile(owner, caller).await?;
        let account = profile.access.account.ok_or(UserError::Forbidden {
            email: owner.to_string(),
            reason: "only a claimed profile can be shared",
        })?;
        let (updated, epoch) = self
            .store
            .set_shared(owner, account, viewer, shared, self.users.cache.degraded())
            .await
            .map_err(store_err)?;
        self.users.invalidate(&[owner.as_str()], epoch).await?;
        match updated {
            Some(p) => Ok(p.access.viewers),
            // Deleted or re-registered between the read and the write.
            None => Err(UserError::Unauthenticated(AuthError::Invalid(
                "account gone",
            ))),
        }
    }

    /// `owner`'s profile, if `caller` holds its owner's current token.
    async fn owned_profile(&self, owner: &Email, caller: &Caller) -> Result<Profile, UserError> {
        let (profile, _) = self.users.get(owner).await?;
        let Some(profile) = profile else {
            return Err(UserError::NotFound {
                loc: crate::error::PATH_EMAIL,
                emails: vec![owner.to_string()],
            });
        };
        if !profile.access.claimed() {
            return match caller {
                Caller::Anonymous => Err(UserError::Unauthenticated(AuthError::Required)),
                _ => Err(UserError::Forbidden {
                    email: owner.to_string(),
                    reason: "this profile has no owner yet; register to claim it",
                }),
            };
        }
        crate::domain::Access::writable_by(
            Some(&profile.access),
            owner.as_str(),
            caller,
            self.users.mode,
        )
        .map_err(|d| UserError::denied(d, owner))?;
        Ok(profile)
    }

    async fn start_session(&self, email: &str, account: Uuid) -> Result<Session, UserError> {
        let (refresh_token, hash) =
            new_refresh_token().map_err(|e| UserError::Internal(e.to_string()))?;
        self.store
            .store_refresh(&NewRefresh {
                hash: &hash,
                family: Uuid::new_v4(),
                account,
                expires_at: Utc::now() + self.lifetimes.refresh,
            })
            .await
            .map_err(store_err)?;
        Ok(Session {
            access_token: self.access_token(email, account)?,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.lifetimes.access.as_secs(),
        })
    }

    fn access_token(&self, email: &str, account: Uuid) -> Result<String, UserError> {
        self.keys
            .issue(email, account, Utc::now(), self.lifetimes.access)
            .map_err(|e| UserError::Internal(e.to_string()))
    }
}
