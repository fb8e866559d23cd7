//! A user's weekly availability.
//!
//! The API accepts each day as a list of items, each either an hour `h`
//! (0–23, meaning `[h:00, h+1:00)`, the original W2Meet format) or an interval
//! string `"HH:MM-HH:MM"` (minutes a multiple of 5, end after start, `24:00`
//! allowed as an end). Internally a day is a bitset of 288 five-minute slots:
//! duplicates and overlaps merge for free, and intersecting two days is five
//! `AND`s. The day remembers which form the client used so that responses echo
//! it back unchanged.

use std::fmt;

use chrono::Weekday;
use serde_json::{Map, Value};

/// Minutes per slot: the resolution of every schedule in W2Meet.
pub const SLOT_MINUTES: u32 = 5;
/// Slots in one day (24 h × 12).
pub const SLOTS_PER_DAY: usize = 288;
const WORDS: usize = SLOTS_PER_DAY.div_ceil(64);

/// Day names in API order, Monday first, as the original W2Meet used them.
pub const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The weekday for an API day name (`"monday"` … `"sunday"`, lower case).
pub fn weekday_from_name(name: &str) -> Option<Weekday> {
    DAY_NAMES
        .iter()
        .position(|d| *d == name)
        .map(|i| Weekday::try_from(i as u8).expect("index < 7"))
}

/// The API name of a weekday.
pub fn weekday_name(day: Weekday) -> &'static str {
    DAY_NAMES[day.num_days_from_monday() as usize]
}

/// One day's free time as a set of five-minute slots; slot `i` is
/// `[i*5, i*5+5)` minutes after midnight.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DaySlots([u64; WORDS]);

impl DaySlots {
    /// No free time.
    pub const EMPTY: DaySlots = DaySlots([0; WORDS]);

    /// The whole day free.
    pub fn full() -> Self {
        let mut d = Self::EMPTY;
        d.insert_range(0, SLOTS_PER_DAY);
        d
    }

    /// Marks slots `start..end` free. Panics if `end > SLOTS_PER_DAY`.
    pub fn insert_range(&mut self, start: usize, end: usize) {
        assert!(
            end <= SLOTS_PER_DAY,
            "slot {end} is past the end of the day"
        );
        for i in start..end {
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    /// The raw bits, slot `i` at bit `i % 64` of word `i / 64`; bits past
    /// slot 287 are always clear. Lets layouts copy whole words.
    pub(crate) fn words(&self) -> &[u64; WORDS] {
        &self.0
    }

    /// Whether slot `i` is free.
    pub fn contains(&self, i: usize) -> bool {
        i < SLOTS_PER_DAY && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// Whether no slot is free.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Number of free slots.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Slots free in both.
    pub fn intersect(&self, other: &DaySlots) -> DaySlots {
        let mut out = *self;
        for (a, b) in out.0.iter_mut().zip(other.0.iter()) {
            *a &= b;
        }
        out
    }

    /// Slots free in either.
    pub fn union(&self, other: &DaySlots) -> DaySlots {
        let mut out = *self;
        for (a, b) in out.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
        out
    }

    /// Maximal runs of free slots as `(start_slot, end_slot)`, end exclusive,
    /// in order.
    pub fn runs(&self) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        for i in 0..=SLOTS_PER_DAY {
            match (self.contains(i), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    runs.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// Whole hours `h` whose every slot in `[h:00, h+1:00)` is free.
    pub fn whole_hours(&self) -> Vec<u8> {
        (0..24u8)
            .filter(|h| {
                let first = *h as usize * 12;
                (first..first + 12).all(|i| self.contains(i))
            })
            .collect()
    }
}

impl fmt::Debug for DaySlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs: Vec<String> = self
            .runs()
            .into_iter()
            .map(|(s, e)| format!("{}-{}", slot_label(s), slot_label(e)))
            .collect();
        write!(f, "DaySlots[{}]", runs.join(", "))
    }
}

/// `"HH:MM"` for a slot boundary (`288` is `"24:00"`).
pub fn slot_label(slot: usize) -> String {
    let minutes = slot as u32 * SLOT_MINUTES;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The form a client used for one day's items; responses echo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DayFormat {
    /// A list of whole hours, the original W2Meet format: `[9, 10, 14]`.
    #[default]
    Hours,
    /// A list of `"HH:MM-HH:MM"` strings (a day mixing both forms is echoed
    /// as intervals, the only form that can express it).
    Intervals,
}

/// Why an availability document was rejected. `path` locates the offending
/// value below the availability object (e.g. `["monday", "2"]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatternError {
    pub path: Vec<String>,
    pub message: String,
}

impl PatternError {
    fn new(path: Vec<String>, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }
}

/// A user's weekly availability in their own time zone: for each weekday, the
/// free five-minute slots, plus the form the client used for that day.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WeeklyPattern {
    days: [DaySlots; 7],
    formats: [DayFormat; 7],
}

impl fmt::Debug for WeeklyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (i, name) in DAY_NAMES.iter().enumerate() {
            if !self.days[i].is_empty() {
                m.entry(name, &self.days[i]);
            }
        }
        m.finish()
    }
}

impl WeeklyPattern {
    /// Parses the API's availability object. Missing days are unavailable;
    /// unknown day names, wrong types, hours outside 0–23 and malformed
    /// intervals are errors.
    pub fn from_json(value: &Value) -> Result<Self, PatternError> {
        let obj = value.as_object().ok_or_else(|| {
            PatternError::new(vec![], "availabilities must be an object keyed by day name")
        })?;
        let mut pattern = WeeklyPattern::default();
        for (day, items) in obj {
            let weekday = weekday_from_name(day).ok_or_else(|| {
                PatternError::new(
                    vec![day.clone()],
                    format!(
                        "unknown day {day:?}; expected one of {}",
                        DAY_NAMES.join(", ")
                    ),
                )
            })?;
            let items = items.as_array().ok_or_else(|| {
                PatternError::new(
                    vec![day.clone()],
                    "a day must be a list of hours (0-23) or \"HH:MM-HH:MM\" intervals",
                )
            })?;
            let idx = weekday.num_days_from_monday() as usize;
            let mut slots = DaySlots::EMPTY;
            let mut format = DayFormat::Hours;
            for (i, item) in items.iter().enumerate() {
                let path = || vec![day.clone(), i.to_string()];
                let (start, end) = match item {
                    Value::Number(n) => {
                        let hour = n.as_u64().filter(|h| *h < 24).ok_or_else(|| {
                            PatternError::new(
                                path(),
                                format!("hour {n} is not a whole number from 0 to 23"),
                            )
                        })?;
                        (hour as usize * 12, hour as usize * 12 + 12)
                    }
                    Value::String(s) => {
                        format = DayFormat::Intervals;
                        parse_interval(s).map_err(|m| PatternError::new(path(), m))?
                    }
                    _ => {
                        return Err(PatternError::new(
                            path(),
                            "an item must be an hour (0-23) or an \"HH:MM-HH:MM\" interval",
                        ));
                    }
                };
                slots.insert_range(start, end);
            }
            pattern.days[idx] = slots;
            pattern.formats[idx] = format;
        }
        Ok(pattern)
    }

    /// Builds a pattern directly from slots (tests, benchmarks, generators).
    pub fn from_days(days: [DaySlots; 7], formats: [DayFormat; 7]) -> Self {
        Self { days, formats }
    }

    /// The normalised pattern as the API returns it: all seven days, Monday
    /// first, each in the form the client used (whole hours, or merged
    /// `"HH:MM-HH:MM"` intervals).
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(7);
        for (i, name) in DAY_NAMES.iter().enumerate() {
            let day = &self.days[i];
            let items: Vec<Value> = match self.formats[i] {
                DayFormat::Hours => day.whole_hours().into_iter().map(Value::from).collect(),
                DayFormat::Intervals => day
                    .runs()
                    .into_iter()
                    .map(|(s, e)| Value::from(format!("{}-{}", slot_label(s), slot_label(e))))
                    .collect(),
            };
            out.insert((*name).to_owned(), Value::Array(items));
        }
        Value::Object(out)
    }

    /// The free slots of a weekday.
    pub fn day(&self, day: Weekday) -> &DaySlots {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// The form the client used for a weekday.
    pub fn format(&self, day: Weekday) -> DayFormat {
        self.formats[day.num_days_from_monday() as usize]
    }

    /// All seven days, Monday first.
    pub fn days(&self) -> &[DaySlots; 7] {
        &self.days
    }

    /// Whether the user is never free.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(DaySlots::is_empty)
    }
}

/// Parses `"HH:MM-HH:MM"` into a slot range.
fn parse_interval(s: &str) -> Result<(usize, usize), String> {
    let malformed = || format!("interval {s:?} is not of the form \"HH:MM-HH:MM\"");
    let (a, b) = s.split_once('-').ok_or_else(malformed)?;
    let start = parse_clock(a).ok_or_else(malformed)?;
    let end = parse_clock(b).ok_or_else(malformed)?;
    for m in [start, end] {
        if m % SLOT_MINUTES != 0 {
            return Err(format!(
                "interval {s:?}: minutes must be a multiple of {SLOT_MINUTES}"
            ));
        }
    }
    if start >= 24 * 60 {
        return Err(format!("interval {s:?}: start must be before 24:00"));
    }
    if end <= start {
        return Err(format!("interval {s:?}: end must be after start"));
    }
    Ok((
        (start / SLOT_MINUTES) as usize,
        (end / SLOT_MINUTES) as usize,
    ))
}

/// Parses exactly `HH:MM` (two digits each) into minutes after midnight;
/// `24:00` is allowed, anything later is not.
fn parse_clock(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|i| b[*i].is_ascii_digit()) {
        return None;
    }
    let hours = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let minutes = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return None;
    }
    Some(hours * 60 + minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<WeeklyPattern, PatternError> {
        WeeklyPattern::from_json(&v)
    }

    #[test]
    fn hour_lists_round_trip_sorted_and_deduplicated_with_every_day_present() {
        let p = parse(json!({"monday": [10, 9, 9], "friday": [23]})).unwrap();
        assert_eq!(
            p.to_json(),
            json!({"monday": [9, 10], "tuesday": [], "wednesday": [], "thursday": [],
                   "friday": [23], "saturday": [], "sunday": []})
        );
    }

    #[test]
    fn days_are_echoed_monday_first() {
        let p = parse(json!({"sunday": [1], "monday": [2]})).unwrap();
        let keys: Vec<_> = p.to_json().as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, DAY_NAMES);
    }

    #[test]
    fn overlapping_intervals_merge() {
        let p =
            parse(json!({"tuesday": ["09:00-10:30", "10:00-11:00", "13:05-13:10", "13:10-13:20"]}))
                .unwrap();
        assert_eq!(
            p.to_json()["tuesday"],
            json!(["09:00-11:00", "13:05-13:20"])
        );
    }

    #[test]
    fn a_day_mixing_forms_is_echoed_as_intervals() {
        let p = parse(json!({"monday": [9, "10:00-10:30"]})).unwrap();
        assert_eq!(p.to_json()["monday"], json!(["09:00-10:30"]));
        assert_eq!(p.format(Weekday::Mon), DayFormat::Intervals);
    }

    #[test]
    fn midnight_is_allowed_as_an_end_only() {
        let p = parse(json!({"monday": ["23:00-24:00"]})).unwrap();
        assert_eq!(p.day(Weekday::Mon).whole_hours(), vec![23]);
        assert!(parse(json!({"monday": ["24:00-24:00"]})).is_err());
        assert!(parse(json!({"monday": ["23:00-24:05"]})).is_err());
    }

    #[test]
    fn hour_means_the_whole_hour() {
        let p = parse(json!({"monday": [9]})).unwrap();
        assert_eq!(p.day(Weekday::Mon).runs(), vec![(108, 120)]);
        assert_eq!(p.day(Weekday::Mon).count(), 12);
    }

    #[test]
    fn bad_documents_are_rejected_with_the_offending_path() {
        let cases = [
            (json!([1, 2]), vec![]),
            (json!({"funday": [1]}), vec!["funday"]),
            (json!({"Monday": [1]}), vec!["Monday"]),
            (json!({"monday": 9}), vec!["monday"]),
            (json!({"monday": [24]}), vec!["monday", "0"]),
            (json!({"monday": [1, -1]}), vec!["monday", "1"]),
            (json!({"monday": [9.5]}), vec!["monday", "0"]),
            (json!({"monday": [true]}), vec!["monday", "0"]),
            (json!({"monday": [null]}), vec!["monday", "0"]),
            (json!({"monday": ["10:00-09:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["10:00-10:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["10:03-11:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["9:00-10:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["09:00 - 10:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["09:60-10:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["25:00-26:00"]}), vec!["monday", "0"]),
            (json!({"monday": ["٠٩:00-10:00"]}), vec!["monday", "0"]),
        ];
        for (doc, path) in cases {
            let err = parse(doc.clone()).expect_err(&doc.to_string());
            assert_eq!(err.path, path, "{doc}");
        }
    }

    #[test]
    fn whole_hours_ignore_partial_hours() {
        let p = parse(json!({"monday": ["09:30-11:00"]})).unwrap();
        assert_eq!(p.day(Weekday::Mon).whole_hours(), vec![10]);
    }
}
