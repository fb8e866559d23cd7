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

/// Proves how a service answers when the one service it calls misbehaves
/// (SPEC §2), against stub upstreams that each fail in one way:
/// a 500 → 502; the upstream's own 503 and 504 → passed on unchanged; a
/// refused connection → 503; an accepted connection that never answers →
/// 504 within 3 s (the caller's timeout must be shorter); an answer that is
/// not what was promised → 502. `spawn` starts the service under test with
/// the given upstream URL and returns its base URL; the upstream is called
/// with `POST upstream_route`; `request` is the path and query sent to the
/// service.
pub async fn assert_upstream_faults<F, Fut>(upstream_route: &'static str, spawn: F, request: &str)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    use axum::http::StatusCode;
    use axum::routing::post;
    use std::time::{Duration, Instant};

    let http = crate::http_client();
    let answer = |base: String| {
        let url = format!("{base}{request}");
        let http = http.clone();
        async move { http.get(url).send().await.expect("the service answers") }
    };
    for (upstream, expected) in [
        (StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (StatusCode::GATEWAY_TIMEOUT, StatusCode::GATEWAY_TIMEOUT),
    ] {
        let stub = crate::spawn_stub(
            axum::Router::new().route(upstream_route, post(move || async move { upstream })),
        )
        .await;
        let res = answer(spawn(stub).await).await;
        assert_error(res, expected.as_u16()).await;
    }

    let refused = format!("http://127.0.0.1:{}", crate::free_port());
    assert_error(answer(spawn(refused).await).await, 503u16).await;

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let base = spawn(silent_url).await;
    let started = Instant::now();
    assert_error(answer(base).await, 504u16).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a silent upstream must time out quickly, took {:?}",
        started.elapsed()
    );

    let garbage = crate::spawn_stub(axum::Router::new().route(
        upstream_route,
        post(|| async { axum::Json(serde_json::json!({"nope": 1})) }),
    ))
    .await;
    assert_error(answer(spawn(garbage).await).await, 502u16).await;
}
