//! Assertions on the HTTP contract every W2Meet service shares.

use serde_json::Value;

/// Asserts the common error body (SPEC §2): the status, a `case_id` equal to
/// the `Case-ID` header, and at least one detail with `loc`, `msg` and
/// `type`. Returns the body for further checks.
pub async fn assert_error(res: reqwest::Response, status: impl Into<u16>) -> Value {
    let status = status.into();
    assert_eq!(res.status().as_u16(), status);
    let header = res
        .headers()
        .get("case-id")
        .expect("Case-ID header")
        .to_str()
        .expect("Case-ID is text")
        .to_owned();
    let body: Value = res.json().await.expect("JSON error body");
    assert_eq!(body["case_id"], header.as_str(), "{body}");
    let detail = body["detail"].as_array().expect("detail list");
    assert!(!detail.is_empty(), "{body}");
    for d in detail {
        assert!(
            d["loc"].is_array() && d["msg"].is_string() && d["type"].is_string(),
            "{d}"
        );
    }
    body
}
