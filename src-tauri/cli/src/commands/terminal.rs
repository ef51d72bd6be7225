//! The terminal as the engine's sink: one line per alert on stdout (one JSON object with `--json`), link states,
//! gaps and notices on stderr, in the CLI's words.

use std::io::Write;
use std::sync::Mutex;

use alertdesk_core::domain::{one_line, Alert, Timestamp};
use alertdesk_core::engine::{DeskEvent, Notice, ServerView, Sink};
use alertdesk_core::link::LinkState;
use alertdesk_core::store::Delivered;
use serde_json::json;
use tokio::sync::oneshot;

/// Why the terminal wants listening to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The server refused the credentials.
    AuthFailed(String),
    /// Nobody reads stdout any more (`| head`).
    StdoutClosed,
}

/// Prints what the engine delivers. Alert lines are buffered and written out at the end of each batch (one
/// `write` for a burst instead of one per line).
pub(crate) struct Terminal {
    json: bool,
    out: Mutex<std::io::BufWriter<std::io::Stdout>>,
    ending: Mutex<Option<oneshot::Sender<Ending>>>,
}

impl Terminal {
    /// A terminal sink, and the receiver that hears when it wants listening to end.
    pub(crate) fn new(json: bool) -> (Self, oneshot::Receiver<Ending>) {
        let (tx, rx) = oneshot::channel();
        let terminal = Self {
            json,
            out: Mutex::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout(),
            )),
            ending: Mutex::new(Some(tx)),
        };
        (terminal, rx)
    }

    fn end(&self, ending: Ending) {
        let sender = self
            .ending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(ending);
        }
    }

    fn print_alert(&self, alert: &Alert) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = if self.json {
            serde_json::to_writer(&mut *out, alert).map_err(std::io::Error::from)
        } else {
            out.write_all(human_line(alert).as_bytes())
        };
        if written.and_then(|()| out.write_all(b"\n")).is_err() {
            drop(out);
            self.end(Ending::StdoutClosed);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let out = self
            .out
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = out.flush();
    }
}

impl Sink for Terminal {
    fn send(&self, event: &DeskEvent) -> bool {
        if let DeskEvent::Notice { notice, .. } = event {
            if self.json {
                if let Some(line) = notice_json(notice) {
                    eprintln!("{line}");
                    return true;
                }
            }
            let words = notice_words(notice);
            if !words.is_empty() {
                eprintln!("alertdesk: {words}");
            }
        }
        true
    }

    fn delivered(&self, server: &ServerView, item: &Delivered) {
        match item {
            Delivered::New(alert) | Delivered::Updated(alert, _) => self.print_alert(alert),
            Delivered::State(state) => {
                report_state(state, server, self.json);
                if let LinkState::AuthFailed { reason } = state {
                    self.end(Ending::AuthFailed(reason.clone()));
                }
            }
            Delivered::Gap { from, to, reason } => {
                report_gap(*from, *to, reason, server, self.json);
            }
            Delivered::Problem(_) => {} // said once in a while as a notice
        }
    }

    fn delivered_all(&self) {
        let flushed = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .flush();
        if flushed.is_err() {
            self.end(Ending::StdoutClosed);
        }
    }

    fn draws_views(&self) -> bool {
        false
    }
}

/// The notices `--json` prints as JSON lines on stderr (the others are sentences).
fn notice_json(notice: &Notice) -> Option<serde_json::Value> {
    Some(match notice {
        Notice::Problem {
            server, message, ..
        } => json!({"notice": "problem", "server": server, "message": message}),
        Notice::SessionEnding {
            server, expires_at, ..
        } => json!({"notice": "session_ending", "server": server, "expires_at": expires_at}),
        Notice::SessionRenewed {
            server, expires_at, ..
        } => json!({"notice": "session_renewed", "server": server, "expires_at": expires_at}),
        _ => return None,
    })
}

/// A notice as the terminal says it.
fn notice_words(notice: &Notice) -> String {
    match notice {
        Notice::HistoryFailed { message } => {
            format!("cannot write the history ({message}); alerts are printed but not kept")
        }
        Notice::NotificationsFailed { message } => {
            format!("cannot show notifications ({message}); alerts are still printed and stored")
        }
        Notice::Acknowledged { id, .. } => format!("acknowledged {id}"),
        Notice::Responded { id, response, .. } => format!("responded \"{response}\" to {id}"),
        Notice::WriteBackFailed {
            id,
            response,
            message,
            ..
        } => format!("\"{response}\" for {id} was kept here, but the server refused it: {message}"),
        Notice::ResponseDelayed {
            id,
            response,
            message,
            ..
        } => format!(
            "\"{response}\" for {id} did not reach the server yet ({message}); it is sent again until it does"
        ),
        Notice::ResponseDelivered { id, response, .. } => {
            format!("\"{response}\" for {id} reached the server")
        }
        Notice::Escalated { id, .. } => format!("{id} is still unacknowledged"),
        Notice::ServersFileInvalid { message }
        | Notice::ServersFileNotSaved { message }
        | Notice::DepartmentFileInvalid { message } => message.clone(),
        Notice::ConnectFailed { server, error } => {
            format!("cannot connect {server}: {}", error.message)
        }
        // The gap is reported where it happened, in the status lines (report_gap).
        Notice::Gap { .. } => String::new(),
        // Loud: listening stops when the server refuses the expired token (exit code 3).
        Notice::SessionEnding {
            server, expires_at, ..
        } => {
            let (verb, at) = if *expires_at <= Timestamp::now() {
                ("ended", local_time(*expires_at))
            } else {
                ("ends", local_time(*expires_at))
            };
            format!(
                "SIGN IN AGAIN: the sign-in to {server} {verb} at {at} and cannot be renewed; once the server \
                 refuses it, listening stops (exit code 3). Sign in again with `alertdesk login` and listen again: \
                 what was missed meanwhile is caught up"
            )
        }
        Notice::SessionRenewed {
            server, expires_at, ..
        } => format!(
            "the sign-in to {server} was renewed (until {})",
            local_time(*expires_at)
        ),
        Notice::Problem {
            server, message, ..
        } => format!("{server}: {message}"),
    }
}

/// A link's state on stderr: a JSON status line with `--json`, else a sentence.
pub(crate) fn report_state(state: &LinkState, server: &ServerView, json: bool) {
    if json {
        let mut value = serde_json::to_value(state).unwrap_or_else(|_| json!({}));
        if let Some(map) = value.as_object_mut() {
            map.insert("server".into(), json!(server.server));
            map.insert("profile".into(), json!(server.profile));
        }
        eprintln!("{value}");
        return;
    }
    let where_ = format!("{} ({})", server.server, server.profile);
    match state {
        LinkState::Connecting => eprintln!("alertdesk: connecting to {where_}"),
        LinkState::Live => eprintln!("alertdesk: live: {where_}"),
        #[allow(clippy::cast_precision_loss)] // milliseconds to seconds for display
        LinkState::Reconnecting {
            retry_in_ms,
            reason,
        } => {
            eprintln!(
                "alertdesk: link down ({reason}); retrying in {:.1} s",
                *retry_in_ms as f64 / 1000.0
            );
        }
        LinkState::Polling { every_s, reason } => {
            eprintln!("alertdesk: WebSocket down ({reason}); polling {where_} every {every_s} s");
        }
        LinkState::AuthFailed { .. } => {} // said once, with what to do, when listening ends
        LinkState::Stopped => eprintln!("alertdesk: stopped"),
    }
}

/// The backend cannot tell what was missed while the link was down: say so instead of pretending.
fn report_gap(from: Timestamp, to: Timestamp, reason: &str, server: &ServerView, json: bool) {
    tracing::warn!(server = %server.server, %from, %to, "gap: {reason}");
    if json {
        let value = json!({"notice": "gap", "from": from, "to": to, "server": server.server,
                           "profile": server.profile, "reason": reason});
        eprintln!("{value}");
    } else {
        eprintln!(
            "alertdesk: offline {}-{}, some events may be missing ({}: {reason})",
            local_time(from),
            local_time(to),
            server.server
        );
    }
}

fn local_time(time: Timestamp) -> String {
    time.as_datetime()
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string()
}

/// `14:02:11  HIGH      report      Burglary: back door — Station 4 · Main St  [report-12]`
pub(crate) fn human_line(alert: &Alert) -> String {
    let fields = &alert.fields;
    let mut line = format!(
        "{}  {:<8}  {:<10}  {}",
        local_time(alert.received_at),
        fields.priority.as_str().to_uppercase(),
        fields.kind.as_str(),
        one_line(&fields.title)
    );
    if !fields.body.is_empty() {
        line.push_str(" — ");
        line.push_str(&one_line(&fields.body));
    }
    if let Some(status) = &alert.status {
        line.push_str("  (");
        line.push_str(&one_line(status));
        line.push(')');
    }
    if fields.assigned_to_me {
        line.push_str("  [assigned to you]");
    }
    line + "  [" + &alert.id + "]"
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn server_text_cannot_move_the_terminal() {
        assert_eq!(one_line("a\nb\x1b[2Jc\r"), "a b [2Jc ");
    }
}
