//! An error with its causes, as one line: `Display` of most library errors (reqwest's,
//! sqlx's) names only the outermost layer, which hides why a request or a query failed.

/// `error: cause: cause …`, outermost first.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
