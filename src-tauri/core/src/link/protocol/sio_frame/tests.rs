//! Framing tests: examples from the protocol documents, hostile input, and round trips under proptest.

use super::{
    parse_message, parse_message_with, ConnectAck, EioPacket, FrameError, Incoming, Limits,
    OpenData, SioPacket,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn socket(text: &str) -> SioPacket {
    match parse_message(text) {
        Ok(Incoming::Socket(packet)) => packet,
        other => panic!("{text}: expected a Socket.IO packet, got {other:?}"),
    }
}

fn socket_err(text: &str) -> FrameError {
    match parse_message(text) {
        Err(error) => error,
        Ok(packet) => panic!("{text}: expected an error, got {packet:?}"),
    }
}

/// Parses `text` and checks that encoding gives exactly `text` back.
fn canonical(text: &str) -> SioPacket {
    let packet = socket(text);
    assert_eq!(packet.encode_message(), text, "re-encoding {packet:?}");
    packet
}

// ---- Engine.IO ----

#[test]
fn open_from_the_protocol_docs() {
    let text = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    let packet = EioPacket::parse(text).expect("valid open");
    assert_eq!(
        packet,
        EioPacket::Open(OpenData {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: Some(1_000_000),
        })
    );
    assert_eq!(packet.encode(), text);

    let text = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    assert_eq!(EioPacket::parse(text).expect("valid open").encode(), text);
}

#[test]
fn open_tolerates_extra_and_missing_optional_fields() {
    let packet =
        EioPacket::parse(r#"0{"pingTimeout":5000,"sid":"x","pingInterval":100,"extra":{"a":[1]}}"#)
            .expect("optional fields may be missing");
    assert_eq!(
        packet,
        EioPacket::Open(OpenData {
            sid: "x".into(),
            upgrades: vec![],
            ping_interval_ms: 100,
            ping_timeout_ms: 5000,
            max_payload: None,
        })
    );
    assert_eq!(
        packet.encode(),
        r#"0{"sid":"x","upgrades":[],"pingInterval":100,"pingTimeout":5000}"#
    );
}

#[test]
fn open_rejects_bad_handshakes() {
    for text in [
        r#"0{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
        r#"0{"sid":"x","pingInterval":-1,"pingTimeout":1}"#,
        r#"0{"sid":"x","pingInterval":1.5,"pingTimeout":1}"#,
        r#"0{"sid":"x","pingInterval":99999999999999999999,"pingTimeout":1}"#,
        "0",
        "0[]",
        "0{",
    ] {
        assert!(
            matches!(EioPacket::parse(text), Err(FrameError::BadJson(_))),
            "{text}"
        );
    }
}

#[test]
fn control_packets() {
    let cases = [
        ("1", EioPacket::Close),
        ("2", EioPacket::Ping(String::new())),
        ("2probe", EioPacket::Ping("probe".into())),
        ("3", EioPacket::Pong(String::new())),
        ("3probe", EioPacket::Pong("probe".into())),
        ("4hello", EioPacket::Message("hello".into())),
        ("4", EioPacket::Message(String::new())),
        ("5", EioPacket::Upgrade),
        ("6", EioPacket::Noop),
    ];
    for (text, expected) in cases {
        assert_eq!(EioPacket::parse(text), Ok(expected.clone()), "{text}");
        assert_eq!(expected.encode(), text);
    }
    for text in ["1", "2", "2probe", "3", "5", "6"] {
        assert_eq!(
            parse_message(text),
            Ok(Incoming::Engine(EioPacket::parse(text).expect("valid")))
        );
    }
}

#[test]
fn engine_errors() {
    assert_eq!(EioPacket::parse(""), Err(FrameError::Empty));
    assert_eq!(parse_message(""), Err(FrameError::Empty));
    for (text, kind) in [
        ("7", '7'),
        ("x", 'x'),
        ("b4AAA", 'b'),
        ("é1", 'é'),
        ("€", '€'),
    ] {
        assert_eq!(
            EioPacket::parse(text),
            Err(FrameError::UnknownPacketType(kind))
        );
        assert_eq!(
            parse_message(text),
            Err(FrameError::UnknownPacketType(kind))
        );
    }
    for text in ["1x", "5probe", "6 "] {
        assert_eq!(EioPacket::parse(text), Err(FrameError::UnexpectedPayload));
    }
}

// ---- Socket.IO ----

#[test]
fn connect() {
    assert_eq!(
        canonical("40"),
        SioPacket::Connect {
            ns: "/".into(),
            data: None
        }
    );
    assert_eq!(
        canonical(r#"40/admin,{"token":"x"}"#),
        SioPacket::Connect {
            ns: "/admin".into(),
            data: Some(json!({"token": "x"})),
        }
    );
    assert_eq!(
        canonical("40{}"),
        SioPacket::Connect {
            ns: "/".into(),
            data: Some(json!({})),
        }
    );
    // Namespace without the trailing comma, as the reference parser allows.
    assert_eq!(
        socket("40/admin"),
        SioPacket::Connect {
            ns: "/admin".into(),
            data: None
        }
    );
    assert_eq!(socket("40/,"), socket("40"));
}

#[test]
fn connect_ack_exposes_sid_pid_and_offset() {
    let packet = canonical(r#"40{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    assert_eq!(
        packet.connect_ack(),
        Some(ConnectAck {
            sid: "oSO0OpakMV_3jnilAAAA".into(),
            pid: None,
            offset: None,
        })
    );
    let packet = socket(r#"40/admin,{"sid":"s","pid":"p","offset":"o","other":1}"#);
    assert_eq!(
        packet.connect_ack(),
        Some(ConnectAck {
            sid: "s".into(),
            pid: Some("p".into()),
            offset: Some("o".into()),
        })
    );
    assert_eq!(socket(r#"40{"token":"x"}"#).connect_ack(), None);
    assert_eq!(socket(r#"40{"sid":1}"#).connect_ack(), None);
    assert_eq!(socket("40").connect_ack(), None);
    assert_eq!(socket("41").connect_ack(), None);
}

#[test]
fn disconnect() {
    assert_eq!(canonical("41"), SioPacket::Disconnect { ns: "/".into() });
    assert_eq!(
        canonical("41/admin,"),
        SioPacket::Disconnect {
            ns: "/admin".into()
        }
    );
    assert_eq!(socket_err("41{}"), FrameError::UnexpectedPayload);
    assert_eq!(socket_err("41/admin,{}"), FrameError::UnexpectedPayload);
}

#[test]
fn event() {
    assert_eq!(
        canonical(r#"42["hello",1]"#),
        SioPacket::Event {
            ns: "/".into(),
            id: None,
            name: "hello".into(),
            args: vec![json!(1)],
        }
    );
    assert_eq!(
        canonical(r#"421["ev",{}]"#),
        SioPacket::Event {
            ns: "/".into(),
            id: Some(1),
            name: "ev".into(),
            args: vec![json!({})],
        }
    );
    assert_eq!(
        canonical(r#"42/admin,456["project:delete",123]"#),
        SioPacket::Event {
            ns: "/admin".into(),
            id: Some(456),
            name: "project:delete".into(),
            args: vec![json!(123)],
        }
    );
    assert_eq!(
        canonical(r#"42["no args"]"#),
        SioPacket::Event {
            ns: "/".into(),
            id: None,
            name: "no args".into(),
            args: vec![],
        }
    );
    assert_eq!(
        canonical(r#"4218446744073709551615["max id"]"#),
        SioPacket::Event {
            ns: "/".into(),
            id: Some(u64::MAX),
            name: "max id".into(),
            args: vec![],
        }
    );
    // Whitespace inside the JSON is the JSON parser's business.
    assert_eq!(socket(r#"42[ "hello" , 1 ]"#), socket(r#"42["hello",1]"#));
}

#[test]
fn ack() {
    assert_eq!(
        canonical(r#"43/admin,1["ok"]"#),
        SioPacket::Ack {
            ns: "/admin".into(),
            id: 1,
            args: vec![json!("ok")],
        }
    );
    assert_eq!(
        canonical("43/admin,456[]"),
        SioPacket::Ack {
            ns: "/admin".into(),
            id: 456,
            args: vec![],
        }
    );
}

#[test]
fn connect_error() {
    assert_eq!(
        canonical(r#"44{"message":"Unauthorized"}"#),
        SioPacket::ConnectError {
            ns: "/".into(),
            message: "Unauthorized".into(),
            data: None,
        }
    );
    assert_eq!(
        canonical(r#"44/admin,{"message":"Not authorized","data":{"code":401}}"#),
        SioPacket::ConnectError {
            ns: "/admin".into(),
            message: "Not authorized".into(),
            data: Some(json!({"code": 401})),
        }
    );
    // Older servers send a bare string; it re-encodes in the v4 object form.
    let packet = socket(r#"44"Not authorized""#);
    assert_eq!(
        packet,
        SioPacket::ConnectError {
            ns: "/".into(),
            message: "Not authorized".into(),
            data: None,
        }
    );
    assert_eq!(packet.encode_message(), r#"44{"message":"Not authorized"}"#);
}

#[test]
fn binary_packets_are_recognised_not_decoded() {
    let packet = socket(r#"451-["ev",{"_placeholder":true,"num":0}]"#);
    assert_eq!(
        packet,
        SioPacket::Binary {
            ns: "/".into(),
            attachments: 1,
            id: None,
            is_ack: false,
        }
    );
    assert_eq!(packet.encode_message(), "451-");
    assert_eq!(
        socket(
            r#"452-/admin,7["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        ),
        SioPacket::Binary {
            ns: "/admin".into(),
            attachments: 2,
            id: Some(7),
            is_ack: false,
        }
    );
    let packet = socket(r#"461-/admin,456[{"_placeholder":true,"num":0}]"#);
    assert_eq!(
        packet,
        SioPacket::Binary {
            ns: "/admin".into(),
            attachments: 1,
            id: Some(456),
            is_ack: true,
        }
    );
    assert_eq!(packet.encode_message(), "461-/admin,456");
}

#[test]
fn encode_builds_frames() {
    let event = SioPacket::Event {
        ns: "/alerts".into(),
        id: Some(12),
        name: "alert:ack".into(),
        args: vec![json!({"id": "a-1"}), json!(null)],
    };
    assert_eq!(
        event.encode(),
        r#"2/alerts,12["alert:ack",{"id":"a-1"},null]"#
    );
    assert_eq!(
        event.encode_message(),
        r#"42/alerts,12["alert:ack",{"id":"a-1"},null]"#
    );
    assert_eq!(
        EioPacket::Message(event.encode()).encode(),
        event.encode_message()
    );
    assert_eq!(SioPacket::parse(&event.encode()), Ok(event));
    let awkward = SioPacket::Event {
        ns: "/".into(),
        id: None,
        name: "quote\"and\\slash ✓".into(),
        args: vec![],
    };
    assert_eq!(
        parse_message(&awkward.encode_message()),
        Ok(Incoming::Socket(awkward))
    );
}

// ---- Socket.IO errors ----

#[test]
fn socket_errors() {
    let cases = [
        ("4", FrameError::Empty),
        ("47", FrameError::UnknownPacketType('7')),
        ("4x", FrameError::UnknownPacketType('x')),
        ("4é", FrameError::UnknownPacketType('é')),
        (r#"42{"a":1}"#, FrameError::NotAnEvent),
        (r#"42"hello""#, FrameError::NotAnEvent),
        ("42[]", FrameError::NotAnEvent),
        ("42", FrameError::NotAnEvent),
        ("421", FrameError::NotAnEvent),
        ("42[1]", FrameError::EventNameNotString),
        (r#"42[null,"x"]"#, FrameError::EventNameNotString),
        (r#"42[["x"]]"#, FrameError::EventNameNotString),
        (r#"43["ok"]"#, FrameError::MissingAckId),
        ("431{}", FrameError::NotAnAck),
        ("431", FrameError::NotAnAck),
        (r#"4218446744073709551616["x"]"#, FrameError::BadAckId),
        (
            r#"4399999999999999999999999999999999["x"]"#,
            FrameError::BadAckId,
        ),
        ("45-[]", FrameError::BadAttachments),
        ("45x", FrameError::BadAttachments),
        ("451[]", FrameError::BadAttachments),
        ("45", FrameError::BadAttachments),
        ("454294967296-[]", FrameError::BadAttachments),
        ("461-[]", FrameError::MissingAckId),
        (r#"42/ad min,["x"]"#, FrameError::BadNamespace),
        (r#"42/admin["x"]"#, FrameError::BadNamespace),
        ("40/a\u{0}b,", FrameError::BadNamespace),
        (r#"40/{"a":1}"#, FrameError::BadNamespace),
        ("40[1]", FrameError::BadConnectData),
        (r#"40"token""#, FrameError::BadConnectData),
        ("401", FrameError::BadConnectData),
        ("44", FrameError::BadConnectError),
        ("44{}", FrameError::BadConnectError),
        (r#"44{"message":1}"#, FrameError::BadConnectError),
        ("44[]", FrameError::BadConnectError),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_message(text), Err(expected.clone()), "{text}");
        assert_eq!(SioPacket::parse(&text[1..]), Err(expected), "{text}");
    }
}

#[test]
fn malformed_json_is_bad_json() {
    for text in [
        r#"42["a""#,
        r#"42["a",]"#,
        r#"42["a"]x"#,
        "42[\"a\" 1]",
        "431 x",
        "40{",
        "44{\"message\"",
        "42admin,[\"x\"]",
    ] {
        assert!(
            matches!(parse_message(text), Err(FrameError::BadJson(_))),
            "{text}: {:?}",
            parse_message(text)
        );
    }
}

// ---- Limits ----

#[test]
fn oversize_frames_are_rejected_before_parsing() {
    let limits = Limits {
        max_frame_bytes: 10,
        ..Limits::default()
    };
    assert!(parse_message_with(r#"42["abc"]"#, &limits).is_ok());
    assert_eq!(
        parse_message_with(r#"42["abcd"]"#, &limits),
        Ok(Incoming::Socket(SioPacket::Event {
            ns: "/".into(),
            id: None,
            name: "abcd".into(),
            args: vec![],
        }))
    );
    assert_eq!(
        parse_message_with(r#"42["abcde"]"#, &limits),
        Err(FrameError::TooLarge { len: 11, max: 10 })
    );
    assert_eq!(
        EioPacket::parse_with("4xxxxxxxxxxxxx", &limits),
        Err(FrameError::TooLarge { len: 14, max: 10 })
    );
    assert_eq!(
        SioPacket::parse_with("2[\"abcdefg\"]", &limits),
        Err(FrameError::TooLarge { len: 12, max: 10 })
    );

    let mut huge = String::from("42[\"");
    huge.push_str(&"a".repeat(1_048_576));
    huge.push_str("\"]");
    assert_eq!(
        parse_message(&huge),
        Err(FrameError::TooLarge {
            len: 1_048_582,
            max: 1_048_576
        })
    );
    // Lengths are bytes, not characters.
    let limits = Limits {
        max_frame_bytes: 8,
        ..Limits::default()
    };
    assert!(matches!(
        parse_message_with("42[\"éé\"]", &limits),
        Err(FrameError::TooLarge { len: 10, max: 8 })
    ));
}

fn nested(depth: usize) -> String {
    format!(
        r#"42["deep",{}{}]"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn deep_nesting_is_rejected_before_parsing() {
    assert!(parse_message(&nested(64)).is_ok());
    assert_eq!(
        parse_message(&nested(65)),
        Err(FrameError::TooDeep { max: 64 })
    );
    // Far beyond serde_json's own limit, and still a clean error.
    assert_eq!(
        parse_message(&nested(100_000)),
        Err(FrameError::TooDeep { max: 64 })
    );
    let unclosed = format!("42{}", "{\"a\":".repeat(100_000));
    assert_eq!(
        parse_message(&unclosed),
        Err(FrameError::TooDeep { max: 64 })
    );
    // A generous limit still cannot overflow the stack: serde_json's own limit then applies.
    let generous = Limits {
        max_depth: 1_000_000,
        ..Limits::default()
    };
    assert!(matches!(
        parse_message_with(&nested(100_000), &generous),
        Err(FrameError::BadJson(_))
    ));

    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert!(parse_message_with(r#"42["a",{"b":1}]"#, &limits).is_ok());
    assert_eq!(
        parse_message_with(r#"42["a",{"b":[1]}]"#, &limits),
        Err(FrameError::TooDeep { max: 2 })
    );
    assert_eq!(
        parse_message_with(r#"40{"a":{"b":{}}}"#, &limits),
        Err(FrameError::TooDeep { max: 2 })
    );
    assert_eq!(
        parse_message_with(r#"451-[[[{"_placeholder":true,"num":0}]]]"#, &limits),
        Err(FrameError::TooDeep { max: 2 })
    );
    assert_eq!(
        EioPacket::parse_with(
            r#"0{"sid":"x","pingInterval":1,"pingTimeout":1,"x":[[]]}"#,
            &limits
        ),
        Err(FrameError::TooDeep { max: 2 })
    );
    // Brackets inside strings, escaped quotes included, do not count.
    let text = r#"42["[[[[{{{{","\"[[[[[","\\",{"k[[[":"]]]]"}]"#;
    assert_eq!(
        parse_message_with(text, &limits),
        Ok(Incoming::Socket(SioPacket::Event {
            ns: "/".into(),
            id: None,
            name: "[[[[{{{{".into(),
            args: vec![json!("\"[[[[["), json!("\\"), json!({"k[[[": "]]]]"})],
        }))
    );
}

// ---- Properties ----

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Dyadic fractions print and parse back exactly.
        (any::<i32>(), 0..6u32)
            .prop_map(|(n, shift)| Value::from(f64::from(n) / f64::from(1u32 << shift))),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-zA-Z_]{1,6}", json_value(), 0..4)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"]
}

fn sio_packet() -> impl Strategy<Value = SioPacket> {
    let args = || prop::collection::vec(json_value(), 0..4);
    prop_oneof![
        (namespace(), prop::option::of(json_object()))
            .prop_map(|(ns, data)| SioPacket::Connect { ns, data }),
        namespace().prop_map(|ns| SioPacket::Disconnect { ns }),
        (namespace(), any::<Option<u64>>(), ".{0,12}", args())
            .prop_map(|(ns, id, name, args)| SioPacket::Event { ns, id, name, args }),
        (namespace(), any::<u64>(), args()).prop_map(|(ns, id, args)| SioPacket::Ack {
            ns,
            id,
            args
        }),
        (namespace(), ".{0,12}", prop::option::of(json_value()))
            .prop_map(|(ns, message, data)| SioPacket::ConnectError { ns, message, data }),
        (
            namespace(),
            any::<u32>(),
            any::<Option<u64>>(),
            any::<bool>()
        )
            .prop_map(|(ns, attachments, id, is_ack)| SioPacket::Binary {
                ns,
                attachments,
                id: if is_ack { Some(id.unwrap_or(0)) } else { id },
                is_ack,
            }),
    ]
}

fn eio_packet() -> impl Strategy<Value = EioPacket> {
    let open = (
        ".{0,20}",
        prop::collection::vec("[a-z]{1,9}", 0..3),
        any::<u64>(),
        any::<u64>(),
        any::<Option<u64>>(),
    )
        .prop_map(|(sid, upgrades, interval, timeout, max_payload)| {
            EioPacket::Open(OpenData {
                sid,
                upgrades,
                ping_interval_ms: interval,
                ping_timeout_ms: timeout,
                max_payload,
            })
        });
    prop_oneof![
        open,
        Just(EioPacket::Close),
        ".*".prop_map(EioPacket::Ping),
        ".*".prop_map(EioPacket::Pong),
        ".*".prop_map(EioPacket::Message),
        Just(EioPacket::Upgrade),
        Just(EioPacket::Noop),
    ]
}

/// Strings shaped like frames, to reach deep into the parser more often than `.*` does.
fn frame_like() -> impl Strategy<Value = String> {
    r#"[0-6b]?[0-6x]?[0-9-]{0,22}(/[a-z ,\[{"]{0,5})?,?[0-9]{0,3}[\[\]{}":,0-9a-z\\ ]{0,24}"#
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_never_panics(text in ".*") {
        let _ = parse_message(&text);
        let _ = EioPacket::parse(&text);
        let _ = SioPacket::parse(&text);
        let _ = parse_message(&format!("4{text}"));
    }

    #[test]
    fn parsing_frame_like_text_never_panics(text in frame_like()) {
        let _ = parse_message(&text);
        let _ = SioPacket::parse(&text);
        let tight = Limits { max_frame_bytes: 16, max_depth: 2 };
        let _ = parse_message_with(&text, &tight);
    }

    #[test]
    fn socket_packets_round_trip(packet in sio_packet()) {
        prop_assert_eq!(SioPacket::parse(&packet.encode()), Ok(packet.clone()));
        prop_assert_eq!(
            parse_message(&packet.encode_message()),
            Ok(Incoming::Socket(packet))
        );
    }

    #[test]
    fn engine_packets_round_trip(packet in eio_packet()) {
        prop_assert_eq!(EioPacket::parse(&packet.encode()), Ok(packet));
    }

    #[test]
    fn canonical_text_round_trips(packet in sio_packet()) {
        // Encoding is canonical: parse(encode(p)) re-encodes to the same text.
        let text = packet.encode_message();
        let reparsed = parse_message(&text);
        prop_assert!(matches!(&reparsed, Ok(Incoming::Socket(p)) if p.encode_message() == text));
    }
}
