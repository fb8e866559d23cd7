//! A job's lifecycle and its two outward shapes: the JSON clients read and
//! the message consumers receive.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a job is. `queued` → `running` → `succeeded` | `failed`; a transient
/// failure puts a job back to `queued` until its retry is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    /// Whether the job will never change again.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "failed" => Ok(JobStatus::Failed),
            other => Err(format!("unknown job status {other:?}")),
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job computes, stored in its `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Suggestions, stored as suggestion-service's full answer.
    Suggestion,
    /// Suggestions for an original body (`userId1`, `userId2`,
    /// `preference`), stored in the original shape
    /// `{"case_id","suggestions":[{"day","slot"}]}`.
    OriginalSuggestion,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Suggestion => "suggestion",
            JobKind::OriginalSuggestion => "suggestion.original",
        }
    }

    /// Reads a stored kind; anything unknown is a full suggestion (the only
    /// kind older versions wrote).
    pub fn from_stored(s: &str) -> JobKind {
        match s {
            "suggestion.original" => JobKind::OriginalSuggestion,
            _ => JobKind::Suggestion,
        }
    }

    /// The result to store for suggestion-service's `answer`.
    pub fn result_of(self, answer: serde_json::Value) -> serde_json::Value {
        match self {
            JobKind::Suggestion => answer,
            JobKind::OriginalSuggestion => {
                let suggestions: Vec<serde_json::Value> = answer["suggestions"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|s| serde_json::json!({"day": s["day"], "slot": s["slot"]}))
                            .collect()
                    })
                    .unwrap_or_default();
                serde_json::json!({"case_id": answer["case_id"], "suggestions": suggestions})
            }
        }
    }
}

/// `GET /tasks/{job_id}`, and the body POSTed to a `callback_url`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub job_id: Uuid,
    pub status: JobStatus,
    /// Attempts started so far (a redelivery after a crash repeats an
    /// attempt rather than adding one).
    pub attempts: i32,
    /// suggestion-service's answer, once succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why it failed, or why the last attempt will be retried.
    pub error: Option<String>,
    /// The Case-ID of the submitting request.
    pub case_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An auto-book job's attempts so far (`{"attempts":[{"start","end",
    /// "outcome","detail"?}], "meeting_id"?}`); absent on other jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub booking: Option<serde_json::Value>,
}

/// The AMQP message body. Tagged with a stable name so that a consumer of a
/// later version can tell old messages apart; anything else is undecodable
/// and goes to the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum JobMessage {
    /// Compute suggestions for `request` (suggestion-service's POST body).
    #[serde(rename = "suggestion.v1")]
    Suggestion {
        job_id: Uuid,
        request: serde_json::Value,
    },
}

impl JobMessage {
    pub fn job_id(&self) -> Uuid {
        match self {
            JobMessage::Suggestion { job_id, .. } => *job_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_carry_a_stable_type_name() {
        let id = Uuid::nil();
        let msg = JobMessage::Suggestion {
            job_id: id,
            request: json!({"users": ["a@x.io", "b@x.io"]}),
        };
        let text = serde_json::to_value(&msg).unwrap();
        assert_eq!(text["type"], "suggestion.v1");
        let back: JobMessage = serde_json::from_value(text).unwrap();
        assert_eq!(back, msg);
        assert!(serde_json::from_str::<JobMessage>(r#"{"type":"other","job_id":"x"}"#).is_err());
    }

    #[test]
    fn an_original_job_stores_the_original_shape_exactly() {
        let answer = json!({
            "case_id": "c-1",
            "suggestions": [{"day": "monday", "slot": [10, 11], "start": "x", "score": 1.0}],
            "empty_reason": null, "alternatives": []
        });
        assert_eq!(
            JobKind::OriginalSuggestion.result_of(answer.clone()),
            json!({"case_id": "c-1", "suggestions": [{"day": "monday", "slot": [10, 11]}]})
        );
        assert_eq!(JobKind::Suggestion.result_of(answer.clone()), answer);
        for kind in [JobKind::Suggestion, JobKind::OriginalSuggestion] {
            assert_eq!(JobKind::from_stored(kind.as_str()), kind);
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
        ] {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
        }
        assert!(JobStatus::Failed.is_final() && !JobStatus::Running.is_final());
    }
}
