//! The watch use cases behind `/watches` (SPEC §10): create (parse, first
//! evaluation, store), read, delete — each checking who may. What happens
//! afterwards, off the request path, is [`crate::watcher`]'s.
//!
//! Who may: a watch made with a token belongs to its subject (only they,
//! or a service, read or delete it, and it is evaluated as they may see
//! people); one made without a token is reachable by its unguessable id
//! alone, like a job.

use chrono::Utc;
use uuid::Uuid;
use w2meet_platform::auth::{AuthError, Caller};

use crate::clients::{SuggestionClient, SuggestionError};
use crate::domain::watch::{Outcome, WatchInput, WatchSpec, new_secret, request_as_of};
use crate::error::TaskError;
use crate::store::WatchStore;
use crate::store::watches::{EventState, NewWatch, WatchRecord};

/// The watch use cases. Cheap to clone.
#[derive(Clone)]
pub struct Watches {
    pub store: WatchStore,
    /// For the first evaluation, made while the client waits so the answer
    /// says where the group stands.
    pub suggestions: SuggestionClient,
}

/// A new watch and the secret its webhooks are signed with (shown once).
pub struct Created {
    pub watch: WatchRecord,
    pub secret: String,
}

impl Watches {
    /// Parses, evaluates once and stores a watch.
    pub async fn create(
        &self,
        input: WatchInput,
        case_id: &str,
        caller: &Caller,
    ) -> Result<Created, TaskError> {
        let spec = WatchSpec::parse(input, Utc::now()).map_err(TaskError::Invalid)?;
        // Stored dirty: a change between this evaluation and the insert is
        // caught by one more evaluation right after.
        let now = Utc::now();
        let current = request_as_of(&spec.request, now).unwrap_or_else(|| spec.request.clone());
        let answer = self
            .suggestions
            .suggest(case_id, &current, caller.viewer())
            .await
            .map_err(first_evaluation_failed)?;
        let outcome = Outcome::of_answer(&answer).ok_or_else(|| {
            TaskError::Upstream("suggestion-service answered without suggestions".into())
        })?;
        let secret = new_secret();
        let watch = self
            .store
            .insert(&NewWatch {
                id: Uuid::new_v4(),
                request: &spec.request,
                users: &spec.users,
                callback_url: &spec.callback_url,
                secret: &secret,
                owner: caller.viewer(),
                case_id,
                expires_at: spec.expires_at,
                outcome: &outcome,
            })
            .await?;
        metrics::counter!("watches_created_total").increment(1);
        tracing::info!(watch_id = %watch.id, users = spec.users.len(), quorum = outcome.quorum, "watch created");
        Ok(Created { watch, secret })
    }

    /// A watch and its events, if `caller` may see it.
    pub async fn get(
        &self,
        id: Uuid,
        caller: &Caller,
    ) -> Result<(WatchRecord, Vec<EventState>), TaskError> {
        let watch = self.owned(id, caller).await?;
        let events = self.store.events(id).await?;
        Ok((watch, events))
    }

    /// Deletes a watch (no more evaluations or deliveries), if `caller` may.
    pub async fn delete(&self, id: Uuid, caller: &Caller) -> Result<(), TaskError> {
        self.owned(id, caller).await?;
        if self.store.delete(id).await? {
            tracing::info!(watch_id = %id, "watch deleted");
        }
        Ok(())
    }

    async fn owned(&self, id: Uuid, caller: &Caller) -> Result<WatchRecord, TaskError> {
        let watch = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| TaskError::WatchNotFound(id.to_string()))?;
        match (&watch.owner, caller) {
            (None, _) | (_, Caller::Service { .. }) => Ok(watch),
            (Some(o), Caller::Person { email, .. }) if o == email => Ok(watch),
            (Some(_), Caller::Person { .. }) => Err(TaskError::WatchForbidden),
            (Some(_), Caller::Anonymous) => Err(TaskError::Unauthenticated(AuthError::Required)),
        }
    }
}

/// The first evaluation's failure as the client's answer: unknown people
/// are a 404 like `/suggestions`', the rest says the dependency failed.
fn first_evaluation_failed(e: SuggestionError) -> TaskError {
    match e {
        SuggestionError::NotFound(users) => TaskError::UnknownUsers(users),
        // The request was refused as such (the same rules were checked
        // here, so rarely); any other refusal is the platform's own trouble.
        SuggestionError::Rejected {
            status: 400 | 422,
            msg,
        } => TaskError::invalid(&["body"], msg),
        other => TaskError::Upstream(other.to_string()),
    }
}
