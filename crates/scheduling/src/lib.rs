//! W2Meet's scheduling core: plain functions over plain data, no async, no I/O.
//!
//! Everything is indexed by five-minute UTC slots of one [`Window`], and a
//! user's free time over a window is a bitset ([`Timeline`]), so intersecting
//! and ranking are word-wise `AND`s and bit-sliced counts: microseconds for
//! a hundred users over two months.
//!
//! # Layout
//! - [`pattern`]: a user's weekly availability ([`WeeklyPattern`]), parsed from
//!   the API's JSON (hour lists or `"HH:MM-HH:MM"` intervals), normalised to
//!   5-minute bitsets, and echoed back in the form the client used.
//! - [`params`]: validated request parameters (duration, step, count, days,
//!   quorum and required users, preference) and the one [`ParamError`]
//!   services map to 400.
//! - [`window`]: the request's span of real time ([`Window`]): local dates in
//!   a zone turned into UTC slots, with skipped and repeated midnights
//!   resolved; the default start (first Monday on or after a date).
//! - [`timeline`]: laying a weekly pattern onto a window in the user's own
//!   zone ([`Timeline`]), daylight-saving changes included, and a whole
//!   group at once ([`Group`]).
//! - [`dated`]: dated overrides (local, busy or free) and booked busy time
//!   applied on top of a laid-out pattern.
//! - [`freebusy`]: one user's Graph-style `availabilityView` string.
//! - [`intersect`]: maximal intervals where the required users and a quorum
//!   are free, and the original `common_availabilities` day → hours shape.
//! - [`suggest`]: candidate meetings ranked by preference (and by the
//!   if-need-be level), or why there are none and the nearest relaxations.
//! - [`explain`]: who blocks the best slots, and the smallest change of
//!   people, duration or quorum that would give a meeting.
//! - `offsets` (internal): where a zone's UTC offset changes inside a window.
//! - `bits` (internal): word-level bitset helpers and the bit-sliced counter.
//! - `rng` (internal): SplitMix64 for reproducible `random` rankings.

mod bits;
pub mod dated;
pub mod explain;
pub mod freebusy;
pub mod intersect;
mod offsets;
pub mod params;
pub mod pattern;
mod rng;
pub mod suggest;
pub mod timeline;
pub mod window;

pub use dated::{Busy, Override, OverrideKind};
pub use explain::{Blocker, Explanation, PeopleChange, SmallestChange, days_needed, explain};
pub use freebusy::{availability_view, availability_view_levels, freebusy, freebusy_dated};
pub use intersect::{CommonHours, Interval, common_hours, intersect};
pub use params::{
    Attendance, Count, DurationMinutes, IntervalMinutes, ParamError, Preference, StepMinutes,
    WindowDays, whole_number,
};
pub use pattern::{DayFormat, DaySlots, PatternError, WeeklyPattern};
pub use suggest::{
    Alternative, EmptyReason, Relaxation, SuggestRequest, Suggestion, Suggestions, suggest,
};
pub use timeline::{Group, Timeline, WEEK_CHUNK_WORDS, WeekChunk};
pub use window::{Window, first_monday_on_or_after, local_midnight, today_in};
