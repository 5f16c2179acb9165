//! Message text as the database holds it (docs/encryption.md): in `content` when
//! encryption is off; sealed under the current key (`crypto`) when it is on, with the
//! key's id beside it and `content` empty. The associated data names the tenant, the
//! message and what the text is (the message's current text or one of its earlier
//! versions), so a ciphertext copied to another row does not open there.

use uuid::Uuid;

use crate::{
    crypto::{self, Key},
    error::{Error, Result},
    hooks::outbox,
};

/// The search vector of the plain text `$text` (SQL expressions) in tenant `$tenant`:
/// NULL when the tenant turned search off (`search_enabled`), since the index's lexemes
/// stay readable in the database even when the text is sealed.
macro_rules! search_vector {
    ($tenant:literal, $text:literal) => {
        concat!(
            "CASE WHEN coalesce((SELECT (t.settings->>'search_enabled')::boolean FROM tenants t WHERE t.id = ",
            $tenant,
            "), true) THEN message_search_vector(",
            $text,
            ") END"
        )
    };
}
pub(super) use search_vector;

/// Which text of a message a record holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record {
    /// `messages.content`.
    Message,
    /// `message_edits.previous_content`: a version an edit or the deletion replaced.
    Version,
    /// `webhook_deliveries.payload`'s `message.content`: a webhook's copy of the text,
    /// opened by the delivery engine (`hooks::outbox::text_aad`).
    Delivery,
}

impl Record {
    fn aad(self, tenant_id: Uuid, message_id: Uuid) -> Vec<u8> {
        let kind = match self {
            Record::Message => "message",
            Record::Version => "version",
            Record::Delivery => return outbox::text_aad(tenant_id, message_id),
        };
        format!("tenantchat/{kind}/{tenant_id}/{message_id}").into_bytes()
    }
}

/// The three columns of a stored text (selected under these names, aliased if need be).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct StoredText {
    pub(crate) content: String,
    pub(crate) content_key_id: Option<String>,
    pub(crate) content_sealed: Option<Vec<u8>>,
}

impl StoredText {
    /// `text` as it is to be stored now: sealed when a key is configured.
    pub(crate) fn seal(record: Record, tenant_id: Uuid, message_id: Uuid, text: &str) -> StoredText {
        Self::seal_with(crypto::keyring().current(), record, tenant_id, message_id, text)
    }

    /// `text` as `key` stores it (plain without one).
    pub(crate) fn seal_with(
        key: Option<&Key>,
        record: Record,
        tenant_id: Uuid,
        message_id: Uuid,
        text: &str,
    ) -> StoredText {
        match key {
            // Empty text (a message of attachments only, a tombstone) has nothing to hide.
            Some(key) if !text.is_empty() => StoredText {
                content: String::new(),
                content_key_id: Some(key.id.clone()),
                content_sealed: Some(key.seal(&record.aad(tenant_id, message_id), text.as_bytes())),
            },
            _ => StoredText {
                content: text.to_string(),
                content_key_id: None,
                content_sealed: None,
            },
        }
    }

    /// The text. A record that does not open is a server error, never shown.
    pub(crate) fn reveal(self, record: Record, tenant_id: Uuid, message_id: Uuid) -> Result<String> {
        let (Some(key_id), Some(sealed)) = (self.content_key_id, self.content_sealed) else {
            return Ok(self.content);
        };
        let plain = crypto::keyring()
            .open(&key_id, &record.aad(tenant_id, message_id), &sealed)
            .map_err(Error::internal)?;
        String::from_utf8(plain).map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_key_the_text_is_stored_as_it_is() {
        let (tenant, message) = (Uuid::new_v4(), Uuid::new_v4());
        let stored = StoredText::seal_with(None, Record::Message, tenant, message, "hello");
        assert_eq!(stored.content, "hello");
        assert_eq!(stored.reveal(Record::Message, tenant, message).unwrap(), "hello");
    }
}
