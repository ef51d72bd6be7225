//! Policy tests: a recording notifier, and time under `tokio::time::pause` (`start_paused`).

use std::sync::Arc;

use chrono::NaiveTime;
use serde_json::json;
use tokio::time::{advance, Duration, Instant};

use super::{Action, Indicator, Now, Outcome, Policy};
use crate::alerting::notify::{
    AlertKey, Category, Expire, Notification, RecordingNotifier, Urgency,
};
use crate::config::settings::{AlertingSettings, QuietHours};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Timestamp};
use crate::link::LinkState;
use crate::store::Change;

const LABEL: &str = "Station 4";

fn server() -> ServerId {
    ServerId::from_stored("http://station4.example")
}

fn other() -> ServerId {
    ServerId::from_stored("http://station9.example")
}

/// Monotonic time from tokio's (paused) clock, and a local time of day that moves with it.
struct Clock {
    start: Instant,
    local: NaiveTime,
}

impl Clock {
    fn at(hour: u32, minute: u32) -> Self {
        Self {
            start: Instant::now(),
            local: NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
        }
    }

    fn now(&self) -> Now {
        let instant = Instant::now();
        let elapsed = chrono::Duration::from_std(instant - self.start).unwrap();
        Now {
            instant,
            local: self.local + elapsed,
        }
    }
}

fn setup(settings: AlertingSettings) -> (Policy, Arc<RecordingNotifier>, Clock) {
    let recorder = Arc::new(RecordingNotifier::new());
    let policy = Policy::new(settings, recorder.clone());
    (policy, recorder, Clock::at(14, 2))
}

fn alert(id: &str, priority: Priority) -> Alert {
    Alert {
        id: id.into(),
        profile: "test".into(),
        event: "call_created".into(),
        fields: AlertFields {
            kind: Kind::Report,
            title: format!("Call {id}"),
            body: "Main St 1".into(),
            priority,
            assigned_to_me: false,
        },
        notify: true,
        received_at: Timestamp::parse("2026-11-24T14:02:00.000Z").unwrap(),
        source: Source::Live,
        status: None,
        server_time: None,
        data: json!({"id": id}),
        stated: crate::domain::Stated::ALL,
    }
}

fn assigned(id: &str) -> Alert {
    let mut alert = alert(id, Priority::Normal);
    alert.fields.kind = Kind::Assignment;
    alert.fields.assigned_to_me = true;
    alert
}

fn change(previous: Priority, now: Priority) -> Change {
    Change {
        previous_kind: Kind::Report,
        kind: Kind::Report,
        previous_priority: previous,
        priority: now,
        previous_status: None,
        status: None,
        became_assigned_to_me: false,
        unassigned_from_me: false,
        title_changed: false,
        body_changed: false,
        data_changed: true,
        marked_unread: false,
        update_count: 1,
    }
}

fn key(id: &str) -> AlertKey {
    AlertKey::new(&server(), id)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn summaries(notifications: &[Notification]) -> Vec<&str> {
    notifications.iter().map(|n| n.summary.as_str()).collect()
}

#[tokio::test(start_paused = true)]
async fn critical_repeats_every_30_s_and_escalates_after_3_repeats() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let outcome = policy.on_alert(
        &server(),
        LABEL,
        &alert("C-1", Priority::Critical),
        None,
        clock.now(),
    );
    assert_eq!(outcome, Outcome::Notified);
    assert_eq!(recorder.count(), 1);
    assert_eq!(policy.next_deadline(), Some(clock.start + secs(30)));

    advance(secs(29)).await;
    assert!(policy.tick(clock.now()).is_empty());
    assert_eq!(recorder.count(), 1, "no repeat before 30 s");

    advance(secs(1)).await;
    assert!(policy.tick(clock.now()).is_empty());
    advance(secs(30)).await;
    assert!(policy.tick(clock.now()).is_empty());
    advance(secs(30)).await;
    assert_eq!(
        policy.tick(clock.now()),
        [Action::Escalate { key: key("C-1") }],
        "the third repeat escalates"
    );
    advance(secs(30)).await;
    assert!(policy.tick(clock.now()).is_empty(), "escalates once");

    let shown = recorder.shown_with_ids();
    let repeats: Vec<u32> = shown.iter().map(|(_, n)| n.repeat).collect();
    assert_eq!(repeats, [0, 1, 2, 3, 4]);
    assert!(
        shown.iter().all(|(_, n)| n.sound.is_some()),
        "every repeat sounds"
    );
    // Each repeat replaces the one before on screen.
    let ids: Vec<_> = shown.iter().map(|(id, _)| *id).collect();
    assert_eq!(recorder.closed(), ids[..4]);
}

#[tokio::test(start_paused = true)]
async fn assignments_to_me_repeat_and_other_alerts_do_not() {
    let (mut policy, recorder, clock) = setup(AlertingSettings {
        repeat_every_secs: 10,
        ..AlertingSettings::default()
    });
    policy.on_alert(
        &server(),
        LABEL,
        &alert("N-1", Priority::High),
        None,
        clock.now(),
    );
    policy.on_alert(&server(), LABEL, &assigned("A-1"), None, clock.now());
    assert_eq!(recorder.count(), 2);
    assert_eq!(policy.repeating(), [key("A-1")]);
    advance(secs(10)).await;
    policy.tick(clock.now());
    let shown = recorder.shown();
    assert_eq!(shown.len(), 3);
    assert_eq!(shown[2].alert, Some(key("A-1")));
    assert_eq!(shown[2].repeat, 1);
}

#[tokio::test(start_paused = true)]
async fn acknowledging_stops_repeats_and_closes_the_notification() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.on_alert(
        &server(),
        LABEL,
        &alert("C-1", Priority::Critical),
        None,
        clock.now(),
    );
    advance(secs(30)).await;
    policy.tick(clock.now());
    assert_eq!(recorder.count(), 2);
    let on_screen = recorder.shown_with_ids()[1].0;

    advance(secs(10)).await;
    policy.on_acknowledged(&key("C-1"));
    assert_eq!(recorder.closed().last(), Some(&on_screen));
    assert!(policy.repeating().is_empty());
    assert_eq!(policy.next_deadline(), None);
    for _ in 0..5 {
        advance(secs(30)).await;
        assert!(policy.tick(clock.now()).is_empty());
    }
    assert_eq!(recorder.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn reading_stops_repeats() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.on_alert(
        &server(),
        LABEL,
        &alert("C-1", Priority::Critical),
        None,
        clock.now(),
    );
    policy.on_alert(&server(), LABEL, &assigned("A-1"), None, clock.now());
    policy.on_read(&key("A-1"));
    advance(secs(30)).await;
    policy.tick(clock.now());
    let shown = recorder.shown();
    assert_eq!(shown.len(), 3, "only the unread critical alert repeats");
    assert_eq!(shown[2].alert, Some(key("C-1")));
    // Another server's alert with the same id is a different alert.
    policy.on_read(&AlertKey::new(&other(), "C-1"));
    assert_eq!(policy.repeating(), [key("C-1")]);
}

#[tokio::test(start_paused = true)]
async fn below_the_threshold_every_alert_notifies() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    for i in 0..4 {
        let outcome = policy.on_alert(
            &server(),
            LABEL,
            &alert(&format!("R-{i}"), Priority::Normal),
            None,
            clock.now(),
        );
        assert_eq!(outcome, Outcome::Notified);
        advance(Duration::from_millis(200)).await;
    }
    advance(secs(1)).await;
    policy.tick(clock.now());
    let shown = recorder.shown();
    assert_eq!(shown.len(), 4);
    assert!(shown.iter().all(|n| n.category.is_alert()));
}

#[tokio::test(start_paused = true)]
async fn a_burst_beyond_the_threshold_becomes_one_summary() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let mut outcomes = Vec::new();
    for i in 0..30 {
        let outcome = policy.on_alert(
            &server(),
            LABEL,
            &alert(&format!("R-{i}"), Priority::Normal),
            None,
            clock.now(),
        );
        outcomes.push(outcome);
        advance(Duration::from_millis(30)).await;
    }
    assert!(outcomes[..5].iter().all(|o| *o == Outcome::Notified));
    assert!(outcomes[5..].iter().all(|o| *o == Outcome::Coalesced));
    assert_eq!(
        recorder.count(),
        5,
        "the summary waits for the end of the burst"
    );
    assert_eq!(policy.next_deadline(), Some(clock.start + secs(1)));

    advance(secs(1)).await;
    policy.tick(clock.now());
    let shown = recorder.take();
    assert_eq!(shown.len(), 6);
    let summary = &shown[5];
    assert_eq!(summary.category, Category::Summary);
    assert_eq!(summary.summary, "25 new reports");
    assert!(summary.body.starts_with("25 reports"), "{}", summary.body);
    assert!(summary.sound.is_some() && summary.alert.is_none());

    // The next second is a new burst: it notifies again.
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("R-99", Priority::Low),
            None,
            clock.now()
        ),
        Outcome::Notified
    );
    advance(secs(2)).await;
    policy.tick(clock.now());
    assert_eq!(
        recorder.count(),
        1,
        "no summary for a burst with nothing folded"
    );
}

#[tokio::test(start_paused = true)]
async fn overrides_inside_a_burst_keep_their_own_notification() {
    let (mut policy, recorder, clock) = setup(AlertingSettings {
        coalesce_above: 3,
        ..AlertingSettings::default()
    });
    for i in 0..20 {
        let id = format!("R-{i}");
        let a = match i {
            10 => alert(&id, Priority::Critical),
            15 => assigned(&id),
            12 => {
                let mut a = alert(&id, Priority::High);
                a.fields.kind = Kind::Alert;
                a
            }
            _ => alert(&id, Priority::Normal),
        };
        policy.on_alert(&server(), LABEL, &a, None, clock.now());
    }
    // The summary also goes out when the next alert comes after the burst.
    advance(secs(1)).await;
    policy.on_alert(
        &server(),
        LABEL,
        &alert("late", Priority::Normal),
        None,
        clock.now(),
    );
    let shown = recorder.shown();
    let individual: Vec<_> = shown
        .iter()
        .filter(|n| n.category.is_alert())
        .filter_map(|n| n.alert.as_ref().map(|k| k.id.as_str()))
        .collect();
    assert_eq!(individual, ["R-0", "R-1", "R-2", "R-10", "R-15", "late"]);
    let summary = shown
        .iter()
        .find(|n| n.category == Category::Summary)
        .unwrap();
    assert_eq!(summary.summary, "15 new alerts");
    assert!(
        summary.body.starts_with("1 alert, 14 reports"),
        "{}",
        summary.body
    );
    assert_eq!(
        summary.sound.as_ref().unwrap().name,
        "high",
        "the loudest folded priority"
    );
}

#[tokio::test(start_paused = true)]
async fn quiet_hours_hold_back_all_but_critical_and_assigned_to_me() {
    let settings = AlertingSettings {
        quiet_hours: Some(QuietHours {
            from: "22:00".into(),
            to: "06:00".into(),
        }),
        ..AlertingSettings::default()
    };
    let (mut policy, recorder, _) = setup(settings);
    let night = Clock::at(23, 30);
    assert_eq!(
        policy.indicator(night.now()),
        Indicator::QuietHours {
            until: NaiveTime::from_hms_opt(6, 0, 0).unwrap()
        }
    );
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-1", Priority::High),
            None,
            night.now()
        ),
        Outcome::Suppressed
    );
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("C-1", Priority::Critical),
            None,
            night.now()
        ),
        Outcome::Notified
    );
    assert_eq!(
        policy.on_alert(&server(), LABEL, &assigned("A-1"), None, night.now()),
        Outcome::Notified
    );
    assert_eq!(
        summaries(&recorder.take()),
        ["Report: Call C-1", "Assignment: Call A-1"]
    );

    let after_midnight = Clock::at(5, 59);
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-2", Priority::Normal),
            None,
            after_midnight.now()
        ),
        Outcome::Suppressed
    );
    let morning = Clock::at(6, 0);
    assert_eq!(policy.indicator(morning.now()), Indicator::Normal);
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-3", Priority::Normal),
            None,
            morning.now()
        ),
        Outcome::Notified
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_back_until_it_expires() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let until = clock.start + secs(600);
    policy.pause(Some(until));
    assert_eq!(
        policy.indicator(clock.now()),
        Indicator::Paused { until: Some(until) }
    );
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-1", Priority::Normal),
            None,
            clock.now()
        ),
        Outcome::Suppressed
    );
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("C-1", Priority::Critical),
            None,
            clock.now()
        ),
        Outcome::Notified
    );
    policy.on_acknowledged(&key("C-1"));
    assert_eq!(policy.next_deadline(), Some(until));

    advance(secs(599)).await;
    assert!(policy.tick(clock.now()).is_empty());
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-2", Priority::Normal),
            None,
            clock.now()
        ),
        Outcome::Suppressed
    );
    advance(secs(1)).await;
    assert_eq!(
        policy.tick(clock.now()),
        [Action::Indicator(Indicator::Normal)]
    );
    assert_eq!(
        policy.on_alert(
            &server(),
            LABEL,
            &alert("N-3", Priority::Normal),
            None,
            clock.now()
        ),
        Outcome::Notified
    );
    assert_eq!(recorder.count(), 2);

    policy.pause(None);
    advance(secs(86_400)).await;
    policy.tick(clock.now());
    assert_eq!(
        policy.indicator(clock.now()),
        Indicator::Paused { until: None }
    );
    policy.resume();
    assert_eq!(policy.indicator(clock.now()), Indicator::Normal);
}

#[tokio::test(start_paused = true)]
async fn silence_everything_holds_back_all_and_shows_the_indicator() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.set_silence_everything(true);
    assert_eq!(policy.indicator(clock.now()), Indicator::SilenceEverything);
    for a in [
        alert("N-1", Priority::Normal),
        alert("C-1", Priority::Critical),
        alert("C-2", Priority::Critical),
        assigned("A-1"),
    ] {
        assert_eq!(
            policy.on_alert(&server(), LABEL, &a, None, clock.now()),
            Outcome::Suppressed
        );
    }
    policy.on_link_state(
        &server(),
        LABEL,
        &LinkState::AuthFailed {
            reason: "401".into(),
        },
        clock.now(),
    );
    advance(secs(120)).await;
    assert!(policy.tick(clock.now()).is_empty());
    assert_eq!(recorder.count(), 0);
    assert_eq!(policy.indicator(clock.now()), Indicator::SilenceEverything);

    // Off again: the overrides still unanswered are notified, the others are not.
    policy.on_read(&key("C-2"));
    policy.set_silence_everything(false);
    assert_eq!(policy.indicator(clock.now()), Indicator::Normal);
    policy.tick(clock.now());
    let shown = recorder.shown();
    let ids: Vec<_> = shown
        .iter()
        .filter_map(|n| n.alert.as_ref())
        .filter(|k| !k.is_server())
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(ids, ["A-1", "C-1"]);
    assert!(shown.iter().all(|n| n.repeat == 0));
    // The link alarm held back is raised now, once.
    let links: Vec<_> = shown
        .iter()
        .filter(|n| n.category == Category::Link)
        .collect();
    assert_eq!(links.len(), 1);
    assert!(
        links[0].summary.contains("sign in again"),
        "{}",
        links[0].summary
    );
    // Its one button signs in again, and a click on it reaches the server.
    assert_eq!(
        links[0].actions[0].0,
        crate::alerting::notify::ACTION_SIGN_IN
    );
    assert!(links[0].alert.as_ref().is_some_and(AlertKey::is_server));
    advance(secs(30)).await;
    policy.tick(clock.now());
    assert_eq!(
        recorder
            .shown()
            .iter()
            .filter(|n| n.category == Category::Link)
            .count(),
        1
    );
}

fn reconnecting() -> LinkState {
    LinkState::Reconnecting {
        retry_in_ms: 2000,
        reason: "connection refused".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn link_alarm_once_after_60_s_and_one_notice_when_back() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    policy.on_link_state(&server(), LABEL, &reconnecting(), clock.now());
    assert_eq!(policy.next_deadline(), Some(clock.start + secs(60)));
    advance(secs(59)).await;
    policy.on_link_state(&server(), LABEL, &reconnecting(), clock.now());
    policy.tick(clock.now());
    assert_eq!(recorder.count(), 0, "not at 59 s");

    advance(secs(1)).await;
    policy.tick(clock.now());
    assert_eq!(recorder.count(), 1, "at 60 s");
    for _ in 0..10 {
        advance(secs(30)).await;
        policy.on_link_state(&server(), LABEL, &reconnecting(), clock.now());
        policy.tick(clock.now());
    }
    let shown = recorder.shown_with_ids();
    assert_eq!(shown.len(), 1, "exactly one alarm");
    let (alarm_id, alarm) = &shown[0];
    assert_eq!(
        alarm.summary,
        "No connection to Station 4 since 14:02 — alerts may be missed"
    );
    assert_eq!(alarm.category, Category::Link);
    assert_eq!(
        (alarm.urgency, alarm.expire),
        (Urgency::Critical, Expire::Never)
    );

    policy.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    policy.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    let shown = recorder.shown();
    assert_eq!(
        summaries(&shown),
        [alarm.summary.as_str(), "Connection to Station 4 is back"]
    );
    assert_eq!(recorder.closed(), [*alarm_id]);
}

#[tokio::test(start_paused = true)]
async fn short_outages_polling_and_off_duty_raise_no_alarm() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.on_link_state(&server(), LABEL, &LinkState::Connecting, clock.now());
    advance(secs(45)).await;
    policy.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    advance(secs(100)).await;
    policy.tick(clock.now());

    // Polling delivers alerts: degraded, not unreachable.
    policy.on_link_state(&server(), LABEL, &reconnecting(), clock.now());
    advance(secs(30)).await;
    policy.on_link_state(
        &server(),
        LABEL,
        &LinkState::Polling {
            every_s: 15,
            reason: "websocket refused".into(),
        },
        clock.now(),
    );
    advance(secs(300)).await;
    policy.tick(clock.now());
    assert_eq!(policy.next_deadline(), None);

    // Stopped on request is not an outage.
    policy.on_link_state(&other(), "Station 9", &reconnecting(), clock.now());
    policy.on_link_state(&other(), "Station 9", &LinkState::Stopped, clock.now());
    advance(secs(300)).await;
    policy.tick(clock.now());
    assert_eq!(recorder.count(), 0);

    let (mut off_duty, recorder, clock) = setup(AlertingSettings {
        on_duty: false,
        ..AlertingSettings::default()
    });
    off_duty.on_link_state(&server(), LABEL, &reconnecting(), clock.now());
    off_duty.on_link_state(
        &other(),
        "Station 9",
        &LinkState::AuthFailed {
            reason: "401".into(),
        },
        clock.now(),
    );
    advance(secs(600)).await;
    off_duty.tick(clock.now());
    off_duty.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    assert_eq!(recorder.count(), 0);
    assert_eq!(off_duty.next_deadline(), None);

    // Going on duty while Station 9 is still signed out raises its alarm.
    off_duty.set_settings(AlertingSettings::default()).unwrap();
    off_duty.tick(clock.now());
    assert_eq!(
        summaries(&recorder.shown()),
        ["Signed out of Station 9 — sign in again"]
    );
}

#[tokio::test(start_paused = true)]
async fn rejected_credentials_alarm_at_once() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    policy.on_link_state(
        &server(),
        LABEL,
        &LinkState::AuthFailed {
            reason: "401".into(),
        },
        clock.now(),
    );
    let shown = recorder.shown();
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].summary.contains("sign in again"),
        "{}",
        shown[0].summary
    );
    assert_eq!(shown[0].urgency, Urgency::Critical);
    advance(secs(120)).await;
    policy.tick(clock.now());
    policy.on_link_state(
        &server(),
        LABEL,
        &LinkState::AuthFailed {
            reason: "401".into(),
        },
        clock.now(),
    );
    assert_eq!(recorder.count(), 1);
    policy.on_link_state(&server(), LABEL, &LinkState::Live, clock.now());
    assert_eq!(
        recorder.shown()[1].summary,
        "Connection to Station 4 is back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_session_ending_is_said_once_and_signing_in_again_takes_it_away() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let ends = NaiveTime::from_hms_opt(14, 30, 0).unwrap();
    policy.on_session_ending(&server(), LABEL, ends, false);
    policy.on_session_ending(&server(), LABEL, ends, false);
    let shown = recorder.shown_with_ids();
    assert_eq!(shown.len(), 1, "said once");
    let (warning, n) = &shown[0];
    assert_eq!(
        n.summary,
        "Sign in again to Station 4: the session ends at 14:30"
    );
    assert_eq!(
        (n.urgency, n.expire, n.category),
        (Urgency::Critical, Expire::Never, Category::Link)
    );
    assert_eq!(
        n.actions,
        [(
            crate::alerting::notify::ACTION_SIGN_IN.to_string(),
            "Sign in again".to_string()
        )]
    );
    assert_eq!(n.alert, Some(AlertKey::of_server(&server())));
    assert!(n.sound.is_some());
    // Signed in again: it goes.
    policy.on_session_renewed(&server());
    assert_eq!(recorder.closed(), [*warning]);

    // Said again for the next token, and replaced by the sign-out alarm when the server refuses it.
    policy.on_session_ending(&server(), LABEL, ends, true);
    let (second, n) = recorder.shown_with_ids()[1].clone();
    assert!(
        n.summary.ends_with("the session ended at 14:30"),
        "{}",
        n.summary
    );
    policy.on_link_state(
        &server(),
        LABEL,
        &LinkState::AuthFailed {
            reason: "jwt expired".into(),
        },
        clock.now(),
    );
    assert_eq!(recorder.closed(), [*warning, second]);
    assert_eq!(recorder.count(), 3);

    // Off duty or silenced: not notified (the window still says it).
    let (mut off, recorder, _) = setup(AlertingSettings {
        on_duty: false,
        ..AlertingSettings::default()
    });
    off.on_session_ending(&server(), LABEL, ends, false);
    off.set_silence_everything(true);
    off.set_settings(AlertingSettings::default()).unwrap();
    off.on_session_ending(&server(), LABEL, ends, false);
    assert_eq!(recorder.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn updates_notify_only_when_they_matter() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let mut a = alert("R-1", Priority::Normal);
    a.status = Some("open".into());
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, None, clock.now()),
        Outcome::Notified
    );

    // A new title: the list updates, nobody is disturbed.
    let mut silent = change(Priority::Normal, Priority::Normal);
    silent.title_changed = true;
    a.fields.title = "Call R-1 (details)".into();
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&silent), clock.now()),
        Outcome::Silent
    );

    a.fields.priority = Priority::High;
    let raised = change(Priority::Normal, Priority::High);
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&raised), clock.now()),
        Outcome::Notified
    );
    let lowered = change(Priority::High, Priority::Low);
    a.fields.priority = Priority::Low;
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&lowered), clock.now()),
        Outcome::Silent
    );

    a.fields.assigned_to_me = true;
    let mut became = change(Priority::Low, Priority::Low);
    became.became_assigned_to_me = true;
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&became), clock.now()),
        Outcome::Notified
    );
    assert_eq!(policy.repeating(), [key("R-1")]);

    // The record is closed (its status, wherever the profile found it): notified once, and it stops repeating.
    a.status = Some("Closed".into());
    let mut closed = change(Priority::Low, Priority::Low);
    closed.previous_status = Some("open".into());
    closed.status = Some("Closed".into());
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&closed), clock.now()),
        Outcome::Notified
    );
    assert!(policy.repeating().is_empty());
    // Seen again closed (a catch-up), even with a higher priority or assigned to me: quiet, no repeats.
    a.fields.body = "Main St 1, cleared".into();
    a.fields.priority = Priority::Critical;
    let mut again = change(Priority::Low, Priority::Critical);
    again.previous_status = Some("closed".into());
    again.status = Some("Closed".into());
    again.became_assigned_to_me = true;
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&again), clock.now()),
        Outcome::Silent
    );
    assert!(policy.repeating().is_empty());

    // A status that is not terminal is a silent update.
    let mut b = alert("R-2", Priority::Normal);
    b.status = Some("en route".into());
    let mut moved = change(Priority::Normal, Priority::Normal);
    moved.previous_status = Some("open".into());
    moved.status = Some("en route".into());
    assert_eq!(
        policy.on_alert(&server(), LABEL, &b, Some(&moved), clock.now()),
        Outcome::Silent
    );
    // A new alert the profile does not want notified.
    let quiet = Alert {
        notify: false,
        ..alert("I-1", Priority::Normal)
    };
    assert_eq!(
        policy.on_alert(&server(), LABEL, &quiet, None, clock.now()),
        Outcome::Silent
    );

    let bodies: Vec<String> = recorder.shown().into_iter().map(|n| n.body).collect();
    assert_eq!(bodies.len(), 4);
    assert!(
        bodies[1].starts_with("Priority raised to high.\n"),
        "{}",
        bodies[1]
    );
    assert!(bodies[2].starts_with("Assigned to you.\n"), "{}", bodies[2]);
    assert!(bodies[3].starts_with("Status: Closed.\n"), "{}", bodies[3]);
}

#[tokio::test(start_paused = true)]
async fn a_silent_update_keeps_repeating_with_the_latest_version() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let mut a = alert("C-1", Priority::Critical);
    policy.on_alert(&server(), LABEL, &a, None, clock.now());
    a.fields.title = "Call C-1: shots fired".into();
    let mut retitled = change(Priority::Critical, Priority::Critical);
    retitled.title_changed = true;
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, Some(&retitled), clock.now()),
        Outcome::Silent
    );
    advance(secs(30)).await;
    policy.tick(clock.now());
    let shown = recorder.shown();
    assert_eq!(shown[1].summary, "Report: Call C-1: shots fired");
    assert_eq!(shown[1].repeat, 1);

    // No longer critical nor mine: no more repeats.
    a.fields.priority = Priority::High;
    policy.on_alert(
        &server(),
        LABEL,
        &a,
        Some(&change(Priority::Critical, Priority::High)),
        clock.now(),
    );
    assert!(policy.repeating().is_empty());
}

#[tokio::test(start_paused = true)]
async fn notifications_carry_urgency_sound_and_actions() {
    let settings = AlertingSettings {
        volume: 55,
        tones: crate::config::settings::ToneSettings {
            low: "none".into(),
            ..Default::default()
        },
        ..AlertingSettings::default()
    };
    let (mut policy, recorder, clock) = setup(settings);
    for (id, priority) in [
        ("L", Priority::Low),
        ("N", Priority::Normal),
        ("H", Priority::High),
        ("C", Priority::Critical),
    ] {
        policy.on_alert(&server(), LABEL, &alert(id, priority), None, clock.now());
    }
    let shown = recorder.shown();
    let urgencies: Vec<_> = shown.iter().map(|n| n.urgency).collect();
    assert_eq!(
        urgencies,
        [
            Urgency::Low,
            Urgency::Normal,
            Urgency::Normal,
            Urgency::Critical
        ]
    );
    let tones: Vec<_> = shown
        .iter()
        .map(|n| n.sound.as_ref().map(|t| (t.name.as_str(), t.volume)))
        .collect();
    assert_eq!(
        tones,
        [
            None,
            Some(("normal", 55)),
            Some(("high", 55)),
            Some(("critical", 55))
        ]
    );
    let critical = &shown[3];
    assert_eq!(critical.expire, Expire::Never);
    assert_eq!(shown[1].expire, Expire::Default);
    assert_eq!(critical.summary, "Report: Call C");
    assert_eq!(critical.body, "Main St 1\nStation 4");
    assert_eq!(critical.alert, Some(key("C")));
    let actions: Vec<_> = critical
        .actions
        .iter()
        .map(|(k, l)| (k.as_str(), l.as_str()))
        .collect();
    assert_eq!(actions, [("acknowledge", "Acknowledge"), ("open", "Open")]);
}

#[test]
fn settings_that_silence_critical_are_refused_without_confirmation() {
    let recorder = Arc::new(RecordingNotifier::new());
    let mut policy = Policy::new(AlertingSettings::default(), recorder);
    let mut muted = AlertingSettings {
        volume: 0,
        ..AlertingSettings::default()
    };
    let err = policy.set_settings(muted.clone()).unwrap_err();
    assert!(err.contains("confirm_silence_critical"), "{err}");
    assert_eq!(policy.settings().volume, 80);
    muted.confirm_silence_critical = true;
    policy.set_settings(muted).unwrap();
    assert_eq!(policy.settings().volume, 0);
}

#[tokio::test(start_paused = true)]
async fn a_record_first_seen_closed_is_told_once_and_never_repeats() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let mut a = alert("R-9", Priority::Critical);
    a.status = Some("completed".into());
    assert_eq!(
        policy.on_alert(&server(), LABEL, &a, None, clock.now()),
        Outcome::Notified
    );
    assert!(
        policy.repeating().is_empty(),
        "a closed record never repeats"
    );
    assert!(recorder.shown()[0].body.starts_with("Status: completed.\n"));
    tokio::time::advance(secs(120)).await;
    policy.tick(clock.now());
    assert_eq!(recorder.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn notifications_offer_acknowledge_the_first_two_responses_and_open() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    let offered = |name: &str, label: &str, kinds: Vec<Kind>| super::Offered {
        name: name.into(),
        label: label.into(),
        kinds,
    };
    policy.set_responses(
        &server(),
        vec![
            offered("resolve", "Resolved", vec![Kind::Alert]),
            offered("en_route", "En route", Vec::new()),
            offered("on_scene", "On scene", vec![Kind::Report]),
            offered("unable", "Unable", Vec::new()),
        ],
    );
    policy.on_alert(
        &server(),
        LABEL,
        &alert("R-1", Priority::High),
        None,
        clock.now(),
    );
    policy.on_alert(
        &other(),
        LABEL,
        &alert("R-2", Priority::High),
        None,
        clock.now(),
    );
    let actions: Vec<Vec<String>> = recorder
        .shown()
        .iter()
        .map(|n| n.actions.iter().map(|(key, _)| key.clone()).collect())
        .collect();
    assert_eq!(
        actions[0],
        [
            "acknowledge",
            "respond:en_route",
            "respond:on_scene",
            "open"
        ],
        "the first two that fit a report"
    );
    assert_eq!(
        actions[1],
        ["acknowledge", "open"],
        "another server's profile offers none"
    );
    policy.set_responses(&server(), Vec::new());
    policy.on_alert(
        &server(),
        LABEL,
        &alert("R-3", Priority::High),
        None,
        clock.now(),
    );
    assert_eq!(recorder.shown()[2].actions.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_summary_of_one_says_one() {
    let (mut policy, recorder, clock) = setup(AlertingSettings::default());
    for i in 0..6 {
        policy.on_alert(
            &server(),
            LABEL,
            &alert(&format!("R-{i}"), Priority::Normal),
            None,
            clock.now(),
        );
    }
    tokio::time::advance(secs(1)).await;
    policy.tick(clock.now());
    let shown = recorder.take();
    assert_eq!(shown[5].summary, "1 new report");
    assert_eq!(shown[5].body, "1 report. Open Alertdesk to see it.");
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_critical_alerts_is_summarised_and_repeats_as_one() {
    let settings = AlertingSettings {
        flood_above: 10,
        repeat_every_secs: 30,
        ..AlertingSettings::default()
    };
    let (mut policy, recorder, clock) = setup(settings);
    // Thirty critical alerts, one every 200 ms: more than a burst window, inside the flood window.
    let mut outcomes = Vec::new();
    for i in 0..30 {
        outcomes.push(policy.on_alert(
            &server(),
            LABEL,
            &alert(&format!("C-{i}"), Priority::Critical),
            None,
            clock.now(),
        ));
        tokio::time::advance(Duration::from_millis(200)).await;
        policy.tick(clock.now());
    }
    assert!(
        outcomes[..10].iter().all(|o| *o == Outcome::Notified),
        "{outcomes:?}"
    );
    assert!(
        outcomes[10..].iter().all(|o| *o == Outcome::Coalesced),
        "{outcomes:?}"
    );
    tokio::time::advance(secs(1)).await;
    policy.tick(clock.now());
    let shown = recorder.take();
    let own = shown.iter().filter(|n| n.alert.is_some()).count();
    let summaries: Vec<&Notification> = shown
        .iter()
        .filter(|n| n.category == Category::Summary)
        .collect();
    assert_eq!(own, 10, "only the first ten on their own");
    let folded: usize = summaries
        .iter()
        .map(|n| {
            n.summary
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(folded, 20, "the other twenty summarised: {summaries:?}");
    assert!(summaries
        .iter()
        .all(|n| n.urgency == Urgency::Critical && n.expire == Expire::Never));
    assert_eq!(
        policy.repeating_count(),
        30,
        "every one still waits for an answer"
    );

    // The repeats: one collective notification, not thirty.
    tokio::time::advance(secs(30)).await;
    policy.tick(clock.now());
    let repeated = recorder.take();
    assert_eq!(
        summaries_of(&repeated),
        ["30 critical alerts not acknowledged"]
    );
    tokio::time::advance(secs(30)).await;
    policy.tick(clock.now());
    let again = recorder.take();
    assert_eq!(
        summaries_of(&again),
        ["30 critical alerts not acknowledged"]
    );
    assert!(
        !recorder.closed().is_empty(),
        "the previous collective one is replaced"
    );

    // Answered down to the threshold: individual repeats again.
    for i in 0..20 {
        policy.on_acknowledged(&key(&format!("C-{i}")));
    }
    tokio::time::advance(secs(30)).await;
    policy.tick(clock.now());
    let individual = recorder.take();
    assert_eq!(individual.len(), 10);
    assert!(individual.iter().all(|n| n.alert.is_some()));
}

fn summaries_of(notifications: &[Notification]) -> Vec<&str> {
    notifications.iter().map(|n| n.summary.as_str()).collect()
}
