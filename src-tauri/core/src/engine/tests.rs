//! The engine against a real WebSocket server on 127.0.0.1 (tokio-tungstenite), with a history in a temporary
//! directory, an in-memory token store and a recording notifier.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;

use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::alerting::notify::RecordingNotifier;
use crate::domain::Server;
use crate::link::auth::MemoryStore;
use crate::link::LinkState;

const PROFILE: &str = r#"
name = "test-feed"
description = "a test feed"
protocol = "websocket"
path = "/ws"

[message]
event = "{{type}}"

[[rules]]
event = "report"
kind = "report"
id = "r-{{id}}"
title = "{{title}}"
priority = { from = "{{priority}}", map = { high = "high", critical = "critical" } }
assigned_to_me = { field = "{{assignee}}", equals = "me" }
"#;

/// A WebSocket server that sends every connected client what the test publishes.
struct Feed {
    url: String,
    publish: broadcast::Sender<String>,
    /// Each record's creation time, the same every time it is sent.
    created: StdMutex<HashMap<u32, String>>,
}

impl Feed {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (publish, _) = broadcast::channel::<String>(4096);
        let tx = publish.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mut rx = tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Ok(text) = rx.recv().await {
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            publish,
            created: StdMutex::default(),
        }
    }

    /// Waits for a client, then sends it one report per `(id, title, priority, assignee)`.
    async fn send(&self, reports: &[(u32, &str, &str, &str)]) {
        for _ in 0..200 {
            if self.publish.receiver_count() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(self.publish.receiver_count() > 0, "no client connected");
        for (id, title, priority, assignee) in reports {
            let created = self
                .created
                .lock()
                .unwrap()
                .entry(*id)
                .or_insert_with(|| crate::domain::Timestamp::now().to_rfc3339())
                .clone();
            let message = serde_json::json!({
                "type": "report", "id": id, "title": title, "priority": priority, "assignee": assignee,
                "createdAt": created,
            });
            self.publish.send(message.to_string()).unwrap();
        }
    }
}

/// Keeps every event the engine sends, every alert it delivers, and the list windows it answered.
#[derive(Default)]
struct Recorder(
    StdMutex<Vec<DeskEvent>>,
    StdMutex<Vec<(ServerId, String)>>,
    StdMutex<Vec<ListWindow>>,
);

impl Sink for Recorder {
    fn send(&self, event: &DeskEvent) -> bool {
        self.0.lock().unwrap().push(event.clone());
        true
    }

    fn delivered(&self, server: &ServerView, item: &Delivered) {
        if let Some(alert) = item.alert() {
            self.1
                .lock()
                .unwrap()
                .push((server.server.clone(), alert.id.clone()));
        }
    }
}

impl Recorder {
    fn events(&self) -> Vec<DeskEvent> {
        self.0.lock().unwrap().clone()
    }

    /// How many times each alert key was named changed in a batch: again only when its alert changed.
    fn row_counts(&self) -> HashMap<(ServerId, String), usize> {
        let mut counts = HashMap::new();
        for event in self.events() {
            if let DeskEvent::Snapshot(v) | DeskEvent::Batch(v) = event {
                for key in v.changed {
                    *counts.entry((key.server, key.id)).or_default() += 1;
                }
            }
        }
        counts
    }

    /// The alerts delivered to this sink item by item, in order.
    fn delivered(&self) -> Vec<(ServerId, String)> {
        self.1.lock().unwrap().clone()
    }

    /// Every window, answered or pushed, as sent, oldest first.
    fn windows(&self) -> Vec<ListWindow> {
        let mut windows = self.2.lock().unwrap().clone();
        for event in self.events() {
            if let DeskEvent::Snapshot(v) | DeskEvent::Batch(v) = event {
                windows.extend(v.list);
            }
        }
        windows.sort_by_key(|w| w.revision);
        windows
    }

    /// The newest window with every row in it, as a view that drew each one in turn holds it (a pushed window's
    /// unchanged rows resolved from the window it names).
    fn window(&self) -> Option<ListWindow> {
        let mut drawn: HashMap<u64, Vec<ListItem>> = HashMap::new();
        let mut newest = None;
        for mut window in self.windows() {
            let base = match window.base {
                Some(b) => match drawn.get(&b) {
                    Some(rows) => Some(rows.clone()),
                    None => continue, // made from a window this sink never saw (the shell's)
                },
                None => None,
            };
            let rows: Vec<ListItem> = window
                .items
                .iter()
                .map(|item| match (item, &base) {
                    (WindowItem::Row(row), _) => (**row).clone(),
                    (WindowItem::Same(i), Some(base)) => base[*i as usize].clone(),
                    (WindowItem::Same(_), None) => panic!("a row by index without a base"),
                })
                .collect();
            window.items = rows
                .iter()
                .cloned()
                .map(|r| WindowItem::Row(Box::new(r)))
                .collect();
            window.base = None;
            drawn.insert(window.revision, rows);
            newest = Some(window);
        }
        newest
    }

    /// The list's alerts as the UI would show them (its window), the unread count and the servers.
    fn list(&self) -> (Vec<AlertRow>, u64, Vec<ServerView>) {
        let rows = self.window().map_or_else(Vec::new, |w| {
            w.items
                .into_iter()
                .filter_map(|item| match item {
                    WindowItem::Row(row) => match *row {
                        ListItem::Alert { alert, .. } => Some(alert),
                        ListItem::Gap { .. } => None,
                    },
                    WindowItem::Same(_) => None,
                })
                .collect()
        });
        let (mut unread, mut servers) = (0, Vec::new());
        for event in self.events() {
            if let DeskEvent::Snapshot(v) | DeskEvent::Batch(v) = event {
                unread = v.unread;
                servers = v.servers;
            }
        }
        (rows, unread, servers)
    }

    async fn wait_for(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        for _ in 0..250 {
            if ok(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}; events: {:#?}", self.events());
    }
}

struct Fixture {
    desk: Engine,
    ui: Arc<Recorder>,
    shell: Arc<Recorder>,
    notifier: Arc<RecordingNotifier>,
    /// What the notification service would report back.
    notifier_events: mpsc::Sender<crate::alerting::dbus::NotifierEvent>,
    tokens: Arc<MemoryStore>,
    profile: String,
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
}

async fn start_in(dir: tempfile::TempDir, tokens: Arc<MemoryStore>) -> Fixture {
    start_with(
        dir,
        tokens,
        Ok(crate::link::net::Net::for_tests()),
        Vec::new(),
    )
    .await
}

/// [`start_in`] with the network `net` and the department's directories `system_dirs`.
async fn start_with(
    dir: tempfile::TempDir,
    tokens: Arc<MemoryStore>,
    net: Result<crate::link::net::Net, crate::link::net::NetError>,
    system_dirs: Vec<std::path::PathBuf>,
) -> Fixture {
    let paths = Paths {
        system_dirs,
        ..Paths::under(dir.path())
    };
    paths.create_all().unwrap();
    // Where imported profiles are kept: the sign-in form offers no other file.
    let profile = paths.config_dir.join("profiles/test-feed.toml");
    std::fs::create_dir_all(profile.parent().unwrap()).unwrap();
    std::fs::write(&profile, PROFILE).unwrap();
    let notifier = Arc::new(RecordingNotifier::new());
    let (events_tx, notifier_events) = mpsc::channel(8);
    let shell = Arc::new(Recorder::default());
    let store = Store::open(&paths.history_file()).unwrap().store;
    let desk = Engine::start(
        EngineOptions {
            paths,
            settings: Settings::default(),
            tokens: tokens.clone(),
            alerting: Some(Alerting {
                notifier: notifier.clone(),
                events: notifier_events,
            }),
            heartbeat: Heartbeat::default(),
            wake: None,
            shell: Some(shell.clone()),
            saved_servers: true,
            net,
        },
        store,
    )
    .unwrap();
    let ui = Arc::new(Recorder::default());
    desk.subscribe(ui.clone());
    // The whole list in one window, as a view with a very tall screen would ask.
    let window = desk.list(whole_list(1)).await.unwrap();
    ui.2.lock().unwrap().push(window);
    desk.restore_saved().await;
    Fixture {
        desk,
        ui,
        shell,
        notifier,
        notifier_events: events_tx,
        tokens,
        profile: profile.to_string_lossy().into_owned(),
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

fn whole_list(seq: u32) -> ListRequest {
    ListRequest {
        filter: crate::store::ListFilter::default(),
        offset: 0,
        limit: WINDOW_LIMIT,
        anchor: 0,
        around: None,
        seq,
    }
}

async fn start() -> Fixture {
    start_in(
        tempfile::tempdir().unwrap(),
        Arc::new(MemoryStore::default()),
    )
    .await
}

fn id(url: &str) -> ServerId {
    Server::parse(url).unwrap().id()
}

fn live(rec: &Recorder) -> bool {
    rec.list()
        .2
        .iter()
        .any(|s| matches!(s.link, LinkState::Live))
}

#[tokio::test]
async fn alerts_reach_the_ui_once_with_unread_counts_and_read_state() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.ui
        .wait_for("the snapshot", |r| {
            matches!(r.events().first(), Some(DeskEvent::Snapshot(_)))
        })
        .await;
    let view = fx
        .desk
        .connect(&fx.profile, &feed.url, BTreeMap::new(), TokenSource::Stored)
        .await
        .unwrap();
    assert!(view.scripted);
    fx.ui.wait_for("a live link", live).await;
    feed.send(&[
        (1, "Burglary", "high", ""),
        (2, "Collision", "critical", ""),
        (3, "Patrol", "normal", "me"),
    ])
    .await;
    fx.ui
        .wait_for("three unread rows", |r| {
            r.list().0.len() == 3 && r.list().1 == 3
        })
        .await;
    // The same record again is no news; a changed one updates its row in place.
    feed.send(&[
        (1, "Burglary", "high", ""),
        (1, "Burglary (suspect seen)", "high", ""),
    ])
    .await;
    fx.ui
        .wait_for("the update", |r| {
            r.list()
                .0
                .iter()
                .any(|a| a.fields.title == "Burglary (suspect seen)")
        })
        .await;
    let (rows, _, servers) = fx.ui.list();
    assert_eq!(rows.len(), 3);
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].unread, 3);
    assert!(servers[0].latency_ms.is_some(), "{servers:?}");
    assert!(rows
        .iter()
        .any(|r| r.fields.assigned_to_me && r.id == "r-3"));

    // Once each: every alert reached the sink's item stream once per version (the duplicate never), the UI
    // got each row once per version, and each alert was notified once.
    let server = id(&feed.url);
    let key = |alert: &str| (server.clone(), alert.to_string());
    assert_eq!(
        fx.ui.delivered(),
        [key("r-1"), key("r-2"), key("r-3"), key("r-1")],
        "r-1 twice: new, then its update; the duplicate not at all"
    );
    let rows = fx.ui.row_counts();
    assert_eq!(rows.get(&key("r-1")), Some(&2), "{rows:?}");
    assert_eq!(rows.get(&key("r-2")), Some(&1), "{rows:?}");
    assert_eq!(rows.get(&key("r-3")), Some(&1), "{rows:?}");
    let mut notified: Vec<String> = fx
        .notifier
        .shown()
        .iter()
        .filter_map(|n| n.alert.as_ref().map(|k| k.id.clone()))
        .collect();
    notified.sort();
    assert_eq!(notified, ["r-1", "r-2", "r-3"], "each notified once");
    // The critical one and the assignment repeat until answered.
    assert_eq!(fx.desk.awaiting_acknowledgement().await, 2);
    assert_eq!(fx.desk.awaiting_now(), 2);

    fx.desk.mark_read(&id(&feed.url), "r-1").await.unwrap();
    fx.ui.wait_for("two unread", |r| r.list().1 == 2).await;
    fx.desk.acknowledge(&id(&feed.url), "r-2").await.unwrap();
    fx.ui
        .wait_for("the acknowledgement", |r| {
            r.list().0.iter().any(|a| {
                a.id == "r-2" && a.life.acknowledged_at.is_some() && a.life.read_at.is_some()
            })
        })
        .await;
    assert_eq!(fx.desk.awaiting_acknowledgement().await, 1);
    let detail = fx.desk.detail(&id(&feed.url), "r-1").await.unwrap();
    assert_eq!(detail.trail.len(), 1);
    assert_eq!(detail.trail[0].fields.title, "Burglary");
    let told: Vec<_> = detail.timeline.iter().map(|m| m.what).collect();
    assert!(
        told.contains(&crate::store::MomentKind::Notified),
        "{told:?}"
    );
    assert!(detail.alert.life.notified_at.is_some());
    assert!(detail.payload.contains("suspect seen"));
    assert!(fx.desk.detail(&id(&feed.url), "nope").await.is_err());

    assert_eq!(fx.desk.mark_all_read().await.unwrap(), 1);
    fx.ui.wait_for("nothing unread", |r| r.list().1 == 0).await;
    assert_eq!(fx.desk.awaiting_acknowledgement().await, 0);
    // The shell hears the same stream (tray and title).
    assert_eq!(fx.shell.list().1, 0);
    assert!(fx.shell.events().len() >= fx.ui.events().len() - 1);

    assert_eq!(fx.desk.clear_read().await.unwrap(), 3);
    fx.ui
        .wait_for("an empty list", |r| r.list().0.is_empty())
        .await;
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn the_same_alert_again_reaches_no_one_even_after_a_restart() {
    let feed = Feed::start().await;
    let fx = start().await;
    let form = SignInForm {
        profile: fx.profile.clone(),
        server: feed.url.clone(),
        label: None,
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    fx.desk.sign_in(form, false).await.unwrap();
    fx.ui.wait_for("a live link", live).await;
    feed.send(&[(5, "Fire", "critical", "")]).await;
    fx.ui.wait_for("one row", |r| r.list().0.len() == 1).await;
    // Re-delivered (a replay, a backfill): recorded as a duplicate, so no one hears of it again.
    feed.send(&[(5, "Fire", "critical", ""), (5, "Fire", "critical", "")])
        .await;
    feed.send(&[(6, "Marker", "normal", "")]).await;
    fx.ui
        .wait_for("the marker", |r| r.list().0.len() == 2)
        .await;
    let server = id(&feed.url);
    assert_eq!(
        fx.ui.delivered(),
        [
            (server.clone(), "r-5".to_string()),
            (server.clone(), "r-6".to_string())
        ]
    );
    assert_eq!(
        fx.ui.row_counts().get(&(server.clone(), "r-5".into())),
        Some(&1)
    );
    let fires = |n: &RecordingNotifier| {
        n.shown()
            .iter()
            .filter(|n| n.alert.as_ref().is_some_and(|k| k.id == "r-5") && n.repeat == 0)
            .count()
    };
    assert_eq!(fires(&fx.notifier), 1);
    fx.desk.shutdown().await;

    // The next start has it in the history: sent again, it is still no news.
    let Fixture {
        _dir: dir, tokens, ..
    } = fx;
    let fx = start_in(dir, tokens).await;
    fx.ui.wait_for("a live link", live).await;
    feed.send(&[(5, "Fire", "critical", ""), (7, "Marker", "normal", "")])
        .await;
    fx.ui
        .wait_for("the second marker", |r| r.list().0.len() == 3)
        .await;
    assert_eq!(fx.ui.delivered(), [(server, "r-7".to_string())]);
    assert_eq!(fires(&fx.notifier), 0);
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_burst_reaches_the_ui_in_a_few_batches() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.desk
        .connect(&fx.profile, &feed.url, BTreeMap::new(), TokenSource::Stored)
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    let before = fx.ui.events().len();
    let reports: Vec<(u32, String)> = (1..=1000).map(|i| (i, format!("Report {i}"))).collect();
    let reports: Vec<(u32, &str, &str, &str)> = reports
        .iter()
        .map(|(i, t)| (*i, t.as_str(), "normal", ""))
        .collect();
    feed.send(&reports).await;
    // The view's window holds at most WINDOW_LIMIT rows (the newest); the count says 1000.
    fx.ui
        .wait_for("1000 rows", |r| r.window().is_some_and(|w| w.total == 1000))
        .await;
    let window = fx.ui.window().unwrap();
    assert_eq!(window.items.len(), WINDOW_LIMIT as usize);
    assert!(
        matches!(&window.items[0], WindowItem::Row(row)
            if matches!(&**row, ListItem::Alert { alert, .. } if alert.fields.title == "Report 1000")),
        "{:?}",
        window.items[0]
    );
    let batches = fx.ui.events().len() - before;
    assert!(
        batches < 100,
        "1000 alerts took {batches} UI events; they should be batched"
    );
    assert_eq!(fx.ui.list().1, 1000);
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn saved_servers_come_back_and_sign_out_forgets_them() {
    let feed = Feed::start().await;
    let fx = start().await;
    let form = SignInForm {
        profile: fx.profile.clone(),
        server: format!("{}/", feed.url),
        label: Some("Station 4".into()),
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    let view = fx.desk.sign_in(form, false).await.unwrap();
    assert_eq!(view.label, "Station 4");
    assert!(!view.scripted);
    let saved = std::fs::read_to_string(fx.dir.join("config/servers.toml")).unwrap();
    assert!(saved.contains("Station 4"), "{saved}");
    fx.ui.wait_for("a live link", live).await;
    feed.send(&[(7, "Noise", "normal", "")]).await;
    fx.ui.wait_for("one row", |r| r.list().0.len() == 1).await;
    fx.desk.shutdown().await;

    // Next start: the same server, connected again, with its history.
    let Fixture {
        _dir: dir, tokens, ..
    } = fx;
    let fx = start_in(dir, tokens).await;
    fx.ui.wait_for("a live link", live).await;
    let (rows, unread, servers) = fx.ui.list();
    assert_eq!((rows.len(), unread), (1, 1));
    assert_eq!(servers[0].label, "Station 4");

    fx.desk.sign_out(&servers[0].server).await.unwrap();
    fx.ui
        .wait_for("no servers", |r| r.list().2.is_empty())
        .await;
    let saved = std::fs::read_to_string(fx.dir.join("config/servers.toml")).unwrap();
    assert!(!saved.contains("Station 4"), "{saved}");
    assert!(fx.desk.sign_out(&servers[0].server).await.is_err());
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_server_without_a_token_asks_to_sign_in_again() {
    let fx = start().await;
    let view = fx
        .desk
        .connect(
            "station-reports",
            "http://127.0.0.1:9",
            BTreeMap::new(),
            TokenSource::Stored,
        )
        .await
        .unwrap();
    assert!(
        matches!(view.link, LinkState::AuthFailed { .. }),
        "{view:?}"
    );
    assert!(fx
        .tokens
        .get("station-reports@http://127.0.0.1:9")
        .unwrap()
        .is_none());
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_server_whose_socket_is_open_connects_without_a_token() {
    // Seed 001 never asks for a token on the socket: no token stored is no reason to stay away.
    let fx = start().await;
    let view = fx
        .desk
        .connect(
            "service-calls",
            "http://127.0.0.1:9",
            BTreeMap::new(),
            TokenSource::Stored,
        )
        .await
        .unwrap();
    assert_eq!(view.link, LinkState::Connecting, "{view:?}");
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let fx = start().await;
    let form = |profile: &str, server: &str| SignInForm {
        profile: profile.into(),
        server: server.into(),
        label: None,
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    let err = fx
        .desk
        .sign_in(form("no-such-profile", "http://127.0.0.1:9"), false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-profile"), "{err}");
    assert_eq!(err.kind(), EngineErrorKind::Input);
    let err = fx
        .desk
        .sign_in(form("station-reports", "not a url"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Server(_)), "{err}");
    let err = fx
        .desk
        .sign_in(form("station-reports", "http://127.0.0.1:9"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::CredentialsNeeded { .. }),
        "{err}"
    );

    // Only built-in and imported profiles may be signed in with: not any file on this machine, however it is
    // named.
    let outside = fx.dir.join("outside.toml");
    std::fs::write(&outside, PROFILE.replace("test-feed", "outside")).unwrap();
    let inside = fx.dir.join("config/profiles/../outside.toml");
    let linked = fx.dir.join("config/profiles/linked.toml");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, &linked).unwrap();
    for name in [
        outside.to_string_lossy(),
        inside.to_string_lossy(),
        linked.to_string_lossy(),
        "/etc/passwd".into(),
        "../outside.toml".into(),
    ] {
        let err = fx
            .desk
            .sign_in(form(&name, "http://127.0.0.1:9"), false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::ProfileNotOffered { .. }),
            "{name}: {err}"
        );
        assert_eq!(err.kind(), EngineErrorKind::Input);
        assert!(!err.to_string().contains("root:"), "{err}");
        let err = fx
            .desk
            .test_connection(form(&name, "http://127.0.0.1:9"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::ProfileNotOffered { .. }),
            "{name}: {err}"
        );
    }

    let err = fx.desk.import_profile("x.toml", "name = 4").unwrap_err();
    assert!(err.to_string().contains("x.toml"), "{err}");
    let err = fx
        .desk
        .import_profile("demo.toml", &PROFILE.replace("test-feed", "demo"))
        .unwrap_err();
    assert!(matches!(err, EngineError::BuiltinName { .. }), "{err}");
    let imported = fx
        .desk
        .import_profile("feed.toml", &PROFILE.replace("test-feed", "feed"))
        .unwrap();
    assert!(!imported.builtin);
    // An imported profile may be signed in with.
    fx.desk
        .sign_in(form(&imported.name, "http://127.0.0.1:9"), false)
        .await
        .unwrap();
    let names: Vec<_> = fx.desk.profiles().into_iter().map(|p| p.name).collect();
    assert!(names.contains(&"station-reports".to_string()));
    assert!(names.contains(&imported.name), "{names:?}");
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_notification_failure_is_shown_until_notifications_work_again() {
    use crate::alerting::dbus::NotifierEvent;
    let fx = start().await;
    let failure = |r: &Recorder| {
        r.events().iter().rev().find_map(|e| match e {
            DeskEvent::Snapshot(v) | DeskEvent::Batch(v) => Some(v.notify_failure.clone()),
            _ => None,
        })
    };
    fx.notifier_events
        .send(NotifierEvent::Failed("no notification service".into()))
        .await
        .unwrap();
    fx.ui
        .wait_for("the failure shown", |r| {
            failure(r) == Some(Some("no notification service".into()))
        })
        .await;
    fx.notifier_events
        .send(NotifierEvent::Recovered)
        .await
        .unwrap();
    fx.ui
        .wait_for("the failure gone", |r| failure(r) == Some(None))
        .await;
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn pausing_notifications_is_shown_to_the_ui() {
    let fx = start().await;
    fx.desk
        .notifications(NotificationsRequest::Pause { minutes: Some(15) })
        .await
        .unwrap();
    let paused = |r: &Recorder| {
        r.events().iter().any(|e| {
            matches!(e, DeskEvent::Batch(b)
                if matches!(&b.notifications, NotificationsView::Paused { until: Some(_) }))
        })
    };
    fx.ui.wait_for("the pause", paused).await;
    fx.desk
        .notifications(NotificationsRequest::Silence { on: true })
        .await
        .unwrap();
    fx.ui
        .wait_for("silence", |r| {
            matches!(r.events().last(), Some(DeskEvent::Batch(b))
                if b.notifications == NotificationsView::Silenced)
        })
        .await;
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_servers_own_ca_file_is_checked_at_sign_in_and_kept_with_it() {
    let feed = Feed::start().await;
    let fx = start().await;
    let pki = crate::link::net::test_support::Pki::new();
    let form = |ca: &str| SignInForm {
        profile: fx.profile.clone(),
        server: feed.url.clone(),
        label: None,
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: Some(ca.into()),
    };
    let relative = fx.desk.sign_in(form("ca.pem"), false).await.unwrap_err();
    assert_eq!(relative.kind(), EngineErrorKind::NetworkSettings);
    assert!(relative.to_string().contains("full path"), "{relative}");
    let missing = fx.dir.join("missing.pem");
    let err = fx
        .desk
        .sign_in(form(&missing.to_string_lossy()), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&*missing.to_string_lossy()) && err.contains("cannot read it"),
        "{err}"
    );
    let servers_file = fx.dir.join("config/servers.toml");
    assert!(!servers_file.exists(), "a refused form saves nothing");

    let ca = pki.ca();
    let view = fx
        .desk
        .sign_in(form(&ca.to_string_lossy()), false)
        .await
        .unwrap();
    assert!(!view.unencrypted, "127.0.0.1 is this machine");
    let saved = std::fs::read_to_string(&servers_file).unwrap();
    assert!(
        saved.contains(&format!("ca_file = \"{}\"", ca.display())),
        "{saved}"
    );
    fx.ui.wait_for("a live link", live).await;
    fx.desk.shutdown().await;

    // The file is read again at every start: gone, the server is reported, and stays saved.
    std::fs::remove_file(&ca).unwrap();
    let Fixture {
        _dir: dir, tokens, ..
    } = fx;
    let fx = start_in(dir, tokens).await;
    let refused = |r: &Recorder| {
        r.events().iter().any(|e| {
            matches!(e, DeskEvent::Notice { notice: Notice::ConnectFailed { error, .. }, .. }
                if error.kind == EngineErrorKind::NetworkSettings && error.message.contains("ca.pem"))
        })
    };
    fx.ui.wait_for("the CA file's failure", refused).await;
    assert_eq!(std::fs::read_to_string(&servers_file).unwrap(), saved);
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_server_reached_over_plain_http_from_afar_is_marked_unencrypted() {
    let fx = start().await;
    let form = |server: &str| SignInForm {
        profile: fx.profile.clone(),
        server: server.into(),
        label: None,
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    // TEST-NET-1: another machine, never reached.
    let far = fx
        .desk
        .sign_in(form("http://192.0.2.10:8080"), false)
        .await
        .unwrap();
    assert!(far.unencrypted);
    let here = fx
        .desk
        .sign_in(form("http://127.0.0.1:9"), false)
        .await
        .unwrap();
    assert!(!here.unencrypted);
    fx.ui
        .wait_for("the flag in the view", |r| {
            let servers = r.list().2;
            servers.len() == 2 && servers.iter().filter(|s| s.unencrypted).count() == 1
        })
        .await;
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn network_settings_that_cannot_be_used_keep_every_server_offline_saying_why() {
    let feed = Feed::start().await;
    let fx = start().await;
    let form = SignInForm {
        profile: fx.profile.clone(),
        server: feed.url.clone(),
        label: Some("Station 4".into()),
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    fx.desk.sign_in(form.clone(), false).await.unwrap();
    fx.desk.shutdown().await;

    // The next start with a CA file that cannot be read: nothing connects some other way.
    let broken = crate::link::net::NetError::CaFile {
        path: "/etc/alertdesk/department-ca.pem".into(),
        reason: "cannot read it (No such file or directory)".into(),
    };
    let Fixture {
        _dir: dir, tokens, ..
    } = fx;
    let fx = start_with(dir, tokens, Err(broken), Vec::new()).await;
    let said = |r: &Recorder| {
        r.events().iter().any(|e| {
            matches!(e, DeskEvent::Notice { notice: Notice::ConnectFailed { error, .. }, .. }
                if error.kind == EngineErrorKind::NetworkSettings && error.message.contains("department-ca.pem"))
        })
    };
    fx.ui
        .wait_for("the saved server refused, saying why", said)
        .await;
    assert!(fx.ui.list().2.is_empty(), "no link started");
    let err = fx.desk.sign_in(form, false).await.unwrap_err();
    assert_eq!(err.kind(), EngineErrorKind::NetworkSettings);
    assert!(err.to_string().contains("department-ca.pem"), "{err}");
    assert!(
        std::fs::read_to_string(fx.dir.join("config/servers.toml"))
            .unwrap()
            .contains("Station 4"),
        "the server stays saved for when the file is fixed"
    );
    fx.desk.shutdown().await;
}

/// A WebSocket server that keeps each connection open and records the `token` query of each one. A plain HTTP
/// request (a renewal's POST) is counted and answered with `renewal` after its delay.
// The handshake callback's error type is tungstenite's.
#[allow(clippy::result_large_err)]
async fn token_feed(
    renewal: Option<(Duration, serde_json::Value)>,
) -> (String, Arc<StdMutex<Vec<String>>>, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let renewals = Arc::new(AtomicUsize::new(0));
    let (log, asked) = (Arc::clone(&seen), Arc::clone(&renewals));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (log, asked, renewal) = (Arc::clone(&log), Arc::clone(&asked), renewal.clone());
            tokio::spawn(async move {
                let mut first = [0u8; 4];
                if stream.peek(&mut first).await.is_ok() && &first == b"POST" {
                    let Some((delay, answer)) = renewal else {
                        return;
                    };
                    let mut request = vec![0u8; 8192];
                    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut request))
                        .await;
                    asked.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let body = answer.to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                         connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    return;
                }
                let record =
                    |request: &tokio_tungstenite::tungstenite::handshake::server::Request,
                     response| {
                        let token = request
                            .uri()
                            .query()
                            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("token=")))
                            .unwrap_or_default()
                            .to_string();
                        log.lock().unwrap().push(token);
                        Ok(response)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await else {
                    return;
                };
                while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}
            });
        }
    });
    (url, seen, renewals)
}

const SESSION_PROFILE: &str = r#"
name = "session-feed"
protocol = "websocket"
path = "/ws"
[auth]
mode = "query"
[auth.login]
path = "/login"
token = "token"
[[rules]]
event = "report"
kind = "report"
id = "r-{{id}}"
title = "{{title}}"
"#;

#[tokio::test]
async fn a_session_that_ends_is_said_once_and_signing_in_again_keeps_the_link_up() {
    let (url, tokens_seen, _) = token_feed(None).await;
    let fx = start().await;
    let profile = fx.dir.join("session-feed.toml");
    std::fs::write(&profile, SESSION_PROFILE).unwrap();
    let profile = profile.to_string_lossy().into_owned();
    let now = crate::domain::Timestamp::now();
    // A token that ends in five seconds and cannot be renewed: said at once (warn_before is ten minutes).
    let short = crate::link::session::Credentials::new(Token::new("A"), None, Some(5), now);
    fx.desk
        .connect(
            &profile,
            &url,
            BTreeMap::new(),
            TokenSource::SignedIn(short),
        )
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    fx.ui
        .wait_for("the session ending", |r| {
            r.list()
                .2
                .iter()
                .any(|s| s.session.as_ref().is_some_and(|v| v.ending && !v.renews))
        })
        .await;
    let warnings: Vec<_> = fx
        .notifier
        .shown_with_ids()
        .into_iter()
        .filter(|(_, n)| n.summary.starts_with("Sign in again to "))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(fx.ui.events().iter().any(|e| matches!(
        e,
        DeskEvent::Notice {
            notice: Notice::SessionEnding { .. },
            ..
        }
    )));
    let seen_before = fx.ui.events().len();

    // Signed in again while the link runs: it takes the new token without going down.
    let long = crate::link::session::Credentials::new(Token::new("B"), None, Some(3600), now);
    let view = fx
        .desk
        .connect(&profile, &url, BTreeMap::new(), TokenSource::SignedIn(long))
        .await
        .unwrap();
    assert!(matches!(view.link, LinkState::Live), "{:?}", view.link);
    assert!(!view.session.unwrap().ending);
    for _ in 0..250 {
        if tokens_seen.lock().unwrap().contains(&"B".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*tokens_seen.lock().unwrap(), ["A", "B"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for event in &fx.ui.events()[seen_before..] {
        if let DeskEvent::Snapshot(v) | DeskEvent::Batch(v) = event {
            assert!(
                v.servers.iter().all(|s| matches!(s.link, LinkState::Live)),
                "down while taking the new token: {:?}",
                v.servers
            );
        }
    }
    assert!(
        fx.notifier.closed().contains(&warnings[0].0),
        "the warning stays on screen"
    );
}

#[tokio::test]
async fn a_renewal_that_ends_after_signing_in_again_is_ignored() {
    // The renewal of A is answered (with C) two seconds after it is asked; B is signed in meanwhile.
    let answer = serde_json::json!({"token": "C", "refresh_token": "R2", "expires_in": 3600});
    let (url, tokens_seen, renewals) = token_feed(Some((Duration::from_secs(2), answer))).await;
    let fx = start().await;
    let profile = fx.dir.join("session-feed.toml");
    let renewing = SESSION_PROFILE.replace(
        "token = \"token\"\n",
        "token = \"token\"\nrefresh_token = \"refresh_token\"\nexpires_in = \"expires_in\"\n\
         [auth.login.refresh]\npath = \"/refresh\"\n",
    );
    std::fs::write(&profile, renewing).unwrap();
    let profile = profile.to_string_lossy().into_owned();
    let now = crate::domain::Timestamp::now();
    // Ends in two seconds: renewed after one.
    let short = crate::link::session::Credentials::new(
        Token::new("A"),
        Some(Token::new("R1")),
        Some(2),
        now,
    );
    fx.desk
        .connect(
            &profile,
            &url,
            BTreeMap::new(),
            TokenSource::SignedIn(short),
        )
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    for _ in 0..250 {
        if renewals.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(renewals.load(Ordering::SeqCst), 1, "the renewal was asked");
    let long = crate::link::session::Credentials::new(Token::new("B"), None, Some(3600), now);
    fx.desk
        .connect(&profile, &url, BTreeMap::new(), TokenSource::SignedIn(long))
        .await
        .unwrap();
    // The renewal's answer comes about two seconds after it was asked; give it time to be (wrongly) taken.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(*tokens_seen.lock().unwrap(), ["A", "B"]);
    let view = fx.ui.list().2;
    let session = view[0].session.as_ref().unwrap();
    assert!(!session.ending, "{session:?}");
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn department_servers_come_up_beside_the_users_and_cannot_be_removed() {
    let feed = Feed::start().await;
    let dir = tempfile::tempdir().unwrap();
    let department = dir.path().join("department");
    std::fs::create_dir_all(department.join("profiles")).unwrap();
    std::fs::write(
        department.join("profiles/county-feed.toml"),
        PROFILE.replace("test-feed", "county-feed"),
    )
    .unwrap();
    std::fs::write(
        department.join("servers.toml"),
        format!(
            "[[server]]\nprofile = \"county-feed\"\nurl = \"{}\"\nlabel = \"County\"\n",
            feed.url
        ),
    )
    .unwrap();
    let fx = start_with(
        dir,
        Arc::new(MemoryStore::default()),
        Ok(crate::link::net::Net::for_tests()),
        vec![department.clone()],
    )
    .await;
    fx.ui.wait_for("a live link", live).await;
    let county = fx
        .ui
        .list()
        .2
        .into_iter()
        .find(|s| s.label == "County")
        .unwrap();
    assert!(county.managed && !county.scripted, "{county:?}");
    feed.send(&[(1, "Fire on Main St", "normal", "")]).await;
    fx.ui
        .wait_for("the county's alert", |r| r.list().0.len() == 1)
        .await;

    // The department's profile is offered, and marked as the department's.
    let profile = department
        .join("profiles/county-feed.toml")
        .to_string_lossy()
        .into_owned();
    let offered = fx.desk.profiles();
    let info = offered.iter().find(|p| p.name == profile).unwrap();
    assert!(info.managed && !info.builtin);

    // It cannot be removed, and is not written to the user's list.
    let err = fx.desk.sign_out(&county.server).await.unwrap_err();
    assert_eq!(err.kind(), EngineErrorKind::Managed);
    assert!(
        err.to_string().contains("set up by your department"),
        "{err}"
    );
    // Signing in to it again (a new token) keeps it the department's.
    let form = SignInForm {
        profile: profile.clone(),
        server: feed.url.clone(),
        label: None,
        vars: BTreeMap::new(),
        username: String::new(),
        password: String::new(),
        ca_file: None,
    };
    let again = fx.desk.sign_in(form, false).await.unwrap();
    assert!(again.managed);
    let saved = std::fs::read_to_string(fx.dir.join("config/servers.toml")).unwrap_or_default();
    assert!(!saved.contains(&feed.url), "{saved}");
    assert_eq!(fx.ui.list().2.len(), 1);
    fx.desk.shutdown().await;
}

fn ids_of(window: &ListWindow) -> Vec<String> {
    window
        .items
        .iter()
        .map(|item| match item {
            WindowItem::Row(row) => match &**row {
                ListItem::Alert { alert, .. } => alert.id.clone(),
                ListItem::Gap { .. } => "gap".into(),
            },
            WindowItem::Same(i) => format!("same:{i}"),
        })
        .collect()
}

#[tokio::test]
async fn the_window_follows_the_top_or_keeps_its_rows_in_place_as_alerts_arrive() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.desk
        .connect(&fx.profile, &feed.url, BTreeMap::new(), TokenSource::Stored)
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    let reports: Vec<(u32, String)> = (1..=30).map(|i| (i, format!("Report {i}"))).collect();
    let reports: Vec<(u32, &str, &str, &str)> = reports
        .iter()
        .map(|(i, t)| (*i, t.as_str(), "normal", ""))
        .collect();
    feed.send(&reports).await;
    fx.ui
        .wait_for("30 rows", |r| r.window().is_some_and(|w| w.total == 30))
        .await;

    // A view at the top: a new alert comes pushed at index 0, with the count; no request needed.
    let top = fx
        .desk
        .list(ListRequest {
            limit: 10,
            ..whole_list(2)
        })
        .await
        .unwrap();
    assert_eq!(ids_of(&top)[0], "r-30");
    fx.ui.2.lock().unwrap().push(top.clone());
    feed.send(&[(31, "Fresh", "critical", "")]).await;
    fx.ui
        .wait_for("the new row pushed", |r| {
            r.window()
                .is_some_and(|w| w.seq == 2 && w.total == 31 && ids_of(&w)[0] == "r-31")
        })
        .await;
    let pushed = fx.ui.window().unwrap();
    assert_eq!((pushed.offset, pushed.items.len()), (0, 10));
    // As sent, the push carried the new row and named the nine it kept from the window before.
    let sent = fx.ui.windows().into_iter().rfind(|w| w.seq == 2).unwrap();
    assert_eq!(sent.base, Some(top.revision));
    let kept: Vec<String> = (0..9).map(|i| format!("same:{i}")).collect();
    assert_eq!(ids_of(&sent), [vec!["r-31".to_string()], kept].concat());

    // Scrolled down: rows 10.. with row 12 at the top of the view. Alerts above it move the window down with it.
    let scrolled = fx
        .desk
        .list(ListRequest {
            offset: 10,
            limit: 8,
            anchor: 12,
            ..whole_list(3)
        })
        .await
        .unwrap();
    fx.ui.2.lock().unwrap().push(scrolled.clone());
    assert_eq!(scrolled.offset, 10);
    feed.send(&[(32, "One", "normal", ""), (33, "Two", "normal", "")])
        .await;
    fx.ui
        .wait_for("the window moved with its rows", |r| {
            r.window().is_some_and(|w| w.seq == 3 && w.total == 33)
        })
        .await;
    let moved = fx.ui.window().unwrap();
    assert_eq!(moved.offset, 12, "two rows arrived above");
    assert_eq!(ids_of(&moved), ids_of(&scrolled), "the same rows in view");
    assert!(moved.revision > scrolled.revision);

    // A window around an alert (a notification's "Open"): where it is, and its rows around it.
    let around = fx
        .desk
        .list(ListRequest {
            limit: 6,
            around: Some(AlertKey {
                server: id(&feed.url),
                id: "r-5".into(),
            }),
            ..whole_list(4)
        })
        .await
        .unwrap();
    let found = around.found.expect("r-5 is listed") as usize;
    assert_eq!(ids_of(&around)[found - around.offset as usize], "r-5");

    // Filtered by text and by a server label: counts under the filter, and in all.
    let search = |text: &str, seq| ListRequest {
        filter: crate::store::ListFilter {
            text: text.into(),
            ..crate::store::ListFilter::default()
        },
        ..whole_list(seq)
    };
    let fresh = fx.desk.list(search("FRESH", 5)).await.unwrap();
    assert_eq!(ids_of(&fresh), ["r-31"]);
    assert_eq!((fresh.total, fresh.alerts, fresh.all), (1, 1, 33));
    let label = fx.ui.list().2[0].label.to_uppercase();
    let by_label = fx.desk.list(search(&label, 6)).await.unwrap();
    assert_eq!(
        by_label.total, 33,
        "every alert of the server named {label}"
    );
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn changed_settings_apply_at_once() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.desk
        .connect(
            &fx.profile,
            &feed.url,
            BTreeMap::new(),
            TokenSource::Without,
        )
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;

    // Quiet hours around now: a normal report is listed, not notified, and the window says why.
    let now = chrono::Local::now().time();
    let at = |minutes: i64| {
        (now + chrono::TimeDelta::minutes(minutes))
            .format("%H:%M")
            .to_string()
    };
    let mut settings = Settings::default();
    settings.alerting.quiet_hours = Some(crate::config::settings::QuietHours {
        from: at(-60),
        to: at(60),
    });
    fx.desk.apply_settings(settings).await;
    fx.ui
        .wait_for("quiet hours shown", |r| {
            matches!(r.events().last(), Some(DeskEvent::Batch(b))
                if matches!(b.notifications, NotificationsView::QuietHours { .. }))
        })
        .await;
    feed.send(&[(1, "Noise complaint", "normal", "")]).await;
    fx.ui.wait_for("one row", |r| r.list().0.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(fx.notifier.shown().is_empty(), "{:?}", fx.notifier.shown());

    // Quiet hours taken away, the next one sounds, at the new volume.
    let mut settings = Settings::default();
    settings.alerting.volume = 35;
    fx.desk.apply_settings(settings).await;
    feed.send(&[(2, "Break-in", "normal", "")]).await;
    for _ in 0..250 {
        if !fx.notifier.shown().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shown = fx.notifier.shown();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].summary.contains("Break-in"), "{shown:?}");
    assert_eq!(shown[0].sound.as_ref().map(|t| t.volume), Some(35));
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_carries_no_rows() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.desk
        .connect(&fx.profile, &feed.url, BTreeMap::new(), TokenSource::Stored)
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    feed.send(&[(1, "One", "normal", ""), (2, "Two", "normal", "")])
        .await;
    fx.ui.wait_for("two rows", |r| r.list().0.len() == 2).await;
    // A new view: the snapshot has the counts and no rows; the window brings them.
    let view = Arc::new(Recorder::default());
    fx.desk.subscribe(view.clone());
    view.wait_for("the snapshot", |r| !r.events().is_empty())
        .await;
    let DeskEvent::Snapshot(snapshot) = &view.events()[0] else {
        panic!("{:?}", view.events())
    };
    assert!(snapshot.changed.is_empty() && snapshot.list.is_none());
    assert_eq!(snapshot.unread, 2);
    let window = fx.desk.list(whole_list(1)).await.unwrap();
    assert_eq!(ids_of(&window), ["r-2", "r-1"]);
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn a_sign_in_the_server_answers_without_what_the_profile_expects_is_said_in_the_window() {
    use crate::link::test_http::{Answer, TestHttp};
    // The profile expects `refreshToken`; this server answers `refresh_token` (and an opaque token).
    let login = TestHttp::start(|_| {
        Answer::Json(
            200,
            serde_json::json!({"token": "opaque", "refresh_token": "R1"}),
        )
    })
    .await;
    let fx = start().await;
    let profile = format!(
        "{}\n[auth]\nmode = \"query\"\n[auth.login]\npath = \"/login\"\ntoken = \"token\"\n\
         refresh_token = \"refreshToken\"\n[auth.login.refresh]\npath = \"/refresh\"\n",
        PROFILE.replace("test-feed", "renewing")
    );
    let imported = fx.desk.import_profile("renewing.toml", &profile).unwrap();
    let form = SignInForm {
        profile: imported.name,
        server: login.url.clone(),
        label: Some("County".into()),
        vars: BTreeMap::new(),
        username: "officer".into(),
        password: "pw".into(),
        ca_file: None,
    };
    fx.desk.sign_in(form, false).await.unwrap();
    fx.ui
        .wait_for("the mismatch said", |r| {
            r.events().iter().any(|e| {
                matches!(e, DeskEvent::Notice { notice: Notice::Problem { label, message, .. }, .. }
                    if label == "County" && message.contains("no refresh token at refreshToken"))
            })
        })
        .await;
    fx.desk.shutdown().await;
}

#[tokio::test]
async fn while_alerts_pour_in_the_window_is_pushed_at_most_every_burst_interval() {
    let feed = Feed::start().await;
    let fx = start().await;
    fx.desk
        .connect(&fx.profile, &feed.url, BTreeMap::new(), TokenSource::Stored)
        .await
        .unwrap();
    fx.ui.wait_for("a live link", live).await;
    let before = fx.ui.windows().len();
    let started = std::time::Instant::now();
    // 20 chunks of 20 reports, one every 60 ms: a batch every 50 ms would push about 20 windows.
    for chunk in 0..20u32 {
        let titles: Vec<(u32, String)> = (0..20)
            .map(|i| (chunk * 20 + i + 1, format!("Report {}", chunk * 20 + i + 1)))
            .collect();
        let reports: Vec<(u32, &str, &str, &str)> = titles
            .iter()
            .map(|(i, t)| (*i, t.as_str(), "normal", ""))
            .collect();
        feed.send(&reports).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    fx.ui
        .wait_for("400 rows", |r| r.window().is_some_and(|w| w.total == 400))
        .await;
    let elapsed = started.elapsed();
    let pushes = fx.ui.windows().len() - before;
    let paced = elapsed.as_millis() / BURST_EVERY.as_millis() + 2;
    assert!(
        pushes as u128 <= paced,
        "{pushes} windows pushed in {elapsed:?}"
    );
    // A lone alert after the burst goes with the next batch again.
    tokio::time::sleep(BURST_EVERY).await;
    let lone = std::time::Instant::now();
    feed.send(&[(999, "Lone", "normal", "")]).await;
    fx.ui
        .wait_for("the lone row", |r| {
            r.window().is_some_and(|w| w.total == 401)
        })
        .await;
    assert!(lone.elapsed() < BURST_EVERY, "{:?}", lone.elapsed());
    fx.desk.shutdown().await;
}
