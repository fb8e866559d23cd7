//! The one email rule every W2Meet service applies: user-service's, which
//! stores users under it. A group member, a `required` attendee and a job's
//! user are all parsed with [`Email::parse`], so an address one service
//! refuses is refused by all of them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest address accepted (RFC 5321's path limit).
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// An email address: the user's id. Trimmed and lower-cased, so
/// `" Ann@Example.COM "` and `"ann@example.com"` are the same user.
///
/// Accepted: a dot-atom local part (letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-``, dots not leading, trailing or doubled) and a
/// domain of at least two labels of letters, digits and inner hyphens. Quotes,
/// spaces, control characters and non-ASCII are refused. Characters such as
/// `'` or `/` are legal and stay plain data: every query is parameterised and
/// every Redis key is binary-safe.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(raw: String) -> Result<Email, String> {
        Email::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err("email must not be empty".into());
        }
        if s.len() > MAX_LEN {
            return Err(format!("email must be at most {MAX_LEN} characters"));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| "email must contain '@'".to_string())?;
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local.is_empty()
            || local.len() > MAX_LOCAL_LEN
            || local
                .split('.')
                .any(|part| part.is_empty() || !part.chars().all(atext))
        {
            return Err("email has an invalid local part".into());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err("email has an invalid domain".into());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn sql_and_path_metacharacters_that_are_legal_stay_data() {
        for s in [
            "o'brien@example.com",
            "a/b@example.com",
            "x+tag@example.co.uk",
            "a%b@example.com",
        ] {
            assert_eq!(Email::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for s in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "a@example..com",
            "\"q\"@example.com",
            "a;DROP TABLE users@x.com",
            "ü@example.com",
            "a@example.com\0",
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(250)),
        ] {
            assert!(Email::parse(s).is_err(), "{s:?}");
        }
    }
}
