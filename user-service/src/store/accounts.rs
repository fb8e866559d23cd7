//! PostgreSQL side of accounts (SPEC §6): credentials, refresh-token
//! families, and the sharing list on the user row. Parameterised queries
//! only; passwords and refresh tokens are stored only as hashes (Argon2id
//! PHC strings; SHA-256 of the 256-bit random token).

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use uuid::Uuid;

use super::postgres::{epoch_in, lock_email, record};
use crate::domain::{Email, Profile};
use w2meet_pg::StoreError;

/// How a registration ended.
pub enum Registered {
    /// An unclaimed profile with this email now belongs to the account.
    Claimed { account: Uuid },
    /// No profile existed: one was created (UTC, `first`, no availability).
    Created { account: Uuid },
    /// The email already has an account.
    Taken,
}

/// An account as login needs it.
pub struct Credentials {
    pub account: Uuid,
    pub password_hash: String,
}

/// How presenting a refresh token ended.
pub enum Rotation {
    /// Valid and unused: it is now used, and `new_hash` is its successor in
    /// the same family.
    Rotated { email: String, account: Uuid },
    /// Already used once: someone replayed it, so its whole family (every
    /// token descended from the same login) has been revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// A new refresh token to store.
pub struct NewRefresh<'a> {
    pub hash: &'a [u8],
    pub family: Uuid,
    pub account: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Serialises everything done to one refresh-token family (a
/// transaction-scoped advisory lock on its id). Without it, under READ
/// COMMITTED, a revocation's `UPDATE … WHERE family = $1` would not see a
/// successor inserted by a rotation committing meanwhile, and that
/// successor would stay live.
///
/// Locks the family of the refresh token hashed as `hash` and returns it;
/// `None` for an unknown token.
async fn lock_family_of(
    tx: &deadpool_postgres::Transaction<'_>,
    hash: &[u8],
) -> Result<Option<Uuid>, StoreError> {
    let family: Option<Uuid> = tx
        .query_opt(
            "SELECT family FROM refresh_tokens WHERE token_hash = $1",
            &[&hash],
        )
        .await?
        .map(|r| r.get(0));
    if let Some(family) = family {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 1))",
            &[&family],
        )
        .await?;
    }
    Ok(family)
}

/// The account tables. Cheap to clone (shares the user store's pool).
#[derive(Clone)]
pub struct AccountStore {
    pool: Pool,
}

impl AccountStore {
    pub fn new(pool: Pool) -> AccountStore {
        AccountStore { pool }
    }

    /// Registers `email`: claims its unclaimed profile or creates one, in one
    /// transaction under the email's lock (so two registrations of one email
    /// cannot both win, and a registration cannot race a create or delete).
    pub async fn register(
        &self,
        email: &Email,
        name: Option<&str>,
        password_hash: &str,
        empty_pattern: &serde_json::Value,
        bump_epoch: bool,
    ) -> Result<(Registered, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_email(&tx, email).await?;
        let row = tx
            .query_opt(
                "SELECT account_id FROM users WHERE email = $1 FOR UPDATE",
                &[&email.as_str()],
            )
            .await?;
        let account = Uuid::new_v4();
        let outcome = match row.map(|r| r.get::<_, Option<Uuid>>(0)) {
            Some(Some(_)) => Registered::Taken,
            Some(None) => {
                // A name given at registration fills an empty one; that is a
                // change of the body, so it gets a new version (ETag).
                tx.execute(
                    "UPDATE users SET account_id = $2, name = COALESCE(name, $3),
                         version = version + CASE WHEN name IS NULL AND $3::text IS NOT NULL THEN 1 ELSE 0 END,
                         updated_at = CASE WHEN name IS NULL AND $3::text IS NOT NULL THEN now() ELSE updated_at END
                     WHERE email = $1",
                    &[&email.as_str(), &account, &name],
                )
                .await?;
                Registered::Claimed { account }
            }
            None => {
                tx.execute(
                    "INSERT INTO users (email, name, timezone, preference, availability, version, account_id)
                     VALUES ($1, $2, 'UTC', 'first', $3,
                             1 + COALESCE((SELECT version FROM retired_versions WHERE email = $1), 0), $4)",
                    &[&email.as_str(), &name, empty_pattern, &account],
                )
                .await?;
                Registered::Created { account }
            }
        };
        if !matches!(outcome, Registered::Taken) {
            tx.execute(
                "INSERT INTO accounts (id, email, password_hash) VALUES ($1, $2, $3)",
                &[&account, &email.as_str(), &password_hash],
            )
            .await?;
        }
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((outcome, epoch))
    }

    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached("SELECT id, password_hash FROM accounts WHERE email = $1")
            .await?;
        Ok(client
            .query_opt(&stmt, &[&email.as_str()])
            .await?
            .map(|r| Credentials {
                account: r.get(0),
                password_hash: r.get(1),
            }))
    }

    /// The email of a live account, if `account` is one.
    pub async fn account_email(&self, account: Uuid) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached("SELECT email FROM accounts WHERE id = $1")
            .await?;
        Ok(client
            .query_opt(&stmt, &[&account])
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn store_refresh(&self, token: &NewRefresh<'_>) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO refresh_tokens (token_hash, family, account_id, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &token.hash,
                    &token.family,
                    &token.account,
                    &token.expires_at,
                ],
            )
            .await?;
        Ok(())
    }

    /// Uses the refresh token hashed as `hash` once: on success its
    /// successor `next` (same family) is stored in the same transaction.
    /// A second use revokes the family.
    pub async fn rotate(
        &self,
        hash: &[u8],
        next_hash: &[u8],
        next_expires: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One family at a time (see `lock_family_of`): a replay's revocation
        // and a rotation of the same family cannot interleave, so the
        // revocation never misses a successor that a rotation is inserting.
        let Some(family) = lock_family_of(&tx, hash).await? else {
            return Ok(Rotation::Invalid);
        };
        let row = tx
            .query_one(
                "SELECT t.account_id, a.email,
                        t.used_at IS NOT NULL, t.revoked_at IS NOT NULL, t.expires_at <= now()
                 FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
                 WHERE t.token_hash = $1",
                &[&hash],
            )
            .await?;
        let (account, email): (Uuid, String) = (row.get(0), row.get(1));
        let (used, revoked, expired): (bool, bool, bool) = (row.get(2), row.get(3), row.get(4));
        if revoked {
            return Ok(Rotation::Invalid);
        }
        if used {
            tx.execute(
                "UPDATE refresh_tokens SET revoked_at = now()
                 WHERE family = $1 AND revoked_at IS NULL",
                &[&family],
            )
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Reused);
        }
        if expired {
            return Ok(Rotation::Invalid);
        }
        tx.execute(
            "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
            &[&hash],
        )
        .await?;
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, family, account_id, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&next_hash, &family, &account, &next_expires],
        )
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated { email, account })
    }

    /// Revokes the family of the refresh token hashed as `hash` (logout).
    /// Unknown tokens are ignored: logging out twice is harmless.
    pub async fn revoke_family_of(&self, hash: &[u8]) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if let Some(family) = lock_family_of(&tx, hash).await? {
            tx.execute(
                "UPDATE refresh_tokens SET revoked_at = now()
                 WHERE family = $1 AND revoked_at IS NULL",
                &[&family],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds or removes `viewer` from `owner`'s sharing list, if `account`
    /// still owns it; `None` when it does not (or the profile is gone).
    pub async fn set_shared(
        &self,
        owner: &Email,
        account: Uuid,
        viewer: &Email,
        shared: bool,
        bump_epoch: bool,
    ) -> Result<(Option<Profile>, i64), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let sql = if shared {
            "UPDATE users SET viewers = ARRAY(SELECT DISTINCT v FROM unnest(array_append(viewers, $3)) v ORDER BY v)
             WHERE email = $1 AND account_id = $2 RETURNING *"
        } else {
            "UPDATE users SET viewers = array_remove(viewers, $3)
             WHERE email = $1 AND account_id = $2 RETURNING *"
        };
        let profile = tx
            .query_opt(sql, &[&owner.as_str(), &account, &viewer.as_str()])
            .await?
            .map(|r| record(&r));
        let epoch = epoch_in(&tx, bump_epoch).await?;
        tx.commit().await?;
        Ok((profile, epoch))
    }
}
