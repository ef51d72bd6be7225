use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;

use super::{OpenOptions, Query, Recorded, Store, StoreError, FILE_NAME};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Timestamp};
use crate::link::cursor::{Cursors, Position};
use crate::link::{LinkState, Update};

fn server_a() -> ServerId {
    ServerId::from_stored("https://a.example")
}

fn server_b() -> ServerId {
    ServerId::from_stored("https://b.example")
}

fn alert(id: &str) -> Alert {
    Alert {
        id: id.into(),
        profile: "ticketing".into(),
        event: "ticket:new".into(),
        fields: AlertFields {
            kind: Kind::Report,
            title: format!("Ticket {id}"),
            body: "Zone 4".into(),
            priority: Priority::Normal,
            assigned_to_me: false,
        },
        notify: true,
        received_at: Timestamp::now(),
        source: Source::Live,
        status: None,
        server_time: None,
        data: json!({ "id": id, "zone": 4 }),
        stated: crate::domain::Stated::ALL,
    }
}

fn at(minutes_ago: i64) -> Timestamp {
    Timestamp::now().minus(chrono::TimeDelta::minutes(minutes_ago))
}

fn memory() -> Store {
    Store::open_in_memory().unwrap()
}

fn count_rows(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
}

/// Every file in `dir`, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn same_alert_twice_is_one_row() {
    let store = memory();
    let first = alert("t-1");
    assert_eq!(store.record(&server_a(), &first).unwrap(), Recorded::New);
    let mut again = first.clone();
    again.received_at = at(-1);
    again.source = Source::Backfill;
    // The same payload with its keys in another order is still the same content.
    again.data = json!({ "zone": 4, "id": "t-1" });
    assert_eq!(
        store.record(&server_a(), &again).unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(count_rows(&store, "alerts"), 1);
    assert_eq!(count_rows(&store, "alert_updates"), 0);
    let stored = store.get(&server_a(), "t-1").unwrap().unwrap();
    assert_eq!(stored.life.update_count, 0);
    assert_eq!(
        stored.alert.source,
        Source::Live,
        "a duplicate writes nothing"
    );
    assert_eq!(stored.alert.received_at, first.received_at);
}

#[test]
fn update_merges_and_keeps_the_trail() {
    let store = memory();
    let mut original = alert("t-1");
    original.received_at = at(10);
    store.record(&server_a(), &original).unwrap();

    let mut update = original.clone();
    update.received_at = at(0);
    update.source = Source::Poll;
    update.fields.kind = Kind::Assignment;
    update.event = "ticket:updated".into();
    update.fields.priority = Priority::Critical;
    update.fields.assigned_to_me = true;
    update.fields.title = "Ticket t-1 escalated".into();
    let Recorded::Updated(change) = store.record(&server_a(), &update).unwrap() else {
        panic!("expected an update");
    };
    assert_eq!(change.previous_kind, Kind::Report);
    assert_eq!(change.kind, Kind::Assignment);
    assert_eq!(change.previous_priority, Priority::Normal);
    assert_eq!(change.priority, Priority::Critical);
    assert!(change.priority_raised());
    assert!(change.became_assigned_to_me);
    assert!(!change.unassigned_from_me);
    assert!(change.title_changed);
    assert!(!change.body_changed);
    assert!(!change.data_changed);
    assert!(!change.marked_unread, "it was never read");
    assert_eq!(change.update_count, 1);

    assert_eq!(count_rows(&store, "alerts"), 1);
    let stored = store.get(&server_a(), "t-1").unwrap().unwrap();
    assert_eq!(stored.life.first_received_at, original.received_at);
    assert_eq!(stored.alert, update);
    assert_eq!(stored.life.update_count, 1);

    let trail = store.trail(&server_a(), "t-1").unwrap();
    assert_eq!(trail.len(), 1);
    let old = &trail[0];
    assert_eq!(old.received_at, original.received_at);
    assert_eq!(old.replaced_at, update.received_at);
    assert_eq!(old.source, Source::Live);
    assert_eq!(old.fields.kind, Kind::Report);
    assert_eq!(old.event, "ticket:new");
    assert_eq!(old.fields.title, original.fields.title);
    assert_eq!(old.fields.priority, Priority::Normal);
    assert!(!old.fields.assigned_to_me);
    assert_eq!(old.data, original.data);

    // The update again is a duplicate of the current version.
    assert_eq!(
        store.record(&server_a(), &update).unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(store.trail(&server_a(), "t-1").unwrap().len(), 1);
}

#[test]
fn read_state_on_updates() {
    let store = memory();
    let base = alert("t-1");
    store.record(&server_a(), &base).unwrap();
    assert!(store.mark_read(Some(&server_a()), "t-1").unwrap());
    assert!(
        !store.mark_read(Some(&server_a()), "t-1").unwrap(),
        "already read"
    );

    // A body change leaves it read.
    let mut next = base.clone();
    next.fields.body = "Zone 5".into();
    let Recorded::Updated(change) = store.record(&server_a(), &next).unwrap() else {
        panic!()
    };
    assert!(change.body_changed && !change.marked_unread);
    assert!(store
        .get(&server_a(), "t-1")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_some());

    // A lower priority leaves it read.
    next.fields.priority = Priority::Low;
    let Recorded::Updated(change) = store.record(&server_a(), &next).unwrap() else {
        panic!()
    };
    assert!(!change.marked_unread);
    assert!(store
        .get(&server_a(), "t-1")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_some());

    // A higher priority makes it unread.
    next.fields.priority = Priority::High;
    let Recorded::Updated(change) = store.record(&server_a(), &next).unwrap() else {
        panic!()
    };
    assert!(change.marked_unread);
    assert!(store
        .get(&server_a(), "t-1")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_none());

    // Newly assigned to me makes it unread; acknowledgement survives.
    assert!(store.acknowledge(Some(&server_a()), "t-1").unwrap());
    let acked = store.get(&server_a(), "t-1").unwrap().unwrap();
    assert!(acked.life.read_at.is_some(), "acknowledging marks read");
    next.fields.assigned_to_me = true;
    let Recorded::Updated(change) = store.record(&server_a(), &next).unwrap() else {
        panic!()
    };
    assert!(change.became_assigned_to_me && change.marked_unread);
    let stored = store.get(&server_a(), "t-1").unwrap().unwrap();
    assert!(stored.life.read_at.is_none());
    assert_eq!(stored.life.acknowledged_at, acked.life.acknowledged_at);
    assert_eq!(stored.life.update_count, 4);
    assert_eq!(store.trail(&server_a(), "t-1").unwrap().len(), 4);
}

#[test]
fn same_id_on_two_servers_is_two_alerts() {
    let store = memory();
    assert_eq!(
        store.record(&server_a(), &alert("7")).unwrap(),
        Recorded::New
    );
    assert_eq!(
        store.record(&server_b(), &alert("7")).unwrap(),
        Recorded::New
    );
    assert_eq!(store.list(&Query::default()).unwrap().len(), 2);
    let counts = store.unread_counts().unwrap();
    assert_eq!(counts.get(&server_a()), Some(&1));
    assert_eq!(counts.get(&server_b()), Some(&1));
}

#[test]
fn mark_read_by_id_alone() {
    let store = memory();
    store.record(&server_a(), &alert("7")).unwrap();
    store.record(&server_b(), &alert("7")).unwrap();
    store.record(&server_b(), &alert("8")).unwrap();

    let err = store.mark_read(None, "7").unwrap_err();
    let StoreError::Ambiguous { id, servers } = &err else {
        panic!("{err}")
    };
    assert_eq!(id, "7");
    assert_eq!(servers, &[server_a(), server_b()]);
    let message = err.to_string();
    assert!(
        message.contains(server_a().as_str()) && message.contains(server_b().as_str()),
        "{message}"
    );
    assert_eq!(store.unread_counts().unwrap().values().sum::<u64>(), 3);

    // Unique across servers: found without a server.
    assert!(store.mark_read(None, "8").unwrap());
    assert!(store
        .get(&server_b(), "8")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_some());
    // With a server: no ambiguity.
    assert!(store.mark_read(Some(&server_a()), "7").unwrap());
    assert!(store
        .get(&server_b(), "7")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_none());

    let err = store.mark_read(None, "nope").unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = store.mark_read(Some(&server_a()), "8").unwrap_err();
    assert!(err.to_string().contains(server_a().as_str()), "{err}");
    let err = store.acknowledge(None, "7").unwrap_err();
    assert!(matches!(err, StoreError::Ambiguous { .. }), "{err}");
}

#[test]
fn mark_all_read_and_clear_read() {
    let store = memory();
    for id in ["1", "2", "3"] {
        store.record(&server_a(), &alert(id)).unwrap();
    }
    store.record(&server_b(), &alert("1")).unwrap();
    let mut changed = alert("1");
    changed.fields.title = "changed".into();
    store.record(&server_a(), &changed).unwrap();
    assert_eq!(count_rows(&store, "alert_updates"), 1);

    assert_eq!(store.mark_all_read(Some(&server_a())).unwrap(), 3);
    assert_eq!(store.mark_all_read(Some(&server_a())).unwrap(), 0);
    let counts = store.unread_counts().unwrap();
    assert_eq!(counts.get(&server_a()), None);
    assert_eq!(counts.get(&server_b()), Some(&1));

    assert_eq!(store.clear_read().unwrap(), 3);
    let left = store.list(&Query::default()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].server, server_b());
    assert_eq!(count_rows(&store, "alert_updates"), 0, "the trail goes too");

    assert_eq!(store.mark_all_read(None).unwrap(), 1);
    assert!(store.unread_counts().unwrap().is_empty());
}

#[test]
fn history_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data").join(FILE_NAME);
    let gap;
    let gap_to = at(1);
    let mut update = alert("2");
    update.fields.priority = Priority::High;
    {
        let opened = Store::open(&path).unwrap();
        assert!(opened.recovered.is_none());
        let store = opened.store;
        store.record(&server_a(), &alert("1")).unwrap();
        store.record(&server_a(), &alert("2")).unwrap();
        store.record(&server_a(), &update).unwrap();
        store.mark_read(Some(&server_a()), "1").unwrap();
        store.acknowledge(Some(&server_a()), "2").unwrap();
        let cursor = |value: &str| {
            let mut cursors = Cursors::default();
            cursors.set("/api/tickets", Position::After(value.into()));
            Update::Cursor(cursors)
        };
        let batch = vec![
            cursor("evt-41"),
            cursor("evt-42"),
            Update::Gap {
                from: at(5),
                to: gap_to,
                reason: "connection lost".into(),
            },
        ];
        store.apply(&server_a(), "ticketing", batch).unwrap();
        let down = vec![
            Update::State(LinkState::Live),
            Update::Gap {
                from: at(2),
                to: at(0),
                reason: "server down".into(),
            },
        ];
        store.apply(&server_b(), "ticketing", down).unwrap();
        gap = store.gaps(Some(&server_a())).unwrap()[0].id;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
    }
    let opened = Store::open(&path).unwrap();
    assert!(opened.recovered.is_none());
    let store = opened.store;
    let all = store.list(&Query::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert!(store
        .get(&server_a(), "1")
        .unwrap()
        .unwrap()
        .life
        .read_at
        .is_some());
    let two = store.get(&server_a(), "2").unwrap().unwrap();
    assert!(two.life.acknowledged_at.is_some());
    assert_eq!(two.alert.fields.priority, Priority::High);
    assert_eq!(two.life.update_count, 1);
    assert_eq!(store.trail(&server_a(), "2").unwrap().len(), 1);
    let stored = store.cursor(&server_a(), "ticketing").unwrap().unwrap();
    let cursors = Cursors::from_stored(&stored, &[]).unwrap();
    assert_eq!(
        cursors.get("/api/tickets"),
        Some(&Position::After("evt-42".into()))
    );
    assert_eq!(
        store.cursor(&server_a(), "other-profile").unwrap(),
        None,
        "another profile's cursor means something else"
    );
    assert_eq!(store.cursor(&server_b(), "ticketing").unwrap(), None);
    let gaps = store.gaps(None).unwrap();
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[0].server, server_b(), "newest first");
    let closed = &store.gaps(Some(&server_a())).unwrap()[0];
    assert_eq!(closed.id, gap);
    assert_eq!(closed.to, Some(gap_to));
    assert_eq!(closed.note, "connection lost");
    assert_eq!(
        store.record(&server_a(), &update).unwrap(),
        Recorded::Duplicate
    );
}

#[test]
fn burst_of_a_thousand_then_queries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join(FILE_NAME)).unwrap().store;
    let priorities = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];
    let alerts: Vec<Alert> = (0..1000_i64)
        .map(|i| {
            let mut a = alert(&format!("r-{i}"));
            // Alert 0 is the oldest, 999 the newest, one minute apart.
            a.received_at = at(1000 - i);
            a.fields.priority = priorities[usize::try_from(i % 4).unwrap()];
            if i % 2 == 1 {
                a.profile = "dispatch".into();
                a.fields.kind = Kind::Assignment;
            }
            a
        })
        .collect();
    let results = store.record_many(&server_a(), &alerts).unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|r| *r == Recorded::New));
    // Again: every one a duplicate, nothing new.
    let again = store.record_many(&server_a(), &alerts).unwrap();
    assert!(again.iter().all(|r| *r == Recorded::Duplicate));
    assert_eq!(count_rows(&store, "alerts"), 1000);

    let newest = store
        .list(&Query {
            limit: Some(3),
            ..Query::default()
        })
        .unwrap();
    let ids: Vec<&str> = newest.iter().map(|s| s.alert.id.as_str()).collect();
    assert_eq!(ids, ["r-999", "r-998", "r-997"]);

    let dispatch = store
        .list(&Query {
            profile: Some("dispatch".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(dispatch.len(), 500);
    assert!(dispatch.iter().all(|s| s.alert.profile == "dispatch"));

    let assignments = store
        .list(&Query {
            kinds: vec![Kind::Assignment, Kind::Alert],
            ..Query::default()
        })
        .unwrap();
    assert_eq!(assignments.len(), 500);

    let urgent = store
        .list(&Query {
            min_priority: Some(Priority::High),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(urgent.len(), 500);
    assert!(urgent
        .iter()
        .all(|s| s.alert.fields.priority >= Priority::High));

    // The last 10.5 minutes: alerts 990..=999 (received 10..1 minutes ago).
    let since = Timestamp::now().minus(chrono::TimeDelta::seconds(630));
    let recent = store
        .list(&Query {
            since: Some(since),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(recent.len(), 10);
    assert_eq!(recent[9].alert.id, "r-990");
    let offset_since = Timestamp::parse(
        &(chrono::Utc::now() - chrono::Duration::seconds(90))
            .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
            .to_rfc3339(),
    )
    .unwrap();
    let last = store
        .list(&Query {
            since: Some(offset_since),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last[0].alert.id, "r-999");
    assert!(
        Timestamp::parse("yesterday").is_err(),
        "a bad time never reaches a query"
    );

    unread_filters(&store);
}

fn unread_filters(store: &Store) {
    for i in 0..100 {
        store
            .mark_read(Some(&server_a()), &format!("r-{i}"))
            .unwrap();
    }
    store.record(&server_b(), &alert("r-1")).unwrap();
    let counts = store.unread_counts().unwrap();
    assert_eq!(counts.get(&server_a()), Some(&900));
    assert_eq!(counts.get(&server_b()), Some(&1));
    let unread_dispatch = store
        .list(&Query {
            server: Some(server_a()),
            profile: Some("dispatch".into()),
            unread_only: true,
            min_priority: Some(Priority::Critical),
            ..Query::default()
        })
        .unwrap();
    // Odd ids are dispatch, i % 4 == 3 critical, ids below 100 read: 3, 7, ..., 999 minus 3..=99.
    assert_eq!(unread_dispatch.len(), 250 - 25);
    assert!(unread_dispatch.iter().all(|s| s.life.read_at.is_none()));
}

#[test]
fn stored_alert_serializes_flat() {
    let store = memory();
    let mut a = alert("j-1");
    a.server_time = Some(Timestamp::parse("2024-05-01T10:00:00+02:00").unwrap());
    store.record(&server_a(), &a).unwrap();
    let stored = store.get(&server_a(), "j-1").unwrap().unwrap();
    assert_eq!(
        stored.alert.server_time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-01T08:00:00.000Z")
    );
    let value = serde_json::to_value(&stored).unwrap();
    assert_eq!(value["server"], server_a().as_str());
    assert_eq!(value["id"], "j-1");
    assert_eq!(value["priority"], "normal");
    assert_eq!(value["source"], "live");
    assert_eq!(value["update_count"], 0);
    assert!(value["read_at"].is_null());
}

#[test]
fn times_are_stored_in_utc_and_read_back_unchanged() {
    let store = memory();
    let mut a = alert("t");
    a.received_at = Timestamp::parse("2024-05-01T10:00:00+02:00").unwrap();
    store.record(&server_a(), &a).unwrap();
    let stored = store.get(&server_a(), "t").unwrap().unwrap();
    assert_eq!(
        stored.alert.received_at.to_rfc3339(),
        "2024-05-01T08:00:00.000Z"
    );
    assert_eq!(stored.alert.received_at, a.received_at);
    let text: String = store
        .conn
        .query_row("SELECT received_at FROM alerts WHERE id = 't'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(text, "2024-05-01T08:00:00.000Z", "sorts as text");
    assert!(stored.alert.server_time.is_none());
}

#[test]
fn random_bytes_are_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut rng = fastrand::Rng::with_seed(7);
    let garbage: Vec<u8> = (0..20_000).map(|_| rng.u8(..)).collect();
    std::fs::write(&path, &garbage).unwrap();

    let opened = Store::open(&path).unwrap();
    let recovery = opened.recovered.expect("a recovery");
    assert!(
        recovery.reason.contains("not a database"),
        "{}",
        recovery.reason
    );
    let name = recovery
        .kept_aside
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("history.db.corrupt-"), "{name}");
    assert_eq!(recovery.kept_aside.parent(), Some(dir.path()));
    assert_eq!(std::fs::read(&recovery.kept_aside).unwrap(), garbage);

    // A working, empty history in its place.
    let store = opened.store;
    assert!(store.list(&Query::default()).unwrap().is_empty());
    store.record(&server_a(), &alert("1")).unwrap();
    drop(store);
    let opened = Store::open(&path).unwrap();
    assert!(opened.recovered.is_none());
    assert_eq!(opened.store.list(&Query::default()).unwrap().len(), 1);
}

#[test]
fn damaged_file_keeps_its_wal_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let wal = dir.path().join(format!("{FILE_NAME}-wal"));
    std::fs::write(&path, b"definitely not sqlite".repeat(300)).unwrap();
    std::fs::write(&wal, b"stale wal frames".repeat(100)).unwrap();

    let opened = Store::open(&path).unwrap();
    let kept = opened.recovered.expect("a recovery").kept_aside;
    let mut kept_wal = kept.clone().into_os_string();
    kept_wal.push("-wal");
    assert_eq!(
        std::fs::read(&kept_wal).unwrap(),
        b"stale wal frames".repeat(100),
        "the old WAL moves with its file"
    );
    // The new history's WAL (if any) is not the old one.
    if let Ok(bytes) = std::fs::read(&wal) {
        assert_ne!(bytes, b"stale wal frames".repeat(100));
    }
    opened.store.record(&server_a(), &alert("1")).unwrap();
    assert_eq!(opened.store.list(&Query::default()).unwrap().len(), 1);
}

#[test]
fn truncated_file_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.db");
    {
        let store = Store::open(&good).unwrap().store;
        let alerts: Vec<Alert> = (0..2000)
            .map(|i| {
                let mut a = alert(&format!("r-{i}"));
                a.fields.body = "x".repeat(200);
                a
            })
            .collect();
        store.record_many(&server_a(), &alerts).unwrap();
    }
    let bytes = std::fs::read(&good).unwrap();
    assert!(bytes.len() > 100_000, "{}", bytes.len());
    let truncated = &bytes[..bytes.len() / 2];
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, truncated).unwrap();

    let opened = Store::open(&path).unwrap();
    let recovery = opened.recovered.expect("a recovery");
    assert_eq!(std::fs::read(&recovery.kept_aside).unwrap(), truncated);
    assert!(opened.store.list(&Query::default()).unwrap().is_empty());
}

#[test]
fn damaged_pages_are_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let store = Store::open(&path).unwrap().store;
        let alerts: Vec<Alert> = (0..500).map(|i| alert(&format!("r-{i}"))).collect();
        store.record_many(&server_a(), &alerts).unwrap();
    }
    // A page that no b-tree or freelist owns: every read works, only the integrity check notices.
    let mut bytes = std::fs::read(&path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let pages = u32::from_be_bytes(bytes[28..32].try_into().unwrap());
    assert_eq!(bytes.len(), page_size * usize::try_from(pages).unwrap());
    bytes[28..32].copy_from_slice(&(pages + 1).to_be_bytes());
    bytes.resize(bytes.len() + page_size, 0);
    std::fs::write(&path, &bytes).unwrap();

    let opened = Store::open(&path).unwrap();
    let recovery = opened.recovered.expect("a recovery");
    assert!(
        recovery.reason.contains("integrity check failed")
            && recovery.reason.contains("never used"),
        "{}",
        recovery.reason
    );
    assert_eq!(std::fs::read(&recovery.kept_aside).unwrap(), bytes);
    assert!(opened.store.list(&Query::default()).unwrap().is_empty());
}

/// A file locked by another connection: `Locked`, and nothing renamed or changed.
fn assert_locked(dir: &Path, path: &PathBuf) {
    let before = std::fs::read(path).unwrap();
    let listed = names(dir);
    let options = OpenOptions {
        busy_timeout: Duration::from_millis(200),
    };
    let started = std::time::Instant::now();
    let err = Store::open_with(path, &options).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(
        err.to_string().contains("another Alertdesk may be running"),
        "{err}"
    );
    assert_eq!(std::fs::read(path).unwrap(), before);
    let after: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| !n.ends_with("-shm") && !n.ends_with("-wal"))
        .collect();
    let expected: Vec<String> = listed
        .into_iter()
        .filter(|n| !n.ends_with("-shm") && !n.ends_with("-wal"))
        .collect();
    assert_eq!(after, expected);
}

#[test]
fn locked_history_is_reported_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let store = Store::open(&path).unwrap().store;
        store.record(&server_a(), &alert("1")).unwrap();
    }
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    assert_locked(dir.path(), &path);
    other.execute_batch("ROLLBACK").unwrap();
    // Once the other side lets go, it opens with everything in it.
    let opened = Store::open(&path).unwrap();
    assert!(opened.recovered.is_none());
    assert_eq!(opened.store.list(&Query::default()).unwrap().len(), 1);
}

#[test]
fn locked_rollback_journal_file_is_reported_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    other
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO t VALUES (2);")
        .unwrap();
    assert_locked(dir.path(), &path);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    drop(Store::open(&path).unwrap());
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", 99).unwrap();
    }
    let listed = names(dir.path());
    let err = Store::open(&path).unwrap_err();
    let StoreError::TooNew {
        found, supported, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*found, *supported), (99, 3));
    assert!(err.to_string().contains("newer Alertdesk"), "{err}");
    assert_eq!(names(dir.path()), listed, "nothing set aside");
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99, "not downgraded");
}

#[test]
fn fresh_file_is_at_the_latest_version_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let store = Store::open(&path).unwrap().store;
    let version: i64 = store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, super::open::supported_version());
    let mode: String = store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let synchronous: i64 = store
        .conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(synchronous, 1, "NORMAL");
    let foreign_keys: bool = store
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert!(foreign_keys);
}

#[test]
fn prune_by_age() {
    let store = memory();
    for (id, minutes_ago) in [
        ("old-1", 50 * 24 * 60),
        ("old-2", 31 * 24 * 60),
        ("new", 60),
    ] {
        let mut a = alert(id);
        a.received_at = at(minutes_ago);
        store.record(&server_a(), &a).unwrap();
    }
    // old-2 gets an update trail and stays old; "kept" was first seen long ago but updated recently.
    let mut update = alert("old-2");
    update.received_at = at(31 * 24 * 60 - 1);
    update.fields.title = "changed".into();
    store.record(&server_a(), &update).unwrap();
    let mut kept = alert("kept");
    kept.received_at = at(40 * 24 * 60);
    store.record(&server_a(), &kept).unwrap();
    kept.received_at = at(1);
    kept.fields.title = "changed".into();
    store.record(&server_a(), &kept).unwrap();

    let gap = |from: Timestamp, to: Option<Timestamp>, note: &str| {
        store
            .conn
            .execute(
                "INSERT INTO gaps (server, from_ts, to_ts, note) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![server_a(), from, to, note],
            )
            .unwrap();
    };
    gap(at(45 * 24 * 60), Some(at(44 * 24 * 60)), "old");
    gap(at(45 * 24 * 60), None, "still down");
    gap(at(30), Some(at(20)), "recent");

    let deleted = store
        .prune(Duration::from_secs(30 * 24 * 3600), 50_000)
        .unwrap();
    assert_eq!(deleted, 2);
    let mut ids: Vec<String> = store
        .list(&Query::default())
        .unwrap()
        .into_iter()
        .map(|s| s.alert.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["kept", "new"]);
    assert!(store.trail(&server_a(), "old-2").unwrap().is_empty());
    // kept's previous version arrived 40 days ago but was replaced a minute ago: within retention.
    assert_eq!(store.trail(&server_a(), "kept").unwrap().len(), 1);
    assert_eq!(count_rows(&store, "alert_updates"), 1);
    let notes: Vec<String> = store
        .gaps(None)
        .unwrap()
        .into_iter()
        .map(|g| g.note)
        .collect();
    assert_eq!(notes, ["recent", "still down"]);
    assert_eq!(
        store
            .prune(Duration::from_secs(30 * 24 * 3600), 50_000)
            .unwrap(),
        0
    );
}

#[test]
fn prune_by_count_keeps_the_newest() {
    let store = memory();
    let alerts: Vec<Alert> = (0..10_i64)
        .map(|i| {
            let mut a = alert(&format!("n-{i}"));
            a.received_at = at(100 - i);
            a
        })
        .collect();
    store.record_many(&server_a(), &alerts).unwrap();
    // n-0, the oldest, gets an update: now it is the newest.
    let mut update = alerts[0].clone();
    update.received_at = at(0);
    update.fields.priority = Priority::High;
    store.record(&server_a(), &update).unwrap();

    assert_eq!(store.prune(Duration::from_secs(86_400), 4).unwrap(), 6);
    let ids: Vec<String> = store
        .list(&Query::default())
        .unwrap()
        .into_iter()
        .map(|s| s.alert.id)
        .collect();
    assert_eq!(ids, ["n-0", "n-9", "n-8", "n-7"]);
    assert_eq!(store.trail(&server_a(), "n-0").unwrap().len(), 1);
    assert_eq!(store.prune(Duration::from_secs(86_400), 4).unwrap(), 0);
}

#[test]
fn prune_caps_long_trails() {
    let store = memory();
    let mut a = alert("insight");
    a.fields.kind = Kind::Info;
    let versions: Vec<Alert> = (0..1100)
        .map(|i| {
            let mut v = a.clone();
            v.fields.title = format!("Risk {i}");
            v
        })
        .collect();
    store.record_many(&server_a(), &versions).unwrap();
    assert_eq!(store.trail(&server_a(), "insight").unwrap().len(), 1099);
    store.prune(Duration::from_secs(86_400), 10).unwrap();
    let trail = store.trail(&server_a(), "insight").unwrap();
    assert_eq!(trail.len(), 1000);
    assert_eq!(trail[0].fields.title, "Risk 99", "the oldest go");
    assert_eq!(trail[999].fields.title, "Risk 1098");
    assert_eq!(
        store
            .get(&server_a(), "insight")
            .unwrap()
            .unwrap()
            .life
            .update_count,
        1099
    );
}

/// One generated alert: (server, id, kind, title, priority, assigned, data) as small indexes.
type Spec = (usize, usize, usize, usize, usize, bool, usize);

fn generated(spec: Spec) -> (ServerId, Alert) {
    let (server, id, kind, title, priority, assigned, data) = spec;
    let kinds = [Kind::Report, Kind::Update, Kind::Info];
    let priorities = [Priority::Low, Priority::High, Priority::Critical];
    let mut a = alert(&format!("id-{id}"));
    a.fields.kind = kinds[kind];
    a.fields.title = format!("title {title}");
    a.fields.priority = priorities[priority];
    a.fields.assigned_to_me = assigned;
    a.data = json!({ "n": data });
    ([server_a(), server_b()][server].clone(), a)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn one_row_per_key_and_a_trail_per_change(
        specs in prop::collection::vec((0..2_usize, 0..3_usize, 0..3_usize, 0..2_usize, 0..3_usize, any::<bool>(), 0..2_usize), 1..60),
        batch in 1..8_usize,
    ) {
        let store = memory();
        let batched = memory();
        // The model: current content and update count per key.
        let mut model: HashMap<(ServerId, String), (Alert, u64)> = HashMap::new();
        let mut expected = Vec::new();
        for spec in &specs {
            let (server, a) = generated(*spec);
            let key = (server.clone(), a.id.clone());
            let want = match model.get_mut(&key) {
                None => {
                    model.insert(key, (a.clone(), 0));
                    Recorded::New
                }
                Some((current, count)) => {
                    // A generic update keeps the record's kind.
                    let mut merged = a.clone();
                    if merged.fields.kind == Kind::Update {
                        merged.fields.kind = current.fields.kind;
                    }
                    if current.fields == merged.fields && current.data == merged.data {
                        Recorded::Duplicate
                    } else {
                        *count += 1;
                        let change = super::Change {
                            previous_kind: current.fields.kind,
                            kind: merged.fields.kind,
                            previous_priority: current.fields.priority,
                            priority: merged.fields.priority,
                            previous_status: None,
                            status: None,
                            became_assigned_to_me: merged.fields.assigned_to_me && !current.fields.assigned_to_me,
                            unassigned_from_me: current.fields.assigned_to_me && !merged.fields.assigned_to_me,
                            title_changed: current.fields.title != merged.fields.title,
                            body_changed: false,
                            data_changed: current.data != merged.data,
                            marked_unread: false,
                            update_count: *count,
                        };
                        *current = merged;
                        Recorded::Updated(change)
                    }
                }
            };
            let got = store.record(&server, &a).unwrap();
            prop_assert_eq!(&want, &got);
            expected.push((server, a, got));
        }
        // The same sequence through record_many, in batches per server, gives the same results.
        let mut i = 0;
        while i < expected.len() {
            let server = expected[i].0.clone();
            let run: Vec<&(ServerId, Alert, Recorded)> = expected[i..]
                .iter()
                .take(batch)
                .take_while(|(s, _, _)| *s == server)
                .collect();
            let alerts: Vec<Alert> = run.iter().map(|(_, a, _)| a.clone()).collect();
            let results = batched.record_many(&server, &alerts).unwrap();
            for (result, (_, _, single)) in results.iter().zip(&run) {
                prop_assert_eq!(result, single);
            }
            i += run.len();
        }
        for s in [&store, &batched] {
            prop_assert_eq!(usize::try_from(count_rows(s, "alerts")).unwrap(), model.len());
            for ((server, id), (current, count)) in &model {
                let stored = s.get(server, id).unwrap().unwrap();
                prop_assert_eq!(stored.life.update_count, *count);
                prop_assert_eq!(&stored.alert.fields.title, &current.fields.title);
                prop_assert_eq!(&stored.alert.data, &current.data);
                prop_assert_eq!(u64::try_from(s.trail(server, id).unwrap().len()).unwrap(), *count);
            }
        }
    }
}

#[tokio::test]
async fn checkpoints_run_off_the_writers_thread_soon_after_work() {
    use super::history::{History, BACKSTOP_PAGES};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let store = Store::open(&path).unwrap().store;
    let (history, thread) = History::start(store).unwrap();
    let backstop: i64 = history
        .call(|store| {
            store
                .conn
                .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
                .map_err(|e| StoreError::from_sqlite(store.path(), &e))
        })
        .await
        .unwrap();
    assert_eq!(backstop, i64::from(BACKSTOP_PAGES));
    let file_before = std::fs::metadata(&path).unwrap().len();
    // A few hundred alerts: far fewer WAL pages than any automatic checkpoint waits for.
    let alerts: Vec<Alert> = (0..300).map(|i| alert(&format!("t-{i}"))).collect();
    history
        .call(move |store| store.record_many(&server_a(), &alerts))
        .await
        .unwrap();
    // The main file grows only when a checkpoint copies the WAL into it.
    let mut grown = false;
    for _ in 0..100 {
        if std::fs::metadata(&path).unwrap().len() > file_before {
            grown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(grown, "no checkpoint within 2 s");
    drop(history);
    thread.join();
    let reopened = Store::open(&path).unwrap().store;
    assert_eq!(count_rows(&reopened, "alerts"), 300);
}
