//! The keys of encryption at rest as the database knows them (docs/encryption.md): the
//! start-up check, `tenantchat keys status`, `keys rotate` and `keys decrypt`.
//!
//! `encryption_keys` lists every key that ever sealed a record, each with a sentinel
//! sealed under it. At start-up every listed key must be configured and open its
//! sentinel: a missing or wrong key stops the server with a clear message instead of
//! sending garbage or errors to clients later. Rotation moves every record to the current
//! key in small transactions (rows locked only for their batch, so the server keeps
//! running), and once nothing uses an earlier key it leaves the list and may be dropped
//! from the configuration. Decryption is the same walk with no target key: every record
//! back to plaintext, after which no key is needed at all.

use sqlx::PgPool;

use super::rotation;
use crate::crypto::{Key, Keyring};

/// What every sentinel holds.
const SENTINEL: &[u8] = b"tenantchat encryption sentinel";

fn sentinel_aad(key_id: &str) -> Vec<u8> {
    format!("tenantchat/sentinel/{key_id}").into_bytes()
}

/// Refuses to start when a key that sealed records is not configured or is not the key
/// it was; registers the current key (with its sentinel) on its first start.
pub async fn check(pool: &PgPool, keyring: &Keyring) -> Result<(), String> {
    let known: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT id, sentinel FROM encryption_keys ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(|e| format!("cannot read the encryption keys: {e}"))?;
    for (id, sentinel) in &known {
        let key = keyring.key(id).ok_or_else(|| {
            format!(
                "the database holds records encrypted with key {id:?}, which is not configured: \
                 set CHAT_ENCRYPTION_KEY (or CHAT_ENCRYPTION_OLD_KEYS) to it (docs/encryption.md)"
            )
        })?;
        if key.open(&sentinel_aad(id), sentinel).as_deref() != Some(SENTINEL) {
            return Err(format!(
                "encryption key {id:?} is not the key the database's records were encrypted with"
            ));
        }
    }
    if let Some(current) = keyring.current() {
        register(pool, current).await?;
    }
    Ok(())
}

async fn register(pool: &PgPool, key: &Key) -> Result<(), String> {
    sqlx::query("INSERT INTO encryption_keys (id, sentinel) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(&key.id)
        .bind(key.seal(&sentinel_aad(&key.id), SENTINEL))
        .execute(pool)
        .await
        .map_err(|e| format!("cannot register encryption key {:?}: {e}", key.id))?;
    Ok(())
}

/// Records per key id (`plain` for unencrypted ones), one line each: what `keys status`
/// prints. Empty texts (attachment-only messages, tombstones) have nothing to encrypt and
/// are not counted.
pub async fn status(pool: &PgPool) -> Result<String, String> {
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT 'messages', content_key_id, count(*) FROM messages
         WHERE content_sealed IS NOT NULL OR content <> '' GROUP BY 2
         UNION ALL
         SELECT 'edits', previous_key_id, count(*) FROM message_edits GROUP BY 2
         UNION ALL
         SELECT 'files', file_key_id, count(*) FROM attachments WHERE deleted_at IS NULL GROUP BY 2
         UNION ALL
         SELECT 'webhook payloads', content_key_id, count(*) FROM webhook_deliveries
         WHERE content_sealed IS NOT NULL OR coalesce(payload #>> '{message,content}', '') <> '' GROUP BY 2
         ORDER BY 1, 2 NULLS FIRST",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("cannot count records: {e}"))?;
    let lines: Vec<String> = rows
        .into_iter()
        .map(|(what, key, count)| format!("{what}\t{}\t{count}", key.as_deref().unwrap_or("plain")))
        .collect();
    Ok(lines.join("\n"))
}

/// Moves every record to the current key, `batch` rows per transaction; returns what it
/// did, one line per kind of record. Safe to stop and run again: each run starts over
/// with what is not yet under the current key.
pub async fn rotate(
    pool: &PgPool,
    keyring: &Keyring,
    media_root: &std::path::Path,
    batch: i64,
) -> Result<String, String> {
    let current = keyring
        .current()
        .ok_or("keys rotate needs CHAT_ENCRYPTION_KEY: the key to move every record to")?;
    check(pool, keyring).await?;
    let moved = move_records(pool, Some(current), media_root, batch).await?;
    let retired = retire(pool, Some(&current.id)).await?;
    Ok(format!(
        "re-encrypted with key {}: {moved}\n\
         keys no longer used (may be dropped from CHAT_ENCRYPTION_OLD_KEYS): {retired}",
        current.id
    ))
}

/// Turns encryption off for what is stored: opens every sealed record and writes it back
/// in plaintext, `batch` rows per transaction, while the servers run. The servers and
/// this command must hold every key in `CHAT_ENCRYPTION_OLD_KEYS` and none in
/// `CHAT_ENCRYPTION_KEY` (else they would go on sealing new records). Once no record
/// names a key, the key leaves `encryption_keys`, and a server starts without it. Safe to
/// stop and run again.
pub async fn decrypt(
    pool: &PgPool,
    keyring: &Keyring,
    media_root: &std::path::Path,
    batch: i64,
) -> Result<String, String> {
    if let Some(current) = keyring.current() {
        return Err(format!(
            "keys decrypt leaves every record in plaintext, so no server may seal new ones: move key {:?} \
             from CHAT_ENCRYPTION_KEY to CHAT_ENCRYPTION_OLD_KEYS, here and on every server (docs/encryption.md)",
            current.id
        ));
    }
    check(pool, keyring).await?;
    let moved = move_records(pool, None, media_root, batch).await?;
    let retired = retire(pool, None).await?;
    let mut report =
        format!("decrypted: {moved}\nkeys no longer used (may be dropped from CHAT_ENCRYPTION_OLD_KEYS): {retired}");
    let in_use: Vec<String> = sqlx::query_scalar("SELECT id FROM encryption_keys ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(|e| format!("cannot read the encryption keys: {e}"))?;
    if !in_use.is_empty() {
        // A server still configured with CHAT_ENCRYPTION_KEY sealed records meanwhile.
        report.push_str(&format!(
            "\nkeys still used (is a server still sealing with CHAT_ENCRYPTION_KEY? run again once none is): {}",
            in_use.join(", ")
        ));
    }
    Ok(report)
}

/// Moves every text, earlier version, file and webhook payload to `target` (plaintext for
/// `None`); says how many of each.
async fn move_records(
    pool: &PgPool,
    target: Option<&Key>,
    media_root: &std::path::Path,
    batch: i64,
) -> Result<String, String> {
    let fail = |e: crate::error::Error| format!("stopped: {}", crate::error::chain(&e));
    let messages = rotation::texts(pool, target, rotation::MESSAGES, batch)
        .await
        .map_err(fail)?;
    let edits = rotation::texts(pool, target, rotation::EDITS, batch)
        .await
        .map_err(fail)?;
    let files = rotation::files(pool, target, media_root, batch).await.map_err(fail)?;
    let payloads = rotation::texts(pool, target, rotation::DELIVERIES, batch)
        .await
        .map_err(fail)?;
    Ok(format!(
        "{messages} messages, {edits} earlier versions, {files} files, {payloads} webhook payloads"
    ))
}

/// Removes from `encryption_keys` every key but `keep` that no record names any more;
/// names them (`none`).
async fn retire(pool: &PgPool, keep: Option<&str>) -> Result<String, String> {
    let retired: Vec<String> = sqlx::query_scalar(
        "DELETE FROM encryption_keys k WHERE k.id IS DISTINCT FROM $1
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.content_key_id = k.id)
           AND NOT EXISTS (SELECT 1 FROM message_edits e WHERE e.previous_key_id = k.id)
           AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.file_key_id = k.id)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.content_key_id = k.id)
         RETURNING k.id",
    )
    .bind(keep)
    .fetch_all(pool)
    .await
    .map_err(|e| format!("cannot retire keys: {e}"))?;
    Ok(match retired.is_empty() {
        true => "none".to_string(),
        false => retired.join(", "),
    })
}
