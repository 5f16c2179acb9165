//! What the assistant sends as `messages`: a system message (a short default, then the
//! admin's instructions), then the conversation's recent messages, its own as
//! `assistant` and everyone else's as `user`, prefixed with the sender's name so the
//! model can tell people apart in a group.

use serde_json::{json, Value};

use crate::chat::answers::Line;

/// How many of the conversation's messages are sent as context, at most.
pub const CONTEXT_MESSAGES: i64 = 20;
/// How many characters of them, at most (the newest are kept).
pub const CONTEXT_CHARS: usize = 12_000;

/// What every assistant is told before its admin's instructions.
const DEFAULT_SYSTEM: &str = "You are an assistant inside a team chat. Each user message starts with \
     the sender's name. Answer the last message helpfully and briefly, in its language.";

pub fn messages(instructions: Option<&str>, lines: &[Line]) -> Vec<Value> {
    let system = match instructions.map(str::trim).filter(|i| !i.is_empty()) {
        Some(instructions) => format!("{DEFAULT_SYSTEM}\n\n{instructions}"),
        None => DEFAULT_SYSTEM.to_string(),
    };
    let mut messages = vec![json!({"role": "system", "content": system})];
    messages.extend(lines.iter().map(|line| match line.own {
        true => json!({"role": "assistant", "content": line.text}),
        false => json!({"role": "user", "content": format!("{}: {}", line.sender_name, line.text)}),
    }));
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(own: bool, name: &str, text: &str) -> Line {
        Line {
            own,
            sender_name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn roles_follow_the_sender_and_instructions_follow_the_default() {
        let lines = [
            line(false, "Ana", "Hi"),
            line(true, "Helper", "Hello Ana"),
            line(false, "Ana", "Why?"),
        ];
        let sent = messages(Some("  Be formal. "), &lines);
        assert_eq!(sent.len(), 4);
        assert_eq!(sent[0]["role"], "system");
        assert!(sent[0]["content"].as_str().unwrap().ends_with("\n\nBe formal."));
        assert_eq!(sent[1], json!({"role": "user", "content": "Ana: Hi"}));
        assert_eq!(sent[2], json!({"role": "assistant", "content": "Hello Ana"}));
        assert_eq!(messages(Some(" "), &[])[0]["content"], DEFAULT_SYSTEM);
    }
}
