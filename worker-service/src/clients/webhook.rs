//! Watch webhooks (SPEC §10): one signed POST per attempt. Retries are the
//! watcher's (their schedule lives in the event's row, so they survive a
//! restart); this client only says how one attempt went. `https` receivers
//! are verified like completion callbacks' (w2meet-tls).

use reqwest::Client;
use w2meet_platform::case_id::CASE_ID_HEADER;

use crate::domain::watch::{SIGNATURE_HEADER, sign};
use crate::store::watches::Delivery;

/// The header that repeats the body's `event_id`.
pub const EVENT_ID_HEADER: &str = "w2meet-event-id";

#[derive(Clone)]
pub struct Webhooks {
    http: Client,
}

impl Webhooks {
    pub fn new(
        timeout: std::time::Duration,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Webhooks> {
        Ok(Webhooks {
            // A redirect would resend the signed body elsewhere: never.
            http: Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .tls_backend_preconfigured(w2meet_tls::client_config(ca_file)?)
                .build()?,
        })
    }

    /// POSTs the event, signed now; `Err` says why it did not land (any
    /// answer but 2xx, or no answer).
    pub async fn post(&self, d: &Delivery) -> Result<(), String> {
        let body = serde_json::to_vec(&d.body).expect("an event body is plain JSON");
        let signature = sign(&d.secret, chrono::Utc::now().timestamp(), &body);
        let res = self
            .http
            .post(&d.callback_url)
            .header(&CASE_ID_HEADER, &d.case_id)
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, d.event_id.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("answered {}", r.status().as_u16())),
            Err(e) => Err(if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "no answer".to_owned()
            }),
        }
    }
}
