//! `alertdesk history` and `alertdesk mark-read`: the alert history in the data directory.

use std::process::ExitCode;

use alertdesk_core::config::paths::Paths;
use alertdesk_core::domain::{Server, ServerId, Timestamp};
use alertdesk_core::store::{Query, Store, StoreError};
use clap::Args;

use super::terminal::human_line;
use super::{open_history, usage_error};

/// `alertdesk history`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this profile's alerts.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Only this server's alerts.
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
    /// Only unread alerts.
    #[arg(long)]
    pub unread: bool,
    /// Only alerts received or updated since T: an RFC 3339 time (2026-11-24T14:00:00Z) or an age (90s, 30m, 12h, 7d).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    pub since: Option<Timestamp>,
    /// At most N alerts (newest first).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// One JSON object per alert (the `listen --json` fields plus server, first_received_at, notified_at,
    /// read_at, acknowledged_at, update_count, responses and timeline).
    #[arg(long)]
    pub json: bool,
    /// List the gaps instead: times a link was down and the backend could not tell everything that was missed
    /// (newest first; --server, --since and --limit apply).
    #[arg(long)]
    pub gaps: bool,
}

/// `alertdesk mark-read`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all"])))]
pub struct MarkReadArgs {
    /// The alert's id (as `history` shows it).
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Mark every alert read.
    #[arg(long)]
    pub all: bool,
    /// Only alerts of this server (needed when two servers use the same id).
    #[arg(long, short = 's', value_name = "URL")]
    pub server: Option<String>,
}

fn parse_since(text: &str) -> Result<Timestamp, String> {
    if let Ok(time) = Timestamp::parse(text) {
        return Ok(time);
    }
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("expected an RFC 3339 time or an age like 30m, got {text:?}"))?;
    let age = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return Err(format!("unknown unit in {text:?} (use s, m, h or d)")),
    };
    Ok(Timestamp::now().minus(age))
}

/// The normalized `--server` (if any) and the history.
fn open(server: Option<&str>, paths: &Paths) -> Result<(Option<ServerId>, Store), ExitCode> {
    let server = server
        .map(|s| Server::parse(s).map(|s| s.id()).map_err(usage_error))
        .transpose()?;
    Ok((server, open_history(paths)?))
}

pub(crate) fn history(args: &HistoryArgs, paths: &Paths) -> ExitCode {
    let (server, store) = match open(args.server.as_deref(), paths) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    if args.gaps {
        return gaps(args, server.as_ref(), &store);
    }
    let query = Query {
        server,
        profile: args.profile.clone(),
        unread_only: args.unread,
        since: args.since,
        limit: args.limit,
        ..Query::default()
    };
    match store.list(&query) {
        Ok(alerts) => {
            for stored in alerts {
                if args.json {
                    println!("{}", serde_json::to_string(&stored).unwrap_or_default());
                } else {
                    let mark = if stored.life.read_at.is_some() {
                        " "
                    } else {
                        "*"
                    };
                    println!("{mark} {}", human_line(&stored.alert));
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("alertdesk: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `history --gaps`: one line (or JSON object) per gap.
fn gaps(args: &HistoryArgs, server: Option<&ServerId>, store: &Store) -> ExitCode {
    let gaps = match store.gaps(server) {
        Ok(gaps) => gaps,
        Err(e) => {
            eprintln!("alertdesk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let recent = gaps
        .into_iter()
        .filter(|g| {
            args.since
                .is_none_or(|since| g.to.is_none_or(|to| to >= since))
        })
        .take(args.limit.unwrap_or(usize::MAX));
    for gap in recent {
        if args.json {
            println!("{}", serde_json::to_string(&gap).unwrap_or_default());
        } else {
            let to = gap.to.map_or_else(|| "now".to_string(), |t| t.to_rfc3339());
            println!(
                "{} – {}  {}  {}",
                gap.from.to_rfc3339(),
                to,
                gap.server,
                gap.note
            );
        }
    }
    ExitCode::SUCCESS
}

pub(crate) fn mark_read(args: &MarkReadArgs, paths: &Paths) -> ExitCode {
    let (server, store) = match open(args.server.as_deref(), paths) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let result = match &args.id {
        Some(id) => store.mark_read(server.as_ref(), id).map(|changed| {
            println!(
                "{}",
                if changed {
                    format!("Marked {id} read.")
                } else {
                    format!("{id} was already read.")
                }
            );
        }),
        None => store
            .mark_all_read(server.as_ref())
            .map(|n| println!("Marked {n} alerts read.")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ (StoreError::NotFound { .. } | StoreError::Ambiguous { .. })) => usage_error(e),
        Err(e) => {
            eprintln!("alertdesk: {e}");
            ExitCode::FAILURE
        }
    }
}
