//! The state machine under a scripted connector and paused time: no sockets, no real sleeps.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

use super::*;
use crate::domain::{Server, ServerId, Token};
use crate::link::backoff::PROBE_EVERY;
use crate::profile::Profile;

/// The updates a supervisor reports, without their server tag.
struct Updates(mpsc::Receiver<(ServerId, Update)>);

impl Updates {
    async fn recv(&mut self) -> Option<Update> {
        self.0.recv().await.map(|(_, update)| update)
    }

    fn try_recv(&mut self) -> Result<Update, mpsc::error::TryRecvError> {
        self.0.try_recv().map(|(_, update)| update)
    }
}

fn reporter() -> (Reporter, Updates) {
    let (tx, rx) = mpsc::channel(64);
    let server = Server::parse("http://127.0.0.1:9").unwrap().id();
    (Reporter::new(server, tx), Updates(rx))
}

/// What one scripted link does.
#[derive(Clone)]
enum Step {
    Connect,
    /// A Socket.IO `call_created` event.
    Message(Value),
    /// A raw WebSocket message (its event name is the profile's to find).
    Raw(Value),
    Wait(Duration),
    End(LinkEnd),
}

#[derive(Default)]
struct Scripted {
    links: Mutex<VecDeque<Vec<Step>>>,
    opened: Mutex<Vec<Instant>>,
    /// From when probes say the server answers (never when unset).
    answers_from: Mutex<Option<Instant>>,
    probes: Mutex<usize>,
    /// The Socket.IO `auth` payload each link was opened with.
    auth: Mutex<Vec<Option<Value>>>,
}

impl Connector for Scripted {
    fn open(&self, spec: LinkSpec, events: mpsc::Sender<LinkEvent>) -> JoinHandle<LinkEnd> {
        self.opened.lock().unwrap().push(Instant::now());
        self.auth.lock().unwrap().push(spec.auth.clone());
        let steps = self
            .links
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| vec![Step::Wait(Duration::from_secs(3600))]);
        tokio::spawn(async move {
            for step in steps {
                match step {
                    Step::Connect => {
                        let _ = events
                            .send(LinkEvent::Connected {
                                sid: None,
                                recovered: false,
                                pid: None,
                            })
                            .await;
                    }
                    Step::Message(payload) => {
                        let _ = events
                            .send(LinkEvent::Message {
                                event: Some("call_created".into()),
                                payload,
                                offset: None,
                            })
                            .await;
                    }
                    Step::Raw(payload) => {
                        let _ = events
                            .send(LinkEvent::Message {
                                event: None,
                                payload,
                                offset: None,
                            })
                            .await;
                    }
                    Step::Wait(d) => tokio::time::sleep(d).await,
                    Step::End(end) => return end,
                }
            }
            LinkEnd::Closed("script ended".into())
        })
    }

    fn probe(&self, _spec: &LinkSpec) -> Pin<Box<dyn Future<Output = bool> + Send + 'static>> {
        *self.probes.lock().unwrap() += 1;
        let answers = self
            .answers_from
            .lock()
            .unwrap()
            .is_some_and(|from| Instant::now() >= from);
        Box::pin(std::future::ready(answers))
    }
}

fn refused() -> Vec<Step> {
    vec![Step::End(LinkEnd::Closed("connection refused".into()))]
}

fn supervisor(links: Vec<Vec<Step>>) -> (Supervisor, Arc<Scripted>) {
    let profile = Arc::new(Profile::load("service-calls").unwrap());
    let mut profile_no_backfill = (*profile).clone();
    profile_no_backfill.backfill.clear();
    let target = Target {
        vars: profile.resolve_variables(&BTreeMap::new()).unwrap(),
        profile: Arc::new(profile_no_backfill),
        server: Server::parse("http://127.0.0.1:9").unwrap(),
        token: Some(Token::new("t")),
        cursor: None,
        discover_base: false,
        net: crate::link::net::Net::for_tests(),
    };
    let scripted = Arc::new(Scripted {
        links: Mutex::new(links.into()),
        ..Scripted::default()
    });
    let sup = Supervisor::new(target, Heartbeat::default())
        .unwrap()
        .with_connector(scripted.clone());
    (sup, scripted)
}

fn gaps(opened: &[Instant]) -> Vec<Duration> {
    opened.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_with_full_jitter_to_the_cap() {
    let (sup, scripted) = supervisor((0..12).map(|_| refused()).collect());
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    while scripted.opened.lock().unwrap().len() < 12 {
        rx.recv().await.unwrap();
    }
    task.abort();
    let gaps = gaps(&scripted.opened.lock().unwrap());
    let ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0];
    for (gap, ceiling) in gaps.iter().zip(ceilings) {
        assert!(*gap >= Duration::from_millis(50), "{gaps:?}");
        assert!(
            *gap <= Duration::from_secs_f64(ceiling),
            "{gap:?} above {ceiling}s: {gaps:?}"
        );
    }
    assert!(
        gaps.iter().skip(6).any(|g| *g > Duration::from_secs(1)),
        "delays grow: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stable_link_resets_the_backoff() {
    let mut links: Vec<_> = (0..6).map(|_| refused()).collect();
    links.push(vec![
        Step::Connect,
        Step::Wait(Duration::from_secs(11)),
        Step::End(LinkEnd::Closed("drop".into())),
    ]);
    links.push(refused());
    let (sup, scripted) = supervisor(links);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    while scripted.opened.lock().unwrap().len() < 9 {
        rx.recv().await.unwrap();
    }
    task.abort();
    let gaps = gaps(&scripted.opened.lock().unwrap());
    // gaps[6] is 11 s live plus the delay after that drop: drawn from the first step again (<= 0.5 s),
    // and the next failure's from the second (<= 1 s), although six failures came before.
    assert!(
        gaps[6].saturating_sub(Duration::from_secs(11)) <= Duration::from_millis(500),
        "{gaps:?}"
    );
    assert!(gaps[7] <= Duration::from_secs(1), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn a_short_link_that_carried_events_resets_the_backoff_and_an_empty_one_does_not() {
    let call = serde_json::json!({"id": "C-9", "title": "Jam", "priority": "high"});
    let mut links: Vec<_> = (0..6).map(|_| refused()).collect();
    links.push(vec![
        Step::Connect,
        Step::Message(call),
        Step::End(LinkEnd::Closed("drop".into())),
    ]);
    links.extend((0..6).map(|_| refused()));
    links.push(vec![
        Step::Connect,
        Step::End(LinkEnd::Closed("accepted, then dropped".into())),
    ]);
    links.push(refused());
    let (sup, scripted) = supervisor(links);
    // Delays at their ceilings, so a reset (0.5 s) cannot hide behind a small random draw.
    let sup = sup.with_jitter(Jitter::None);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    while scripted.opened.lock().unwrap().len() < 16 {
        rx.recv().await.unwrap();
    }
    task.abort();
    let gaps = gaps(&scripted.opened.lock().unwrap());
    let ceilings: Vec<f64> = gaps.iter().map(Duration::as_secs_f64).collect();
    // Six failures grow the delay to 16 s; the link that delivered resets it to 0.5 s.
    assert_eq!(
        ceilings[..7],
        [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 0.5],
        "{ceilings:?}"
    );
    // Six more failures grow it again to 30 s; the link that was accepted and dropped at once, having
    // delivered nothing, does not reset it: the next delay stays at 30 s, not 0.5 s.
    assert_eq!(
        ceilings[7..15],
        [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0],
        "{ceilings:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn rejected_credentials_stop_without_retrying() {
    let (sup, scripted) = supervisor(vec![vec![Step::End(LinkEnd::Rejected(
        "CONNECT_ERROR: Unauthorized".into(),
    ))]]);
    let (tx, mut rx) = reporter();
    let outcome = tokio::time::timeout(
        Duration::from_secs(300),
        sup.run(tx, std::future::pending()),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::AuthFailed("CONNECT_ERROR: Unauthorized".into())
    );
    assert_eq!(scripted.opened.lock().unwrap().len(), 1);
    let mut states = Vec::new();
    while let Ok(Update::State(s)) = rx.try_recv() {
        states.push(s);
    }
    assert_eq!(
        states,
        [
            LinkState::Connecting,
            LinkState::AuthFailed {
                reason: "CONNECT_ERROR: Unauthorized".into()
            }
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn states_and_alerts_in_order_and_a_gap_without_backfill() {
    let call = serde_json::json!({"id": "C-1", "title": "Jam", "priority": "high"});
    let (sup, _scripted) = supervisor(vec![
        vec![
            Step::Connect,
            Step::Message(call.clone()),
            Step::End(LinkEnd::Closed("drop".into())),
        ],
        vec![Step::Connect, Step::Wait(Duration::from_secs(3600))],
    ]);
    let (tx, mut rx) = reporter();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sup.run(tx, async move {
        let _ = stop_rx.await;
    }));
    let mut seen = Vec::new();
    while seen.len() < 6 {
        seen.push(match rx.recv().await.unwrap() {
            Update::State(LinkState::Reconnecting { .. }) => "reconnecting".to_string(),
            Update::State(s) => format!("{s:?}").to_lowercase(),
            Update::Alert(a) => format!("alert {}", a.id),
            Update::Gap { .. } => "gap".into(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        seen,
        [
            "connecting",
            "live",
            "alert call-C-1",
            "reconnecting",
            "gap",
            "live"
        ]
    );
    stop_tx.send(()).unwrap();
    assert_eq!(task.await.unwrap(), Outcome::Stopped);
    assert!(matches!(
        rx.recv().await,
        Some(Update::State(LinkState::Stopped))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_wake_trigger_reconnects_at_once() {
    // Fail often enough that the next delay could be many seconds, then wake.
    let mut links: Vec<_> = (0..8).map(|_| refused()).collect();
    links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
    links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
    let (sup, scripted) = supervisor(links);
    let (wake_tx, wake_rx) = watch::channel(0u64);
    let sup = sup.with_wake(wake_rx);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    // Wait for the 8th failure's delay to start, then wake.
    loop {
        let update = rx.recv().await.unwrap();
        if matches!(update, Update::State(LinkState::Reconnecting { .. }))
            && scripted.opened.lock().unwrap().len() == 8
        {
            break;
        }
    }
    let woke_at = Instant::now();
    wake_tx.send(1).unwrap();
    while scripted.opened.lock().unwrap().len() < 9 {
        rx.recv().await.unwrap();
    }
    assert_eq!(
        scripted.opened.lock().unwrap()[8],
        woke_at,
        "did not reconnect at once"
    );
    // Waking while live drops the (possibly dead) link and opens a new one at once.
    while !matches!(rx.recv().await.unwrap(), Update::State(LinkState::Live)) {}
    let woke_at = Instant::now();
    wake_tx.send(2).unwrap();
    while scripted.opened.lock().unwrap().len() < 10 {
        rx.recv().await.unwrap();
    }
    assert_eq!(scripted.opened.lock().unwrap()[9], woke_at);
    task.abort();
}

/// A minimal HTTP server on 127.0.0.1 answering GETs from a fixed table (path without query -> status, body), and
/// recording each request's path and query.
struct Http {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Http {
    async fn start(routes: Vec<(&'static str, u16, Value)>) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = vec![0_u8; 8192];
                let mut read = 0;
                while read < buffer.len() {
                    let Ok(n) = stream.read(&mut buffer[read..]).await else {
                        break;
                    };
                    if n == 0 {
                        break;
                    }
                    read += n;
                    if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buffer[..read]).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(target.clone());
                let path = target.split('?').next().unwrap_or("/").to_string();
                let (status, body) = routes.iter().find(|(p, _, _)| *p == path).map_or(
                    (404, serde_json::json!({"error": "not found"})),
                    |(_, s, b)| (*s, b.clone()),
                );
                let body = body.to_string();
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        Self { url, requests }
    }
}

/// A supervisor for station-reports at `server`, scripted links, and a REST side served by `Http`.
fn with_lists(server: &str, links: Vec<Vec<Step>>, discover_base: bool) -> Supervisor {
    let profile = Arc::new(Profile::load("station-reports").unwrap());
    let target = Target {
        vars: profile.resolve_variables(&BTreeMap::new()).unwrap(),
        profile,
        server: Server::parse(server).unwrap(),
        token: Some(Token::new("t")),
        cursor: None,
        discover_base,
        net: crate::link::net::Net::for_tests(),
    };
    let scripted = Arc::new(Scripted {
        links: Mutex::new(links.into()),
        ..Scripted::default()
    });
    Supervisor::new(target, Heartbeat::default())
        .unwrap()
        .with_connector(scripted)
}

/// Updates until `until` holds for one (bounded in time).
async fn until(rx: &mut Updates, what: &str, until: impl Fn(&Update) -> bool) -> Vec<Update> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let update = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s: {seen:?}"))
            .unwrap();
        let done = until(&update);
        seen.push(update);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn a_list_of_an_unexpected_shape_is_a_gap_never_zero_records() {
    // The list answers an object with no records in it: the catch-up fails, said as a gap naming the list,
    // even on the first connection (the next outage would otherwise "succeed" with nothing).
    let http = Http::start(vec![(
        "/api/reports",
        200,
        serde_json::json!({"status": "ok"}),
    )])
    .await;
    let sup = with_lists(
        &http.url,
        vec![vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]],
        false,
    );
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let seen = until(&mut rx, "the live state", |u| {
        matches!(u, Update::State(LinkState::Live))
    })
    .await;
    task.abort();
    let reason = seen
        .iter()
        .find_map(|u| match u {
            Update::Gap { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no gap: {seen:?}"));
    assert!(reason.contains("GET /api/reports"), "{reason}");
    assert!(reason.contains("no list in it"), "{reason}");
    assert!(
        !seen
            .iter()
            .any(|u| matches!(u, Update::Baseline(_) | Update::Cursor(_))),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_bare_list_where_the_profile_expects_an_object_is_read_anyway() {
    let records =
        serde_json::json!([{"id": 7, "category": "Theft", "description": "Bike", "station_id": 4}]);
    let http = Http::start(vec![("/api/reports", 200, records)]).await;
    let sup = with_lists(
        &http.url,
        vec![vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]],
        false,
    );
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let seen = until(&mut rx, "the live state", |u| {
        matches!(u, Update::State(LinkState::Live))
    })
    .await;
    task.abort();
    let baseline = seen.iter().find_map(|u| match u {
        Update::Baseline(alerts) => Some(alerts.clone()),
        _ => None,
    });
    assert_eq!(baseline.map(|b| b.len()), Some(1), "{seen:?}");
    assert!(
        !seen.iter().any(|u| matches!(u, Update::Gap { .. })),
        "{seen:?}"
    );
}

#[tokio::test]
async fn the_rest_base_is_found_and_remembered() {
    // The server keeps its API at the root: /api/reports is not there, /reports is.
    let http = Http::start(vec![("/reports", 200, serde_json::json!({"reports": []}))]).await;
    let sup = with_lists(
        &http.url,
        vec![vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]],
        true,
    );
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let seen = until(&mut rx, "the live state", |u| {
        matches!(u, Update::State(LinkState::Live))
    })
    .await;
    task.abort();
    let remembered = seen.iter().find_map(|u| match u {
        Update::Cursor(c) => c.api_base().map(str::to_string),
        _ => None,
    });
    assert_eq!(remembered.as_deref(), Some(""), "{seen:?}");
    assert!(
        !seen
            .iter()
            .any(|u| matches!(u, Update::Gap { .. } | Update::Problem(_))),
        "{seen:?}"
    );
    let requests = http.requests.lock().unwrap().clone();
    assert_eq!(
        requests.first().map(String::as_str),
        Some("/api/reports"),
        "tried the profile's first"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.starts_with("/reports"))
            .count()
            >= 2,
        "found, then caught up there: {requests:?}"
    );
}

#[tokio::test]
async fn a_record_that_cannot_be_fetched_is_said_and_the_alert_still_comes() {
    // Ticketing fetches each ticket by id; here that fails: the alert comes without its details, and a problem
    // names the request.
    let http = Http::start(vec![("/api/tickets", 200, serde_json::json!([]))]).await;
    let profile = Arc::new(Profile::load("ticketing").unwrap());
    let target = Target {
        vars: profile.resolve_variables(&BTreeMap::new()).unwrap(),
        profile,
        server: Server::parse(&http.url).unwrap(),
        token: None,
        cursor: None,
        discover_base: false,
        net: crate::link::net::Net::for_tests(),
    };
    let scripted = Arc::new(Scripted {
        links: Mutex::new(
            vec![vec![
                Step::Connect,
                Step::Raw(serde_json::json!({"type": "ticket", "action": "create", "id": 5})),
                Step::Wait(Duration::from_secs(3600)),
            ]]
            .into(),
        ),
        ..Scripted::default()
    });
    let sup = Supervisor::new(target, Heartbeat::default())
        .unwrap()
        .with_connector(scripted);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let seen = until(&mut rx, "a problem", |u| matches!(u, Update::Problem(_))).await;
    task.abort();
    let problem = seen
        .iter()
        .find_map(|u| match u {
            Update::Problem(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        problem.contains("GET /api/tickets/5") && problem.contains("404"),
        "{problem}"
    );
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Alert(a) if a.id == "ticket-5")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_record_refused_with_401_is_that_records_problem_and_the_link_stays_up() {
    // The server refuses the credentials for one ticket: the alert comes without its record, a problem names
    // the request, and the link stays live for the next event.
    let http = Http::start(vec![
        ("/api/tickets", 200, serde_json::json!([])),
        ("/api/tickets/5", 401, serde_json::json!({"detail": "no"})),
        (
            "/api/tickets/6",
            200,
            serde_json::json!({"id": 6, "title": "Printer down"}),
        ),
    ])
    .await;
    let profile = Arc::new(Profile::load("ticketing").unwrap());
    let target = Target {
        vars: profile.resolve_variables(&BTreeMap::new()).unwrap(),
        profile,
        server: Server::parse(&http.url).unwrap(),
        token: Some(Token::new("t")),
        cursor: None,
        discover_base: false,
        net: crate::link::net::Net::for_tests(),
    };
    let scripted = Arc::new(Scripted {
        links: Mutex::new(
            vec![vec![
                Step::Connect,
                Step::Raw(serde_json::json!({"type": "ticket", "action": "create", "id": 5})),
                Step::Raw(serde_json::json!({"type": "ticket", "action": "create", "id": 6})),
                Step::Wait(Duration::from_secs(3600)),
            ]]
            .into(),
        ),
        ..Scripted::default()
    });
    let sup = Supervisor::new(target, Heartbeat::default())
        .unwrap()
        .with_connector(scripted.clone());
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let seen = until(
        &mut rx,
        "the second alert",
        |u| matches!(u, Update::Alert(a) if a.id == "ticket-6"),
    )
    .await;
    task.abort();
    let problem = seen
        .iter()
        .find_map(|u| match u {
            Update::Problem(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no problem: {seen:?}"));
    assert!(
        problem.contains("GET /api/tickets/5") && problem.contains("401"),
        "{problem}"
    );
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Alert(a) if a.id == "ticket-5")),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|u| matches!(u, Update::State(LinkState::AuthFailed { .. }))),
        "{seen:?}"
    );
    assert_eq!(
        scripted.opened.lock().unwrap().len(),
        1,
        "one link all along"
    );
}

/// A supervisor for service-calls (Socket.IO, no lists) at `server`, over real sockets.
fn over_the_wire(server: &str) -> Supervisor {
    let profile = Profile::load("service-calls").unwrap();
    let vars = profile.resolve_variables(&BTreeMap::new()).unwrap();
    let mut profile = profile;
    profile.backfill.clear();
    let target = Target {
        vars,
        profile: Arc::new(profile),
        server: Server::parse(server).unwrap(),
        token: Some(Token::new("t")),
        cursor: None,
        discover_base: false,
        net: crate::link::net::Net::for_tests(),
    };
    Supervisor::new(target, Heartbeat::default()).unwrap()
}

#[tokio::test]
async fn a_connect_error_that_is_not_about_credentials_is_retried_and_one_that_is_ends_the_link() {
    use crate::link::protocol::test_sio::TestSio;
    let server = TestSio::start(vec![
        vec![r#"44{"message":"server busy"}"#.into()],
        vec![r#"44/,{"message":"Invalid namespace"}"#.into()],
        vec![r#"40{"sid":"s1"}"#.into()],
    ])
    .await;
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(over_the_wire(&server.url).run(tx, std::future::pending()));
    let seen = until(&mut rx, "the live state", |u| {
        matches!(
            u,
            Update::State(LinkState::Live | LinkState::AuthFailed { .. })
        )
    })
    .await;
    task.abort();
    let reasons: Vec<String> = seen
        .iter()
        .filter_map(|u| match u {
            Update::State(LinkState::Reconnecting { reason, .. }) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "CONNECT_ERROR: server busy",
            "CONNECT_ERROR: Invalid namespace"
        ],
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(Update::State(LinkState::Live))),
        "{seen:?}"
    );
    assert_eq!(server.connections(), 3);

    let server = TestSio::start(vec![vec![r#"44{"message":"jwt expired"}"#.into()]]).await;
    let (tx, _rx) = reporter();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        over_the_wire(&server.url).run(tx, std::future::pending()),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::AuthFailed("CONNECT_ERROR: jwt expired".into())
    );
    assert_eq!(server.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_down_server_that_answers_again_is_reconnected_within_a_probe_interval_not_a_backoff() {
    // Refused for a while (the backoff grows to its cap), then the server is back and accepts.
    let mut links: Vec<Vec<Step>> = (0..8).map(|_| refused()).collect();
    links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
    let (sup, scripted) = supervisor(links);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(
        sup.with_jitter(Jitter::None)
            .run(tx, std::future::pending()),
    );
    while scripted.opened.lock().unwrap().len() < 7 {
        rx.recv().await.unwrap();
    }
    // The 7th attempt failed; the next delay is the 30 s cap. The server returns 2 s into it.
    let back = Instant::now() + Duration::from_secs(2);
    *scripted.answers_from.lock().unwrap() = Some(back);
    while scripted.opened.lock().unwrap().len() < 8 {
        rx.recv().await.unwrap();
    }
    let reopened = *scripted.opened.lock().unwrap().last().unwrap();
    task.abort();
    assert!(reopened >= back, "attempted before the server was back");
    assert!(
        reopened - back <= PROBE_EVERY.mul_f64(1.25) + Duration::from_millis(1),
        "back {:?} after the server, not within a probe interval",
        reopened - back
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_answers_probes_but_fails_every_link_is_not_tried_more_than_twice_per_delay()
{
    let (sup, scripted) = supervisor((0..40).map(|_| refused()).collect());
    *scripted.answers_from.lock().unwrap() = Some(Instant::now());
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(
        sup.with_jitter(Jitter::None)
            .run(tx, std::future::pending()),
    );
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        tokio::select! {
            _ = rx.recv() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    task.abort();
    let opened = scripted.opened.lock().unwrap().len();
    // Without probes: 0.5+1+2+4+8+16+30+30+30 s = 9 or 10 attempts in 120 s; trusted probes would make hundreds.
    assert!(opened <= 20, "{opened} attempts in 120 s");
    assert!(
        opened >= 12,
        "{opened} attempts: the probe never ended a wait"
    );
    assert!(*scripted.probes.lock().unwrap() > 0);
}

#[tokio::test(start_paused = true)]
async fn no_probe_while_the_server_stays_down_changes_the_backoff() {
    let (sup, scripted) = supervisor((0..12).map(|_| refused()).collect());
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(
        sup.with_jitter(Jitter::None)
            .run(tx, std::future::pending()),
    );
    while scripted.opened.lock().unwrap().len() < 9 {
        rx.recv().await.unwrap();
    }
    task.abort();
    let gaps: Vec<f64> = gaps(&scripted.opened.lock().unwrap())
        .iter()
        .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0)
        .collect();
    assert_eq!(gaps, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
    assert!(
        *scripted.probes.lock().unwrap() > 50,
        "the long waits were probed"
    );
}

/// A short name for each update, to compare sequences.
fn named(update: Update) -> String {
    match update {
        Update::State(LinkState::Reconnecting { .. }) => "reconnecting".to_string(),
        Update::State(s) => format!("{s:?}").to_lowercase(),
        Update::Alert(a) => format!("alert {}", a.id),
        Update::Gap { .. } => "gap".into(),
        other => format!("{other:?}"),
    }
}

fn call(id: &str) -> Value {
    serde_json::json!({"id": id, "title": "Jam", "priority": "high"})
}

#[tokio::test(start_paused = true)]
async fn a_renewed_token_swaps_in_a_new_link_before_the_old_one_goes() {
    let (sup, scripted) = supervisor(vec![
        // The old link: an event before the renewal, one while the new link connects, one after it took over.
        vec![
            Step::Connect,
            Step::Message(call("C-1")),
            Step::Wait(Duration::from_secs(2)),
            Step::Message(call("C-2")),
            Step::Wait(Duration::from_secs(2)),
            Step::Message(call("C-old")),
            Step::Wait(Duration::from_secs(3)),
            Step::Message(call("C-retired")),
            Step::Wait(Duration::from_secs(3600)),
        ],
        // The new link connects three seconds after it is opened.
        vec![
            Step::Wait(Duration::from_secs(3)),
            Step::Connect,
            Step::Message(call("C-3")),
            Step::Wait(Duration::from_secs(3600)),
        ],
    ]);
    let (tokens_tx, tokens_rx) = watch::channel(Token::new("t"));
    let sup = sup.with_tokens(tokens_rx);
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.run(tx, std::future::pending()));
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(named(rx.recv().await.unwrap()));
    }
    assert_eq!(seen, ["connecting", "live", "alert call-C-1"]);
    tokens_tx.send(Token::new("t2")).unwrap();
    while seen.len() < 6 {
        seen.push(named(rx.recv().await.unwrap()));
    }
    assert_eq!(
        seen[3..],
        ["alert call-C-2", "alert call-C-3", "alert call-C-old"],
        "the old link delivers until the new one is connected and a little longer; never down in between"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(rx.try_recv().is_err(), "the old link was not closed");
    let auth = scripted.auth.lock().unwrap().clone();
    assert_eq!(
        auth,
        [
            Some(serde_json::json!({"token": "t"})),
            Some(serde_json::json!({"token": "t2"}))
        ]
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_renewed_token_is_tried_at_once_when_the_old_one_was_refused() {
    let (sup, scripted) = supervisor(vec![
        vec![Step::End(LinkEnd::Rejected("jwt expired".into()))],
        vec![Step::Connect, Step::Wait(Duration::from_secs(3600))],
    ]);
    let (tokens_tx, tokens_rx) = watch::channel(Token::new("old"));
    // The renewed token is already there when the refusal comes.
    tokens_tx.send(Token::new("new")).unwrap();
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.with_tokens(tokens_rx).run(tx, std::future::pending()));
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(named(rx.recv().await.unwrap()));
    }
    // The renewed token is taken before the refusal is read: an attempt ended, never a link, so no gap.
    assert_eq!(seen, ["connecting", "reconnecting", "live"]);
    let opened = scripted.opened.lock().unwrap().clone();
    assert!(
        opened[1] - opened[0] < Duration::from_millis(10),
        "not at once"
    );
    assert_eq!(
        scripted.auth.lock().unwrap()[1],
        Some(serde_json::json!({"token": "new"}))
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_token_renewed_while_the_first_link_connects_is_no_outage() {
    let (sup, scripted) = supervisor(vec![
        // Still connecting when the renewed token comes.
        vec![Step::Wait(Duration::from_secs(3600))],
        vec![Step::Connect, Step::Wait(Duration::from_secs(3600))],
    ]);
    let (tokens_tx, tokens_rx) = watch::channel(Token::new("old"));
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.with_tokens(tokens_rx).run(tx, std::future::pending()));
    assert_eq!(named(rx.recv().await.unwrap()), "connecting");
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokens_tx.send(Token::new("new")).unwrap();
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("live") {
        seen.push(named(rx.recv().await.unwrap()));
    }
    // Never live, so nothing was missed: no gap (this profile has no list that could tell).
    assert_eq!(seen, ["reconnecting", "live"]);
    assert_eq!(
        scripted.auth.lock().unwrap()[1],
        Some(serde_json::json!({"token": "new"}))
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_token_renewed_while_reconnecting_is_used_at_once() {
    let mut links: Vec<_> = (0..6).map(|_| refused()).collect();
    links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
    let (sup, scripted) = supervisor(links);
    let (tokens_tx, tokens_rx) = watch::channel(Token::new("old"));
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(
        sup.with_tokens(tokens_rx)
            .with_jitter(Jitter::None)
            .run(tx, std::future::pending()),
    );
    while scripted.opened.lock().unwrap().len() < 6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The backoff is at several seconds now; a renewed token does not wait for it.
    let renewed_at = Instant::now();
    tokens_tx.send(Token::new("new")).unwrap();
    loop {
        if let Update::State(LinkState::Live) = rx.recv().await.unwrap() {
            break;
        }
    }
    let opened = scripted.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 7);
    assert!(opened[6] - renewed_at < Duration::from_millis(10));
    assert_eq!(
        scripted.auth.lock().unwrap()[6],
        Some(serde_json::json!({"token": "new"}))
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_swap_the_server_refuses_ends_the_link_as_refused() {
    let (sup, _scripted) = supervisor(vec![
        vec![Step::Connect, Step::Wait(Duration::from_secs(3600))],
        vec![Step::End(LinkEnd::Rejected("invalid token".into()))],
    ]);
    let (tokens_tx, tokens_rx) = watch::channel(Token::new("t"));
    let (tx, mut rx) = reporter();
    let task = tokio::spawn(sup.with_tokens(tokens_rx).run(tx, std::future::pending()));
    while named(rx.recv().await.unwrap()) != "live" {}
    tokens_tx.send(Token::new("bad")).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::AuthFailed("invalid token".into()));
}
