//! RFC 5545 (iCalendar) output: one meeting (`event.ics`) or a person's
//! feed (`feed.ics`), as plain functions over a [`Meeting`].
//!
//! What calendar apps rely on, and how this module gives it to them:
//! - `UID` is the meeting id (`{id}@w2meet`): stable, so an update or a
//!   cancellation replaces the event instead of adding a second one.
//! - `SEQUENCE` is the meeting's sequence, bumped by every change the
//!   organizer makes (time, title, invitees, cancel); `DTSTAMP` is when the
//!   calendar was rendered, `LAST-MODIFIED` when the meeting last changed.
//! - `STATUS:CANCELLED` for a cancelled meeting (kept in feeds so that a
//!   subscribed app removes it).
//! - Times are UTC (`…Z`), which needs no `VTIMEZONE`; the meeting's zone
//!   travels as `X-W2MEET-TZ` for readers that want it.
//! - Text is escaped (`\\`, `;`, `,`, newlines) and every content line is
//!   folded at 75 octets without splitting a UTF-8 character; lines end in
//!   CRLF.

use chrono::{DateTime, Utc};

use super::{Answer, Meeting, Status};

const PRODID: &str = "-//W2Meet//meeting-service//EN";

/// A calendar holding one meeting.
pub fn event_calendar(meeting: &Meeting, now: DateTime<Utc>) -> String {
    calendar(std::slice::from_ref(meeting), now, None)
}

/// A subscribable calendar of `owner`'s meetings.
pub fn feed_calendar(owner: &str, meetings: &[Meeting], now: DateTime<Utc>) -> String {
    calendar(meetings, now, Some(owner))
}

fn calendar(meetings: &[Meeting], now: DateTime<Utc>, feed_of: Option<&str>) -> String {
    let mut out = Lines::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.line(&format!("PRODID:{PRODID}"));
    out.line("CALSCALE:GREGORIAN");
    out.line("METHOD:PUBLISH");
    if let Some(owner) = feed_of {
        out.line(&format!(
            "X-WR-CALNAME:{}",
            text(&format!("W2Meet: {owner}"))
        ));
    }
    for m in meetings {
        event(&mut out, m, now);
    }
    out.line("END:VCALENDAR");
    out.0
}

fn event(out: &mut Lines, m: &Meeting, now: DateTime<Utc>) {
    out.line("BEGIN:VEVENT");
    out.line(&format!("UID:{}@w2meet", m.id));
    out.line(&format!("DTSTAMP:{}", stamp(now)));
    out.line(&format!("DTSTART:{}", stamp(m.start)));
    out.line(&format!("DTEND:{}", stamp(m.end)));
    out.line(&format!("SEQUENCE:{}", m.sequence));
    out.line(&format!("CREATED:{}", stamp(m.created_at)));
    out.line(&format!("LAST-MODIFIED:{}", stamp(m.updated_at)));
    out.line(&format!("SUMMARY:{}", text(&m.title)));
    if !m.description.is_empty() {
        out.line(&format!("DESCRIPTION:{}", text(&m.description)));
    }
    out.line(&format!(
        "STATUS:{}",
        match m.status {
            Status::Booked => "CONFIRMED",
            Status::Cancelled => "CANCELLED",
        }
    ));
    out.line(&format!(
        "CLASS:{}",
        match m.visibility {
            super::Visibility::Public => "PUBLIC",
            super::Visibility::Private => "PRIVATE",
        }
    ));
    out.line(&format!("X-W2MEET-TZ:{}", text(m.tz.name())));
    out.line(&format!("ORGANIZER:mailto:{}", m.organizer));
    for invite in &m.attendees {
        out.line(&format!(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT={};RSVP=TRUE:mailto:{}",
            partstat(invite.answer),
            invite.email
        ));
    }
    out.line("END:VEVENT");
}

/// RFC 5545 §3.2.12's participation status for an answer.
pub fn partstat(answer: Answer) -> &'static str {
    match answer {
        Answer::Pending => "NEEDS-ACTION",
        Answer::Yes => "ACCEPTED",
        Answer::Maybe => "TENTATIVE",
        Answer::No => "DECLINED",
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value (§3.3.11): backslash, semicolon, comma and newline escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Content lines, folded (§3.1): at most 75 octets per physical line, a
/// continuation starting with one space, never inside a UTF-8 character.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, content: &str) {
        let mut budget = 75;
        let mut used = 0;
        for c in content.chars() {
            let len = c.len_utf8();
            if used + len > budget {
                self.0.push_str("\r\n ");
                // The leading space counts towards the next line's 75.
                budget = 74;
                used = 0;
            }
            self.0.push(c);
            used += len;
        }
        self.0.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut lines = Lines::default();
        let content = format!("SUMMARY:{}", "é".repeat(100));
        lines.line(&content);
        for physical in lines.0.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = lines.0.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{content}\r\n"));
    }

    #[test]
    fn text_escapes_the_characters_rfc_5545_reserves() {
        assert_eq!(text("a;b,c\\d\r\ne\nf"), "a\\;b\\,c\\\\d\\ne\\nf");
    }

    #[test]
    fn a_short_line_is_left_alone_and_ends_in_crlf() {
        let mut lines = Lines::default();
        lines.line("BEGIN:VCALENDAR");
        assert_eq!(lines.0, "BEGIN:VCALENDAR\r\n");
    }

    #[test]
    fn answers_map_to_participation_statuses() {
        assert_eq!(partstat(Answer::Pending), "NEEDS-ACTION");
        assert_eq!(partstat(Answer::Maybe), "TENTATIVE");
    }
}
