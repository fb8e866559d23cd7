//! The state every handler receives: cheap handles, cloned per request.
//! Handlers extract the part they need (`State<Users>`, `State<Accounts>`);
//! the [`Verifier`] is what the `Auth` extractor uses.

use axum::extract::FromRef;
use w2meet_platform::auth::Verifier;

use crate::service::Users;
use crate::service::accounts::Accounts;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// Profiles, read through the cache.
    pub users: Users,
    /// Accounts, tokens and sharing.
    pub accounts: Accounts,
    /// Verifies access tokens with this service's own public keys, and the
    /// platform's service credential.
    pub verifier: Verifier,
}
