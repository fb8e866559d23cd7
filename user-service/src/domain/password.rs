//! A password as registration accepts it (OWASP ASVS 2.1): 8 to 1024
//! characters, any characters, and not one of the most common passwords.
//! The text never appears in `Debug` output, logs or errors.

use std::collections::HashSet;
use std::sync::LazyLock;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 1024;

static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
});

/// A password that passed the policy.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Password, &'static str> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err("the password must have at least 8 characters");
        }
        if chars > MAX_CHARS {
            return Err("the password must have at most 1024 characters");
        }
        if COMMON.contains(&raw.to_lowercase()) {
            return Err("this password is among the most common ones; choose another");
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_needs_8_to_1024_characters() {
        assert!(Password::parse("short7!".into()).is_err());
        assert!(Password::parse("eight ch".into()).is_ok());
        // Characters, not bytes: eight two-byte letters are enough.
        assert!(Password::parse("éééééééé".into()).is_ok());
        assert!(Password::parse("x".repeat(1024)).is_ok());
        assert!(Password::parse("x".repeat(1025)).is_err());
    }

    #[test]
    fn the_most_common_passwords_are_refused_whatever_their_case() {
        for p in [
            "password",
            "PASSWORD1",
            "12345678",
            "Qwerty123!",
            "iloveyou",
        ] {
            assert!(Password::parse(p.into()).is_err(), "{p}");
        }
        assert!(Password::parse("correct horse battery staple".into()).is_ok());
    }

    #[test]
    fn a_password_is_never_printed() {
        let p = Password::parse("hunter2-but-longer".into()).expect("valid");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }
}
