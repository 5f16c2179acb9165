//! Numbers that identify a person or an account: payment cards, IBANs, CPF and CNPJ.
//! Each needs its checksum to hold, so an order number or a random run of digits of the
//! right length is not taken for one (nine in ten fail a check digit).

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{checksums, digits, each_match, isolated, longest_group_prefix, PiiKind};

/// 13 to 19 digits, bare or in groups split by single spaces or dashes (4-4-4-4,
/// Amex's 4-6-5, …).
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d{4}(?:[ -]\d{1,6}){2,4}|\d{13,19}").expect("card"));

/// A payment card: 13 to 19 digits (one separator kind throughout), starting with a
/// card network's digit (2 to 6: Mastercard, Amex/Diners/JCB, Visa, Mastercard/Maestro,
/// Discover/UnionPay), passing Luhn.
fn is_card(candidate: &str) -> bool {
    let digits = digits(candidate);
    let separators: Vec<char> = candidate.chars().filter(|c| !c.is_ascii_digit()).collect();
    (13..=19).contains(&digits.len())
        && separators.windows(2).all(|w| w[0] == w[1])
        && (2..=6).contains(&digits[0])
        && checksums::luhn(&digits)
}

pub(super) fn cards(text: &str, claim: &mut impl FnMut(PiiKind, Range<usize>)) {
    each_match(&CARD, text, |m| {
        let end = longest_group_prefix(text, m.start, m.end, is_card)?;
        claim(PiiKind::Card, m.start..end);
        Some(m.start..end)
    });
}

/// Two letters and two check digits, then the account (letters and digits), written
/// bare or in groups of four split by spaces.
static IBAN_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[A-Za-z]{2}\d{2}[ ]?[A-Za-z0-9]").expect("iban"));

/// The length of an IBAN in each country that uses them (SWIFT's IBAN registry).
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NL", 18),
        ("NO", 15),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("SA", 24),
        ("SC", 31),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
    ];
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

/// An IBAN: a known country, exactly its length, mod 97 = 1. Read character by
/// character from the start, since only the country's length says where it ends.
fn iban_at(text: &str, start: usize) -> Option<usize> {
    let country = text.get(start..start + 2)?.to_ascii_uppercase();
    let length = iban_length(&country)?;
    let mut compact = String::with_capacity(length);
    let mut end = start;
    let mut after_space = false;
    for (i, c) in text[start..].char_indices() {
        if compact.len() == length {
            break;
        }
        match c {
            ' ' if !after_space && compact.len() >= 4 => after_space = true,
            c if c.is_ascii_alphanumeric() => {
                compact.push(c.to_ascii_uppercase());
                end = start + i + 1;
                after_space = false;
            }
            _ => return None,
        }
    }
    (compact.len() == length && isolated(text, &(start..end)) && checksums::iban_mod97(&compact)).then_some(end)
}

pub(super) fn ibans(text: &str, claim: &mut impl FnMut(PiiKind, Range<usize>)) {
    each_match(&IBAN_START, text, |m| {
        let end = iban_at(text, m.start)?;
        claim(PiiKind::Iban, m.start..end);
        Some(m.start..end)
    });
}

/// CNPJ `00.000.000/0000-00` or CPF `000.000.000-00`, formatted or bare.
static BRAZILIAN_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}|\d{3}\.\d{3}\.\d{3}-\d{2}|\d{14}|\d{11}").expect("cpf/cnpj")
});

pub(super) fn brazilian_ids(text: &str, claim: &mut impl FnMut(PiiKind, Range<usize>)) {
    each_match(&BRAZILIAN_ID, text, |m| {
        if !isolated(text, &m) {
            return None;
        }
        let digits = digits(&text[m.clone()]);
        let kind = match digits.len() {
            14 if checksums::cnpj(&digits) => PiiKind::Cnpj,
            11 if checksums::cpf(&digits) => PiiKind::Cpf,
            _ => return None,
        };
        claim(kind, m.clone());
        Some(m)
    });
}
