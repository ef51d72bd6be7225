//! One connection's life: connect, turn events into alerts, reconnect with backoff, stop on rejection.
//!
//! The [`Supervisor`] owns the link task and reports [`Update`]s (state changes and alerts) through a channel;
//! it knows nothing of windows or terminals. States: connecting, live, reconnecting (with the delay),
//! auth_failed (the server refused the credentials: no more attempts), stopped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::alert::Alert;
use crate::auth::without_url;
use crate::profile::rules::{self, Fetch, Rule};
use crate::profile::{render_value, AuthMode, Profile, Protocol, Scope};
use crate::protocol::socketio::SocketIo;
use crate::protocol::websocket::RawWebSocket;
use crate::protocol::{Heartbeat, Limits, LinkEnd, LinkEvent, LinkSpec, Outgoing, Transport};
use crate::secret::Token;
use crate::server::Server;

/// A link counts as stable, and the backoff starts over, after it stayed up this long.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// What to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The profile.
    pub profile: Arc<Profile>,
    /// The server.
    pub server: Server,
    /// Resolved variables (see [`Profile::resolve_variables`]).
    pub vars: BTreeMap<String, String>,
    /// The token, if the profile sends one.
    pub token: Option<Token>,
}

/// A link's state, as shown by the UI and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LinkState {
    /// First attempt under way.
    Connecting,
    /// Connected and receiving.
    Live,
    /// Down; the next attempt is in `retry_in_ms`.
    Reconnecting {
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
        /// Why the link went down.
        reason: String,
    },
    /// The server refused the credentials; sign in again.
    AuthFailed {
        /// What the server said.
        reason: String,
    },
    /// Stopped on request.
    Stopped,
}

/// What the supervisor reports.
#[derive(Debug, Clone)]
pub enum Update {
    /// The link changed state.
    State(LinkState),
    /// An alert arrived.
    Alert(Box<Alert>),
}

/// How a supervisor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Asked to stop (or nobody listens any more).
    Stopped,
    /// The server refused the credentials.
    AuthFailed(String),
}

/// Runs one target until shutdown or rejection.
#[derive(Debug)]
pub struct Supervisor {
    target: Target,
    spec: LinkSpec,
    http: reqwest::Client,
    /// Records already seen by list-fetching rules (per rule index).
    seen: HashMap<usize, HashSet<String>>,
}

/// The exponential backoff with full jitter: 0.5 s doubling to a 30 s cap, each delay drawn in [0, d].
#[derive(Debug)]
pub struct Backoff {
    inner: backon::ExponentialBackoff,
}

impl Backoff {
    /// A fresh backoff.
    pub fn new() -> Self {
        let inner = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_factor(2.0)
            .without_max_times()
            .build();
        Self { inner }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.inner.next().unwrap_or(Duration::from_secs(30));
        ceiling
            .mul_f64(fastrand::f64())
            .max(Duration::from_millis(50))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    /// Prepares a supervisor; fails (with a message for the user) when the profile cannot be applied.
    pub fn new(target: Target, heartbeat: Heartbeat) -> Result<Self, String> {
        let spec = link_spec(&target, heartbeat)?;
        Ok(Self {
            target,
            spec,
            http: crate::auth::http_client(),
            seen: HashMap::new(),
        })
    }

    /// The link as it will be opened (for logs; the URL may hold a query token, use `redact`).
    pub fn spec(&self) -> &LinkSpec {
        &self.spec
    }

    /// Runs until `shutdown` resolves, the receiver goes away, or the server rejects the credentials.
    pub async fn run(
        mut self,
        out: mpsc::Sender<Update>,
        shutdown: impl Future<Output = ()>,
    ) -> Outcome {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new();
        if out
            .send(Update::State(LinkState::Connecting))
            .await
            .is_err()
        {
            return Outcome::Stopped;
        }
        loop {
            let started = Instant::now();
            let (end, was_live) = tokio::select! {
                result = self.one_link(&out) => result,
                () = &mut shutdown => {
                    let _ = out.send(Update::State(LinkState::Stopped)).await;
                    return Outcome::Stopped;
                }
            };
            let reason = match end {
                LinkEnd::Abandoned => return Outcome::Stopped,
                LinkEnd::Rejected(reason) => {
                    let _ = out
                        .send(Update::State(LinkState::AuthFailed {
                            reason: reason.clone(),
                        }))
                        .await;
                    return Outcome::AuthFailed(reason);
                }
                LinkEnd::Closed(reason) => reason,
            };
            if was_live && started.elapsed() >= STABLE_AFTER {
                backoff = Backoff::new();
            }
            let delay = backoff.next_delay();
            tracing::info!(server = %self.target.server, "link down ({reason}); retrying in {delay:?}");
            let state = LinkState::Reconnecting {
                retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason,
            };
            if out.send(Update::State(state)).await.is_err() {
                return Outcome::Stopped;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = &mut shutdown => {
                    let _ = out.send(Update::State(LinkState::Stopped)).await;
                    return Outcome::Stopped;
                }
            }
        }
    }

    /// One connection: spawns the transport, handles its events until it ends. Returns how it ended and
    /// whether it got live.
    async fn one_link(&mut self, out: &mpsc::Sender<Update>) -> (LinkEnd, bool) {
        let (tx, mut rx) = mpsc::channel(256);
        let spec = self.spec.clone();
        let mut link = match self.target.profile.protocol {
            Protocol::Socketio => tokio::spawn(async move { SocketIo.run(&spec, &tx).await }),
            Protocol::Websocket => tokio::spawn(async move { RawWebSocket.run(&spec, &tx).await }),
        };
        let mut live = false;
        let end = loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some(event) = event else { continue };
                    if let Err(end) = self.handle(event, out, &mut live).await {
                        link.abort();
                        break end;
                    }
                }
                joined = &mut link => {
                    let end = joined.unwrap_or_else(|e| LinkEnd::Closed(format!("link task failed: {e}")));
                    // Deliver what the link queued before it ended.
                    while let Ok(event) = rx.try_recv() {
                        if let Err(end) = self.handle(event, out, &mut live).await {
                            return (end, live);
                        }
                    }
                    break end;
                }
            }
        };
        (end, live)
    }

    async fn handle(
        &mut self,
        event: LinkEvent,
        out: &mpsc::Sender<Update>,
        live: &mut bool,
    ) -> Result<(), LinkEnd> {
        match event {
            LinkEvent::Connected { .. } => {
                *live = true;
                tracing::info!(server = %self.target.server, profile = %self.target.profile.name, "live");
                self.prime_lists().await?;
                out.send(Update::State(LinkState::Live))
                    .await
                    .map_err(|_| LinkEnd::Abandoned)
            }
            LinkEvent::Message { event, payload } => {
                for alert in self.alerts_for(event, payload).await? {
                    out.send(Update::Alert(Box::new(alert)))
                        .await
                        .map_err(|_| LinkEnd::Abandoned)?;
                }
                Ok(())
            }
        }
    }

    /// The alerts an incoming message becomes (none, one, or several when a list fetch finds several new).
    async fn alerts_for(
        &mut self,
        event: Option<String>,
        payload: Value,
    ) -> Result<Vec<Alert>, LinkEnd> {
        let profile = Arc::clone(&self.target.profile);
        let name = if let Some(name) = event {
            name
        } else {
            let scope = Scope {
                payload: &payload,
                vars: &self.target.vars,
                record: None,
            };
            match profile.message.event.render(&scope) {
                Ok(name) => name,
                Err(e) => {
                    tracing::debug!("message without an event name ({e}); dropped");
                    return Ok(Vec::new());
                }
            }
        };
        let Some(matched) = rules::find(&profile.rules, &name, &payload) else {
            tracing::debug!(event = %name, "no rule for this event; dropped");
            return Ok(Vec::new());
        };
        let rule = matched.rule;
        if rule.ignore {
            return Ok(Vec::new());
        }
        let Some(fetch) = &rule.fetch else {
            return Ok(vec![rule.build(
                &profile.name,
                &name,
                payload,
                None,
                &self.target.vars,
            )]);
        };
        let scope = Scope {
            payload: &payload,
            vars: &self.target.vars,
            record: None,
        };
        if let Some(Ok(path)) = fetch.get.as_ref().map(|t| t.render(&scope)) {
            let record = self.get_json(&path).await?;
            if let Some(record) = &record {
                self.mark_seen(matched.index, fetch, record);
            }
            return Ok(vec![rule.build(
                &profile.name,
                &name,
                payload,
                record,
                &self.target.vars,
            )]);
        }
        if fetch.list.is_some() {
            let fresh = self.fetch_unseen(matched.index, rule).await?;
            return Ok(fresh
                .into_iter()
                .map(|record| {
                    rule.build(
                        &profile.name,
                        &name,
                        payload.clone(),
                        Some(record),
                        &self.target.vars,
                    )
                })
                .collect());
        }
        Ok(vec![rule.build(
            &profile.name,
            &name,
            payload,
            None,
            &self.target.vars,
        )])
    }

    /// Learns what the list endpoints already hold, so only records created from now on become alerts.
    async fn prime_lists(&mut self) -> Result<(), LinkEnd> {
        let profile = Arc::clone(&self.target.profile);
        for (index, rule) in profile.rules.iter().enumerate() {
            if rule.fetch.as_ref().is_some_and(|f| f.list.is_some())
                && !self.seen.contains_key(&index)
            {
                self.seen.insert(index, HashSet::new());
                let _ = self.fetch_unseen(index, rule).await?;
            }
        }
        Ok(())
    }

    async fn fetch_unseen(&mut self, index: usize, rule: &Rule) -> Result<Vec<Value>, LinkEnd> {
        let Some(fetch) = &rule.fetch else {
            return Ok(Vec::new());
        };
        let Some(list) = &fetch.list else {
            return Ok(Vec::new());
        };
        let empty = Value::Null;
        let scope = Scope {
            payload: &empty,
            vars: &self.target.vars,
            record: None,
        };
        let Ok(path) = list.render(&scope) else {
            return Ok(Vec::new());
        };
        let Some(answer) = self.get_json(&path).await? else {
            return Ok(Vec::new());
        };
        let items = list_items(&answer, &fetch.items);
        let seen = self.seen.entry(index).or_default();
        let mut fresh = Vec::new();
        for item in items {
            if let Some(key) = record_key(item, &fetch.key) {
                if seen.insert(key) {
                    fresh.push(item.clone());
                }
            }
        }
        // Lists come newest first or oldest first; alerts go out oldest first.
        if fresh.len() > 1 && is_newest_first(&fresh) {
            fresh.reverse();
        }
        Ok(fresh)
    }

    fn mark_seen(&mut self, index: usize, fetch: &Fetch, record: &Value) {
        if let Some(key) = record_key(record, &fetch.key) {
            self.seen.entry(index).or_default().insert(key);
        }
    }

    /// GETs a JSON document from the server with the profile's auth header. 401/403 end the link as a
    /// rejection; other failures are logged and give `None` (the alert goes out without the record).
    async fn get_json(&self, path: &str) -> Result<Option<Value>, LinkEnd> {
        let url = match self.target.server.http_url(path) {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!("fetch: {e}");
                return Ok(None);
            }
        };
        let mut request = self.http.get(url);
        if let Some((name, value)) = rest_auth_header(&self.target) {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) if matches!(response.status().as_u16(), 401 | 403) => Err(
                LinkEnd::Rejected(format!("HTTP {} from {path}", response.status())),
            ),
            Ok(response) if response.status().is_success() => {
                match response.json::<Value>().await {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => {
                        tracing::warn!("fetch {path}: answer is not JSON: {e}");
                        Ok(None)
                    }
                }
            }
            Ok(response) => {
                tracing::warn!("fetch {path}: HTTP {}", response.status());
                Ok(None)
            }
            Err(e) => {
                tracing::warn!("fetch {path}: {}", without_url(&e));
                Ok(None)
            }
        }
    }
}

/// The array of records in a list answer: at `items` when given, else the answer itself when it is an array,
/// else the only array-valued field of an object.
fn list_items<'a>(answer: &'a Value, items: &str) -> Vec<&'a Value> {
    let found = if items.is_empty() {
        match answer {
            Value::Array(a) => Some(a),
            Value::Object(map) => {
                let arrays: Vec<_> = map.values().filter_map(Value::as_array).collect();
                (arrays.len() == 1).then(|| arrays[0])
            }
            _ => None,
        }
    } else {
        let segments: Vec<String> = items.split('.').map(str::to_string).collect();
        crate::profile::template::select(answer, &segments).and_then(Value::as_array)
    };
    found.map(|a| a.iter().collect()).unwrap_or_default()
}

fn record_key(record: &Value, key: &str) -> Option<String> {
    let segments: Vec<String> = key.split('.').map(str::to_string).collect();
    match crate::profile::template::select(record, &segments)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether records look sorted newest first (by `createdAt`/`created_at`, else by a numeric id).
fn is_newest_first(records: &[Value]) -> bool {
    let stamp = |r: &Value| -> Option<String> {
        ["createdAt", "created_at", "id"]
            .iter()
            .find_map(|k| r.get(*k))
            .map(|v| match v {
                Value::Number(n) => format!("{:020}", n.as_u64().unwrap_or(0)),
                other => other.to_string(),
            })
    };
    match (
        records.first().and_then(stamp),
        records.last().and_then(stamp),
    ) {
        (Some(first), Some(last)) => first > last,
        _ => false,
    }
}

/// The header REST calls carry: the profile's auth header when there is a token.
fn rest_auth_header(target: &Target) -> Option<(String, String)> {
    let token = target.token.as_ref()?;
    let mut vars = target.vars.clone();
    vars.insert("token".into(), token.expose().to_string());
    let empty = Value::Null;
    let value = target
        .profile
        .auth
        .value
        .render(&Scope {
            payload: &empty,
            vars: &vars,
            record: None,
        })
        .ok()?;
    Some((target.profile.auth.header.clone(), value))
}

/// Builds the link from the profile, server, variables and token.
pub fn link_spec(target: &Target, heartbeat: Heartbeat) -> Result<LinkSpec, String> {
    let profile = &target.profile;
    let mut url = target.server.ws_url(profile.ws_path())?;
    let vars = &target.vars;
    let empty = Value::Null;
    let scope = Scope {
        payload: &empty,
        vars,
        record: None,
    };
    {
        let mut query = url.query_pairs_mut();
        if profile.protocol == Protocol::Socketio {
            query
                .append_pair("EIO", "4")
                .append_pair("transport", "websocket");
        }
        for (key, template) in &profile.connect.query {
            let value = template
                .render(&scope)
                .map_err(|e| format!("connect.query.{key}: {e}"))?;
            query.append_pair(key, &value);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut headers = Vec::new();
    let mut auth = None;
    match (profile.auth.mode, &target.token) {
        (AuthMode::None, _) => {}
        (_, None) if profile.auth.optional => {}
        (_, None) => {
            return Err(format!(
                "no token for {} ({}): sign in with `alertdesk login`, or pass --token / ALERTDESK_TOKEN",
                target.server, profile.name
            ))
        }
        (AuthMode::Query, Some(token)) => {
            url.query_pairs_mut().append_pair(&profile.auth.param, token.expose());
        }
        (AuthMode::Header, Some(_)) => headers.extend(rest_auth_header(target)),
        (AuthMode::Socketio, Some(token)) => {
            auth = Some(serde_json::json!({ profile.auth.field.clone(): token.expose() }));
        }
    }
    let mut emits = Vec::new();
    for (i, emit) in profile.connect.emit.iter().enumerate() {
        let items: Vec<Option<String>> = match &emit.each {
            Some(var) => vars
                .get(var.trim_start_matches('$'))
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Some(s.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            None => vec![None],
        };
        for item in items {
            let mut vars = vars.clone();
            if let Some(item) = item {
                vars.insert("item".into(), item);
            }
            let scope = Scope {
                payload: &empty,
                vars: &vars,
                record: None,
            };
            let data = match emit
                .data
                .as_ref()
                .map(|d| render_value(d, &scope))
                .transpose()
            {
                Ok(data) => data.unwrap_or(Value::Null),
                Err(_) if emit.optional => continue,
                Err(e) => return Err(format!("connect.emit[{i}]: {e}: set it with --set")),
            };
            emits.push(Outgoing {
                event: emit.event.clone(),
                data,
                ack: emit.ack,
            });
        }
    }
    Ok(LinkSpec {
        url,
        headers,
        namespace: profile.namespace.clone(),
        auth,
        emits,
        heartbeat,
        limits: Limits::default(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(name: &str, set: &[(&str, &str)], token: Option<&str>) -> Target {
        let profile = Arc::new(Profile::load(name).unwrap());
        let set = set
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let vars = profile.resolve_variables(&set).unwrap();
        Target {
            profile,
            server: Server::parse("http://127.0.0.1:5000").unwrap(),
            vars,
            token: token.map(Token::new),
        }
    }

    #[test]
    fn token_goes_where_each_profile_says() {
        let spec = link_spec(
            &target("station-reports", &[], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws?token=T0K");
        assert!(spec.headers.is_empty() && spec.auth.is_none());

        let spec = link_spec(
            &target("crowd-monitoring", &[("event_id", "EV1")], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(
            spec.url.as_str(),
            "ws://127.0.0.1:5000/socket.io/?EIO=4&transport=websocket&eventId=EV1"
        );
        assert_eq!(spec.auth, Some(json!({"token": "T0K"})));

        let spec = link_spec(&target("ticketing", &[], Some("T0K")), Heartbeat::default()).unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws/updates");
        assert_eq!(
            spec.headers,
            vec![("Authorization".to_string(), "Bearer T0K".to_string())]
        );
        assert!(
            link_spec(&target("ticketing", &[], None), Heartbeat::default()).is_ok(),
            "token optional"
        );

        let err = link_spec(&target("service-calls", &[], None), Heartbeat::default()).unwrap_err();
        assert!(err.contains("alertdesk login"), "{err}");
    }

    #[test]
    fn connect_emits_follow_variables() {
        let spec = link_spec(
            &target("emergency-dispatch", &[("rooms", "a, b")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        let rooms: Vec<_> = spec
            .emits
            .iter()
            .map(|e| (e.event.clone().unwrap(), e.data.clone()))
            .collect();
        assert_eq!(
            rooms,
            [
                ("join".into(), json!({"room": "a"})),
                ("join".into(), json!({"room": "b"}))
            ]
        );
        let spec = link_spec(
            &target("service-calls", &[], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert!(
            spec.emits.is_empty(),
            "register is optional without user_id"
        );
        let spec = link_spec(
            &target("service-calls", &[("user_id", "u-1")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.emits[0].data, json!("u-1"));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let mut backoff = Backoff::new();
        let delays: Vec<_> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(delays[0] <= Duration::from_millis(500));
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "jitter varies the delays"
        );
    }

    #[test]
    fn list_answers_in_common_shapes() {
        let a = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(list_items(&a, "").len(), 2);
        let b = json!({"tickets": [{"id": 1}], "total": 1});
        assert_eq!(list_items(&b, "").len(), 1);
        let c = json!({"data": {"items": [{"id": 1}]}});
        assert_eq!(list_items(&c, "data.items").len(), 1);
        assert!(is_newest_first(&[json!({"id": 3}), json!({"id": 1})]));
        assert!(!is_newest_first(&[json!({"id": 1}), json!({"id": 3})]));
    }
}
