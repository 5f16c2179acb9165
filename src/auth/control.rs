//! Messages to the sockets of a user, never forwarded to the client: how logout,
//! token revocation and deactivation reach the sockets those credentials opened, on
//! every node.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// Close the sockets opened with this credential (a session ended, a token was
    /// revoked); `None` closes every socket of the user (deactivation).
    EndSessions { credential: Option<String> },
}
