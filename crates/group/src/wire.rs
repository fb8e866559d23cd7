//! The wire format between suggestion-service and availability-service
//! (`POST /timelines`), version [`WIRE_VERSION`].
//!
//! suggestion-service asks for "the timelines of this group over this
//! window" ([`TimelinesRequest`]: normalised emails and a resolved window)
//! and availability-service answers in the core's own representation
//! ([`TimelinesAnswer`]): each member's free time as a bitset of five-minute
//! UTC slots, so the ranking starts from exactly the bits the intersection
//! would use — no RFC 3339 strings, nothing re-derived.
//!
//! # Encoding
//! A timeline is cut into weeks from the window start
//! ([`scheduling::WeekChunk`], 2016 slots). A weekly pattern at one UTC
//! offset repeats exactly from week to week, so a member's year is a few
//! distinct weeks (one per daylight-saving regime, plus the weeks that
//! contain a change). The answer carries each distinct week once, in
//! `weeks`, as base64 of its 252 bytes (bit `i` = slot `i` of the week, least
//! significant bit first); a member is a list of `[week index, repeat]`
//! runs. Members with the same pattern and zone share weeks. A member's
//! if-need-be slots (SPEC §10), a subset of their free time, travel the
//! same way in `if_need_be`, absent when they have none; a reader that
//! does not know the field still reads the right free time (if-need-be
//! time counts as free), so the field needs no new version. 1000 members
//! over 366 days, every member different: about 1.7 MB; over 7 days:
//! about 340 KB.
//!
//! # Versioning
//! Both ends check `version`; a change that an old reader would misread
//! gets a new number (and a new reader keeps reading the old one until every
//! writer is upgraded).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use chrono_tz::Tz;
use scheduling::{Group, Timeline, WEEK_CHUNK_WORDS, WeekChunk, Window};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::email::Email;

/// The version this build writes and reads.
pub const WIRE_VERSION: u32 = 1;

/// Meaningful bytes of a week: 2016 bits.
const WEEK_BYTES: usize = 2016 / 8;

/// A resolved window: `days` local dates from `from` in `tz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WindowSpec {
    pub from: NaiveDate,
    pub days: u32,
    /// IANA zone name.
    pub tz: String,
}

impl WindowSpec {
    pub fn of(window: &Window) -> WindowSpec {
        WindowSpec {
            from: window.from(),
            days: window.days(),
            tz: window.tz().name().to_owned(),
        }
    }

    /// The window, if the zone is known and the dates representable.
    pub fn window(&self) -> Result<Window, WireError> {
        let tz: Tz = self
            .tz
            .parse()
            .map_err(|_| WireError(format!("unknown zone {:?}", self.tz)))?;
        Window::new(self.from, self.days, tz).map_err(|e| WireError(e.to_string()))
    }
}

/// `POST /timelines`: the members' timelines over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelinesRequest {
    /// [`WIRE_VERSION`].
    pub version: u32,
    /// 2–1000 distinct members, normalised.
    #[schema(value_type = Vec<String>)]
    pub users: Vec<Email>,
    pub window: WindowSpec,
}

/// One member's free time and stored preference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberTimeline {
    #[schema(value_type = String)]
    pub email: Email,
    /// The stored ranking preference (`first`, `last`, `random`).
    pub preference: String,
    /// `[index into weeks, how many consecutive weeks]` runs covering the
    /// window's weeks in order.
    pub weeks: Vec<[u32; 2]>,
    /// The slots among those that are free only if need be, as runs like
    /// `weeks`; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub if_need_be: Vec<[u32; 2]>,
}

/// The answer to [`TimelinesRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelinesAnswer {
    /// [`WIRE_VERSION`].
    pub version: u32,
    pub window: WindowSpec,
    /// The members found, in the order asked.
    pub users: Vec<MemberTimeline>,
    /// The members user-service does not know (then `users` is empty).
    #[schema(value_type = Vec<String>)]
    pub missing: Vec<Email>,
    /// The distinct weeks, base64.
    pub weeks: Vec<String>,
    /// Members (among `users`) whom the viewer the request was made for may
    /// not see by address (SPEC §6): they count, but answers must not name
    /// them. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub hidden: Vec<Email>,
}

/// A malformed or inconsistent wire message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed timelines message: {0}")]
pub struct WireError(pub String);

/// A decoded answer: the window, who is in it, and their timelines.
#[derive(Debug, Clone)]
pub struct DecodedGroup {
    /// `(email, stored preference)` per member, in group order.
    pub members: Vec<(Email, String)>,
    /// Timeline `i` belongs to member `i`.
    pub group: Group,
}

impl TimelinesAnswer {
    /// Encodes a group laid out over `window`: each member's timeline and,
    /// when they have any, their if-need-be slots.
    pub fn encode<'a>(
        window: &Window,
        members: impl IntoIterator<Item = (Email, String, &'a Timeline, Option<&'a Timeline>)>,
    ) -> TimelinesAnswer {
        let mut index: HashMap<WeekChunk, u32> = HashMap::new();
        let mut weeks = Vec::new();
        let mut runs_of = |timeline: &Timeline| {
            let mut runs: Vec<[u32; 2]> = Vec::new();
            for chunk in timeline.week_chunks() {
                let next = index.len() as u32;
                let ix = *index.entry(chunk).or_insert_with(|| {
                    weeks.push(encode_week(&chunk));
                    next
                });
                match runs.last_mut() {
                    Some([last, repeat]) if *last == ix => *repeat += 1,
                    _ => runs.push([ix, 1]),
                }
            }
            runs
        };
        let users = members
            .into_iter()
            .map(|(email, preference, timeline, maybe)| MemberTimeline {
                email,
                preference,
                weeks: runs_of(timeline),
                if_need_be: maybe
                    .filter(|m| m.free_slots() > 0)
                    .map(&mut runs_of)
                    .unwrap_or_default(),
            })
            .collect();
        TimelinesAnswer {
            version: WIRE_VERSION,
            window: WindowSpec::of(window),
            users,
            missing: Vec::new(),
            weeks,
            hidden: Vec::new(),
        }
    }

    /// The answer when some members are unknown.
    pub fn missing(window: &Window, missing: Vec<Email>) -> TimelinesAnswer {
        TimelinesAnswer {
            version: WIRE_VERSION,
            window: WindowSpec::of(window),
            users: Vec::new(),
            missing,
            weeks: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// Decodes and checks an answer: version, window, every run in range
    /// and covering the window exactly.
    pub fn decode(&self) -> Result<DecodedGroup, WireError> {
        if self.version != WIRE_VERSION {
            return Err(WireError(format!("version {}", self.version)));
        }
        let window = self.window.window()?;
        let weeks = self
            .weeks
            .iter()
            .map(|w| decode_week(w))
            .collect::<Result<Vec<WeekChunk>, WireError>>()?;
        let timeline_of = |email: &Email, runs: &[[u32; 2]]| {
            let mut chunks: Vec<&WeekChunk> = Vec::new();
            for &[ix, repeat] in runs {
                let week = weeks
                    .get(ix as usize)
                    .ok_or_else(|| WireError(format!("week {ix} of {email} missing")))?;
                if chunks.len() + repeat as usize > window.slots().div_ceil(2016) {
                    return Err(WireError(format!("too many weeks for {email}")));
                }
                chunks.extend(std::iter::repeat_n(week, repeat as usize));
            }
            Timeline::from_week_chunks(window.slots(), chunks.into_iter())
                .ok_or_else(|| WireError(format!("weeks of {email} do not cover the window")))
        };
        let mut members = Vec::with_capacity(self.users.len());
        let mut timelines = Vec::with_capacity(self.users.len());
        let mut maybe = Vec::new();
        for (i, m) in self.users.iter().enumerate() {
            members.push((m.email.clone(), m.preference.clone()));
            timelines.push(timeline_of(&m.email, &m.weeks)?);
            if !m.if_need_be.is_empty() {
                maybe.push((i, timeline_of(&m.email, &m.if_need_be)?));
            }
        }
        let mut group = Group::from_timelines(window, timelines)
            .ok_or_else(|| WireError("timelines do not match the window".into()))?;
        for (i, t) in maybe {
            group.set_if_need_be(i, t);
        }
        Ok(DecodedGroup { members, group })
    }
}

fn encode_week(chunk: &WeekChunk) -> String {
    let mut bytes = [0u8; WEEK_CHUNK_WORDS * 8];
    for (out, word) in bytes.chunks_exact_mut(8).zip(chunk) {
        out.copy_from_slice(&word.to_le_bytes());
    }
    STANDARD.encode(&bytes[..WEEK_BYTES])
}

fn decode_week(s: &str) -> Result<WeekChunk, WireError> {
    let bytes = STANDARD
        .decode(s)
        .map_err(|e| WireError(format!("week not base64: {e}")))?;
    if bytes.len() != WEEK_BYTES {
        return Err(WireError(format!("a week of {} bytes", bytes.len())));
    }
    let mut padded = [0u8; WEEK_CHUNK_WORDS * 8];
    padded[..WEEK_BYTES].copy_from_slice(&bytes);
    let mut chunk = [0u64; WEEK_CHUNK_WORDS];
    for (word, b) in chunk.iter_mut().zip(padded.chunks_exact(8)) {
        *word = u64::from_le_bytes(b.try_into().expect("eight bytes"));
    }
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheduling::WeeklyPattern;
    use serde_json::json;

    fn email(s: &str) -> Email {
        Email::parse(s).expect("valid test email")
    }

    fn laid_out(days: u32) -> (Window, Vec<Timeline>) {
        let from = NaiveDate::from_ymd_opt(2027, 1, 4).expect("date");
        let window = Window::new(from, days, chrono_tz::Europe::Berlin).expect("window");
        let a = WeeklyPattern::from_json(&json!({"monday": [9, 10], "friday": ["13:05-14:00"]}))
            .expect("pattern");
        let b = WeeklyPattern::from_json(&json!({"sunday": ["23:00-24:00"]})).expect("pattern");
        let group = Group::lay_out(
            window,
            [
                (&a, chrono_tz::America::New_York),
                (&b, chrono_tz::Asia::Kathmandu),
                (&a, chrono_tz::America::New_York),
            ],
        );
        (window, group.timelines().to_vec())
    }

    #[test]
    fn a_group_round_trips_through_json() {
        for days in [1, 7, 8, 62, 366] {
            let (window, timelines) = laid_out(days);
            let names = ["a@x.io", "b@x.io", "c@x.io"];
            let answer = TimelinesAnswer::encode(
                &window,
                names
                    .iter()
                    .zip(&timelines)
                    .map(|(n, t)| (email(n), "first".to_owned(), t, None)),
            );
            let json = serde_json::to_string(&answer).expect("serialises");
            let back: TimelinesAnswer = serde_json::from_str(&json).expect("parses");
            let decoded = back.decode().expect("decodes");
            assert_eq!(decoded.group.timelines(), &timelines[..], "{days} days");
            assert_eq!(decoded.members[2].0.as_str(), "c@x.io");
            assert_eq!(*decoded.group.window(), window);
            // Members 0 and 2 share every week.
            assert_eq!(answer.users[0].weeks, answer.users[2].weeks);
        }
    }

    #[test]
    fn if_need_be_slots_round_trip_and_stay_inside_the_free_time() {
        let (window, timelines) = laid_out(14);
        let maybe = Timeline::from_fn(window.slots(), |i| i % 7 == 0);
        let answer = TimelinesAnswer::encode(
            &window,
            [
                (
                    email("a@x.io"),
                    "first".to_owned(),
                    &timelines[0],
                    Some(&maybe),
                ),
                (email("b@x.io"), "last".to_owned(), &timelines[1], None),
            ],
        );
        assert!(answer.users[1].if_need_be.is_empty());
        let json = serde_json::to_value(&answer).expect("json");
        assert!(
            json["users"][1].get("if_need_be").is_none(),
            "absent when none"
        );
        let decoded: TimelinesAnswer = serde_json::from_value(json).expect("parses");
        let group = decoded.decode().expect("decodes").group;
        let levels = group.if_need_be().expect("two levels");
        assert_eq!(levels[0], maybe);
        assert_eq!(levels[1].free_slots(), 0);
        // The if-need-be slots joined member 0's free time.
        assert!((0..window.slots()).all(|i| !maybe.is_free(i) || group.timelines()[0].is_free(i)));
    }

    #[test]
    fn a_year_costs_a_few_weeks_per_pattern() {
        let (window, timelines) = laid_out(366);
        let answer = TimelinesAnswer::encode(
            &window,
            timelines
                .iter()
                .enumerate()
                .map(|(i, t)| (email(&format!("u{i}@x.io")), "first".to_owned(), t, None)),
        );
        assert!(
            answer.weeks.len() <= 12,
            "{} distinct weeks",
            answer.weeks.len()
        );
        assert!(serde_json::to_string(&answer).expect("json").len() < 6000);
    }

    #[test]
    fn inconsistent_answers_are_refused() {
        let (window, timelines) = laid_out(14);
        let good = TimelinesAnswer::encode(
            &window,
            [(email("a@x.io"), "first".to_owned(), &timelines[0], None)],
        );
        let mut bad = good.clone();
        bad.version = 2;
        assert!(bad.decode().is_err());
        let mut bad = good.clone();
        bad.users[0].weeks = vec![[0, 1]];
        assert!(bad.decode().is_err(), "one week short");
        let mut bad = good.clone();
        bad.users[0].weeks = vec![[0, 1000]];
        assert!(bad.decode().is_err(), "too many weeks");
        let mut bad = good.clone();
        bad.users[0].weeks = vec![[9, 2]];
        assert!(bad.decode().is_err(), "unknown week");
        let mut bad = good;
        bad.weeks[0] = "AAAA".into();
        assert!(bad.decode().is_err(), "short week");
    }
}
