//! Personal data in message text: e-mail addresses, phone numbers, payment cards,
//! IBANs and Brazilian CPF and CNPJ numbers. `scan` finds them (what counts as each is
//! in the detectors' modules and docs/content-safety.md); `redact` replaces them with
//! `[redacted:<kind>]`. Numbers count only when their checksum holds (Luhn, mod 97, the
//! CPF/CNPJ check digits) or, for phones, in a shape people write phone numbers in, so
//! dates, versions, amounts and order numbers are left alone.

mod checksums;
mod contacts;
mod numbers;
#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, ops::Range};

/// What a tenant does with personal data in messages: `off` (the default), `flag`
/// (stored, counted for admins) or `redact` (replaced by `[redacted:<kind>]` before
/// storing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum PiiMode {
    /// Nothing is looked for.
    #[default]
    Off,
    /// Messages are stored as sent; those with personal data are counted for admins.
    Flag,
    /// Personal data is replaced by `[redacted:<kind>]` before the message is stored.
    Redact,
}

/// A kind of personal data, named as in `[redacted:<kind>]` and `metadata.pii`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Iban,
    Card,
    Cnpj,
    Cpf,
    Phone,
}

impl PiiKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Iban => "iban",
            PiiKind::Card => "card",
            PiiKind::Cnpj => "cnpj",
            PiiKind::Cpf => "cpf",
            PiiKind::Phone => "phone",
        }
    }
}

/// One piece of personal data: its kind and where it is (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: PiiKind,
    pub range: Range<usize>,
}

/// Every piece of personal data in `text`, in order and never overlapping. Detectors
/// run from the most specific to the least (an e-mail before the digits in it, a card
/// before a phone), and a later one never claims text an earlier one did.
pub fn scan(text: &str) -> Vec<Finding> {
    // Nothing here is personal data without a digit or an `@`: most messages stop here.
    if !text.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        return Vec::new();
    }
    let mut found: Vec<Finding> = Vec::new();
    let mut claim = |kind: PiiKind, range: Range<usize>| {
        if !found
            .iter()
            .any(|f| f.range.start < range.end && range.start < f.range.end)
        {
            found.push(Finding { kind, range });
        }
    };
    contacts::emails(text, &mut claim);
    numbers::ibans(text, &mut claim);
    numbers::cards(text, &mut claim);
    numbers::brazilian_ids(text, &mut claim);
    contacts::phones(text, &mut claim);
    found.sort_by_key(|f| f.range.start);
    found
}

/// `text` with every finding replaced by `[redacted:<kind>]`.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for finding in findings {
        out.push_str(&text[at..finding.range.start]);
        out.push_str("[redacted:");
        out.push_str(finding.kind.as_str());
        out.push(']');
        at = finding.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// How many findings of each kind, e.g. `{"email": 1, "phone": 2}`.
pub fn counts(findings: &[Finding]) -> BTreeMap<&'static str, u32> {
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.kind.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Whether a number-like finding from `range` stands alone: not glued to a letter or
/// digit, nor continued by a separator and more digits (`1.2.3`, `2024-01-15`, `9.99`).
/// Before it, a space and a digit also glue: it would be the tail of a longer number
/// in groups (the digits of an IBAN that failed its checksum are not a card). After
/// it they do not: a card number may be followed by its expiry date.
fn isolated(text: &str, range: &Range<usize>) -> bool {
    let before = text[..range.start].chars().rev().take(2).collect::<Vec<_>>();
    let after = text[range.end..].chars().take(2).collect::<Vec<_>>();
    let glued = |near: &[char], separators: &str| match near {
        [c, ..] if c.is_alphanumeric() || *c == '_' || *c == '@' => true,
        [c, d, ..] => separators.contains(*c) && d.is_ascii_digit(),
        _ => false,
    };
    !glued(&before, ".,-/+ ") && !glued(&after, ".,-/+")
}

/// The digits of `s`, as numbers.
fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// For a candidate at `start..end` of digit groups, the longest prefix ending after a
/// group that `accept` takes, e.g. a card number followed by its expiry date. A regex
/// match is greedy; this gives back what it took too much of.
fn longest_group_prefix(text: &str, start: usize, end: usize, accept: impl Fn(&str) -> bool) -> Option<usize> {
    let candidate = &text[start..end];
    let bytes = candidate.as_bytes();
    (1..=bytes.len())
        .rev()
        .filter(|&i| bytes[i - 1].is_ascii_digit() && bytes.get(i).is_none_or(|b| !b.is_ascii_digit()))
        .find(|&i| accept(&candidate[..i]) && isolated(text, &(start..start + i)))
        .map(|i| start + i)
}

/// Runs `re` over `text`; for each match `accept` returns what of it is a finding. A
/// refused match does not hide a finding that starts inside it: the search goes on
/// from the next word rather than from the match's end.
fn each_match(re: &regex::Regex, text: &str, mut accept: impl FnMut(Range<usize>) -> Option<Range<usize>>) {
    let mut at = 0;
    while let Some(m) = re.find_at(text, at) {
        match accept(m.range()) {
            Some(found) => at = found.end.max(m.start() + 1),
            None => {
                let rest = &text[m.start()..];
                let first = rest.chars().next().map_or(1, char::len_utf8);
                let word = rest[first..]
                    .find(|c: char| !c.is_alphanumeric())
                    .unwrap_or(rest.len() - first);
                at = m.start() + first + word;
            }
        }
        if at >= text.len() {
            break;
        }
    }
}
