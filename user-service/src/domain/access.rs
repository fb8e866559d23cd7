//! Who may read and change a profile (SPEC §6), as pure rules over the
//! profile's [`Access`] and the request's [`Caller`].
//!
//! - An *unclaimed* profile (no account) is everyone's, as in the original
//!   W2Meet — in `AUTH_MODE=open`. In `required` mode nobody may change it
//!   (claim it by registering).
//! - A *claimed* profile is changed only by its owner: a token whose subject
//!   is the email **and** whose account id is the profile's account (so a
//!   token outlives neither a deleted account nor a re-registration).
//! - A claimed profile's data is read by its owner, by the people it is
//!   shared with, and by the platform's services (which compute group
//!   answers for everyone and then hide what their caller may not see).

use serde::{Deserialize, Serialize};
use uuid::Uuid;
pub use w2meet_platform::auth::AuthMode;
use w2meet_platform::auth::Caller;

use super::UserRecord;

/// Why a caller may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: no credential, or one that no longer names the owner.
    Unauthenticated,
    /// 403: a valid credential of someone who may not.
    Forbidden,
}

/// Who owns a profile and whom it is shared with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The account that claimed the profile; `None` = unclaimed.
    pub account: Option<Uuid>,
    /// Emails the owner shares the profile's data with (sorted, distinct).
    pub viewers: Vec<String>,
}

impl Access {
    pub fn claimed(&self) -> bool {
        self.account.is_some()
    }

    /// Whether `caller` holds the owner's current token.
    fn is_owner(&self, email: &str, caller: &Caller) -> bool {
        matches!(caller, Caller::Person { email: e, account }
            if e == email && Some(*account) == self.account)
    }

    /// May `caller` read the profile's pattern, overrides and calendar?
    pub fn readable_by(&self, email: &str, caller: &Caller) -> Result<(), Denied> {
        if !self.claimed() || caller.is_service() || self.is_owner(email, caller) {
            return Ok(());
        }
        match caller {
            Caller::Person { email: viewer, .. } if self.shared_with(viewer) => Ok(()),
            Caller::Person { .. } => Err(Denied::Forbidden),
            _ => Err(Denied::Unauthenticated),
        }
    }

    /// May group answers name this person to `viewer` (`None`: anonymous)?
    pub fn visible_to(&self, email: &str, viewer: Option<&str>) -> bool {
        !self.claimed() || viewer.is_some_and(|v| v == email || self.shared_with(v))
    }

    /// May `caller` change or delete the profile (or create it, when it does
    /// not exist yet: pass `None`)?
    pub fn writable_by(
        access: Option<&Access>,
        email: &str,
        caller: &Caller,
        mode: AuthMode,
    ) -> Result<(), Denied> {
        match access {
            Some(a) if a.claimed() => {
                if a.is_owner(email, caller) {
                    Ok(())
                } else if matches!(caller, Caller::Person { email: e, .. } if e != email) {
                    Err(Denied::Forbidden)
                } else {
                    // Anonymous, a service, or the owner's email with a
                    // token of an account that no longer exists.
                    Err(Denied::Unauthenticated)
                }
            }
            _ if mode == AuthMode::Open => Ok(()),
            // Required mode: only an owner writes, and nobody owns this.
            _ => match caller {
                Caller::Anonymous => Err(Denied::Unauthenticated),
                _ => Err(Denied::Forbidden),
            },
        }
    }

    fn shared_with(&self, viewer: &str) -> bool {
        self.viewers
            .binary_search_by(|v| v.as_str().cmp(viewer))
            .is_ok()
    }
}

/// A stored user with its access: what the store returns and the cache
/// keeps (the API shows only `user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub user: UserRecord,
    pub access: Access,
    /// Overrides and booked busy time (SPEC §7); cached with the rest, so
    /// a change to either goes through the same invalidation. Entries
    /// cached before this field existed read as none.
    #[serde(default)]
    pub dated: Dated,
}

/// A person's dated time on top of the weekly pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dated {
    /// Their own overrides, in their zone, in the order given.
    pub overrides: Vec<scheduling::Override>,
    /// Time their booked meetings hold.
    pub busy: Vec<scheduling::Busy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "ann@example.com";

    fn claimed(viewers: &[&str]) -> (Access, Uuid) {
        let account = Uuid::new_v4();
        let mut viewers: Vec<String> = viewers.iter().map(|v| (*v).to_owned()).collect();
        viewers.sort();
        (
            Access {
                account: Some(account),
                viewers,
            },
            account,
        )
    }

    fn person(email: &str, account: Uuid) -> Caller {
        Caller::Person {
            email: email.to_owned(),
            account,
        }
    }

    #[test]
    fn an_unclaimed_profile_is_everyones_in_open_mode_and_nobodys_in_required_mode() {
        let open = Access::default();
        assert_eq!(open.readable_by(OWNER, &Caller::Anonymous), Ok(()));
        assert_eq!(
            Access::writable_by(Some(&open), OWNER, &Caller::Anonymous, AuthMode::Open),
            Ok(())
        );
        assert_eq!(
            Access::writable_by(None, OWNER, &Caller::Anonymous, AuthMode::Required),
            Err(Denied::Unauthenticated)
        );
        let someone = person("bob@example.com", Uuid::new_v4());
        assert_eq!(
            Access::writable_by(Some(&open), OWNER, &someone, AuthMode::Required),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn a_claimed_profile_is_changed_only_with_the_owners_current_token() {
        let (access, account) = claimed(&[]);
        let w = |c: &Caller| Access::writable_by(Some(&access), OWNER, c, AuthMode::Open);
        assert_eq!(w(&person(OWNER, account)), Ok(()));
        assert_eq!(w(&Caller::Anonymous), Err(Denied::Unauthenticated));
        assert_eq!(
            w(&person("bob@example.com", Uuid::new_v4())),
            Err(Denied::Forbidden)
        );
        // The same email, but the account was deleted and registered again.
        assert_eq!(
            w(&person(OWNER, Uuid::new_v4())),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            w(&Caller::Service {
                viewer: Some(OWNER.into())
            }),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn a_claimed_profile_is_read_by_its_owner_its_viewers_and_services() {
        let (access, account) = claimed(&["bob@example.com"]);
        assert_eq!(access.readable_by(OWNER, &person(OWNER, account)), Ok(()));
        let bob = person("bob@example.com", Uuid::new_v4());
        assert_eq!(access.readable_by(OWNER, &bob), Ok(()));
        let eve = person("eve@example.com", Uuid::new_v4());
        assert_eq!(access.readable_by(OWNER, &eve), Err(Denied::Forbidden));
        assert_eq!(
            access.readable_by(OWNER, &Caller::Anonymous),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            access.readable_by(OWNER, &Caller::Service { viewer: None }),
            Ok(())
        );
    }

    #[test]
    fn group_answers_name_a_claimed_person_only_to_them_and_their_viewers() {
        let (access, _) = claimed(&["bob@example.com"]);
        assert!(access.visible_to(OWNER, Some(OWNER)));
        assert!(access.visible_to(OWNER, Some("bob@example.com")));
        assert!(!access.visible_to(OWNER, Some("eve@example.com")));
        assert!(!access.visible_to(OWNER, None));
        assert!(Access::default().visible_to(OWNER, None));
    }
}
