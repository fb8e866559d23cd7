//! Completion callbacks: when a job with a `callback_url` finishes, the job
//! (as `GET /tasks/{id}` shows it) is POSTed there with the Case-ID. Each
//! callback runs in a task of its own, so a slow or dead receiver never holds
//! up a consumer; it is retried with exponential backoff and then given up.
//! Callbacks are best-effort: one in flight when the process stops is lost
//! (the job's state is in `GET /tasks/{id}` regardless). `https` receivers
//! are verified against the bundled public roots and `TLS_CA_FILE`
//! (w2meet-tls); a certificate that does not verify is a failed attempt.

use reqwest::Client;
use tracing::Instrument;
use w2meet_platform::case_id::CASE_ID_HEADER;

use crate::config::CallbackConfig;
use crate::domain::JobView;

#[derive(Clone)]
pub struct Callbacks {
    http: Client,
    cfg: CallbackConfig,
}

impl Callbacks {
    pub fn new(cfg: CallbackConfig) -> anyhow::Result<Callbacks> {
        Ok(Callbacks {
            http: Client::builder()
                .timeout(cfg.timeout)
                .tls_backend_preconfigured(w2meet_tls::client_config(cfg.ca_file.as_deref())?)
                .build()?,
            cfg,
        })
    }

    /// Starts delivering `job` to `url` in the background, inside the current
    /// span (so its log lines carry the job's Case-ID).
    pub fn spawn(&self, url: String, job: JobView) {
        let this = self.clone();
        tokio::spawn(async move { this.deliver(&url, &job).await }.in_current_span());
    }

    async fn deliver(&self, url: &str, job: &JobView) {
        for attempt in 1..=self.cfg.max_attempts {
            let res = self
                .http
                .post(url)
                .header(&CASE_ID_HEADER, &job.case_id)
                .json(job)
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    metrics::counter!("job_callbacks_total", "result" => "delivered").increment(1);
                    tracing::info!(attempt, "callback delivered");
                    return;
                }
                Ok(r) => tracing::warn!(attempt, status = r.status().as_u16(), "callback refused"),
                Err(e) => tracing::warn!(
                    attempt,
                    error = &e as &dyn std::error::Error,
                    "callback failed"
                ),
            }
            if attempt < self.cfg.max_attempts {
                let factor = 1u32 << (attempt - 1).min(16);
                tokio::time::sleep(self.cfg.retry_base.saturating_mul(factor)).await;
            }
        }
        metrics::counter!("job_callbacks_total", "result" => "given_up").increment(1);
        tracing::error!(attempts = self.cfg.max_attempts, "callback given up");
    }
}
