//! Record life in the history: partial updates, status, the outbox, the timeline, and the schema migration.

use serde_json::json;

use super::outbox::{MomentKind, ResponseState, Sent, ACKNOWLEDGE};
use super::{Recorded, Store, FILE_NAME};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Stated, Timestamp};

fn server() -> ServerId {
    ServerId::from_stored("https://a.example")
}

fn record(id: &str) -> Alert {
    Alert {
        id: id.into(),
        profile: "service-calls".into(),
        event: "call_created".into(),
        fields: AlertFields {
            kind: Kind::Report,
            title: "Burst pipe".into(),
            body: "Main St 1".into(),
            priority: Priority::Critical,
            assigned_to_me: false,
        },
        notify: true,
        received_at: Timestamp::now(),
        source: Source::Live,
        status: Some("open".into()),
        server_time: Some(Timestamp::parse("2026-11-30T08:00:00Z").unwrap()),
        data: json!({"id": id}),
        stated: Stated::ALL,
    }
}

/// An update event that states only what is given: everything else is its rule's default.
fn update(id: &str, stated: Stated, status: Option<&str>) -> Alert {
    let mut a = record(id);
    a.event = "call_updated".into();
    a.fields = AlertFields {
        kind: Kind::Update,
        title: "call_updated".into(),
        body: String::new(),
        priority: Priority::Normal,
        assigned_to_me: false,
    };
    a.status = status.map(str::to_string);
    a.server_time = None;
    a.data = json!({"id": id, "n": fastrand::u32(..)});
    a.stated = stated;
    a
}

const NOTHING: Stated = Stated {
    title: false,
    body: false,
    priority: false,
    assigned_to_me: false,
};

#[test]
fn an_update_keeps_what_its_event_does_not_state() {
    let store = Store::open_in_memory().unwrap();
    let mut assigned = record("C-1");
    assigned.fields.kind = Kind::Assignment;
    assigned.fields.assigned_to_me = true;
    store.record(&server(), &assigned).unwrap();

    // "Completed", naming neither owner nor priority, with no text of its own.
    let done = update("C-1", NOTHING, Some("completed"));
    let Recorded::Updated(change) = store.record(&server(), &done).unwrap() else {
        panic!("an update");
    };
    assert_eq!(change.previous_status.as_deref(), Some("open"));
    assert_eq!(change.status.as_deref(), Some("completed"));
    assert!(change.status_changed());
    assert!(!change.unassigned_from_me && !change.priority_raised());
    let stored = store.get(&server(), "C-1").unwrap().unwrap();
    let fields = &stored.alert.fields;
    assert!(fields.assigned_to_me, "still mine");
    assert_eq!(fields.priority, Priority::Critical, "still critical");
    assert_eq!(
        fields.kind,
        Kind::Assignment,
        "a generic update keeps the kind"
    );
    assert_eq!(
        (fields.title.as_str(), fields.body.as_str()),
        ("Burst pipe", "Main St 1")
    );
    assert_eq!(stored.alert.status.as_deref(), Some("completed"));
    assert_eq!(
        stored.alert.server_time, assigned.server_time,
        "an update without a time keeps the earlier one"
    );
    let trail = store.trail(&server(), "C-1").unwrap();
    assert_eq!(trail[0].status.as_deref(), Some("open"));

    // An event that does state them: assigned to someone else, low priority, its own title.
    let mut moved = update("C-1", Stated::ALL, None);
    moved.fields.title = "Burst pipe (reassigned)".into();
    moved.fields.priority = Priority::Low;
    let Recorded::Updated(change) = store.record(&server(), &moved).unwrap() else {
        panic!("an update");
    };
    assert!(change.unassigned_from_me);
    let stored = store.get(&server(), "C-1").unwrap().unwrap();
    assert!(!stored.alert.fields.assigned_to_me);
    assert_eq!(stored.alert.fields.priority, Priority::Low);
    assert_eq!(stored.alert.fields.title, "Burst pipe (reassigned)");
    assert_eq!(
        stored.alert.status.as_deref(),
        Some("completed"),
        "no status stated: kept"
    );
}

#[test]
fn the_merged_version_is_what_the_batch_delivers() {
    let store = Store::open_in_memory().unwrap();
    store.record(&server(), &record("C-2")).unwrap();
    let batch = vec![crate::link::Update::Alert(Box::new(update(
        "C-2",
        NOTHING,
        Some("resolved"),
    )))];
    let delivered = store.apply(&server(), "service-calls", batch).unwrap();
    let [super::Delivered::Updated(alert, change)] = delivered.as_slice() else {
        panic!("{delivered:?}");
    };
    assert_eq!(alert.fields.priority, Priority::Critical);
    assert_eq!(alert.fields.title, "Burst pipe");
    assert_eq!(alert.status.as_deref(), Some("resolved"));
    assert_eq!(
        change.priority,
        Priority::Critical,
        "no 'raised' from a default"
    );
}

#[test]
fn a_closed_record_seen_again_stays_closed_read_and_quiet() {
    let store = Store::open_in_memory().unwrap();
    store.record(&server(), &record("C-3")).unwrap();
    store
        .record(&server(), &update("C-3", NOTHING, Some("closed")))
        .unwrap();
    assert!(store.mark_read(Some(&server()), "C-3").unwrap());
    // A catch-up brings the list's record in the list's words: same status, now "assigned to me". Closed it
    // stays quiet: nothing is written.
    let mut caught = record("C-3");
    caught.source = Source::Backfill;
    caught.status = Some("Closed".into());
    caught.fields.assigned_to_me = true;
    caught.fields.body = "Main St 1, cleared".into();
    assert_eq!(
        store.record(&server(), &caught).unwrap(),
        Recorded::Duplicate
    );
    // A live update to it is kept (and never marks it unread), though the policy says nothing of it.
    let mut late = caught.clone();
    late.source = Source::Live;
    let Recorded::Updated(change) = store.record(&server(), &late).unwrap() else {
        panic!("an update");
    };
    assert!(!change.status_changed(), "closed and Closed are one status");
    assert!(change.became_assigned_to_me);
    assert!(
        !change.marked_unread,
        "a closed record is never unread again"
    );
    let stored = store.get(&server(), "C-3").unwrap().unwrap();
    assert!(stored.life.read_at.is_some());
    // Reopened by a catch-up: that is news.
    let mut reopened = caught.clone();
    reopened.status = Some("open".into());
    assert!(matches!(
        store.record(&server(), &reopened).unwrap(),
        Recorded::Updated(_)
    ));
}

#[test]
fn a_status_change_alone_is_an_update_even_from_a_list() {
    let store = Store::open_in_memory().unwrap();
    store.record(&server(), &record("C-4")).unwrap();
    let mut listed = record("C-4");
    listed.source = Source::Backfill;
    listed.status = Some("en_route".into());
    assert!(matches!(
        store.record(&server(), &listed).unwrap(),
        Recorded::Updated(_)
    ));
}

#[test]
fn responses_wait_in_the_outbox_until_confirmed() {
    let store = Store::open_in_memory().unwrap();
    store.record(&server(), &record("C-5")).unwrap();
    assert!(store.next_response_at().unwrap().is_none());

    let queued = store
        .queue_response(None, "C-5", "en_route", "En route")
        .unwrap();
    assert!(queued.fresh);
    assert_eq!(queued.server, server());
    let again = store
        .queue_response(Some(&server()), "C-5", "en_route", "En route")
        .unwrap();
    assert_eq!(
        (again.seq, again.fresh),
        (queued.seq, false),
        "not queued twice"
    );
    store
        .queue_response(Some(&server()), "C-5", ACKNOWLEDGE, "Acknowledge")
        .unwrap();
    let stored = store.get(&server(), "C-5").unwrap().unwrap();
    assert!(stored.life.acknowledged_at.is_some() && stored.life.read_at.is_some());

    let due = store.due_responses(Timestamp::now(), 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].name, "en_route");
    assert_eq!(due[0].alert.fields.title, "Burst pipe");

    // The server is down: retried later, the error kept.
    let later = Timestamp::now().plus(chrono::TimeDelta::seconds(30));
    let retry = Sent::Retry {
        at: later,
        error: "connection refused".into(),
    };
    assert_eq!(
        store.response_sent(due[0].seq, &retry).unwrap(),
        Some((server(), "C-5".to_string()))
    );
    store
        .response_sent(
            due[1].seq,
            &Sent::Failed {
                error: "HTTP 409".into(),
            },
        )
        .unwrap();
    assert_eq!(store.next_response_at().unwrap(), Some(later));
    assert!(store
        .due_responses(Timestamp::now(), 10)
        .unwrap()
        .is_empty());
    let responses = store.get(&server(), "C-5").unwrap().unwrap().life.responses;
    assert_eq!(responses[0].state, ResponseState::Pending);
    assert_eq!(responses[0].attempts, 1);
    assert_eq!(responses[0].error.as_deref(), Some("connection refused"));
    assert_eq!(responses[1].state, ResponseState::Failed);
    assert!(responses[1].done_at.is_some());

    // The link is back: due now; then confirmed.
    assert_eq!(store.retry_responses(&server()).unwrap(), 1);
    let due = store.due_responses(Timestamp::now(), 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    store.response_sent(due[0].seq, &Sent::Confirmed).unwrap();
    assert!(store.next_response_at().unwrap().is_none());
    let stored = store.get(&server(), "C-5").unwrap().unwrap();
    assert_eq!(stored.life.responses[0].state, ResponseState::Confirmed);
    let moments: Vec<MomentKind> = stored.timeline.iter().map(|m| m.what).collect();
    for kind in [
        MomentKind::Server,
        MomentKind::Received,
        MomentKind::Read,
        MomentKind::Acknowledged,
        MomentKind::Responded,
        MomentKind::Confirmed,
        MomentKind::Failed,
    ] {
        assert!(moments.contains(&kind), "{kind:?} in {moments:?}");
    }
    assert!(stored.timeline[0].after_ms.is_none());
    assert!(stored.timeline.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(stored.timeline[1..].iter().all(|m| m.after_ms.is_some()));
}

#[test]
fn a_pending_response_keeps_its_alert_through_clear_read_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let store = Store::open(&path).unwrap().store;
        store.record(&server(), &record("C-6")).unwrap();
        store.record(&server(), &record("C-7")).unwrap();
        store
            .queue_response(None, "C-6", ACKNOWLEDGE, "Acknowledge")
            .unwrap();
        store.mark_read(None, "C-7").unwrap();
        assert_eq!(store.clear_read().unwrap(), 1, "C-7 only");
        store
            .mark_notified(&[(server(), "C-6".into())], Timestamp::now())
            .unwrap();
    }
    let store = Store::open(&path).unwrap().store;
    let due = store.due_responses(Timestamp::now(), 10).unwrap();
    assert_eq!(due.len(), 1, "still waiting after a restart");
    let stored = store.get(&server(), "C-6").unwrap().unwrap();
    assert!(stored.life.notified_at.is_some());
    let value = serde_json::to_value(&stored).unwrap();
    assert_eq!(value["responses"][0]["state"], "pending");
    assert_eq!(value["status"], "open");
    assert!(value["timeline"].as_array().is_some_and(|t| !t.is_empty()));
}

#[test]
fn a_version_1_history_is_migrated_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(super::open::SCHEMA_V1).unwrap();
        raw.pragma_update(None, "user_version", 1).unwrap();
        raw.execute(
            "INSERT INTO alerts (server, id, profile, kind, event, title, body, priority, assigned_to_me, notify, \
             source, first_received_at, received_at, data) VALUES ('https://a.example', 'old', 'demo', 'report', \
             'new_report', 'Old report', '', 'high', 1, 1, 'live', '2026-01-01T00:00:00.000Z', \
             '2026-01-01T00:00:00.000Z', '{}')",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap().store;
    let old = store.get(&server(), "old").unwrap().unwrap();
    assert_eq!(old.alert.fields.title, "Old report");
    assert!(old.alert.status.is_none() && old.life.notified_at.is_none());
    store
        .queue_response(None, "old", ACKNOWLEDGE, "Acknowledge")
        .unwrap();
}

#[test]
fn the_same_version_caught_up_again_is_a_duplicate_whatever_its_words() {
    let store = Store::open_in_memory().unwrap();
    store.record(&server(), &record("C-8")).unwrap();
    // The list's record of the same version (the same server time), worded by another rule.
    let mut listed = record("C-8");
    listed.source = Source::Backfill;
    listed.fields.title = "New call: Burst pipe".into();
    assert_eq!(
        store.record(&server(), &listed).unwrap(),
        Recorded::Duplicate
    );
    // A later version of it (a new server time) is news.
    listed.server_time = Some(Timestamp::parse("2026-11-30T08:05:00Z").unwrap());
    assert!(matches!(
        store.record(&server(), &listed).unwrap(),
        Recorded::Updated(_)
    ));
    // A live event delivered twice (same time, same payload) is a duplicate too, however its rule words it.
    let mut live = record("C-8");
    live.server_time = listed.server_time;
    live.data = listed.data.clone();
    live.fields.title = "Call open: Burst pipe".into();
    assert_eq!(store.record(&server(), &live).unwrap(), Recorded::Duplicate);
}

#[test]
fn a_live_event_older_than_the_catch_up_is_stale() {
    let store = Store::open_in_memory().unwrap();
    let at = |t: &str| Some(Timestamp::parse(t).unwrap());
    // The catch-up brought the call as it is now: assigned to me at 08:05.
    let mut listed = record("C-9");
    listed.source = Source::Backfill;
    listed.fields.assigned_to_me = true;
    listed.status = Some("assigned".into());
    listed.server_time = at("2026-11-30T08:05:00Z");
    store.record(&server(), &listed).unwrap();
    // Then the live events the server sent while the list was read: its creation (08:00) is stale...
    let mut created = record("C-9");
    created.server_time = at("2026-11-30T08:00:00Z");
    assert_eq!(
        store.record(&server(), &created).unwrap(),
        Recorded::Duplicate
    );
    // ... and its assignment (08:05, the same version) a replay.
    let mut assigned = listed.clone();
    assigned.source = Source::Live;
    assigned.fields.title = "Call assigned: Burst pipe".into();
    assert_eq!(
        store.record(&server(), &assigned).unwrap(),
        Recorded::Duplicate
    );
    let stored = store.get(&server(), "C-9").unwrap().unwrap();
    assert!(stored.alert.fields.assigned_to_me);
    assert_eq!(
        stored.life.update_count, 0,
        "nothing regressed, nothing twice"
    );
    // A newer live event is news.
    let mut completed = assigned.clone();
    completed.status = Some("completed".into());
    completed.server_time = at("2026-11-30T08:09:00Z");
    assert!(matches!(
        store.record(&server(), &completed).unwrap(),
        Recorded::Updated(_)
    ));
}
