//! What an operator sees of a running node: its log (one line per request, text or
//! JSON) and its Prometheus metrics. Any layer counts through the names of `metrics`;
//! this module uses nothing of the crate but the configuration.

pub mod metrics;
pub mod requests;

use std::io::IsTerminal;

use crate::config::LogFormat;

/// Sets up the process's log on stderr (stdout carries what a command prints), filtered
/// by `RUST_LOG` (default `info,sqlx=warn`). Text has colour only on a terminal; JSON
/// is one object per line with the event's fields at the top level.
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
