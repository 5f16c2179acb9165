//! The shape of `src/`, checked on every test run (`cargo test --test layers`; no
//! database needed): modules only use modules of lower layers, there is no circle of
//! references between modules, and no source file is over `MAX_LINES` lines.
//!
//! It reads the source text, not the compiler's view: every path that starts with
//! `crate::`, `super::` or `self::` (also inside `use` groups) and every path through a
//! child module (`hub::Hub` in `realtime/mod.rs`) counts as a reference, in code as well
//! as in `use` lines; comments, string literals and `#[cfg(test)]` modules do not (a
//! unit test may build its subject with any part of the crate). `main.rs` and
//! `src/bin/` are separate crates (they reach the library as `tenantchat::`), so only their
//! length is checked. See `docs/architecture.md` for the picture.

mod source;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use source::references;

/// The top-level modules of `src/`, bottom → top. A module may use the modules of lower
/// layers, never one of its own layer or above. `lib` stands for the crate root
/// (`src/lib.rs`): it only wires, so nothing uses it.
const LAYERS: &[(&str, &[&str])] = &[
    // Values every layer speaks: times, parsed domain values, the one error type.
    ("values", &["timestamp", "domain"]),
    ("errors", &["error"]),
    // Environment → `Config`; knows nothing it configures.
    ("configuration", &["config"]),
    // What an operator sees: metric names and the Prometheus exporter, the request log.
    // Any layer counts through it; it knows only the configuration (the log format).
    ("telemetry", &["telemetry"]),
    // Infrastructure with no idea of users or chat: the channel layer and presence
    // (opaque envelopes to groups), then what reuses its Redis pool or sits beside it:
    // the GCRA limiter, where a request comes from, the page and widget strings, and
    // capped counts per key (connections per address, sockets per user).
    ("realtime", &["realtime"]),
    ("infrastructure", &["ratelimit", "client", "i18n", "slots", "crypto"]),
    // Who is calling (the `Actor`), then tenants and users (which create users with
    // auth's password hashing), then logging in, which joins the two.
    ("auth", &["auth"]),
    ("accounts", &["accounts"]),
    ("login and audit", &["login", "audit"]),
    // Outgoing webhooks: the outbox the chat writes into in its transactions, and the
    // engine that delivers it; it knows endpoints and deliveries, not chat types.
    ("webhooks", &["hooks"]),
    // Signing in with the host app's identity: a way of logging in, under its budgets.
    ("widget sign-in", &["widget_login"]),
    // The chat domain: conversations, messages, receipts, attachments, its events and
    // the tenant settings it obeys; it publishes through realtime after commits.
    ("chat", &["chat"]),
    // Per-user rate limits: policy over the limiter, with the tenants' send rates.
    ("limits", &["limits"]),
    // Refused attempts in the audit log, capped per user by the limits.
    ("denials", &["denials"]),
    // The assistant: answers the questions the webhook engine claims for it (through
    // `hooks::responder`) by writing chat messages from an OpenAI-compatible API.
    ("assistant", &["assistant"]),
    // Tenant administration over chat data, the demo seed that uses all of it, and a
    // tenant's whole data exported to an archive and imported back.
    ("admin", &["admin", "demo", "archive"]),
    // What every request shares; built by `lib.rs`, read by the edges.
    ("state", &["state"]),
    // Request middleware of every route.
    ("middleware", &["middleware"]),
    // Edges: HTTP endpoints (poem-openapi), the WebSocket consumer, pages, and the
    // health endpoints of load balancers.
    ("edges", &["api", "ws", "web", "health"]),
    // Serving the endpoint on a listener: connection caps, timeouts, keep-alive. It
    // takes the endpoint `lib.rs` built and knows none of its routes.
    ("server", &["server"]),
    ("lib", &["lib"]),
];

/// References that break the table for a known, temporary reason: (from, to, why).
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

const MAX_LINES: usize = 500;

#[test]
fn modules_only_use_lower_layers() {
    let graph = Graph::read();
    let rank = |module: &str| LAYERS.iter().position(|(_, modules)| modules.contains(&module));
    let mut problems = Vec::new();
    for module in graph.files.keys() {
        let top = top_level(module);
        if rank(&top).is_none() {
            problems.push(format!(
                "src/{}: module `{top}` is missing from LAYERS in tests/layers/main.rs",
                file_of(module)
            ));
        }
    }
    for edge in &graph.edges {
        let (from, to) = (top_level(&edge.from), top_level(&edge.to));
        if from == to || is_exception(edge) {
            continue;
        }
        if let (Some(from_rank), Some(to_rank)) = (rank(&from), rank(&to)) {
            if to_rank >= from_rank {
                problems.push(format!(
                    "{}:{}: `{from}` (layer {}) uses `{}` (layer {})",
                    edge.file,
                    edge.line,
                    LAYERS[from_rank].0,
                    edge.to.join("::"),
                    LAYERS[to_rank].0
                ));
            }
        }
    }
    assert!(problems.is_empty(), "upward references:\n{}", problems.join("\n"));
}

#[test]
fn exceptions_are_still_needed() {
    let graph = Graph::read();
    for (from, to, why) in EXCEPTIONS {
        assert!(
            graph
                .edges
                .iter()
                .any(|e| top_level(&e.from) == *from && top_level(&e.to) == *to),
            "the exception {from} → {to} ({why}) is no longer used: delete it"
        );
    }
}

/// Modules that reference each other in a circle, at any depth: two top-level modules,
/// or two sub-modules of one parent (`chat::messages` and `chat::attachments`). A
/// reference between a module and its own parent (`chat::receipts` using
/// `chat::membership` of `chat/mod.rs`) is not counted: the parent file is the shared
/// root of its children.
#[test]
fn no_circles() {
    let graph = Graph::read();
    // For each parent: references between its children, with a witness file:line each.
    let mut siblings: BTreeMap<Vec<String>, BTreeMap<(String, String), String>> = BTreeMap::new();
    for edge in &graph.edges {
        let common = edge.from.iter().zip(&edge.to).take_while(|(a, b)| a == b).count();
        if common == edge.from.len() || common == edge.to.len() || is_exception(edge) {
            continue;
        }
        siblings
            .entry(edge.from[..common].to_vec())
            .or_default()
            .entry((edge.from[common].clone(), edge.to[common].clone()))
            .or_insert_with(|| format!("{}:{}", edge.file, edge.line));
    }
    let mut problems = Vec::new();
    for (parent, edges) in &siblings {
        for circle in circles(edges) {
            let steps: Vec<String> = circle
                .windows(2)
                .map(|pair| {
                    format!(
                        "{} → {} ({})",
                        pair[0],
                        pair[1],
                        edges[&(pair[0].clone(), pair[1].clone())]
                    )
                })
                .collect();
            let scope = if parent.is_empty() {
                "crate".to_string()
            } else {
                parent.join("::")
            };
            problems.push(format!("in {scope}: {}", steps.join(", ")));
        }
    }
    assert!(problems.is_empty(), "import circles:\n{}", problems.join("\n"));
}

#[test]
fn no_file_is_too_long() {
    let mut problems = Vec::new();
    for dir in ["src", "tests"] {
        for path in rust_files(&root().join(dir)) {
            let lines = fs::read_to_string(&path).unwrap().lines().count();
            if lines > MAX_LINES {
                let shown = path.strip_prefix(root()).unwrap().display().to_string();
                problems.push(format!(
                    "{shown}: {lines} lines (at most {MAX_LINES}; split it along a concern)"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Checks the checker on a made-up file.
#[test]
fn references_are_found_in_use_groups_code_and_child_paths() {
    let source = r#"
        use crate::{auth::{self, Actor}, error::Result as R};
        use super::views::*;
        // use crate::not_a_comment;
        fn f() { let s = "crate::not_a_string"; crate::realtime::layer::user_group(x); events::open('c'); }
        mod inner { use super::super::views; }
        #[cfg(test)]
        mod tests { use crate::admin::Anything; }
    "#;
    let module = vec!["chat".to_string(), "messages".to_string()];
    let known: BTreeSet<Vec<String>> = [
        "admin",
        "auth",
        "error",
        "chat",
        "chat::messages",
        "chat::views",
        "chat::messages::events",
        "realtime",
        "realtime::layer",
    ]
    .iter()
    .map(|m| path(m))
    .collect();
    let found: Vec<(String, usize)> = references(source, &module, &known)
        .into_iter()
        .map(|(to, line)| (to.join("::"), line))
        .collect();
    assert_eq!(
        found,
        [
            ("auth".to_string(), 2),
            ("auth".to_string(), 2),
            ("error".to_string(), 2),
            ("chat::views".to_string(), 3),
            ("realtime::layer".to_string(), 5),
            ("chat::messages::events".to_string(), 5),
            ("chat::views".to_string(), 6),
        ]
    );
}

fn is_exception(edge: &Edge) -> bool {
    let (from, to) = (top_level(&edge.from), top_level(&edge.to));
    EXCEPTIONS.iter().any(|(f, t, _)| *f == from && *t == to)
}

struct Edge {
    from: Vec<String>,
    to: Vec<String>,
    file: String,
    line: usize,
}

struct Graph {
    /// Module path → file, for every file of the library crate.
    files: BTreeMap<Vec<String>, PathBuf>,
    edges: Vec<Edge>,
}

impl Graph {
    fn read() -> Graph {
        let src = root().join("src");
        let files: BTreeMap<Vec<String>, PathBuf> = rust_files(&src)
            .into_iter()
            .filter_map(|file| Some((module_of(file.strip_prefix(&src).unwrap())?, file)))
            .collect();
        let known: BTreeSet<Vec<String>> = files.keys().cloned().collect();
        let mut edges = Vec::new();
        for (module, file) in &files {
            let source = fs::read_to_string(file).unwrap();
            for (to, line) in references(&source, module, &known) {
                edges.push(Edge {
                    from: module.clone(),
                    to,
                    file: format!("src/{}", file_of(module)),
                    line,
                });
            }
        }
        Graph { files, edges }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn path(module: &str) -> Vec<String> {
    module.split("::").map(str::to_string).collect()
}

fn top_level(module: &[String]) -> String {
    module.first().cloned().unwrap_or_else(|| "lib".to_string())
}

/// `chat/mod.rs` → `chat`, `chat/views.rs` → `chat::views`, `lib.rs` → the root; `None`
/// for the binaries.
fn module_of(relative: &Path) -> Option<Vec<String>> {
    let parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["main"] | ["bin", ..] => None,
        ["lib"] => Some(Vec::new()),
        [.., "mod"] => Some(parts[..parts.len() - 1].to_vec()),
        _ => Some(parts),
    }
}

fn file_of(module: &[String]) -> String {
    let src = root().join("src");
    let candidates = if module.is_empty() {
        vec![src.join("lib.rs")]
    } else {
        let joined = module.join("/");
        vec![src.join(format!("{joined}.rs")), src.join(joined).join("mod.rs")]
    };
    let found = candidates.into_iter().find(|p| p.exists()).unwrap();
    found.strip_prefix(&src).unwrap().display().to_string()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("node_modules") {
                found.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Every elementary circle of the graph `edges`, each once (as a closed walk
/// `a → b → … → a`).
fn circles(edges: &BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let mut found = Vec::new();
    // A circle is reported from its smallest node, so each is found once.
    for &start in next.keys() {
        let mut stack = vec![(start, vec![start])];
        while let Some((node, walk)) = stack.pop() {
            for &to in next.get(node).into_iter().flatten() {
                if to == start {
                    let mut circle: Vec<String> = walk.iter().map(|s| s.to_string()).collect();
                    circle.push(start.to_string());
                    found.push(circle);
                } else if to > start && !walk.contains(&to) {
                    let mut longer = walk.clone();
                    longer.push(to);
                    stack.push((to, longer));
                }
            }
        }
    }
    found
}
