//! Ways to reach a person: e-mail addresses and phone numbers.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::{digits, each_match, longest_group_prefix, PiiKind};

/// `local@domain.tld`: a domain of at least two labels whose last is 2 to 24 letters,
/// so `@mentions`, `user@localhost` and `pkg@1.2.3` are not addresses.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b[\p{L}\p{N}][\p{L}\p{N}._%+\-]*@[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?)*\.\p{L}{2,24}\b",
    )
    .expect("email")
});

pub(super) fn emails(text: &str, claim: &mut impl FnMut(PiiKind, Range<usize>)) {
    for m in EMAIL.find_iter(text) {
        claim(PiiKind::Email, m.range());
    }
}

/// A shape phone numbers are written in, and how many digits a number of it has.
struct PhoneShape {
    pattern: LazyLock<Regex>,
    /// Whether the candidate's digits (and their first ones) fit the shape.
    fits: fn(&str, &[u32]) -> bool,
}

/// One separator kind between the groups: `06 12 34 56 78`, not `01-02-2024 10`.
fn one_separator(candidate: &str) -> bool {
    let mut separators = candidate.chars().filter(|c| !c.is_ascii_digit());
    let first = separators.next();
    separators.all(|c| Some(c) == first)
}

/// The shapes, most telling first (see docs/content-safety.md):
static SHAPES: [PhoneShape; 5] = [
    // International with `+`: country code and number, 8 to 15 digits (E.164), any
    // single separators and a parenthesised group: `+1 (415) 555-2671`, `+5511912345678`.
    PhoneShape {
        pattern: LazyLock::new(|| Regex::new(r"\+\d{1,3}(?:[ .\-]?(?:\(\d{1,4}\)|\d{1,6}))+").expect("phone +")),
        fits: |_, d| (8..=15).contains(&d.len()),
    },
    // International with the `00` prefix: `0044 20 7946 0958`.
    PhoneShape {
        pattern: LazyLock::new(|| Regex::new(r"00[1-9]\d{0,2}(?:[ .\-]?\d{1,6})+").expect("phone 00")),
        fits: |_, d| (10..=17).contains(&d.len()),
    },
    // North American: `(415) 555-2671`, `415-555-2671`, `415.555.2671`; area code and
    // exchange do not start with 0 or 1.
    PhoneShape {
        pattern: LazyLock::new(|| {
            Regex::new(r"\(\d{3}\) ?\d{3}[-.]\d{4}|\d{3}-\d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}").expect("phone nanp")
        }),
        fits: |_, d| d.len() == 10 && d[0] >= 2 && d[3] >= 2,
    },
    // Brazilian: `(11) 91234-5678`, `(21) 3456-7890`, `11 91234-5678`; area codes have
    // no 0.
    PhoneShape {
        pattern: LazyLock::new(|| Regex::new(r"\(\d{2}\) ?9?\d{4}-?\d{4}|\d{2} 9\d{4}-\d{4}").expect("phone br")),
        fits: |_, d| (10..=11).contains(&d.len()) && d[0] != 0 && d[1] != 0,
    },
    // National with a trunk 0 (then an area code, never 0), in groups split by one kind of separator, 10 to 12
    // digits: `020 7946 0958`, `06 12 34 56 78`, `030-12345678`.
    PhoneShape {
        pattern: LazyLock::new(|| Regex::new(r"0[1-9]\d{0,3}(?:[ \-]\d{2,8}){1,4}").expect("phone trunk")),
        fits: |c, d| (10..=12).contains(&d.len()) && one_separator(c),
    },
];

pub(super) fn phones(text: &str, claim: &mut impl FnMut(PiiKind, Range<usize>)) {
    for shape in &SHAPES {
        each_match(&shape.pattern, text, |m| {
            let end = longest_group_prefix(text, m.start, m.end, |c| (shape.fits)(c, &digits(c)))?;
            claim(PiiKind::Phone, m.start..end);
            Some(m.start..end)
        });
    }
}
