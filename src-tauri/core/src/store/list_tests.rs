//! The window's list read a page at a time (store/list.rs): order, filters, counts, pages and positions.

use serde_json::json;

use super::{ListFilter, Listed, Place, Selection, Store};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Stated, Timestamp};
use crate::link::Update;

fn server_a() -> ServerId {
    ServerId::from_stored("https://a.example")
}

fn server_b() -> ServerId {
    ServerId::from_stored("https://b.example")
}

/// The time `minutes` after a fixed start, so that arrivals are ordered as the test says.
fn at(minutes: i64) -> Timestamp {
    "2026-11-24T08:00:00.000Z"
        .parse::<Timestamp>()
        .unwrap()
        .plus(chrono::TimeDelta::minutes(minutes))
}

fn alert(id: &str, minute: i64) -> Alert {
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
        received_at: at(minute),
        source: Source::Live,
        status: None,
        server_time: None,
        data: json!({ "id": id }),
        stated: Stated::ALL,
    }
}

fn with(mut alert: Alert, change: impl FnOnce(&mut Alert)) -> Alert {
    change(&mut alert);
    alert
}

fn gap(store: &Store, server: &ServerId, from: i64, to: i64) {
    store
        .apply(
            server,
            "ticketing",
            vec![Update::Gap {
                from: at(from),
                to: at(to),
                reason: "connection lost".into(),
            }],
        )
        .unwrap();
}

fn select(filter: ListFilter) -> Selection {
    Selection {
        filter,
        labelled: Vec::new(),
    }
}

/// Every item of the selection, as ids (`gap@MINUTE` for a gap, by when it ended).
fn ids(store: &Store, selection: &Selection) -> Vec<String> {
    let page = store.list_page(selection, 0, 1000).unwrap();
    assert_eq!(
        page.counts.items,
        page.items.len() as u64,
        "count and page agree"
    );
    page.items.iter().map(|(_, item)| name(item)).collect()
}

fn name(item: &Listed) -> String {
    match item {
        Listed::Alert { alert, .. } => alert.alert.id.clone(),
        Listed::Gap(gap) => format!("gap@{}", &gap.to.unwrap().to_rfc3339()[14..16]),
    }
}

/// Four reports from a (minutes 1..4), an assignment to me (minute 2, pinned), and a gap that ended at minute 3.
fn sample() -> Store {
    let store = Store::open_in_memory().unwrap();
    for (id, minute) in [("r1", 1), ("r2", 2), ("r3", 3), ("r4", 4)] {
        store.record(&server_a(), &alert(id, minute)).unwrap();
    }
    let mine = with(alert("mine", 2), |a| {
        a.fields.assigned_to_me = true;
        a.fields.kind = Kind::Assignment;
    });
    store.record(&server_a(), &mine).unwrap();
    gap(&store, &server_a(), 2, 3);
    store
}

#[test]
fn lists_assignments_to_me_first_then_newest_first_with_gaps_where_they_happened() {
    let store = sample();
    let all = select(ListFilter::default());
    // The gap ended at minute 3, as r3 arrived: the alert comes first.
    assert_eq!(
        ids(&store, &all),
        ["mine", "r4", "r3", "gap@03", "r2", "r1"]
    );
    let page = store.list_page(&all, 0, 10).unwrap();
    assert!(matches!(
        &page.items[0].1,
        Listed::Alert { pinned: true, .. }
    ));
    assert!(matches!(
        &page.items[1].1,
        Listed::Alert { pinned: false, .. }
    ));
    assert_eq!(
        (
            page.counts.items,
            page.counts.alerts,
            page.counts.pinned,
            page.counts.all
        ),
        (6, 5, 1, 5)
    );
    // Acknowledged, the assignment takes its place by time.
    store.acknowledge(Some(&server_a()), "mine").unwrap();
    // It arrived at minute 2 after r2: the later insert first.
    assert_eq!(
        ids(&store, &all),
        ["r4", "r3", "gap@03", "mine", "r2", "r1"]
    );
}

#[test]
fn equal_arrival_times_list_the_later_insert_first() {
    let store = Store::open_in_memory().unwrap();
    for id in ["x", "y", "z"] {
        store.record(&server_a(), &alert(id, 5)).unwrap();
    }
    assert_eq!(ids(&store, &select(ListFilter::default())), ["z", "y", "x"]);
}

#[test]
fn an_update_keeps_its_place_by_first_arrival() {
    let store = sample();
    let updated = with(alert("r1", 9), |a| {
        a.fields.title = "Ticket r1, updated".into();
    });
    store.record(&server_a(), &updated).unwrap();
    let all = select(ListFilter::default());
    assert_eq!(ids(&store, &all).last().unwrap(), "r1");
    let page = store.list_page(&all, 5, 1).unwrap();
    let Listed::Alert { alert, .. } = &page.items[0].1 else {
        panic!("an alert")
    };
    assert_eq!(alert.alert.fields.title, "Ticket r1, updated");
}

#[test]
fn filters_by_server_kind_priority_unread_and_text() {
    let store = sample();
    store
        .record(
            &server_b(),
            &with(alert("b1", 5), |a| {
                a.fields.priority = Priority::Critical;
                a.fields.title = "Schüsse gemeldet".into();
            }),
        )
        .unwrap();
    store.mark_read(Some(&server_a()), "r4").unwrap();
    let by = |filter: ListFilter| ids(&store, &select(filter));
    // The server filter keeps that server's gaps; the others hide gaps.
    assert_eq!(
        by(ListFilter {
            server: Some(server_a()),
            ..ListFilter::default()
        }),
        ["mine", "r4", "r3", "gap@03", "r2", "r1"]
    );
    assert_eq!(
        by(ListFilter {
            server: Some(server_b()),
            ..ListFilter::default()
        }),
        ["b1"]
    );
    assert_eq!(
        by(ListFilter {
            kind: Some(Kind::Assignment),
            ..ListFilter::default()
        }),
        ["mine"]
    );
    assert_eq!(
        by(ListFilter {
            min_priority: Some(Priority::High),
            ..ListFilter::default()
        }),
        ["b1"]
    );
    assert_eq!(
        by(ListFilter {
            unread_only: true,
            ..ListFilter::default()
        }),
        ["mine", "b1", "r3", "r2", "r1"]
    );
    // Text: title, body or id, in any case (Unicode too), trimmed.
    assert_eq!(
        by(ListFilter {
            text: "  SCHÜSSE ".into(),
            ..ListFilter::default()
        }),
        ["b1"]
    );
    assert_eq!(
        by(ListFilter {
            text: "R3".into(),
            ..ListFilter::default()
        }),
        ["r3"]
    );
    assert_eq!(
        by(ListFilter {
            text: "zone 4".into(),
            ..ListFilter::default()
        }),
        ["mine", "b1", "r4", "r3", "r2", "r1"]
    );
    // A server whose label contains the text: all its alerts.
    let labelled = Selection {
        filter: ListFilter {
            text: "station b".into(),
            ..ListFilter::default()
        },
        labelled: vec![server_b()],
    };
    assert_eq!(ids(&store, &labelled), ["b1"]);
    let page = store.list_page(&labelled, 0, 10).unwrap();
    assert_eq!((page.counts.alerts, page.counts.all), (1, 6));
}

#[test]
fn pages_cross_from_the_pinned_part_to_the_rest() {
    let store = sample();
    let all = select(ListFilter::default());
    let names = |offset, limit| -> Vec<String> {
        let page = store.list_page(&all, offset, limit).unwrap();
        assert_eq!(page.offset, offset);
        page.items.iter().map(|(_, i)| name(i)).collect()
    };
    assert_eq!(names(0, 2), ["mine", "r4"]);
    assert_eq!(names(1, 3), ["r4", "r3", "gap@03"]);
    assert_eq!(names(3, 10), ["gap@03", "r2", "r1"]);
    assert!(names(6, 10).is_empty());
}

#[test]
fn a_place_keeps_its_rows_in_view_as_new_alerts_arrive_above_it() {
    let store = sample();
    let all = select(ListFilter::default());
    let page = store.list_page(&all, 3, 2).unwrap();
    let (gap_place, r2_place) = (page.items[0].0, page.items[1].0);
    assert_eq!(store.list_position(&all, &gap_place).unwrap(), 3);
    assert_eq!(store.list_position(&all, &r2_place).unwrap(), 4);
    // Three new alerts, one of them an assignment to me: all above.
    for (id, minute) in [("n1", 10), ("n2", 11)] {
        store.record(&server_a(), &alert(id, minute)).unwrap();
    }
    let mine = with(alert("mine2", 12), |a| a.fields.assigned_to_me = true);
    store.record(&server_a(), &mine).unwrap();
    assert_eq!(store.list_position(&all, &gap_place).unwrap(), 6);
    assert_eq!(store.list_position(&all, &r2_place).unwrap(), 7);
    let again = store.list_page(&all, 7, 1).unwrap();
    assert_eq!(name(&again.items[0].1), "r2");
    // The row is gone (cleared): its place still says where it was.
    store.mark_read(Some(&server_a()), "r2").unwrap();
    store.clear_read().unwrap();
    assert_eq!(store.list_position(&all, &r2_place).unwrap(), 7);
    assert_eq!(name(&store.list_page(&all, 7, 1).unwrap().items[0].1), "r1");
    // A place in the pinned part counts only pinned items before it.
    let top = store.list_page(&all, 0, 2).unwrap();
    assert!(top.items[1].0.pinned);
    assert_eq!(store.list_position(&all, &top.items[1].0).unwrap(), 1);
    // Filtered, positions count only what the filter lists.
    let unread = select(ListFilter {
        unread_only: true,
        ..ListFilter::default()
    });
    let r1 = store
        .list_place(&unread, &server_a(), "r1")
        .unwrap()
        .unwrap();
    assert_eq!(
        ids(&store, &unread)
            .iter()
            .position(|id| id == "r1")
            .unwrap() as u64,
        store.list_position(&unread, &r1).unwrap()
    );
}

#[test]
fn finds_the_place_of_an_alert_only_when_the_filter_lists_it() {
    let store = sample();
    let all = select(ListFilter::default());
    let place = store.list_place(&all, &server_a(), "r3").unwrap().unwrap();
    assert_eq!(store.list_position(&all, &place).unwrap(), 2);
    let mine = store
        .list_place(&all, &server_a(), "mine")
        .unwrap()
        .unwrap();
    assert!(mine.pinned);
    let critical = select(ListFilter {
        min_priority: Some(Priority::Critical),
        ..ListFilter::default()
    });
    assert_eq!(
        store.list_place(&critical, &server_a(), "r3").unwrap(),
        None
    );
    assert_eq!(store.list_place(&all, &server_b(), "r3").unwrap(), None);
}

#[test]
fn positions_agree_with_pages_for_every_item() {
    let store = sample();
    for (id, minute) in [("p1", 3), ("p2", 3), ("p3", 2)] {
        store.record(&server_b(), &alert(id, minute)).unwrap();
    }
    gap(&store, &server_b(), 0, 3);
    for filter in [
        ListFilter::default(),
        ListFilter {
            server: Some(server_b()),
            ..ListFilter::default()
        },
        ListFilter {
            text: "ticket".into(),
            ..ListFilter::default()
        },
    ] {
        let selection = select(filter);
        let page = store.list_page(&selection, 0, 100).unwrap();
        for (index, (place, item)) in page.items.iter().enumerate() {
            let found: Place = *place;
            assert_eq!(
                store.list_position(&selection, &found).unwrap(),
                index as u64,
                "{} in {:?}",
                name(item),
                selection.filter
            );
        }
    }
}

#[test]
fn counts_and_pages_read_the_list_index_not_the_rows() {
    let store = sample();
    let plan = |sql: &str| -> String {
        let mut statement = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let count = plan("SELECT COUNT(*) FROM alerts INDEXED BY alerts_list WHERE kind = 'report'");
    assert!(count.contains("COVERING INDEX alerts_list"), "{count}");
    let pinned = plan(
        "SELECT first_received_at, rowid FROM alerts WHERE assigned_to_me = 1 AND acknowledged_at IS NULL \
         ORDER BY first_received_at DESC, rowid DESC",
    );
    assert!(pinned.contains("alerts_pinned"), "{pinned}");
}

#[test]
fn the_filter_matches_rows_that_are_not_in_the_history_the_same_way() {
    let a = server_a();
    let row = super::ListedAlert {
        server: &a,
        label: "Station 4",
        id: "r-1",
        kind: Kind::Report,
        priority: Priority::High,
        title: "Einbruch in der Straße",
        body: "Zone 4",
        read: false,
    };
    let filter = |change: fn(&mut ListFilter)| {
        let mut f = ListFilter::default();
        change(&mut f);
        f.matches(&row)
    };
    assert!(filter(|_| {}));
    assert!(filter(|f| f.text = "STRAßE".into()));
    assert!(filter(|f| f.text = "station".into()));
    assert!(!filter(|f| f.min_priority = Some(Priority::Critical)));
    assert!(filter(|f| f.min_priority = Some(Priority::High)));
    assert!(!filter(|f| f.kind = Some(Kind::Assignment)));
    assert!(!filter(|f| f.server = Some(server_b())));
    assert!(filter(|f| f.unread_only = true));
}
