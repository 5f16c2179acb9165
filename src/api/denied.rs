//! The one place an API chat refusal meets the audit log: around the `/api/chat/`
//! handlers, where a handler's error passes on its way to the client. The security
//! schemes leave the caller in a `CallerSlot` this attaches, so the handlers themselves
//! know nothing of it.

use poem::{Endpoint, FromRequest, IntoResponse, Request, Response};
use uuid::Uuid;

use crate::{
    auth::extract::CallerSlot,
    client::RequestMeta,
    denials::{self, Via},
    error::Error,
    state::AppState,
};

/// `inner` (the API below `/api`), with its chat refusals audited.
pub struct AuditChatDenials<E> {
    inner: E,
    state: AppState,
}

pub fn audit_chat_denials<E: Endpoint>(inner: E, state: AppState) -> AuditChatDenials<E> {
    AuditChatDenials { inner, state }
}

impl<E: Endpoint> Endpoint for AuditChatDenials<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if !req.uri().path().starts_with("/chat/") {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let caller = CallerSlot::default();
        req.set_data(caller.clone());
        let meta = RequestMeta::from_request_without_body(&req).await?;
        // The URI's bytes are shared, not copied: every chat request passes here, and only
        // a refusal reads them again.
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let result = self.inner.call(req).await;
        if let Err(err) = &result {
            if let (Some(refused), Some(actor)) = (err.downcast_ref::<Error>(), caller.get()) {
                if denials::is_chat_denial(refused) {
                    // The path as called: the ids in it are what the caller was refused.
                    let path = uri.path();
                    let route = format!("{method} /api{path}");
                    let target = target(path);
                    let (pool, limits) = (&self.state.pool, &self.state.limits);
                    denials::record_chat(pool, limits, &actor, &meta, refused, target, Via::Route(&route)).await;
                }
            }
        }
        result.map(IntoResponse::into_response)
    }
}

/// The resource a chat path acts on: `/chat/conversations/{id}/…` or `/chat/attachments/{id}/`.
fn target(path: &str) -> Option<(&'static str, Uuid)> {
    let mut segments = path.trim_matches('/').split('/').skip(1);
    let kind = match segments.next()? {
        "conversations" => "conversation",
        "attachments" => "attachment",
        _ => return None,
    };
    Some((kind, segments.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_conversation_or_attachment_of_the_path() {
        let id = Uuid::new_v4();
        assert_eq!(
            target(&format!("/chat/conversations/{id}/messages")),
            Some(("conversation", id))
        );
        assert_eq!(target(&format!("/chat/attachments/{id}")), Some(("attachment", id)));
        assert_eq!(target("/chat/conversations/start"), None);
    }
}
