//! The widget sign-in's signature: the hex HMAC-SHA256 of
//! `tenant|external_id|email|name|ts` under the tenant's widget secret (its UTF-8 bytes),
//! with `ts` in Unix seconds within five minutes of the server's clock either way.
//! No field but `name` may contain `|`, and `name` is the last free one, so a signed text
//! reads back as exactly one set of fields.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far `ts` may be from the server's clock, in either direction (clocks drift).
pub const WINDOW_SECONDS: i64 = 5 * 60;

/// The fields a host signs, as it sent them.
pub struct Claims<'a> {
    pub tenant: &'a str,
    pub external_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub ts: i64,
}

impl Claims<'_> {
    fn text(&self) -> String {
        let Claims {
            tenant,
            external_id,
            email,
            name,
            ts,
        } = self;
        format!("{tenant}|{external_id}|{email}|{name}|{ts}")
    }
}

fn mac(secret: &str, claims: &Claims<'_>) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(claims.text().as_bytes());
    mac
}

/// What a host computes (the embedding guide's snippets do the same); the tests sign with it.
pub fn sign(secret: &str, claims: &Claims<'_>) -> String {
    hex::encode(mac(secret, claims).finalize().into_bytes())
}

/// True when `signature` (hex, either case) is the claims' HMAC under `secret`, compared
/// in constant time by `hmac`'s `verify_slice`.
pub fn matches(secret: &str, claims: &Claims<'_>, signature: &str) -> bool {
    hex::decode(signature).is_ok_and(|bytes| mac(secret, claims).verify_slice(&bytes).is_ok())
}

/// True when `ts` is within `WINDOW_SECONDS` of `now` (both Unix seconds).
pub fn is_fresh(ts: i64, now: i64) -> bool {
    ts.abs_diff(now) <= WINDOW_SECONDS.unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(name: &str) -> Claims<'_> {
        Claims {
            tenant: "acme",
            external_id: "u-42",
            email: "ana@acme.test",
            name,
            ts: 1_800_000_000,
        }
    }

    #[test]
    fn a_signature_matches_only_its_own_fields_and_secret() {
        let signature = sign("s3cret", &claims("Ana"));
        assert_eq!(signature.len(), 64);
        assert!(matches("s3cret", &claims("Ana"), &signature));
        assert!(matches("s3cret", &claims("Ana"), &signature.to_uppercase()));
        assert!(!matches("s3cret", &claims("Anna"), &signature));
        assert!(!matches("other", &claims("Ana"), &signature));
        assert!(!matches("s3cret", &claims("Ana"), "not hex"));
        assert!(!matches("s3cret", &claims("Ana"), &signature[..62]));
    }

    #[test]
    fn the_signed_text_is_the_fields_joined_by_bars() {
        // The published recipe (docs/embedding.md): HMAC-SHA256 of this exact text.
        assert_eq!(claims("Ana").text(), "acme|u-42|ana@acme.test|Ana|1800000000");
    }

    #[test]
    fn a_timestamp_is_fresh_for_five_minutes_either_way() {
        let now = 1_800_000_000;
        assert!(is_fresh(now, now));
        assert!(is_fresh(now - 300, now));
        assert!(is_fresh(now + 300, now));
        assert!(!is_fresh(now - 301, now));
        assert!(!is_fresh(now + 301, now));
        assert!(!is_fresh(i64::MIN, now));
    }
}
