//! Opening the probe's link: the profile's protocol and path, or the usual ones; first without a token, then
//! with the one given; then watching what arrives for a while.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ConnectionReport, ProbeOptions};
use crate::domain::Token;
use crate::link::protocol::socketio::SocketIo;
use crate::link::protocol::websocket::RawWebSocket;
use crate::link::protocol::{Limits, LinkEnd, LinkEvent, LinkSpec, Transport};
use crate::link::spec::link_spec;
use crate::link::Target;
use crate::profile::{Profile, Protocol};

/// The most messages kept while watching (a busy server does not fill memory).
const MAX_SEEN: usize = 5_000;

/// Where a server without a profile is tried, in order.
const USUAL: &[(Protocol, &str)] = &[
    (Protocol::Socketio, "/socket.io/"),
    (Protocol::Websocket, "/ws"),
    (Protocol::Websocket, "/ws/updates"),
    (Protocol::Websocket, "/socket"),
    (Protocol::Websocket, "/websocket"),
    (Protocol::Websocket, "/"),
];

/// One message seen while watching.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// The Socket.IO event name (raw WebSockets leave it to the profile).
    pub event: Option<String>,
    /// The payload.
    pub payload: Value,
}

/// How one attempt went.
enum Opened {
    Up(mpsc::Receiver<LinkEvent>, JoinHandle<LinkEnd>),
    Refused(String),
    Failed(String),
}

/// Connects as the module docs say and watches for `options.watch`; returns how it went and what came.
pub async fn watch(options: &ProbeOptions) -> (ConnectionReport, Vec<Seen>) {
    let mut report = ConnectionReport {
        protocol: None,
        path: None,
        connected: false,
        auth_needed: None,
        token_accepted: None,
        attempts: Vec::new(),
    };
    let candidates: Vec<(Protocol, String)> = match &options.profile {
        Some((profile, _)) => vec![(profile.protocol, profile.ws_path().to_string())],
        None => USUAL
            .iter()
            .map(|(p, path)| (*p, (*path).to_string()))
            .collect(),
    };
    for (protocol, path) in candidates {
        let name = format!("{} {path}", protocol_name(protocol));
        let spec = match spec_for(options, protocol, &path, None) {
            Ok(spec) => spec,
            Err(why) => {
                report.attempts.push(format!("{name}: {why}"));
                continue;
            }
        };
        let (mut events, link) = match open(protocol, spec, options).await {
            Opened::Up(events, link) => {
                report.auth_needed = Some(false);
                report
                    .attempts
                    .push(format!("{name}: connected without a token"));
                (events, link)
            }
            Opened::Failed(why) => {
                report.attempts.push(format!("{name}: {why}"));
                continue;
            }
            Opened::Refused(why) => {
                report.auth_needed = Some(true);
                report.protocol = Some(protocol_name(protocol).into());
                report.path = Some(path.clone());
                report
                    .attempts
                    .push(format!("{name}: refused without a token ({why})"));
                let Some(token) = &options.token else {
                    return (report, Vec::new());
                };
                let opened = match spec_for(options, protocol, &path, Some(token)) {
                    Ok(spec) => open(protocol, spec, options).await,
                    Err(why) => Opened::Failed(why),
                };
                match opened {
                    Opened::Up(events, link) => {
                        report.token_accepted = Some(true);
                        report
                            .attempts
                            .push(format!("{name}: connected with the token"));
                        (events, link)
                    }
                    Opened::Refused(why) => {
                        report.token_accepted = Some(false);
                        report
                            .attempts
                            .push(format!("{name}: the token was refused too ({why})"));
                        return (report, Vec::new());
                    }
                    Opened::Failed(why) => {
                        report
                            .attempts
                            .push(format!("{name}: with the token: {why}"));
                        return (report, Vec::new());
                    }
                }
            }
        };
        report.protocol = Some(protocol_name(protocol).into());
        report.path = Some(path);
        report.connected = true;
        let seen = collect(&mut events, options.watch).await;
        link.abort();
        return (report, seen);
    }
    (report, Vec::new())
}

/// The link as the profile (or, without one, the plain protocol) would open it; with `token` or without.
fn spec_for(
    options: &ProbeOptions,
    protocol: Protocol,
    path: &str,
    token: Option<&Token>,
) -> Result<LinkSpec, String> {
    if let Some((profile, _)) = &options.profile {
        // Without a token the probe asks the socket whether it needs one, even where the profile says it does.
        let mut lenient = Profile::clone(profile);
        lenient.auth.optional = true;
        let vars = lenient
            .resolve_variables(&options.set)
            .map_err(|e| e.to_string())?;
        let target = Target {
            profile: Arc::new(lenient),
            server: options.server.clone(),
            vars,
            token: token.cloned(),
            cursor: None,
            discover_base: false,
            net: options.net.clone(),
        };
        return link_spec(&target, options.heartbeat).map_err(|e| e.to_string());
    }
    let mut url = options.server.ws_url(path).map_err(|e| e.to_string())?;
    if protocol == Protocol::Socketio {
        url.query_pairs_mut()
            .append_pair("EIO", "4")
            .append_pair("transport", "websocket");
    }
    let (mut headers, mut auth) = (Vec::new(), None);
    if let Some(token) = token {
        match protocol {
            Protocol::Socketio => auth = Some(serde_json::json!({"token": token.expose()})),
            Protocol::Websocket => {
                headers.push(("Authorization".into(), format!("Bearer {}", token.expose())));
            }
        }
    }
    Ok(LinkSpec {
        url,
        headers,
        namespace: "/".into(),
        auth,
        emits: Vec::new(),
        heartbeat: options.heartbeat,
        limits: Limits::default(),
        recovery: None,
        net: options.net.clone(),
    })
}

/// Opens one link and waits for it to come up, be refused, or fail.
async fn open(protocol: Protocol, spec: LinkSpec, options: &ProbeOptions) -> Opened {
    let (tx, mut rx) = mpsc::channel(256);
    let mut link = tokio::spawn(async move {
        match protocol {
            Protocol::Socketio => SocketIo.run(&spec, &tx).await,
            Protocol::Websocket => RawWebSocket.run(&spec, &tx).await,
        }
    });
    let within = options.heartbeat.connect_timeout + Duration::from_secs(1);
    let ended = |end: Result<LinkEnd, tokio::task::JoinError>| match end {
        Ok(LinkEnd::Rejected(why)) => Opened::Refused(why),
        Ok(LinkEnd::Closed(why)) => Opened::Failed(why),
        Ok(LinkEnd::Woken | LinkEnd::Abandoned) => Opened::Failed("stopped".into()),
        Err(e) => Opened::Failed(e.to_string()),
    };
    let outcome = tokio::time::timeout(within, async {
        tokio::select! {
            event = rx.recv() => match event {
                Some(LinkEvent::Connected { .. }) => None,
                // The link ended (its sender is gone): how it ended says why.
                _ => Some(ended((&mut link).await)),
            },
            end = &mut link => Some(ended(end)),
        }
    })
    .await;
    match outcome {
        Ok(None) => Opened::Up(rx, link),
        Ok(Some(opened)) => opened,
        Err(_) => {
            link.abort();
            Opened::Failed(format!("no answer within {}s", within.as_secs()))
        }
    }
}

/// The messages that arrive within `watch` (at most [`MAX_SEEN`]).
async fn collect(events: &mut mpsc::Receiver<LinkEvent>, watch: Duration) -> Vec<Seen> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + watch;
    while seen.len() < MAX_SEEN {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(LinkEvent::Message { event, payload, .. })) => {
                seen.push(Seen { event, payload });
            }
            Ok(Some(LinkEvent::Connected { .. })) => {}
            Ok(None) | Err(_) => break,
        }
    }
    seen
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Socketio => "socketio",
        Protocol::Websocket => "websocket",
    }
}
