//! Validated request parameters ("parse, don't validate").
//!
//! Every number a client sends to the availability or suggestion service is
//! checked once, here, and the rest of the core only accepts these types. Each
//! rejection is a [`ParamError`] whose message can be shown to the client
//! as-is and whose [`ParamError::field`] names the parameter, so a service maps
//! it to a 400 with the right `loc`.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::pattern::SLOT_MINUTES;

/// Smallest group the availability and suggestion services accept.
pub const MIN_GROUP: usize = 2;
/// Largest group the availability and suggestion services accept.
pub const MAX_GROUP: usize = 1000;
/// Most suggestions one request may ask for.
pub const MAX_COUNT: u32 = 50;
/// Longest window, in days (a leap year).
pub const MAX_DAYS: u32 = 366;

/// Why a parameter was rejected. Every variant is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// `days` outside 1–366.
    #[error("days must be a whole number from 1 to {MAX_DAYS}, got {0}")]
    Days(u32),
    /// The window's dates cannot be represented (far past or future).
    #[error("a window of {days} days from {from} is outside the supported dates")]
    DateOutOfRange { from: NaiveDate, days: u32 },
    /// `duration` not a multiple of 5 in 5–1440.
    #[error("duration must be a multiple of 5 minutes from 5 to 1440, got {0}")]
    Duration(u32),
    /// `step` not a multiple of 5 in 5–1440.
    #[error("step must be a multiple of 5 minutes from 5 to 1440, got {0}")]
    Step(u32),
    /// The free/busy `interval` not a multiple of 5 in 5–1440.
    #[error("interval must be a multiple of 5 minutes from 5 to 1440, got {0}")]
    Interval(u32),
    /// `count` outside 1–50.
    #[error("count must be from 1 to {MAX_COUNT}, got {0}")]
    Count(u32),
    /// Fewer than two or more than 1000 distinct users.
    #[error("a group needs from {MIN_GROUP} to {MAX_GROUP} distinct users, got {0}")]
    GroupSize(usize),
    /// `min_attendees` of 0 or larger than the group.
    #[error("min_attendees must be from 1 to the group size {n}, got {k}")]
    MinAttendees { k: usize, n: usize },
    /// A required user that is not a member of the group.
    #[error("required user #{index} is not in the group of {n} users")]
    RequiredNotInGroup { index: usize, n: usize },
    /// A number that is neither a whole JSON number nor a string of one.
    #[error("{0} must be a whole number")]
    NotWholeNumber(&'static str),
    /// An unknown ranking preference.
    #[error("unknown preference {0:?}; expected first, last, random or best")]
    Preference(String),
}

impl ParamError {
    /// The request parameter at fault, as clients spell it.
    pub fn field(&self) -> &'static str {
        match self {
            ParamError::Days(_) => "days",
            ParamError::DateOutOfRange { .. } => "from",
            ParamError::Duration(_) => "duration",
            ParamError::Step(_) => "step",
            ParamError::Interval(_) => "interval",
            ParamError::Count(_) => "count",
            ParamError::GroupSize(_) => "users",
            ParamError::MinAttendees { .. } => "min_attendees",
            ParamError::RequiredNotInGroup { .. } => "required",
            ParamError::Preference(_) => "preference",
            ParamError::NotWholeNumber(field) => field,
        }
    }
}

/// A whole number as clients send it: a JSON number, or a string of digits
/// (query strings are all strings). `Ok(None)` when absent or `null`.
pub fn whole_number(
    field: &'static str,
    v: Option<&serde_json::Value>,
) -> Result<Option<u64>, ParamError> {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or(ParamError::NotWholeNumber(field)),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ParamError::NotWholeNumber(field)),
        Some(_) => Err(ParamError::NotWholeNumber(field)),
    }
}

/// A whole number of minutes, a multiple of 5 from 5 to 1440: the shape of a
/// meeting length, a candidate step and a free/busy interval.
macro_rules! minutes_type {
    ($(#[$doc:meta])* $name:ident, $variant:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// Accepts a multiple of 5 minutes from 5 to 1440.
            pub fn new(minutes: u32) -> Result<Self, ParamError> {
                if (SLOT_MINUTES..=1440).contains(&minutes) && minutes % SLOT_MINUTES == 0 {
                    Ok(Self(minutes))
                } else {
                    Err(ParamError::$variant(minutes))
                }
            }

            /// The length in minutes.
            pub fn minutes(self) -> u32 {
                self.0
            }

            /// The length in five-minute slots.
            pub fn slots(self) -> usize {
                (self.0 / SLOT_MINUTES) as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} minutes", self.0)
            }
        }
    };
}

minutes_type!(
    /// How long a meeting lasts.
    DurationMinutes,
    Duration
);
minutes_type!(
    /// Minutes between consecutive candidate starts, counted from the window
    /// start.
    StepMinutes,
    Step
);
minutes_type!(
    /// The width of one free/busy character.
    IntervalMinutes,
    Interval
);

/// The number of days in a window, 1–366.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowDays(u32);

impl WindowDays {
    /// Accepts 1–366.
    pub fn new(days: u32) -> Result<Self, ParamError> {
        if (1..=MAX_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(ParamError::Days(days))
        }
    }

    /// The number of days.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// How many suggestions to return, 1–50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Count(u32);

impl Count {
    /// Accepts 1–50.
    pub fn new(count: u32) -> Result<Self, ParamError> {
        if (1..=MAX_COUNT).contains(&count) {
            Ok(Self(count))
        } else {
            Err(ParamError::Count(count))
        }
    }

    /// The count.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

/// How candidate meetings are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preference {
    /// Earliest first (the original W2Meet default).
    #[default]
    First,
    /// Latest first.
    Last,
    /// A seeded, reproducible random order.
    Random,
    /// Most attendees first, then earliest.
    Best,
}

impl Preference {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Preference::First => "first",
            Preference::Last => "last",
            Preference::Random => "random",
            Preference::Best => "best",
        }
    }
}

impl FromStr for Preference {
    type Err = ParamError;

    /// Accepts exactly `first`, `last`, `random` or `best` (lower case, as the
    /// API stores them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "first" => Ok(Preference::First),
            "last" => Ok(Preference::Last),
            "random" => Ok(Preference::Random),
            "best" => Ok(Preference::Best),
            _ => Err(ParamError::Preference(s.to_owned())),
        }
    }
}

impl fmt::Display for Preference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who must attend: a group of `n` users (indexes `0..n`, in the order the
/// timelines were laid out), the users that must be free, and the quorum.
///
/// Required users count towards the quorum. A slot qualifies when every
/// required user is free and at least `min_attendees` users are free.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attendance {
    n: usize,
    required: Vec<usize>,
    min_attendees: usize,
}

impl Attendance {
    /// Validates a group of `n` users (2–1000), `required` indexes (each below
    /// `n`; duplicates collapse) and a quorum `min_attendees` (1–`n`).
    pub fn new(n: usize, required: &[usize], min_attendees: usize) -> Result<Self, ParamError> {
        if !(MIN_GROUP..=MAX_GROUP).contains(&n) {
            return Err(ParamError::GroupSize(n));
        }
        if let Some(&index) = required.iter().find(|i| **i >= n) {
            return Err(ParamError::RequiredNotInGroup { index, n });
        }
        if !(1..=n).contains(&min_attendees) {
            return Err(ParamError::MinAttendees {
                k: min_attendees,
                n,
            });
        }
        let mut required = required.to_vec();
        required.sort_unstable();
        required.dedup();
        Ok(Self {
            n,
            required,
            min_attendees,
        })
    }

    /// Everyone must attend: the original W2Meet semantics.
    pub fn everyone(n: usize) -> Result<Self, ParamError> {
        let all: Vec<usize> = (0..n).collect();
        Self::new(n, &all, n)
    }

    /// Applies the API defaults: `min_attendees` defaults to `n`; `required`
    /// defaults to everyone when `min_attendees` is also absent, and to nobody
    /// when a quorum was given (otherwise a quorum could never take effect).
    /// Both defaults mean "everyone must be free" when neither is given.
    pub fn from_request(
        n: usize,
        required: Option<&[usize]>,
        min_attendees: Option<usize>,
    ) -> Result<Self, ParamError> {
        match (required, min_attendees) {
            (None, None) => Self::everyone(n),
            (None, Some(k)) => Self::new(n, &[], k),
            (Some(r), k) => Self::new(n, r, k.unwrap_or(n)),
        }
    }

    /// The group size.
    pub fn group_size(&self) -> usize {
        self.n
    }

    /// The required users, sorted, without duplicates.
    pub fn required(&self) -> &[usize] {
        &self.required
    }

    /// The quorum.
    pub fn min_attendees(&self) -> usize {
        self.min_attendees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_come_as_json_numbers_or_digit_strings() {
        use serde_json::json;
        assert_eq!(whole_number("days", None), Ok(None));
        assert_eq!(whole_number("days", Some(&json!(null))), Ok(None));
        assert_eq!(whole_number("days", Some(&json!(7))), Ok(Some(7)));
        assert_eq!(whole_number("days", Some(&json!(" 7 "))), Ok(Some(7)));
        for bad in [
            json!(-1),
            json!(1.5),
            json!("seven"),
            json!(""),
            json!([7]),
            json!(true),
        ] {
            let err = whole_number("days", Some(&bad)).unwrap_err();
            assert_eq!(err.field(), "days", "{bad}");
            assert_eq!(err.to_string(), "days must be a whole number");
        }
    }

    #[test]
    fn durations_must_be_whole_slots_within_a_day() {
        for ok in [5, 60, 1440] {
            assert_eq!(DurationMinutes::new(ok).map(|d| d.minutes()), Ok(ok));
        }
        for bad in [0, 7, 1441, 1445] {
            let err = DurationMinutes::new(bad).expect_err("rejected");
            assert_eq!(err.field(), "duration");
            assert!(err.to_string().contains(&bad.to_string()));
        }
        assert_eq!(DurationMinutes::new(90).map(|d| d.slots()), Ok(18));
    }

    #[test]
    fn steps_and_intervals_follow_the_same_rule_but_name_their_own_field() {
        assert_eq!(StepMinutes::new(3).map_err(|e| e.field()), Err("step"));
        assert_eq!(
            IntervalMinutes::new(0).map_err(|e| e.field()),
            Err("interval")
        );
        assert!(IntervalMinutes::new(1440).is_ok());
    }

    #[test]
    fn days_and_counts_have_inclusive_bounds() {
        assert!(WindowDays::new(0).is_err());
        assert!(WindowDays::new(1).is_ok());
        assert!(WindowDays::new(366).is_ok());
        assert!(WindowDays::new(367).is_err());
        assert!(Count::new(0).is_err());
        assert!(Count::new(50).is_ok());
        assert_eq!(Count::new(51).map_err(|e| e.field()), Err("count"));
    }

    #[test]
    fn preferences_parse_only_their_lower_case_names() {
        assert_eq!("best".parse::<Preference>(), Ok(Preference::Best));
        assert_eq!("first".parse::<Preference>(), Ok(Preference::First));
        let err = "First".parse::<Preference>().expect_err("case matters");
        assert_eq!(err.field(), "preference");
    }

    #[test]
    fn a_quorum_larger_than_the_group_is_rejected() {
        let err = Attendance::new(3, &[], 4).expect_err("k > n");
        assert_eq!(err, ParamError::MinAttendees { k: 4, n: 3 });
        assert!(Attendance::new(3, &[], 0).is_err());
    }

    #[test]
    fn a_required_user_outside_the_group_is_rejected() {
        let err = Attendance::new(3, &[0, 3], 2).expect_err("3 is not in 0..3");
        assert_eq!(err.field(), "required");
    }

    #[test]
    fn groups_of_one_or_more_than_a_thousand_are_rejected() {
        assert_eq!(Attendance::everyone(1), Err(ParamError::GroupSize(1)));
        assert_eq!(Attendance::everyone(1001), Err(ParamError::GroupSize(1001)));
        assert!(Attendance::everyone(1000).is_ok());
    }

    #[test]
    fn duplicate_required_users_collapse() {
        let a = Attendance::new(4, &[2, 0, 2], 2).expect("valid");
        assert_eq!(a.required(), &[0, 2]);
    }

    #[test]
    fn a_quorum_without_required_users_requires_nobody_in_particular() {
        let a = Attendance::from_request(5, None, Some(3)).expect("valid");
        assert_eq!((a.required(), a.min_attendees()), (&[][..], 3));
        let all = Attendance::from_request(5, None, None).expect("valid");
        assert_eq!((all.required().len(), all.min_attendees()), (5, 5));
        let some = Attendance::from_request(5, Some(&[1]), None).expect("valid");
        assert_eq!((some.required(), some.min_attendees()), (&[1][..], 5));
    }
}
