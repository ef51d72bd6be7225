//! The demo server over real sockets: login, the feed, the list, write-backs, expiry, the simulator, shutdown.

// Helpers outside `#[test]` functions are not covered by clippy.toml's allow-unwrap-in-tests; a failed unwrap
// here is a failed test, as it is inside them.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alertdesk_demo::{start, DemoConfig, DemoServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Feed = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

/// An HTTP client (with the ring crypto provider reqwest's rustls needs installed once).
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn quiet() -> DemoConfig {
    DemoConfig {
        rate_per_min: 0.0,
        ..DemoConfig::default()
    }
}

async fn login(server: &DemoServer, username: &str) -> String {
    let response = client()
        .post(format!("{}/api/login", server.url()))
        .json(&json!({"username": username, "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// POSTs JSON with the token; returns the status and the JSON body.
async fn post(server: &DemoServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(server: &DemoServer, token: &str, path: &str) -> (u16, Value) {
    let response = client()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn report(server: &DemoServer, token: &str, station: u32, category: &str) -> Value {
    let (status, body) = post(
        server,
        token,
        "/api/reports",
        json!({"category": category, "description": "test", "priority": "high",
               "location": "1 Main St", "station_id": station}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn connect(server: &DemoServer, token: &str) -> Feed {
    let url = format!("ws://{}/ws?token={token}", server.addr());
    let (feed, _) = timeout(WAIT, connect_async(url)).await.unwrap().unwrap();
    feed
}

/// The next JSON message on the feed.
async fn next(feed: &mut Feed) -> Value {
    loop {
        let message = timeout(WAIT, feed.next())
            .await
            .expect("a message within the wait")
            .expect("the feed is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The close code the server ends the feed with.
async fn close_code(feed: &mut Feed, within: Duration) -> u16 {
    loop {
        match timeout(within, feed.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("feed failed: {e}"),
        }
    }
}

async fn nothing_within(feed: &mut Feed, within: Duration) {
    if let Ok(message) = timeout(within, feed.next()).await {
        panic!("unexpected message: {message:?}");
    }
}

#[tokio::test]
async fn login_gives_an_expiring_token_and_the_user() {
    let server = start(quiet()).await.unwrap();
    let client = client();
    let url = format!("{}/api/login", server.url());
    let response = client
        .post(&url)
        .json(&json!({"username": "officer", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    let expires = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .unwrap()
        .signed_duration_since(chrono::Utc::now());
    assert!((expires.num_minutes() - 12 * 60).abs() <= 1, "{expires:?}");
    assert_eq!(
        body["user"],
        json!({"id": "officer", "name": "Officer Sam Carter", "role": "officer", "station_id": 4})
    );
    let dispatcher = post(
        &server,
        "",
        "/api/login",
        json!({"username": "dispatcher", "password": "demo"}),
    )
    .await;
    assert_eq!(dispatcher.0, 200);
    assert_eq!(dispatcher.1["user"]["role"], "dispatcher");
    assert_eq!(dispatcher.1["user"]["station_id"], Value::Null);

    for bad in [
        json!({"username": "officer", "password": "nope"}),
        json!({"username": "nobody", "password": "demo"}),
    ] {
        let response = client.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    let response = client
        .post(&url)
        .json(&json!({"username": "officer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    server.shutdown().await;
}

#[tokio::test]
async fn the_feed_refuses_bad_tokens_with_401() {
    let server = start(quiet()).await.unwrap();
    for query in ["?token=0123456789abcdef0123456789abcdef", "?token=", ""] {
        let url = format!("ws://{}/ws{query}", server.addr());
        match timeout(WAIT, connect_async(url)).await.unwrap() {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{query}");
            }
            other => panic!("{query}: expected HTTP 401, got {other:?}"),
        }
    }
    let (status, _) = get(&server, "nope", "/api/reports").await;
    assert_eq!(status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn officers_get_their_station_and_dispatchers_every_station() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mut officer_feed = connect(&server, &officer).await;
    let mut dispatcher_feed = connect(&server, &dispatcher).await;

    let elsewhere = report(&server, &dispatcher, 7, "Vandalism").await;
    let mine = report(&server, &dispatcher, 4, "Burglary").await;

    let got = next(&mut officer_feed).await;
    assert_eq!(got["type"], "new_report");
    assert_eq!(got["report"], mine);
    nothing_within(&mut officer_feed, Duration::from_millis(300)).await;
    assert_eq!(next(&mut dispatcher_feed).await["report"], elsewhere);
    assert_eq!(next(&mut dispatcher_feed).await["report"], mine);

    // Assignment and acknowledgement reach both, in change order.
    let id = mine["id"].as_u64().unwrap();
    let (status, assigned) = post(
        &server,
        &dispatcher,
        &format!("/api/reports/{id}/assign"),
        json!({"assigned_to": "officer"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            assigned["assigned_to"].as_str(),
            assigned["status"].as_str()
        ),
        (Some("officer"), Some("assigned"))
    );
    let (status, ack) = post(
        &server,
        &officer,
        &format!("/api/reports/{id}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (ack["id"].as_u64(), ack["acknowledged_by"].as_str()),
        (Some(id), Some("officer"))
    );
    assert!(ack["acknowledged_at"].is_string());
    for feed in [&mut officer_feed, &mut dispatcher_feed] {
        let got = next(feed).await;
        assert_eq!(
            (got["type"].as_str(), got["report"]["assigned_to"].as_str()),
            (Some("report_assigned"), Some("officer"))
        );
        let got = next(feed).await;
        assert_eq!(
            (got["type"].as_str(), got["change"].as_str()),
            (Some("report_updated"), Some("acknowledged"))
        );
        assert_eq!(got["report"]["acknowledged_by"], "officer");
        assert!(got["report"]["seq"].as_u64() > mine["seq"].as_u64());
    }
    // Acknowledging again changes nothing.
    let again = post(
        &server,
        &officer,
        &format!("/api/reports/{id}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(again, (200, ack));
    nothing_within(&mut officer_feed, Duration::from_millis(300)).await;

    // Another station's report is not there for the officer.
    let other = elsewhere["id"].as_u64().unwrap();
    let (status, _) = post(
        &server,
        &officer,
        &format!("/api/reports/{other}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &server,
        &officer,
        &format!("/api/reports/{other}/assign"),
        json!({"assigned_to": "officer"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(&server, &officer, "/api/reports/999/acknowledge", json!({})).await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn since_lists_exactly_the_later_changes() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let first = report(&server, &officer, 4, "A").await; // seq 1
    report(&server, &officer, 4, "B").await; // seq 2
    let third = report(&server, &dispatcher, 7, "C").await; // seq 3
    let fourth = report(&server, &officer, 4, "D").await; // seq 4
    post(
        &server,
        &officer,
        "/api/reports/1/assign",
        json!({"assigned_to": "officer"}),
    )
    .await; // seq 5

    let (status, list) = get(&server, &dispatcher, "/api/reports?since=2").await;
    assert_eq!(status, 200);
    let seqs: Vec<_> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_u64().unwrap(), r["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(seqs, [(3, 3), (4, 4), (1, 5)]);
    assert_eq!(list["latest_seq"], 5);
    assert_eq!(list["reports"][0], third);
    assert_eq!(list["reports"][1], fourth);
    assert_eq!(list["reports"][2]["assigned_to"], "officer");
    assert_eq!(list["reports"][2]["created_at"], first["created_at"]);

    let (_, list) = get(&server, &officer, "/api/reports?since=2").await;
    let ids: Vec<_> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4, 1], "the officer does not see station 7");
    assert_eq!(list["latest_seq"], 5, "latest_seq counts every change");

    let (_, list) = get(&server, &officer, "/api/reports").await;
    assert_eq!(list["reports"].as_array().unwrap().len(), 3);
    let (_, list) = get(&server, &officer, "/api/reports?since=5").await;
    assert_eq!(list, json!({"reports": [], "latest_seq": 5}));
    let (status, body) = get(&server, &officer, "/api/reports?since=abc").await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_closes_the_feed_with_4401() {
    let server = start(DemoConfig {
        token_ttl: Duration::from_secs(1),
        ..quiet()
    })
    .await
    .unwrap();
    let token = login(&server, "officer").await;
    let mut feed = connect(&server, &token).await;
    assert_eq!(close_code(&mut feed, Duration::from_secs(4)).await, 4401);
    let (status, _) = get(&server, &token, "/api/reports").await;
    assert_eq!(status, 401);
    let url = format!("ws://{}/ws?token={token}", server.addr());
    assert!(connect_async(url).await.is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn pings_are_answered() {
    let server = start(quiet()).await.unwrap();
    let token = login(&server, "officer").await;
    let mut feed = connect(&server, &token).await;
    feed.send(Message::Ping(b"hb".to_vec().into()))
        .await
        .unwrap();
    let message = timeout(WAIT, feed.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(message, Message::Pong(b"hb".to_vec().into()));
    drop(feed);
    server.shutdown().await;
}

#[tokio::test]
async fn the_simulator_reports_assigns_and_updates() {
    let server = start(DemoConfig {
        rate_per_min: 1200.0,
        seed: Some(3),
        ..DemoConfig::default()
    })
    .await
    .unwrap();
    let token = login(&server, "officer").await;
    let mut feed = connect(&server, &token).await;
    let (mut reports, mut assigned_to_me, mut updates, mut last_seq) = (0, 0, 0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reports < 3 || assigned_to_me < 1 || updates < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "after 30 s: {reports} reports, {assigned_to_me} assigned to me, {updates} updates"
        );
        let message = next(&mut feed).await;
        let report = &message["report"];
        assert_eq!(report["station_id"], 4, "{message}");
        let seq = report["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq grows: {message}");
        last_seq = seq;
        match message["type"].as_str().unwrap() {
            "new_report" => reports += 1,
            "report_assigned" if report["assigned_to"] == "officer" => assigned_to_me += 1,
            "report_updated" => {
                assert!(
                    ["status", "priority", "note"].contains(&message["change"].as_str().unwrap())
                );
                updates += 1;
            }
            other => panic!("unexpected {other}: {message}"),
        }
    }
    drop(feed);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_feeds_and_frees_the_port() {
    let server = start(quiet()).await.unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    let token = login(&server, "dispatcher").await;
    let mut feed = connect(&server, &token).await;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(close_code(&mut feed, WAIT).await, 1001);
    drop(feed);
    timeout(WAIT, stopping).await.unwrap().unwrap();
    let again = start(DemoConfig {
        port: addr.port(),
        ..quiet()
    })
    .await
    .unwrap();
    again.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_or_a_negative_rate_is_an_error() {
    let server = start(quiet()).await.unwrap();
    let taken = start(DemoConfig {
        port: server.addr().port(),
        ..quiet()
    })
    .await
    .unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    let negative = start(DemoConfig {
        rate_per_min: -1.0,
        ..quiet()
    })
    .await
    .unwrap_err();
    assert_eq!(negative.kind(), std::io::ErrorKind::InvalidInput);
    server.shutdown().await;
}

/// POSTs a status response; returns the status and the JSON body.
async fn answer(server: &DemoServer, token: &str, id: u64, body: Value) -> (u16, Value) {
    post(server, token, &format!("/api/reports/{id}/status"), body).await
}

/// A station-4 report assigned to the officer, with both feeds past its two messages.
async fn assigned_report(server: &DemoServer, dispatcher: &str, feeds: &mut [&mut Feed]) -> Value {
    let created = report(server, dispatcher, 4, "Burglary").await;
    let id = created["id"].as_u64().unwrap();
    let (status, assigned) = post(
        server,
        dispatcher,
        &format!("/api/reports/{id}/assign"),
        json!({"assigned_to": "officer"}),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    for feed in feeds.iter_mut() {
        assert_eq!(next(feed).await["type"], "new_report");
        assert_eq!(next(feed).await["report"], assigned);
    }
    assigned
}

/// A `status_at` (or any demo time): RFC 3339 in UTC with milliseconds.
fn assert_demo_time(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("a time: {value}"));
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
    let (_, fraction) = text.split_once('.').unwrap_or_else(|| panic!("{text}"));
    assert!(fraction.len() == 4 && fraction.ends_with('Z'), "{text}");
}

async fn latest_seq(server: &DemoServer, token: &str) -> u64 {
    let (status, list) = get(server, token, "/api/reports?since=0").await;
    assert_eq!(status, 200);
    list["latest_seq"].as_u64().unwrap()
}

#[tokio::test]
async fn reports_nobody_answered_carry_null_status_fields_everywhere() {
    let server = start(quiet()).await.unwrap();
    let dispatcher = login(&server, "dispatcher").await;
    let mut feed = connect(&server, &dispatcher).await;
    let created = report(&server, &dispatcher, 4, "Vandalism").await;
    let (_, assigned) = post(
        &server,
        &dispatcher,
        "/api/reports/1/assign",
        json!({"assigned_to": "officer"}),
    )
    .await;
    let new_report = next(&mut feed).await;
    let assigned_message = next(&mut feed).await;
    let (_, list) = get(&server, &dispatcher, "/api/reports").await;
    for r in [
        &created,
        &assigned,
        &new_report["report"],
        &assigned_message["report"],
        &list["reports"][0],
    ] {
        let fields = r.as_object().unwrap();
        for field in ["status_by", "status_at"] {
            assert_eq!(fields.get(field), Some(&Value::Null), "{field} in {r}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn status_responses_move_the_report_and_reach_everyone_who_sees_it() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mut officer_feed = connect(&server, &officer).await;
    let mut dispatcher_feed = connect(&server, &dispatcher).await;
    let assigned = assigned_report(
        &server,
        &dispatcher,
        &mut [&mut officer_feed, &mut dispatcher_feed],
    )
    .await;
    let id = assigned["id"].as_u64().unwrap();

    let mut last_seq = assigned["seq"].as_u64().unwrap();
    for (value, note) in [
        ("en_route", None),
        ("on_scene", Some("Suspect still inside")),
        ("closed", None),
    ] {
        let body = match note {
            Some(note) => json!({"status": value, "note": note}),
            None => json!({"status": value}),
        };
        let (status, answered) = answer(&server, &officer, id, body).await;
        assert_eq!(status, 200, "{value}: {answered}");
        assert_eq!(answered["id"], id);
        assert_eq!(answered["status"], value);
        assert_eq!(
            answered["assigned_to"], "officer",
            "{value} keeps the assignment"
        );
        assert_eq!(answered["status_by"], "officer");
        assert_demo_time(&answered["status_at"]);
        assert_eq!(answered["status_at"], answered["updated_at"]);
        let seq = answered["seq"].as_u64().unwrap();
        assert_eq!(seq, last_seq + 1, "{value} is the next change");
        last_seq = seq;
        // A given note becomes the report's note; without one, the note stays.
        assert_eq!(
            answered["note"].as_str(),
            Some("Suspect still inside").filter(|_| value != "en_route"),
            "{value}"
        );
        for feed in [&mut officer_feed, &mut dispatcher_feed] {
            assert_eq!(
                next(feed).await,
                json!({"type": "report_updated", "report": answered, "change": "status"})
            );
        }
    }
    assert_eq!(latest_seq(&server, &officer).await, last_seq);

    // A dispatcher's answer is recorded as the dispatcher's.
    let other = assigned_report(
        &server,
        &dispatcher,
        &mut [&mut officer_feed, &mut dispatcher_feed],
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let (status, answered) =
        answer(&server, &dispatcher, other, json!({"status": "on_scene"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (answered["status"].as_str(), answered["status_by"].as_str()),
        (Some("on_scene"), Some("dispatcher"))
    );
    assert_eq!(next(&mut officer_feed).await["report"], answered);
    server.shutdown().await;
}

#[tokio::test]
async fn unable_gives_the_report_back_and_says_who() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mut officer_feed = connect(&server, &officer).await;
    let mut dispatcher_feed = connect(&server, &dispatcher).await;

    // Assigned to the caller and on the way: back to new, unassigned, with the reason.
    let assigned = assigned_report(
        &server,
        &dispatcher,
        &mut [&mut officer_feed, &mut dispatcher_feed],
    )
    .await;
    let id = assigned["id"].as_u64().unwrap();
    let (status, en_route) = answer(&server, &officer, id, json!({"status": "en_route"})).await;
    assert_eq!(status, 200);
    for feed in [&mut officer_feed, &mut dispatcher_feed] {
        assert_eq!(next(feed).await["report"], en_route);
    }
    let (status, unable) = answer(
        &server,
        &officer,
        id,
        json!({"status": "unable", "note": "  Car broke down  "}),
    )
    .await;
    assert_eq!(status, 200, "{unable}");
    assert_eq!(unable["status"], "new");
    assert_eq!(unable["assigned_to"], Value::Null);
    assert_eq!(unable["note"], "Unable: Officer Sam Carter: Car broke down");
    assert_eq!(unable["status_by"], "officer");
    assert_demo_time(&unable["status_at"]);
    assert_eq!(
        unable["seq"].as_u64(),
        en_route["seq"].as_u64().map(|s| s + 1)
    );
    for feed in [&mut officer_feed, &mut dispatcher_feed] {
        assert_eq!(
            next(feed).await,
            json!({"type": "report_updated", "report": unable, "change": "status"})
        );
    }

    // Without a note, the note only says who.
    let second = assigned_report(
        &server,
        &dispatcher,
        &mut [&mut officer_feed, &mut dispatcher_feed],
    )
    .await;
    let second = second["id"].as_u64().unwrap();
    let (status, unable) = answer(
        &server,
        &officer,
        second,
        json!({"status": "unable", "note": null}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            unable["status"].as_str(),
            unable["assigned_to"].as_str(),
            unable["note"].as_str()
        ),
        (Some("new"), None, Some("Unable: Officer Sam Carter"))
    );
    assert_eq!(next(&mut officer_feed).await["change"], "status");

    // Someone else's assignment stays theirs; the answer is still recorded.
    let (_, elsewhere) = post(
        &server,
        &dispatcher,
        &format!("/api/reports/{second}/assign"),
        json!({"assigned_to": "unit-4-02"}),
    )
    .await;
    assert_eq!(next(&mut officer_feed).await["type"], "report_assigned");
    let (status, unable) = answer(&server, &officer, second, json!({"status": "unable"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (unable["status"].as_str(), unable["assigned_to"].as_str()),
        (elsewhere["status"].as_str(), Some("unit-4-02"))
    );
    assert_eq!(unable["note"], "Unable: Officer Sam Carter");
    assert_eq!(unable["status_by"], "officer");
    assert_eq!(next(&mut officer_feed).await["report"], unable);
    server.shutdown().await;
}

#[tokio::test]
async fn the_same_status_again_changes_nothing() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mut officer_feed = connect(&server, &officer).await;
    let mut dispatcher_feed = connect(&server, &dispatcher).await;
    let id = assigned_report(
        &server,
        &dispatcher,
        &mut [&mut officer_feed, &mut dispatcher_feed],
    )
    .await["id"]
        .as_u64()
        .unwrap();

    for body in [
        json!({"status": "en_route"}),
        json!({"status": "unable", "note": "Called away"}),
        json!({"status": "closed"}),
    ] {
        let first = answer(&server, &officer, id, body.clone()).await;
        assert_eq!(first.0, 200, "{body}: {}", first.1);
        for feed in [&mut officer_feed, &mut dispatcher_feed] {
            assert_eq!(next(feed).await["report"], first.1);
        }
        let seq = latest_seq(&server, &officer).await;
        assert_eq!(
            answer(&server, &officer, id, body.clone()).await,
            first,
            "{body}"
        );
        assert_eq!(
            latest_seq(&server, &officer).await,
            seq,
            "{body}: seq unchanged"
        );
        for feed in [&mut officer_feed, &mut dispatcher_feed] {
            nothing_within(feed, Duration::from_millis(300)).await;
        }
        if body["status"] == "unable" {
            // Assigned back to the officer, the same answer is a new one.
            let (status, _) = post(
                &server,
                &dispatcher,
                &format!("/api/reports/{id}/assign"),
                json!({"assigned_to": "officer"}),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(next(&mut officer_feed).await["type"], "report_assigned");
            assert_eq!(next(&mut dispatcher_feed).await["type"], "report_assigned");
            let (status, again) = answer(&server, &officer, id, body.clone()).await;
            assert_eq!(status, 200);
            assert_eq!(again["seq"].as_u64(), Some(seq + 2));
            assert_eq!(
                (again["status"].as_str(), again["assigned_to"].as_str()),
                (Some("new"), None)
            );
            assert_eq!(next(&mut officer_feed).await["report"], again);
            assert_eq!(next(&mut dispatcher_feed).await["report"], again);
        }
    }

    // The same status from someone else is their answer: recorded and sent.
    let (status, closed) = answer(&server, &dispatcher, id, json!({"status": "closed"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (closed["status"].as_str(), closed["status_by"].as_str()),
        (Some("closed"), Some("dispatcher"))
    );
    assert_eq!(next(&mut officer_feed).await["report"], closed);
    server.shutdown().await;
}

#[tokio::test]
async fn status_responses_refuse_bad_requests() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mine = report(&server, &dispatcher, 4, "Assault").await["id"]
        .as_u64()
        .unwrap();
    let elsewhere = report(&server, &dispatcher, 7, "Assault").await["id"]
        .as_u64()
        .unwrap();
    let seq = latest_seq(&server, &dispatcher).await;
    let mut feed = connect(&server, &dispatcher).await;

    // 401 without a valid token.
    for token in ["", "0123456789abcdef0123456789abcdef"] {
        let (status, body) = answer(&server, token, mine, json!({"status": "en_route"})).await;
        assert_eq!(status, 401, "{token:?}");
        assert!(body["error"].is_string());
    }
    let response = client()
        .post(format!("{}/api/reports/{mine}/status", server.url()))
        .json(&json!({"status": "en_route"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // 404 for a report the caller does not see, or none at all.
    for (token, id) in [(&officer, elsewhere), (&officer, 999), (&dispatcher, 0)] {
        let (status, body) = answer(&server, token, id, json!({"status": "en_route"})).await;
        assert_eq!(status, 404, "{id}");
        assert!(body["error"].is_string());
    }
    let (status, _) = post(
        &server,
        &officer,
        "/api/reports/abc/status",
        json!({"status": "en_route"}),
    )
    .await;
    assert_eq!(status, 404);

    // 400 naming the allowed values for an unknown status or a bad body.
    for body in [
        json!({"status": "arrived"}),
        json!({"status": "EN_ROUTE"}),
        json!({"status": "new"}),
        json!({"status": ""}),
        json!({"status": 3}),
        json!({}),
        json!({"note": "on my way"}),
        json!({"status": "en_route", "eta": 5}),
        json!({"status": "en_route", "note": 7}),
        json!(["en_route"]),
    ] {
        let (status, answer) = answer(&server, &officer, mine, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        for allowed in ["en_route", "on_scene", "unable", "closed"] {
            assert!(error.contains(allowed), "{body}: {error}");
        }
    }
    let response = client()
        .post(format!("{}/api/reports/{mine}/status", server.url()))
        .bearer_auth(&officer)
        .header("content-type", "application/json")
        .body("{\"status\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("on_scene"),
        "{body}"
    );

    // The note is at most 200 characters (not bytes).
    let long = "é".repeat(201);
    let (status, body) = answer(
        &server,
        &officer,
        mine,
        json!({"status": "en_route", "note": long}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("200"), "{body}");
    assert_eq!(
        latest_seq(&server, &dispatcher).await,
        seq,
        "nothing refused changed anything"
    );
    nothing_within(&mut feed, Duration::from_millis(300)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_closed_report_takes_only_closed_again() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    let mine = report(&server, &dispatcher, 4, "Assault").await["id"]
        .as_u64()
        .unwrap();
    let mut feed = connect(&server, &dispatcher).await;
    // A note of 200 characters (not bytes) is fine.
    let (status, noted) = answer(
        &server,
        &officer,
        mine,
        json!({"status": "en_route", "note": "é".repeat(200)}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(noted["note"].as_str().unwrap().chars().count(), 200);
    assert_eq!(next(&mut feed).await["report"], noted);

    // 409 on a closed report, for anything but closed again.
    let (status, closed) = answer(&server, &officer, mine, json!({"status": "closed"})).await;
    assert_eq!(status, 200);
    assert_eq!(next(&mut feed).await["report"], closed);
    for (token, value) in [
        (&officer, "en_route"),
        (&officer, "on_scene"),
        (&officer, "unable"),
        (&dispatcher, "unable"),
    ] {
        let (status, body) = answer(&server, token, mine, json!({"status": value})).await;
        assert_eq!(
            (status, body),
            (409, json!({"error": format!("report {mine} is closed")})),
            "{value}"
        );
    }
    assert_eq!(
        answer(&server, &officer, mine, json!({"status": "closed"})).await,
        (200, closed)
    );
    nothing_within(&mut feed, Duration::from_millis(300)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn since_returns_the_answered_report() {
    let server = start(quiet()).await.unwrap();
    let officer = login(&server, "officer").await;
    let dispatcher = login(&server, "dispatcher").await;
    report(&server, &dispatcher, 4, "A").await; // seq 1
    report(&server, &dispatcher, 4, "B").await; // seq 2
    report(&server, &dispatcher, 7, "C").await; // seq 3
    let (status, answered) = answer(&server, &officer, 1, json!({"status": "on_scene"})).await;
    assert_eq!(status, 200);
    assert_eq!(answered["seq"], 4);

    for token in [&officer, &dispatcher] {
        let (status, list) = get(&server, token, "/api/reports?since=3").await;
        assert_eq!(status, 200);
        assert_eq!(list, json!({"reports": [answered], "latest_seq": 4}));
    }
    let (_, list) = get(&server, &officer, "/api/reports?since=1").await;
    let order: Vec<_> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_u64().unwrap(), r["status_by"].clone()))
        .collect();
    assert_eq!(order, [(2, Value::Null), (1, json!("officer"))]);

    // Unable is a change too, and a retry is not.
    let (_, unable) = answer(&server, &officer, 2, json!({"status": "unable"})).await;
    answer(&server, &officer, 2, json!({"status": "unable"})).await;
    let (_, list) = get(&server, &officer, "/api/reports?since=4").await;
    assert_eq!(list, json!({"reports": [unable], "latest_seq": 5}));
    server.shutdown().await;
}
