//! Messages to the sockets of a user, never forwarded to the client: how logout,
//! token revocation, deactivation and a lost permission reach the sockets those
//! credentials opened, on every node.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cache::CredentialCache;
use crate::realtime::Realtime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// Close the sockets opened with this credential (a session ended, a token was
    /// revoked); `None` closes every socket of the user (deactivation).
    EndSessions { credential: Option<String> },
    /// The user may see less than before without their session ending (they stopped
    /// being a support agent): each socket checks again that it may still view the
    /// conversation it views without being a member, and stops if not.
    RecheckViewing,
}

/// After a committed change that ends or alters a user's credentials: every node
/// forgets what it cached of the user, and the sockets opened with `credential` (all the
/// user's sockets for `None`) close.
pub async fn end_sessions(
    realtime: &Realtime,
    credentials: &CredentialCache,
    user_id: Uuid,
    credential: Option<String>,
) {
    credentials.forget_user(realtime, user_id).await;
    realtime.control(user_id, &Control::EndSessions { credential }).await;
}
