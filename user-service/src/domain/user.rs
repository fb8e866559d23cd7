use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use scheduling::WeeklyPattern;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Email;

/// A display name: trimmed, empty means none, at most [`MAX_NAME_CHARS`]
/// characters, no control characters.
pub fn parse_name(raw: Option<String>) -> Result<Option<String>, String> {
    let name = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(n) = &name {
        if n.chars().count() > MAX_NAME_CHARS {
            return Err(format!("name must be at most {MAX_NAME_CHARS} characters"));
        }
        if n.chars().any(char::is_control) {
            return Err("name must not contain control characters".to_owned());
        }
    }
    Ok(name)
}

/// Longest display name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

/// How a user likes their meetings ordered (the original W2Meet's
/// `preferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    #[default]
    First,
    Last,
    Random,
}

impl Preference {
    pub fn as_str(self) -> &'static str {
        match self {
            Preference::First => "first",
            Preference::Last => "last",
            Preference::Random => "random",
        }
    }
}

impl FromStr for Preference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "first" => Ok(Preference::First),
            "last" => Ok(Preference::Last),
            "random" => Ok(Preference::Random),
            other => Err(format!(
                "unknown preference {other:?}; expected first, last or random"
            )),
        }
    }
}

/// An IANA time zone known to the compiled-in tz database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(s: &str) -> Result<TimeZone, String> {
        s.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            format!("unknown time zone {s:?}; expected an IANA name such as Europe/Berlin")
        })
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::UTC)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// A create/replace body as it arrives. Types are checked by serde (wrong
/// types are a 400 from the extractor); values by [`UserDraft::parse`].
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UserInput {
    /// Required on create; on replace it may be omitted, and must match the
    /// path when given.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// IANA zone, default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// `first` | `last` | `random`, default `first`.
    #[serde(default, alias = "preference")]
    pub preferences: Option<String>,
    /// Day name → list of hours (0–23) or `"HH:MM-HH:MM"` intervals.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"monday": [9, 10], "tuesday": ["13:00-15:30"]}))]
    pub availabilities: Option<Value>,
    /// Time the person can make only if they have to (SPEC §10), in the
    /// same shape as `availabilities`. Omitted or `null`: none.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"friday": ["16:00-18:00"]}))]
    pub if_need_be: Option<Value>,
}

/// One invalid field: where it is below the body, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub loc: Vec<String>,
    pub msg: String,
}

fn invalid(loc: &[&str], msg: impl Into<String>) -> InvalidField {
    InvalidField {
        loc: loc.iter().map(|s| (*s).to_owned()).collect(),
        msg: msg.into(),
    }
}

/// A validated user, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    pub email: Email,
    pub name: Option<String>,
    pub timezone: TimeZone,
    pub preference: Preference,
    pub availability: WeeklyPattern,
    /// Empty when the person has no if-need-be time.
    pub if_need_be: WeeklyPattern,
}

impl UserDraft {
    /// Validates a body. `path_email` is the user addressed by the URL on
    /// replace (the body's email may then be omitted). Every invalid field is
    /// reported, not just the first.
    pub fn parse(
        input: UserInput,
        path_email: Option<&Email>,
    ) -> Result<UserDraft, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let email = match (input.email.as_deref(), path_email) {
            (Some(raw), path) => match Email::parse(raw) {
                Ok(e) if path.is_some_and(|p| *p != e) => {
                    errors.push(invalid(
                        &["body", "email"],
                        "email in the body differs from the one in the path",
                    ));
                    None
                }
                Ok(e) => Some(e),
                Err(msg) => {
                    errors.push(invalid(&["body", "email"], msg));
                    None
                }
            },
            (None, Some(path)) => Some(path.clone()),
            (None, None) => {
                errors.push(invalid(&["body", "email"], "field required"));
                None
            }
        };
        let name = match parse_name(input.name) {
            Ok(n) => n,
            Err(msg) => {
                errors.push(invalid(&["body", "name"], msg));
                None
            }
        };
        let timezone = match input.timezone.as_deref().map(str::trim) {
            None | Some("") => Some(TimeZone::default()),
            Some(tz) => TimeZone::parse(tz)
                .map_err(|m| errors.push(invalid(&["body", "timezone"], m)))
                .ok(),
        };
        let preference = match input.preferences.as_deref() {
            None => Some(Preference::default()),
            Some(p) => p
                .parse()
                .map_err(|m: String| errors.push(invalid(&["body", "preferences"], m)))
                .ok(),
        };
        let mut pattern = |field: &str, raw: &Option<Value>| match raw {
            None | Some(Value::Null) => Some(WeeklyPattern::default()),
            Some(v) => WeeklyPattern::from_json(v)
                .map_err(|e| {
                    let mut loc = vec!["body".to_owned(), field.to_owned()];
                    loc.extend(e.path);
                    errors.push(InvalidField {
                        loc,
                        msg: e.message,
                    });
                })
                .ok(),
        };
        let availability = pattern("availabilities", &input.availabilities);
        let if_need_be = pattern("if_need_be", &input.if_need_be);
        match (email, timezone, preference, availability, if_need_be) {
            (
                Some(email),
                Some(timezone),
                Some(preference),
                Some(availability),
                Some(if_need_be),
            ) if errors.is_empty() => Ok(UserDraft {
                email,
                name,
                timezone,
                preference,
                availability,
                if_need_be,
            }),
            _ => Err(errors),
        }
    }
}

/// A stored user, as the API returns it and as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserRecord {
    pub email: String,
    pub name: Option<String>,
    pub timezone: String,
    pub preferences: String,
    /// All seven days, Monday first, each in the form the client used.
    #[schema(value_type = Object)]
    pub availabilities: Value,
    /// The if-need-be pattern (SPEC §10), like `availabilities`; absent
    /// when the person has none, so original answers keep their shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub if_need_be: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1, +1 per replace; the `ETag`.
    pub version: i64,
}

impl UserRecord {
    /// Whether creating `draft` again would change nothing (a retried create).
    pub fn has_same_data_as(&self, draft: &UserDraft) -> bool {
        self.name == draft.name
            && self.timezone == draft.timezone.to_string()
            && self.preferences == draft.preference.as_str()
            && WeeklyPattern::from_json(&self.availabilities).is_ok_and(|p| p == draft.availability)
            && self
                .if_need_be_pattern()
                .is_ok_and(|p| p == draft.if_need_be)
    }

    /// The if-need-be pattern (empty when none).
    pub fn if_need_be_pattern(&self) -> Result<WeeklyPattern, scheduling::PatternError> {
        self.if_need_be
            .as_ref()
            .map_or(Ok(WeeklyPattern::default()), WeeklyPattern::from_json)
    }

    /// The weekly pattern (stored normalised, so it always parses).
    pub fn pattern(&self) -> Result<WeeklyPattern, scheduling::PatternError> {
        WeeklyPattern::from_json(&self.availabilities)
    }

    /// The zone (stored validated).
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        TimeZone::parse(&self.timezone).map(TimeZone::tz)
    }

    /// The original `/user-avail/cache-aside` view.
    pub fn availability_view(&self) -> AvailabilityRecord {
        AvailabilityRecord {
            email: self.email.clone(),
            availabilities: self.availabilities.clone(),
            preferences: self.preferences.clone(),
            timezone: self.timezone.clone(),
            created_at: self.created_at,
        }
    }
}

/// The availability record of the original cache-aside endpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailabilityRecord {
    pub email: String,
    #[schema(value_type = Object)]
    pub availabilities: Value,
    pub preferences: String,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> UserInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_fill_what_is_missing() {
        let d = UserDraft::parse(input(json!({"email": "A@x.io"})), None).unwrap();
        assert_eq!(d.email.as_str(), "a@x.io");
        assert_eq!(d.timezone.to_string(), "UTC");
        assert_eq!(d.preference, Preference::First);
        assert!(d.availability.is_empty());
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let errs = UserDraft::parse(
            input(
                json!({"email": "nope", "timezone": "Mars/Olympus", "preferences": "soon",
                         "availabilities": {"monday": [25]}}),
            ),
            None,
        )
        .unwrap_err();
        let locs: Vec<_> = errs.iter().map(|e| e.loc.join(".")).collect();
        assert_eq!(
            locs,
            [
                "body.email",
                "body.timezone",
                "body.preferences",
                "body.availabilities.monday.0"
            ]
        );
    }

    #[test]
    fn replace_takes_the_email_from_the_path_and_refuses_a_different_one() {
        let path = Email::parse("a@x.io").unwrap();
        assert!(UserDraft::parse(input(json!({})), Some(&path)).is_ok());
        assert!(UserDraft::parse(input(json!({"email": "A@X.io"})), Some(&path)).is_ok());
        assert!(UserDraft::parse(input(json!({"email": "b@x.io"})), Some(&path)).is_err());
    }

    #[test]
    fn the_singular_preference_key_is_accepted() {
        let d = UserDraft::parse(
            input(json!({"email": "a@x.io", "preference": "last"})),
            None,
        )
        .unwrap();
        assert_eq!(d.preference, Preference::Last);
    }
}
