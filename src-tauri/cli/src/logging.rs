//! Logging for both binaries: stderr plus a size-capped file in the log directory.
//!
//! The filter comes from `ALERTDESK_LOG` if set, else the `[log] level` setting. Nothing that logs here is
//! handed a token: credentials are [`alertdesk_core::domain::Token`]s, which print as `***`.
//!
//! The logs cannot fill the disk: the file is rotated by size and only `[log] keep_files` old ones are kept
//! ([`rotate`]), and the same warning is written at most once per `[log] repeat_warnings_secs` ([`limit`]). The
//! files are private to the user (0600).

mod limit;
mod rotate;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::config::settings::LogSettings;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Keeps the file writer alive; dropping it flushes the log.
pub type Guard = WorkerGuard;

/// The environment variable that overrides the log filter.
pub const LOG_ENV: &str = "ALERTDESK_LOG";

/// Where stderr logging starts: the desktop app logs `info` to the terminal, subcommands only `warn` so their
/// stdout and stderr stay readable. The file always gets the configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// Same filter as the file.
    Full,
    /// Warnings and errors only (unless `ALERTDESK_LOG` asks for more).
    Quiet,
}

/// Installs the global subscriber. Keep the returned guard alive for the life of the process: dropping it
/// flushes the file writer. If the log directory cannot be used, logging goes to stderr only and says why.
pub fn init(paths: &Paths, settings: &LogSettings, console: Console) -> Option<WorkerGuard> {
    let env_filter = std::env::var(LOG_ENV).ok();
    let file_filter = || EnvFilter::try_new(env_filter.as_deref().unwrap_or(&settings.level));
    let (file_filter, bad_filter) = match file_filter() {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let console_filter = match (console, &env_filter) {
        (Console::Quiet, None) => EnvFilter::new("warn"),
        _ => file_filter
            .to_string()
            .parse()
            .unwrap_or_else(|_| EnvFilter::new("info")),
    };

    let file = rotate::SizeRotating::open(
        &paths.log_dir,
        settings.max_file_bytes(),
        settings.keep_files,
    );
    let (file_layer, guard, file_error) = match file {
        Ok(appender) => {
            // The default queue holds 128,000 lines (about 4 MB resident from the start); 1,024 absorbs any burst
            // of log lines, and beyond it lines are dropped (lossy), never alerts.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(1024)
                .finish(appender);
            let layer = fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .map_event_format(limit::NoteDropped)
                .with_filter(no_wire_trace(file_filter));
            (Some(layer), Some(guard), None)
        }
        Err(e) => (None, None, Some(e)),
    };
    let console_layer = fmt::layer()
        .with_writer(std::io::stderr)
        .map_event_format(limit::NoteDropped)
        .with_filter(no_wire_trace(console_filter));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(console_layer)
        .with(limit::RateLimit::new(settings.repeat_warnings()))
        .try_init();

    if let Some(e) = bad_filter {
        tracing::warn!("invalid log filter, using info: {e}");
    }
    if let Some(e) = file_error {
        tracing::warn!(
            "cannot log to {}: {e}; logging to stderr only",
            paths.log_dir.display()
        );
    }
    guard
}

/// Crates whose `trace` output can hold a secret, capped at `debug` whatever the filter says (`ALERTDESK_LOG=trace`
/// included): tungstenite logs the upgrade request (a token in the query or a header) and every frame (a token in
/// a Socket.IO CONNECT); reqwest, hyper and h2 can log the bytes of a connection; zbus and the Secret Service
/// client the keyring's messages. Their `debug` and above name no secret.
const WIRE_TARGETS: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "zbus",
    "secret_service",
    "keyring",
];

/// `filter`, without the `trace` events of [`WIRE_TARGETS`] (a cap: it never enables anything).
fn no_wire_trace<S>(filter: EnvFilter) -> impl Filter<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    filter.and(
        filter_fn(|meta| {
            *meta.level() != tracing::Level::TRACE
                || !WIRE_TARGETS.iter().any(|crate_name| {
                    meta.target()
                        .strip_prefix(crate_name)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
                })
        })
        // Its own hint is no bound, so the filter's hint (what callsites stay off) is kept.
        .with_max_level_hint(tracing::level_filters::LevelFilter::TRACE),
    )
}
