//! user-service, as this service needs it: whether a person's profile is
//! claimed and whom it is shared with (`GET /users/{email}/access`, with
//! the service credential).

use serde::Deserialize;
use w2meet_platform::CaseId;
use w2meet_platform::upstream::{Upstream, UpstreamError};

use crate::domain::access::PersonAccess;

#[derive(Clone, Debug)]
pub struct UserClient {
    upstream: Upstream,
}

#[derive(Deserialize)]
struct AccessView {
    claimed: bool,
    #[serde(default)]
    viewers: Vec<String>,
}

impl UserClient {
    pub fn new(upstream: Upstream) -> UserClient {
        UserClient { upstream }
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// `email`'s profile access; someone W2Meet has no profile for is
    /// unclaimed.
    pub async fn access(
        &self,
        email: &str,
        case_id: &CaseId,
    ) -> Result<PersonAccess, UpstreamError> {
        let path = format!("/users/{}/access", path_segment(email));
        match self.upstream.get_json::<AccessView>(&path, case_id).await {
            Ok(view) => Ok(PersonAccess {
                claimed: view.claimed,
                viewers: view.viewers,
            }),
            Err(UpstreamError::Rejected { status, .. })
                if status == axum::http::StatusCode::NOT_FOUND =>
            {
                Ok(PersonAccess::default())
            }
            Err(e) => Err(e),
        }
    }
}

/// Percent-encodes everything but unreserved characters and `@` (an email
/// may hold `/`, `?`, `#` or `%`).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_email_becomes_one_path_segment() {
        assert_eq!(
            super::path_segment("a/b?c#d%e+f@x.io"),
            "a%2Fb%3Fc%23d%25e%2Bf@x.io"
        );
    }
}
