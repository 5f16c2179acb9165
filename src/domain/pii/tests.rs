//! Tables of what each detector must find (true positives, each inside a sentence) and
//! what it must leave alone (false positives: dates, versions, amounts, order numbers,
//! ISBNs, digits that fail a checksum). The target is zero misses on both.

use super::*;

/// What `scan` finds in `text`: (kind, the text found).
fn found(text: &str) -> Vec<(&'static str, &str)> {
    scan(text)
        .into_iter()
        .map(|f| (f.kind.as_str(), &text[f.range]))
        .collect()
}

/// Every positive is found alone, in the middle of a sentence, as the given kind.
fn assert_finds(kind: &str, positives: &[&str]) {
    for value in positives {
        let text = format!("my {kind} is {value}, thanks");
        assert_eq!(found(&text), vec![(kind, *value)], "in {text:?}");
    }
}

/// No negative is found as anything.
fn assert_ignores(negatives: &[&str]) {
    for value in negatives {
        let text = format!("see {value} please");
        assert_eq!(found(&text), vec![], "in {text:?}");
    }
}

#[test]
fn emails() {
    assert_finds(
        "email",
        &[
            "ana@demo.test",
            "Joao.Silva+chat@mail.example.com.br",
            "o'neil@example.org".split('\'').nth(1).unwrap(),
            "josé.müller@exemplo.pt",
            "a_b-c@sub-domain.io",
        ],
    );
    assert_ignores(&[
        "@ana",
        "user@localhost",
        "pkg@1.2.3",
        "foo@bar.c",
        "name@",
        "@example.com",
        "a @ b.com",
    ]);
}

#[test]
fn phones() {
    assert_finds(
        "phone",
        &[
            "+1 415 555 2671",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "+5511912345678",
            "+55 11 91234-5678",
            "+351 912 345 678",
            "+33 6 12 34 56 78",
            "0044 20 7946 0958",
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "(11) 91234-5678",
            "(21) 3456-7890",
            "11 91234-5678",
            "020 7946 0958",
            "06 12 34 56 78",
            "030 12345678",
            "0176-12345678",
        ],
    );
    assert_ignores(&[
        "2024-01-15",
        "15/01/2024",
        "01-02-2024 10:30",
        "15.01.2024",
        "10:30-11:45",
        "v10.4.12",
        "2.0.0-rc.1",
        "192.168.0.1",
        "$1,234,567.89",
        "1 234 567,89 €",
        "R$ 1.234,56",
        "#48213",
        "ORD-2024-000123",
        "order 123456789",
        "123-456-7890",
        "5551234",
        "+15 000",
        "1999-2024",
        "0-306-40615-2",
        "978-3-16-148410-0",
        "room 101, floor 3",
        "2024-01-15T10:30:00Z",
        "Invoice 2024/000123",
        "at 10:30, 11:45 and 14:00",
        "0.5.12",
        "12 345 678",
    ]);
}

#[test]
fn payment_cards() {
    assert_finds(
        "card",
        &[
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "5555 5555 5555 4444",
            "2223003122003222",
            "378282246310005",
            "3782 822463 10005",
            "6011 1111 1111 1117",
            "3530111333300000",
            "4222222222222",
            "6062826786276634",
            "5105 1051 0510 5100",
        ],
    );
    // A card followed by its expiry date is still found.
    assert_eq!(
        found("card 4111 1111 1111 1111 12/27"),
        vec![("card", "4111 1111 1111 1111")]
    );
    assert_ignores(&[
        "4111 1111 1111 1112",
        "1234 5678 9012 3456",
        "0000 0000 0000 0000",
        "9780306406157",
        "978-0-306-40615-7",
        "4111-1111 1111-1111",
        "12345678901234567890123",
        "1Z999AA10123456784",
        "9400 1000 0000 0000 0000 00",
        "$4,111.11",
    ]);
}

#[test]
fn ibans() {
    assert_finds(
        "iban",
        &[
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "ES9121000418450200051332",
            "BR1800360305000010009795493C1",
            "PT50000201231234567890154",
            "de89 3704 0044 0532 0130 00",
        ],
    );
    assert_ignores(&[
        "DE89 3704 0044 0532 0130 01",
        "DE89 3704 0044 0532 0130",
        "XX89370400440532013000",
        "AB12 and CD34",
        "GB82WEST12345698765432XYZ",
    ]);
}

#[test]
fn cpf_and_cnpj() {
    assert_finds("cpf", &["529.982.247-25", "52998224725", "111.444.777-35"]);
    assert_finds("cnpj", &["11.222.333/0001-81", "11222333000181", "45.723.174/0001-10"]);
    assert_ignores(&[
        "529.982.247-26",
        "52998224726",
        "111.111.111-11",
        "00000000000",
        "12345678900",
        "11.222.333/0001-82",
        "11111111111111",
        "20240115123045",
    ]);
}

#[test]
fn redacts_each_finding_and_counts_them() {
    let text = "Mail ana@demo.test or call +44 20 7946 0958; CPF 529.982.247-25, card 4111 1111 1111 1111.";
    let findings = scan(text);
    assert_eq!(
        redact(text, &findings),
        "Mail [redacted:email] or call [redacted:phone]; CPF [redacted:cpf], card [redacted:card]."
    );
    let counts = counts(&findings);
    assert_eq!(counts.get("email"), Some(&1));
    assert_eq!(counts.len(), 4);
    assert!(scan("no personal data here, café").is_empty());
}

/// A figure for docs/performance.md, not a test result: how long one scan of a 1 KB
/// message takes (text with digits, so every detector runs). Run with
/// `cargo test --release --lib scan_speed -- --ignored --nocapture`.
#[test]
#[ignore = "prints a figure; run on demand"]
fn scan_speed() {
    let sentence = "Order 2024-0042 ships on 15.01.2024; call +44 20 7946 0958 or ana@demo.test. ";
    let text: String = sentence.repeat(1024 / sentence.len() + 1).chars().take(1024).collect();
    let plain: String = "The quarterly review went well and nobody objected. "
        .repeat(20)
        .chars()
        .take(1024)
        .collect();
    // What the send benchmark sends: short, with digits.
    let bench = "bench 4242 1733000123".to_string();
    for (what, text) in [
        ("1 KB with PII and numbers", &text),
        ("1 KB of plain words", &plain),
        ("a bench message", &bench),
    ] {
        let rounds = 2000;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(redact(text, &scan(std::hint::black_box(text))));
        }
        println!(
            "{what}: {:.1} µs per scan and redact",
            start.elapsed().as_secs_f64() * 1e6 / rounds as f64
        );
    }
}
