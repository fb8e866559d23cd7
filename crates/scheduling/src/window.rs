//! The span of real time a request is about.
//!
//! A [`Window`] is `days` consecutive calendar dates read in one time zone:
//! `[from 00:00, (from + days) 00:00)` local time, turned into a half-open
//! UTC interval and cut into five-minute UTC slots. Every timeline, every
//! intersection and every suggestion of one request is indexed by these
//! slots, so slot `i` means the same instant for every user whatever their
//! own zone.
//!
//! # Midnights that do not exist or happen twice
//!
//! A few zones change their clocks at midnight (e.g. America/Santiago,
//! America/Havana, historically America/Sao_Paulo), and Pacific/Apia skipped
//! the whole of 2011-12-30. [`local_midnight`] resolves a date's start as:
//! - midnight exists once: that instant;
//! - midnight happens twice (clocks fell back over it): the *earlier*
//!   instant, so the day is never shortened;
//! - midnight was skipped (clocks sprang forward over it): the first instant
//!   after the gap, i.e. the moment the day actually began.
//!
//! Both ends of the window are then rounded down to a five-minute UTC
//! boundary. Since 1970 every zone's offset is a multiple of five minutes, so
//! this changes nothing for current dates; it only matters for historic
//! local-mean-time offsets such as Europe/Amsterdam's +00:19:32. A window can
//! therefore be empty (Pacific/Apia, `from` = 2011-12-30, one day).

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::{GapInfo, Tz};

use crate::params::{ParamError, WindowDays};
use crate::pattern::SLOT_MINUTES;

/// Seconds per slot.
pub(crate) const SLOT_SECONDS: i64 = SLOT_MINUTES as i64 * 60;

/// A half-open UTC interval `[start, end)` of five-minute slots covering
/// `days` local dates from `from` in `tz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    from: NaiveDate,
    days: u32,
    tz: Tz,
    /// Slot index of `start` counted from the Unix epoch; negative before
    /// 1970. Kept so layouts can find weekday positions with integer maths.
    first_slot: i64,
    /// Number of five-minute slots in the window.
    slots: usize,
}

impl Window {
    /// The window of `days` (1–366) local dates from `from` in `tz`.
    pub fn new(from: NaiveDate, days: u32, tz: Tz) -> Result<Self, ParamError> {
        let days = WindowDays::new(days)?;
        Self::from_days(from, days, tz)
    }

    /// As [`Window::new`] for an already validated day count. Fails only for
    /// dates chrono cannot represent.
    pub fn from_days(from: NaiveDate, days: WindowDays, tz: Tz) -> Result<Self, ParamError> {
        let out_of_range = || ParamError::DateOutOfRange {
            from,
            days: days.get(),
        };
        let until = from
            .checked_add_days(Days::new(u64::from(days.get())))
            .ok_or_else(out_of_range)?;
        let start = local_midnight(from, tz).ok_or_else(out_of_range)?;
        let end = local_midnight(until, tz).ok_or_else(out_of_range)?;
        let first_slot = start.timestamp().div_euclid(SLOT_SECONDS);
        let last_slot = end.timestamp().div_euclid(SLOT_SECONDS);
        let slots = usize::try_from(last_slot - first_slot).unwrap_or(0);
        Ok(Self {
            from,
            days: days.get(),
            tz,
            first_slot,
            slots,
        })
    }

    /// The first local date.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The number of local dates.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The zone the dates are read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The local dates of the window, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take(self.days as usize)
    }

    /// The first instant of the window (inclusive).
    pub fn start(&self) -> DateTime<Utc> {
        slot_instant(self.first_slot)
    }

    /// The end of the window (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.slot_start(self.slots)
    }

    /// The number of five-minute slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The start of slot `slot` (slot `slots()` is the window's end). Indexes
    /// past the end are clamped to the end.
    pub fn slot_start(&self, slot: usize) -> DateTime<Utc> {
        let slot = slot.min(self.slots) as i64;
        slot_instant(self.first_slot + slot)
    }

    /// The slot index of `start` counted from the Unix epoch.
    pub(crate) fn first_slot(&self) -> i64 {
        self.first_slot
    }
}

/// The instant at which absolute slot `slot` (counted from the epoch) starts.
fn slot_instant(slot: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(slot * SLOT_SECONDS, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// When `date` began in `tz` (see the module docs for skipped and repeated
/// midnights). `None` only for dates chrono cannot represent.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let local = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => match GapInfo::new(&local, &tz).and_then(|g| g.end) {
            Some(after_gap) => Some(after_gap.with_timezone(&Utc)),
            // Only at the very edges of the zone's table: fall back to the
            // offset in force at that UTC reading of the wall clock.
            None => {
                let offset = tz.offset_from_utc_datetime(&local).fix().local_minus_utc();
                let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(offset)))?;
                Some(utc.and_utc())
            }
        },
    }
}

/// The first Monday on or after `date`: the default start of a window, so the
/// default window is the coming Monday-to-Sunday week as the original W2Meet
/// read it.
pub fn first_monday_on_or_after(date: NaiveDate) -> NaiveDate {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    date.checked_add_days(Days::new(u64::from(ahead)))
        .unwrap_or(date)
}

/// Today's date in `tz` at instant `now` (pass `Utc::now()` in services and a
/// fixed instant in tests).
pub fn today_in(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;
    use chrono_tz::{America, Asia, Australia, Europe, Pacific, UTC};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_utc_week_has_2016_slots_from_midnight_to_midnight() {
        let w = Window::new(date(2025, 3, 3), 7, UTC).expect("valid");
        assert_eq!(w.start(), utc("2025-03-03T00:00:00Z"));
        assert_eq!(w.end(), utc("2025-03-10T00:00:00Z"));
        assert_eq!(w.slots(), 2016);
    }

    #[test]
    fn a_berlin_week_over_spring_forward_is_one_hour_short() {
        let w = Window::new(date(2025, 3, 24), 7, Europe::Berlin).expect("valid");
        assert_eq!(w.start(), utc("2025-03-23T23:00:00Z"));
        assert_eq!(w.end(), utc("2025-03-30T22:00:00Z"));
        assert_eq!(w.slots(), 2016 - 12);
    }

    #[test]
    fn a_new_york_day_of_fall_back_lasts_25_hours() {
        let w = Window::new(date(2025, 11, 2), 1, America::New_York).expect("valid");
        assert_eq!(w.start(), utc("2025-11-02T04:00:00Z"));
        assert_eq!(w.end(), utc("2025-11-03T05:00:00Z"));
        assert_eq!(w.slots(), 25 * 12);
    }

    #[test]
    fn a_lord_howe_day_of_spring_forward_lasts_23_and_a_half_hours() {
        let w = Window::new(date(2025, 10, 5), 1, Australia::Lord_Howe).expect("valid");
        assert_eq!(w.slots(), 23 * 12 + 6);
    }

    #[test]
    fn a_kathmandu_day_starts_at_1815_utc_the_day_before() {
        let w = Window::new(date(2025, 6, 2), 1, Asia::Kathmandu).expect("valid");
        assert_eq!(w.start(), utc("2025-06-01T18:15:00Z"));
        assert_eq!(w.slots(), 288);
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_when_the_clocks_resume() {
        // Santiago sprang forward at 24:00 on 2024-09-07: 2024-09-08 00:00
        // never happened, the day began at 01:00 -03.
        let start = local_midnight(date(2024, 9, 8), America::Santiago).expect("representable");
        assert_eq!(start, utc("2024-09-08T04:00:00Z"));
    }

    #[test]
    fn a_repeated_midnight_starts_the_day_at_its_first_occurrence() {
        // Santiago fell back at 24:00 on 2025-04-05: 23:00-24:00 repeated, so
        // 2025-04-06 00:00 (-04) happened once, right after the repeat; the
        // day before therefore lasted 25 hours.
        let w = Window::new(date(2025, 4, 5), 1, America::Santiago).expect("valid");
        assert_eq!(w.slots(), 25 * 12);
    }

    #[test]
    fn a_day_that_never_happened_gives_an_empty_window() {
        let w = Window::new(date(2011, 12, 30), 1, Pacific::Apia).expect("valid");
        assert_eq!(w.slots(), 0);
        assert_eq!(w.start(), w.end());
        let two = Window::new(date(2011, 12, 29), 2, Pacific::Apia).expect("valid");
        assert_eq!(two.slots(), 288);
    }

    #[test]
    fn days_outside_1_to_366_are_rejected() {
        assert_eq!(
            Window::new(date(2025, 1, 1), 0, UTC),
            Err(ParamError::Days(0))
        );
        assert!(Window::new(date(2025, 1, 1), 367, UTC).is_err());
        assert!(Window::new(date(2024, 1, 1), 366, UTC).is_ok());
    }

    #[test]
    fn the_last_representable_dates_are_a_client_error_not_a_panic() {
        let err = Window::new(NaiveDate::MAX, 1, UTC).expect_err("no next day");
        assert_eq!(err.field(), "from");
    }

    #[test]
    fn the_default_start_is_the_first_monday_on_or_after_a_date() {
        assert_eq!(first_monday_on_or_after(date(2025, 3, 3)), date(2025, 3, 3));
        assert_eq!(
            first_monday_on_or_after(date(2025, 3, 4)),
            date(2025, 3, 10)
        );
        assert_eq!(
            first_monday_on_or_after(date(2025, 3, 9)),
            date(2025, 3, 10)
        );
        assert_eq!(
            first_monday_on_or_after(date(2025, 12, 31)).weekday(),
            Weekday::Mon
        );
    }

    #[test]
    fn today_depends_on_the_zone() {
        let now = utc("2025-03-02T23:30:00Z");
        assert_eq!(today_in(UTC, now), date(2025, 3, 2));
        assert_eq!(today_in(Europe::Berlin, now), date(2025, 3, 3));
    }

    #[test]
    fn slot_starts_are_five_minutes_apart_and_clamp_at_the_end() {
        let w = Window::new(date(2025, 3, 3), 1, UTC).expect("valid");
        assert_eq!(w.slot_start(1), utc("2025-03-03T00:05:00Z"));
        assert_eq!(w.slot_start(10_000), w.end());
    }
}
