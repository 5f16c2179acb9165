//! Forbidden topics: phrases a tenant refuses in messages, matched on whole words,
//! ignoring case and accents ("Café" matches `cafe`; "cafeteria" does not). Both the
//! phrases and the message are folded the same way — Unicode compatibility decomposition
//! (NFKD), combining marks dropped, lower case, every run of other characters than
//! letters and digits one space — so a phrase is a whole-word match exactly when its
//! folded form, with a space on each side, occurs in the message's. All of a tenant's
//! phrases are searched in one pass (Aho-Corasick), built once per settings change.

use aho_corasick::{AhoCorasick, MatchKind};
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use super::Invalid;

/// The most phrases a tenant may forbid.
pub const MAX_PHRASES: usize = 200;
/// The longest phrase, in characters.
pub const MAX_PHRASE_CHARS: usize = 100;

/// `text` folded for matching, with a space on each side: ` cafe com leite `.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len() + 2);
    folded.push(' ');
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            folded.extend(c.to_lowercase());
        } else if !folded.ends_with(' ') {
            folded.push(' ');
        }
    }
    if !folded.ends_with(' ') {
        folded.push(' ');
    }
    folded
}

/// A tenant's forbidden phrases, ready to match.
#[derive(Debug, Clone, Default)]
pub struct ForbiddenTopics {
    /// The phrases as the admin wrote them, in the matcher's pattern order.
    phrases: Vec<String>,
    /// `None` when there are no phrases.
    matcher: Option<AhoCorasick>,
}

impl ForbiddenTopics {
    /// Checks the admin's list: at most `MAX_PHRASES`, each 1 to `MAX_PHRASE_CHARS`
    /// characters with at least one letter or digit (others are not words); trimmed,
    /// duplicates (after folding) dropped.
    pub fn parse(raw: &[String]) -> Result<Vec<String>, Invalid> {
        const FIELD: &str = "forbidden_topics";
        if raw.len() > MAX_PHRASES {
            return Err(Invalid::new(FIELD, format!("at most {MAX_PHRASES} phrases")));
        }
        let mut kept: Vec<(String, String)> = Vec::new();
        for phrase in raw {
            let phrase = phrase.trim();
            let chars = phrase.chars().count();
            if chars == 0 || chars > MAX_PHRASE_CHARS || phrase.chars().any(char::is_control) {
                return Err(Invalid::new(
                    FIELD,
                    format!("each phrase has 1 to {MAX_PHRASE_CHARS} characters and no control characters"),
                ));
            }
            let folded = fold(phrase);
            if folded.trim().is_empty() {
                return Err(Invalid::new(FIELD, format!("{phrase:?} has no letter or digit")));
            }
            if !kept.iter().any(|(_, f)| *f == folded) {
                kept.push((phrase.to_string(), folded));
            }
        }
        Ok(kept.into_iter().map(|(phrase, _)| phrase).collect())
    }

    /// The matcher for phrases that passed `parse` (others are folded all the same).
    pub fn new(phrases: &[String]) -> ForbiddenTopics {
        if phrases.is_empty() {
            return ForbiddenTopics::default();
        }
        let patterns: Vec<String> = phrases.iter().map(|p| fold(p)).collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .expect("at most 200 phrases of 100 characters build");
        ForbiddenTopics {
            phrases: phrases.to_vec(),
            matcher: Some(matcher),
        }
    }

    /// The first forbidden phrase the text contains, as the admin wrote it.
    pub fn find(&self, text: &str) -> Option<&str> {
        let matcher = self.matcher.as_ref()?;
        let found = matcher.find(&fold(text))?;
        Some(&self.phrases[found.pattern().as_usize()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(phrases: &[&str]) -> ForbiddenTopics {
        let raw: Vec<String> = phrases.iter().map(|p| p.to_string()).collect();
        ForbiddenTopics::new(&ForbiddenTopics::parse(&raw).unwrap())
    }

    #[test]
    fn matches_whole_words_ignoring_case_and_accents() {
        let t = topics(&["cafe", "Salary Review", "ação"]);
        for (text, phrase) in [
            ("Let's get a Café", Some("cafe")),
            ("CAFE!", Some("cafe")),
            ("the cafeteria is closed", None),
            ("decafe", None),
            ("our salary   review, tomorrow", Some("Salary Review")),
            ("salary-review", Some("Salary Review")),
            ("salary reviews", None),
            ("uma ACAO judicial", Some("ação")),
            ("ações", None),
            ("ｃａｆｅ time", Some("cafe")), // full-width letters fold by NFKD
            ("", None),
        ] {
            assert_eq!(t.find(text), phrase, "{text:?}");
        }
    }

    #[test]
    fn no_phrases_match_nothing() {
        assert_eq!(ForbiddenTopics::default().find("anything"), None);
    }

    #[test]
    fn the_list_is_bounded_and_deduplicated() {
        let many = vec!["x".to_string(); MAX_PHRASES + 1];
        assert_eq!(ForbiddenTopics::parse(&many).unwrap_err().field, "forbidden_topics");
        let long = vec!["y".repeat(MAX_PHRASE_CHARS + 1)];
        assert!(ForbiddenTopics::parse(&long).is_err());
        assert!(ForbiddenTopics::parse(&[" ".to_string()]).is_err());
        assert!(ForbiddenTopics::parse(&["!!!".to_string()]).is_err(), "no word in it");
        assert!(ForbiddenTopics::parse(&["a\nb".to_string()]).is_err());
        let dup = ["Café ".to_string(), "cafe".to_string()];
        assert_eq!(ForbiddenTopics::parse(&dup).unwrap(), vec!["Café".to_string()]);
    }
}
