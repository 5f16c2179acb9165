//! Reading Rust source for the module references it makes, without a parser crate:
//! comments and literals blanked out, then a small tokenizer and a `use`-tree walker.

use std::collections::BTreeSet;

/// The other modules `source` (the file of `module`) refers to, with line numbers: each
/// path is cut at the longest prefix that is a `known` module.
pub fn references(source: &str, module: &[String], known: &BTreeSet<Vec<String>>) -> Vec<(Vec<String>, usize)> {
    let tokens = tokenize(&strip(source));
    let mut found = Vec::new();
    // Inline modules (`mod tests { .. }`) open at a brace depth; `#[cfg(test)]` ones are
    // skipped to their closing brace.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let (text, line) = (&tokens[i].0, tokens[i].1);
        match text.as_str() {
            "{" => depth += 1,
            "}" => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t.0 == "{") => {
                let gated: Vec<&str> = tokens[i.saturating_sub(7)..i].iter().map(|t| t.0.as_str()).collect();
                if gated == ["#", "[", "cfg", "(", "test", ")", "]"] {
                    i = closing_brace(&tokens, i + 2) + 1;
                    continue;
                }
                inline.push((tokens[i + 1].0.clone(), depth + 1));
            }
            _ => {}
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        let starts_path = is_ident(text)
            && tokens.get(i + 1).is_some_and(|t| t.0 == "::")
            && (i == 0 || !matches!(tokens[i - 1].0.as_str(), "::" | "$"));
        if starts_path {
            let base = match text.as_str() {
                "crate" => Some(Vec::new()),
                "self" | "super" => Some(here.clone()),
                child if known.contains(&[here.as_slice(), &[child.to_string()]].concat()) => Some(here.clone()),
                _ => None,
            };
            if let Some(base) = base {
                let (paths, next) = parse_path(&tokens, i, base);
                for full in paths {
                    let target = (0..=full.len()).rev().map(|n| &full[..n]).find(|p| known.contains(*p));
                    if let Some(target) = target.filter(|t| *t != module) {
                        found.push((target.to_vec(), line));
                    }
                }
                i = next;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The index of the `}` that closes the `{` at `open`.
fn closing_brace(tokens: &[(String, usize)], open: usize) -> usize {
    let mut depth = 0;
    for (i, (text, _)) in tokens.iter().enumerate().skip(open) {
        match text.as_str() {
            "{" => depth += 1,
            "}" if depth == 1 => return i,
            "}" => depth -= 1,
            _ => {}
        }
    }
    tokens.len()
}

/// The full paths named by the path (or `use` tree) starting at `tokens[i]`, resolved
/// from `base`; and the index after it.
fn parse_path(tokens: &[(String, usize)], mut i: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut out = Vec::new();
    loop {
        match tokens.get(i).map(|t| t.0.as_str()) {
            Some("crate") => prefix.clear(),
            Some("self") => {}
            Some("super") => {
                prefix.pop();
            }
            Some("*") => {
                out.push(prefix);
                return (out, i + 1);
            }
            Some("{") => {
                i += 1;
                while tokens.get(i).is_some_and(|t| t.0 != "}") {
                    let (inner, next) = parse_path(tokens, i, prefix.clone());
                    out.extend(inner);
                    i = next;
                    if tokens.get(i).is_some_and(|t| t.0 == ",") {
                        i += 1;
                    }
                }
                return (out, i + 1);
            }
            Some(segment) if is_ident(segment) => prefix.push(segment.to_string()),
            _ => {
                out.push(prefix);
                return (out, i);
            }
        }
        if tokens.get(i + 1).is_some_and(|t| t.0 == "::") {
            i += 2;
        } else {
            out.push(prefix);
            // `as name` renames: not a path.
            let next = if tokens.get(i + 1).is_some_and(|t| t.0 == "as") {
                i + 3
            } else {
                i + 1
            };
            return (out, next);
        }
    }
}

fn is_ident(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters, with their line numbers.
fn tokenize(text: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let (mut tokens, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((chars[start..i].iter().collect(), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push(("::".to_string(), line));
            i += 2;
        } else {
            tokens.push((c.to_string(), line));
            i += 1;
        }
    }
    tokens
}

/// `source` with comments, string and character literals blanked out (newlines kept).
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |out: &mut String, from: &[char]| {
        out.extend(from.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    while i < chars.len() {
        let rest = &chars[i..];
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            (2..rest.len())
                .find(|&k| rest[k - 1] == '*' && rest[k] == '/')
                .map_or(rest.len(), |k| k + 1)
        } else if rest[0] == 'r'
            && rest.get(1).is_some_and(|&c| c == '"' || c == '#')
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                out.push(rest[0]);
                i += 1;
                continue;
            }
            let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            (2 + hashes..rest.len())
                .find(|&k| rest[k..].starts_with(&closing))
                .map_or(rest.len(), |k| k + closing.len())
        } else if rest[0] == '"' {
            let mut k = 1;
            while k < rest.len() && rest[k] != '"' {
                k += if rest[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else if rest[0] == '\'' && rest.get(1) == Some(&'\\') {
            (2..rest.len()).find(|&k| rest[k] == '\'').map_or(rest.len(), |k| k + 1)
        } else if rest[0] == '\'' && rest.get(2) == Some(&'\'') {
            3
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        let end = end.min(rest.len());
        blank(&mut out, &rest[..end]);
        i += end;
    }
    out
}
