//! Who may do what (SPEC §6 applied to meetings), as pure rules.
//!
//! A person is *acted for* by the holder of their token (or a service
//! calling on their behalf), and — in
//! `AUTH_MODE=open`, while nobody has claimed their profile — by anyone, as
//! in the original W2Meet where every profile was everyone's. Acting for a
//! person is what organizing, answering an invite, RSVPing and managing a
//! calendar feed need. A calendar is read by whoever may act for its
//! owner, by the people the owner shares with, and by the platform's
//! services. A private meeting is read by its participants (and by anyone
//! while its organizer's profile is unclaimed); a public one by everybody.

pub use w2meet_platform::auth::AuthMode;
use w2meet_platform::auth::Caller;

/// What user-service says about a person's profile. Someone W2Meet has no
/// profile for is unclaimed, with nobody to share with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonAccess {
    pub claimed: bool,
    pub viewers: Vec<String>,
}

/// Why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: a token is needed.
    Unauthenticated,
    /// 403: the caller's token names someone who may not.
    Forbidden,
}

/// Whether the token alone settles that `caller` acts for `email` (no
/// need to ask user-service about the profile). A service acts for the
/// person it calls on behalf of (`W2Meet-Viewer`, e.g. a job's submitter),
/// never for anyone else: a booking job cannot organize as someone its
/// submitter could not.
pub fn acts_by_token(caller: &Caller, email: &str) -> bool {
    match caller {
        Caller::Service { viewer } => viewer.as_deref() == Some(email),
        Caller::Person { email: e, .. } => e == email,
        Caller::Anonymous => false,
    }
}

/// May `caller` act for `email`, whose profile is `person`?
pub fn may_act(
    caller: &Caller,
    email: &str,
    person: &PersonAccess,
    mode: AuthMode,
) -> Result<(), Denied> {
    if acts_by_token(caller, email) {
        return Ok(());
    }
    let open = mode == AuthMode::Open && !person.claimed;
    match caller {
        _ if open => Ok(()),
        Caller::Anonymous | Caller::Service { viewer: None } => Err(Denied::Unauthenticated),
        _ => Err(Denied::Forbidden),
    }
}

/// May `caller` read `email`'s calendar?
pub fn may_read_calendar(
    caller: &Caller,
    email: &str,
    person: &PersonAccess,
) -> Result<(), Denied> {
    if caller.is_service() || acts_by_token(caller, email) || !person.claimed {
        return Ok(());
    }
    match caller {
        Caller::Person { email: e, .. } if person.viewers.iter().any(|v| v == e) => Ok(()),
        Caller::Anonymous => Err(Denied::Unauthenticated),
        _ => Err(Denied::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn person(email: &str) -> Caller {
        Caller::Person {
            email: email.to_owned(),
            account: Uuid::nil(),
        }
    }

    fn claimed(viewers: &[&str]) -> PersonAccess {
        PersonAccess {
            claimed: true,
            viewers: viewers.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn anyone_acts_for_an_unclaimed_profile_in_open_mode_only() {
        let open = PersonAccess::default();
        assert_eq!(
            may_act(&Caller::Anonymous, "a@x.io", &open, AuthMode::Open),
            Ok(())
        );
        assert_eq!(
            may_act(&Caller::Anonymous, "a@x.io", &open, AuthMode::Required),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            may_act(&person("b@x.io"), "a@x.io", &open, AuthMode::Required),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn only_the_owners_token_acts_for_a_claimed_profile() {
        let c = claimed(&["v@x.io"]);
        assert_eq!(
            may_act(&person("a@x.io"), "a@x.io", &c, AuthMode::Open),
            Ok(())
        );
        assert_eq!(
            may_act(&person("v@x.io"), "a@x.io", &c, AuthMode::Open),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            may_act(&Caller::Anonymous, "a@x.io", &c, AuthMode::Open),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn a_service_acts_only_for_the_person_it_calls_for() {
        let c = claimed(&[]);
        let for_ann = Caller::Service {
            viewer: Some("ann@x.io".into()),
        };
        assert_eq!(may_act(&for_ann, "ann@x.io", &c, AuthMode::Open), Ok(()));
        assert_eq!(
            may_act(&for_ann, "ceo@x.io", &c, AuthMode::Open),
            Err(Denied::Forbidden)
        );
        let for_nobody = Caller::Service { viewer: None };
        assert_eq!(
            may_act(&for_nobody, "ceo@x.io", &c, AuthMode::Open),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            may_act(
                &for_nobody,
                "ceo@x.io",
                &PersonAccess::default(),
                AuthMode::Open
            ),
            Ok(())
        );
    }

    #[test]
    fn a_claimed_calendar_is_read_by_its_owner_and_viewers() {
        let c = claimed(&["v@x.io"]);
        assert_eq!(may_read_calendar(&person("v@x.io"), "a@x.io", &c), Ok(()));
        assert_eq!(may_read_calendar(&person("a@x.io"), "a@x.io", &c), Ok(()));
        assert_eq!(
            may_read_calendar(&person("z@x.io"), "a@x.io", &c),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            may_read_calendar(&Caller::Service { viewer: None }, "a@x.io", &c),
            Ok(())
        );
    }
}
