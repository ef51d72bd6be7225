//! The Socket.IO transport: packets one by one, and whole handshakes against a scripted server.

use serde_json::json;

use super::*;
use crate::link::protocol::sio_frame::parse_message;
use crate::link::protocol::{Heartbeat, Limits, Recovery};

fn spec() -> LinkSpec {
    LinkSpec {
        url: "ws://127.0.0.1:1/socket.io/?EIO=4&transport=websocket"
            .parse()
            .unwrap(),
        headers: Vec::new(),
        namespace: "/".into(),
        auth: Some(json!({"token": "t"})),
        emits: Vec::new(),
        heartbeat: Heartbeat::default(),
        limits: Limits::default(),
        recovery: None,
        net: crate::link::net::Net::for_tests(),
    }
}

fn step(text: &str) -> Step {
    handle(parse_message(text).unwrap(), &spec(), &mut 0, false)
}

fn message(event: &str, payload: Value, offset: Option<&str>) -> LinkEvent {
    LinkEvent::Message {
        event: Some(event.into()),
        payload,
        offset: offset.map(str::to_string),
    }
}

#[test]
fn answers_pings_and_acks_events() {
    assert_eq!(step("2"), Step::Reply("3".into()));
    assert_eq!(
        step(r#"42["report:new",{"id":1}]"#),
        Step::Deliver(message("report:new", json!({"id": 1}), None), None)
    );
    assert_eq!(
        step(r#"427["ev",1,2]"#),
        Step::Deliver(message("ev", json!([1, 2]), None), Some("437[]".into()))
    );
}

#[test]
fn rejection_disconnect_and_other_namespaces() {
    assert_eq!(
        step(r#"44{"message":"Unauthorized"}"#),
        Step::End(LinkEnd::Rejected("CONNECT_ERROR: Unauthorized".into()))
    );
    // Only a refusal of the credentials ends the link for good; other CONNECT_ERRORs are tried again.
    for refused in [
        "invalid token",
        "jwt expired",
        "Authentication error",
        "Forbidden",
    ] {
        assert_eq!(
            step(&format!(r#"44{{"message":"{refused}"}}"#)),
            Step::End(LinkEnd::Rejected(format!("CONNECT_ERROR: {refused}"))),
        );
    }
    for other in ["Invalid namespace", "server busy", "Internal error"] {
        assert_eq!(
            step(&format!(r#"44{{"message":"{other}"}}"#)),
            Step::End(LinkEnd::Closed(format!("CONNECT_ERROR: {other}"))),
        );
    }
    assert_eq!(
        step("41"),
        Step::End(LinkEnd::Closed("server disconnected us".into()))
    );
    assert_eq!(step(r#"42/admin,["x",1]"#), Step::Continue);
    assert_eq!(
        step("1"),
        Step::End(LinkEnd::Closed(
            "server closed the Engine.IO session".into()
        ))
    );
}

#[test]
fn binary_packets_are_skipped_with_their_attachments() {
    let mut skip = 0;
    let packet = parse_message(
        r#"452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .unwrap();
    assert_eq!(handle(packet, &spec(), &mut skip, false), Step::Continue);
    assert_eq!(skip, 2);
}

#[test]
fn offsets_come_off_the_payload_when_recovery_is_on() {
    let packet = parse_message(r#"42["alert:new",{"id":"a1"},"offset-7"]"#).unwrap();
    assert_eq!(
        handle(packet, &spec(), &mut 0, true),
        Step::Deliver(
            message("alert:new", json!({"id": "a1"}), Some("offset-7")),
            None
        )
    );
    let packet = parse_message(r#"42["alert:new",{"id":"a1"},"not an offset"]"#).unwrap();
    let Step::Deliver(
        LinkEvent::Message {
            payload,
            offset: None,
            ..
        },
        _,
    ) = handle(packet, &spec(), &mut 0, false)
    else {
        panic!("expected a message")
    };
    assert_eq!(payload, json!([{"id": "a1"}, "not an offset"]));
}

#[test]
fn resuming_sends_pid_and_offset_with_the_auth() {
    let mut spec = spec();
    assert_eq!(connect_payload(&spec), Some(json!({"token": "t"})));
    spec.recovery = Some(Recovery {
        pid: "p1".into(),
        offset: "o9".into(),
    });
    assert_eq!(
        connect_payload(&spec),
        Some(json!({"token": "t", "pid": "p1", "offset": "o9"}))
    );
}

/// Runs the transport against `server` with `spec`, collecting what it reports until it ends or `within` passes.
async fn run_against(
    server: &crate::link::protocol::test_sio::TestSio,
    mut spec: LinkSpec,
    within: std::time::Duration,
) -> (Vec<LinkEvent>, Option<LinkEnd>) {
    spec.url = server.ws_url();
    let (tx, mut rx) = mpsc::channel(1024);
    let task = tokio::spawn(async move { SocketIo.run(&spec, &tx).await });
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        events.push(event);
    }
    let end = if task.is_finished() {
        task.await.ok()
    } else {
        task.abort();
        None
    };
    (events, end)
}

#[tokio::test]
async fn a_connect_error_ends_the_run_as_a_refusal_only_when_it_is_about_credentials() {
    use crate::link::protocol::test_sio::TestSio;
    let server = TestSio::start(vec![
        vec![r#"44{"message":"server busy"}"#.into()],
        vec![r#"44{"message":"invalid token"}"#.into()],
    ])
    .await;
    let within = std::time::Duration::from_secs(5);
    let (events, end) = run_against(&server, spec(), within).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(
        end,
        Some(LinkEnd::Closed("CONNECT_ERROR: server busy".into()))
    );
    let (_, end) = run_against(&server, spec(), within).await;
    assert_eq!(
        end,
        Some(LinkEnd::Rejected("CONNECT_ERROR: invalid token".into()))
    );
}

#[tokio::test]
async fn events_before_the_connect_answer_are_bounded_and_past_the_bound_it_is_no_recovery() {
    use crate::link::protocol::test_sio::TestSio;
    let replay = |n: usize| -> Vec<String> {
        let mut frames: Vec<String> = (0..n)
            .map(|i| format!(r#"42["alert:new",{{"i":{i}}},"o-{i}"]"#))
            .collect();
        frames.push(r#"40{"sid":"s1","pid":"p1"}"#.into());
        frames
    };
    let server = TestSio::start(vec![replay(3), replay(MAX_EARLY + 100)]).await;
    let mut resuming = spec();
    resuming.recovery = Some(Recovery {
        pid: "p1".into(),
        offset: "o-0".into(),
    });
    let within = std::time::Duration::from_millis(1500);
    // A short replay: kept whole, delivered after the CONNECT, and the session is recovered.
    let (events, _) = run_against(&server, resuming.clone(), within).await;
    assert!(
        matches!(
            events.first(),
            Some(LinkEvent::Connected {
                recovered: true,
                ..
            })
        ),
        "{events:?}"
    );
    assert_eq!(events.len(), 4, "{events:?}");
    // A long one: only the first MAX_EARLY are kept, and the session does not count as recovered (the link then
    // catches up from its lists).
    let (events, _) = run_against(&server, resuming, within).await;
    assert!(
        matches!(
            events.first(),
            Some(LinkEvent::Connected {
                recovered: false,
                ..
            })
        ),
        "{:?}",
        events.first()
    );
    assert_eq!(events.len(), 1 + MAX_EARLY);
    assert!(matches!(
        events.last(),
        Some(LinkEvent::Message { offset: Some(o), .. }) if *o == format!("o-{}", MAX_EARLY - 1)
    ));
    assert_eq!(server.connections(), 2);
}
