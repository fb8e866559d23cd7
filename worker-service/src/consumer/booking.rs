//! The booking saga of an auto-book job (SPEC §7): try the ranked
//! candidates in order until meeting-service accepts one.
//!
//! - Each try is written to the job's `booking` log as `trying` *before* it
//!   is sent, under an `Idempotency-Key` of its own (`job-{id}-{n}`), and its
//!   outcome after: `booked` (the meeting's id), `conflict` (409: someone is
//!   busy then — the next candidate is tried) or `refused`.
//! - A delivery that finds an unfinished `trying` (its consumer died, or
//!   meeting-service did not answer) — or a `booked` whose job result was
//!   never stored — sends that try again first, with the same key and
//!   body: if it had booked, meeting-service answers with that meeting (no
//!   second one); if not, it is decided now. Then the candidates not tried
//!   yet, in rank order.
//! - None fits: the job fails, saying what was tried. A refusal other than
//!   a conflict (400, 403) fails it at once; meeting-service down or slow is
//!   transient (the job's usual retry policy).
//!
//! [`plan`] is the pure part: which tries remain, given the log.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clients::{BookError, MeetingClient};

/// The job's `booking` column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingLog {
    pub attempts: Vec<Try>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<String>,
}

/// One candidate tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Try {
    pub start: String,
    pub end: String,
    pub attendees: Vec<String>,
    /// `trying`, `booked`, `conflict` or `refused`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A candidate slot from a suggestion answer.
fn candidate(s: &Value) -> Option<Try> {
    Some(Try {
        start: s["start"].as_str()?.to_owned(),
        end: s["end"].as_str()?.to_owned(),
        attendees: s["attendees"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        outcome: "trying".to_owned(),
        detail: None,
    })
}

/// The tries still to make, in order, each with its index in the log: an
/// unfinished one first (sent again as it was), then every candidate whose
/// time was not tried yet.
pub fn plan(log: &BookingLog, suggestions: &[Value]) -> Vec<(usize, Try)> {
    let mut out = Vec::new();
    // Unfinished, or booked by a delivery that died before storing the
    // result: sent again, the key makes meeting-service answer with what
    // that try did.
    if let Some(last) = log.attempts.last()
        && (last.outcome == "trying" || last.outcome == "booked")
    {
        out.push((log.attempts.len() - 1, last.clone()));
    }
    let tried = |c: &Try| {
        log.attempts
            .iter()
            .any(|t| t.start == c.start && t.end == c.end)
    };
    let mut next = log.attempts.len();
    for c in suggestions.iter().filter_map(candidate) {
        if !tried(&c)
            && !out
                .iter()
                .any(|(_, t)| t.start == c.start && t.end == c.end)
        {
            out.push((next, c));
            next += 1;
        }
    }
    out
}

/// How the saga ended.
pub enum SagaEnd {
    /// A meeting was booked: meeting-service's answer.
    Booked(Value),
    /// Nothing can be booked: why (permanent).
    Failed(String),
    /// meeting-service is unavailable: try again later.
    Transient(String),
    /// Only the unfinished try was to be settled ([`Saga::resume`]), and it
    /// booked nothing: go on with fresh candidates.
    Open,
}

/// What a try books: `book` (the job's), the candidate, the organizer.
fn meeting_body(book: &Value, t: &Try, organizer: &str, tz: &Value) -> Value {
    json!({
        "title": book["title"],
        "description": book["description"],
        "visibility": book["visibility"],
        "organizer": organizer,
        "attendees": t.attendees,
        "start": t.start,
        "end": t.end,
        "tz": if tz.is_string() { tz.clone() } else { json!("UTC") },
    })
}

/// The saga's context: which job, for whom, how to record progress.
pub struct Saga<'a> {
    pub job_id: Uuid,
    pub case_id: &'a str,
    pub submitter: Option<&'a str>,
    pub book: &'a Value,
    pub tz: &'a Value,
    pub meetings: &'a MeetingClient,
}

impl Saga<'_> {
    /// Settles an unfinished try of an earlier delivery (sent again with
    /// its key) before anything else — suggestion-service may be down now,
    /// and a try that did book must not be left behind a failed job.
    /// [`SagaEnd::Open`] when there was none or it booked nothing.
    pub async fn resume<F, Fut, E>(
        &self,
        log: BookingLog,
        record: F,
    ) -> Result<(SagaEnd, BookingLog), E>
    where
        F: FnMut(BookingLog) -> Fut,
        Fut: Future<Output = Result<bool, E>>,
    {
        if plan(&log, &[]).is_empty() {
            return Ok((SagaEnd::Open, log));
        }
        self.tries(log, &[], record, true).await
    }

    /// Runs the remaining tries over `suggestions`; `record` stores the log
    /// after each change (false: the job is no longer this attempt's, stop).
    pub async fn run<F, Fut, E>(
        &self,
        log: BookingLog,
        suggestions: &[Value],
        record: F,
    ) -> Result<(SagaEnd, BookingLog), E>
    where
        F: FnMut(BookingLog) -> Fut,
        Fut: Future<Output = Result<bool, E>>,
    {
        if let Some(r) = log.attempts.iter().find(|t| t.outcome == "refused") {
            let why = r.detail.clone().unwrap_or_default();
            return Ok((
                SagaEnd::Failed(format!("meeting-service refused the booking ({why})")),
                log,
            ));
        }
        let hidden: u64 = suggestions
            .iter()
            .filter_map(|s| s["hidden_attendees"].as_u64())
            .max()
            .unwrap_or(0);
        if hidden > 0 {
            return Ok((
                SagaEnd::Failed(format!(
                    "{hidden} of the people in the group have not shared their profile with the submitter: \
                     a booking must name every attendee (submit with a token they share with)"
                )),
                log,
            ));
        }
        self.tries(log, suggestions, record, false).await
    }

    async fn tries<F, Fut, E>(
        &self,
        mut log: BookingLog,
        suggestions: &[Value],
        mut record: F,
        resume_only: bool,
    ) -> Result<(SagaEnd, BookingLog), E>
    where
        F: FnMut(BookingLog) -> Fut,
        Fut: Future<Output = Result<bool, E>>,
    {
        let organizer = self.book["organizer"]
            .as_str()
            .or(self.submitter)
            .unwrap_or_default()
            .to_owned();
        let todo = plan(&log, suggestions);
        if todo.is_empty() && log.attempts.is_empty() {
            return Ok((
                SagaEnd::Failed(
                    "no candidate slot to book (the suggestion answer has none)".to_owned(),
                ),
                log,
            ));
        }
        for (index, t) in todo {
            if index == log.attempts.len() {
                log.attempts.push(t.clone());
                if !record(log.clone()).await? {
                    return Ok((
                        SagaEnd::Failed("taken over by another delivery".to_owned()),
                        log,
                    ));
                }
            }
            let key = format!("job-{}-{index}", self.job_id);
            let body = meeting_body(self.book, &t, &organizer, self.tz);
            tracing::info!(try_index = index, start = %t.start, "booking a candidate");
            let (outcome, detail, end) = match self
                .meetings
                .book(self.case_id, self.submitter, &body, &key)
                .await
            {
                Ok(meeting) => {
                    let id = meeting["id"].as_str().unwrap_or_default().to_owned();
                    log.meeting_id = Some(id.clone());
                    tracing::info!(meeting_id = %id, start = %t.start, "candidate booked");
                    ("booked", Some(id), Some(SagaEnd::Booked(meeting)))
                }
                Err(BookError::Conflict(msg)) => {
                    tracing::info!(start = %t.start, detail = %msg, "candidate taken; trying the next");
                    ("conflict", Some(msg), None)
                }
                Err(BookError::Refused { status, msg }) => (
                    "refused",
                    Some(format!("{status}: {msg}")),
                    Some(SagaEnd::Failed(format!(
                        "meeting-service refused the booking ({status}): {msg}"
                    ))),
                ),
                Err(BookError::Unavailable(msg)) => {
                    return Ok((SagaEnd::Transient(msg), log));
                }
            };
            if let Some(last) = log.attempts.get_mut(index) {
                last.outcome = outcome.to_owned();
                last.detail = detail;
            }
            if !record(log.clone()).await? {
                return Ok((
                    SagaEnd::Failed("taken over by another delivery".to_owned()),
                    log,
                ));
            }
            if let Some(end) = end {
                return Ok((end, log));
            }
        }
        if resume_only {
            return Ok((SagaEnd::Open, log));
        }
        let tried = log.attempts.len();
        Ok((
            SagaEnd::Failed(format!(
                "no candidate could be booked: {tried} tried, each conflicting with a booked meeting"
            )),
            log,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: &str) -> Value {
        json!({"start": start, "end": "x", "attendees": ["a@x.io"]})
    }

    fn tried(start: &str, outcome: &str) -> Try {
        Try {
            start: start.into(),
            end: "x".into(),
            attendees: vec![],
            outcome: outcome.into(),
            detail: None,
        }
    }

    #[test]
    fn a_fresh_saga_tries_every_candidate_in_rank_order() {
        let plan = plan(&BookingLog::default(), &[s("9"), s("10"), s("11")]);
        let starts: Vec<(usize, &str)> = plan.iter().map(|(i, t)| (*i, t.start.as_str())).collect();
        assert_eq!(starts, [(0, "9"), (1, "10"), (2, "11")]);
    }

    #[test]
    fn a_resumed_saga_sends_its_unfinished_try_again_first_and_skips_the_decided_ones() {
        let log = BookingLog {
            attempts: vec![tried("9", "conflict"), tried("11", "trying")],
            meeting_id: None,
        };
        // Since then the ranking changed: 9 and 11 are gone, 12 is new.
        let plan = plan(&log, &[s("9"), s("10"), s("12")]);
        let starts: Vec<(usize, &str)> = plan.iter().map(|(i, t)| (*i, t.start.as_str())).collect();
        assert_eq!(starts, [(1, "11"), (2, "10"), (3, "12")]);
    }
}
