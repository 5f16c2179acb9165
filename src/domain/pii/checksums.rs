//! The check digits that tell a real card, IBAN, CPF or CNPJ from any digits of the
//! same length.

/// Luhn (ISO/IEC 7812): payment card numbers.
pub fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match i % 2 {
            0 => d,
            _ if d * 2 > 9 => d * 2 - 9,
            _ => d * 2,
        })
        .sum();
    sum % 10 == 0
}

/// ISO 13616: the IBAN's first four characters moved to the end, letters as 10…35,
/// the whole number mod 97 is 1. `iban` is upper-case alphanumeric, without spaces.
pub fn iban_mod97(iban: &str) -> bool {
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let Some(value) = c.to_digit(36) else { return false };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// A Brazilian check digit: the weighted sum mod 11, 0 when the rest is below 2.
fn mod11_digit(digits: &[u32], weights: impl Iterator<Item = u32>) -> u32 {
    let rest = digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
    if rest < 2 {
        0
    } else {
        11 - rest
    }
}

/// Brazil's individual taxpayer number: 11 digits, the last two check digits. A run
/// of one digit (`111.111.111-11`) passes the arithmetic but is no CPF.
pub fn cpf(digits: &[u32]) -> bool {
    digits.len() == 11
        && digits.iter().any(|d| *d != digits[0])
        && mod11_digit(&digits[..9], (2..=10).rev()) == digits[9]
        && mod11_digit(&digits[..10], (2..=11).rev()) == digits[10]
}

/// Brazil's company number: 14 digits, the last two check digits (weights 2…9 from
/// the right, repeating).
pub fn cnpj(digits: &[u32]) -> bool {
    let weights = |n: usize| (0..n).rev().map(|i| 2 + (i as u32 % 8));
    digits.len() == 14
        && digits.iter().any(|d| *d != digits[0])
        && mod11_digit(&digits[..12], weights(12)) == digits[12]
        && mod11_digit(&digits[..13], weights(13)) == digits[13]
}
