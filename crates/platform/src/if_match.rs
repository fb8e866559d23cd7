//! `If-Match` (RFC 9110 §13.1.1), for services whose ETag is a resource's
//! integer version (`"3"`): user-service's users, meeting-service's meetings.

/// A parsed `If-Match` header: a write goes ahead only if the stored
/// version is one of these (or, for `*`, if the resource exists at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// `"3"`, `"3", "4"`, …: one of these versions. Tags that are not
    /// versions this service issued match nothing, and neither does a weak
    /// tag (`W/"3"`): If-Match uses the strong comparison (RFC 9110
    /// §13.1.1), and this service's ETags are strong.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Parses the header value; never fails — a tag that is not one of our
    /// versions simply cannot match (the precondition then fails, 412).
    pub fn parse(value: &str) -> IfMatch {
        if value.trim() == "*" {
            return IfMatch::Any;
        }
        IfMatch::Versions(
            value
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.starts_with("W/"))
                .filter_map(|tag| tag.trim_matches('"').parse::<i64>().ok())
                .collect(),
        )
    }

    /// Whether a resource at `current` (`None`: absent) satisfies it.
    pub fn matches(&self, current: Option<i64>) -> bool {
        match (self, current) {
            (_, None) => false,
            (IfMatch::Any, Some(_)) => true,
            (IfMatch::Versions(v), Some(c)) => v.contains(&c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_bare_and_listed_tags_match_their_version() {
        for h in ["\"3\"", "3", "\"1\", \"3\"", " W/\"9\" ,\"3\""] {
            assert!(IfMatch::parse(h).matches(Some(3)), "{h}");
            assert!(!IfMatch::parse(h).matches(Some(2)), "{h}");
        }
    }

    #[test]
    fn a_weak_tag_never_matches() {
        for h in ["W/\"3\"", " W/\"3\" ", "W/\"3\", W/\"4\""] {
            assert!(!IfMatch::parse(h).matches(Some(3)), "{h}");
        }
    }

    #[test]
    fn a_star_matches_any_existing_user_and_nothing_matches_an_absent_one() {
        assert!(IfMatch::parse("*").matches(Some(7)));
        assert!(!IfMatch::parse("*").matches(None));
        assert!(!IfMatch::parse("\"1\"").matches(None));
    }

    #[test]
    fn tags_that_are_not_our_versions_match_nothing() {
        assert_eq!(
            IfMatch::parse("\"v3\", yesterday"),
            IfMatch::Versions(vec![])
        );
        assert!(!IfMatch::parse("\"v3\"").matches(Some(3)));
    }
}
