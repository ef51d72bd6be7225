//! The client against scripted servers on 127.0.0.1: redirects stay within the origin, answers stay within the cap.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::domain::{Alert, Server, Token};
use crate::link::rest::{Fetched, Rest};
use crate::link::test_http::{Answer, TestHttp};
use crate::link::{auth, writeback, Target};
use crate::profile::{rules, Profile};

const SECRET: &str = "tok-only-for-the-right-server";
const PASSWORD: &str = "pw-only-for-the-right-server";

fn profile() -> Arc<Profile> {
    Arc::new(Profile::load("station-reports").unwrap())
}

fn vars(profile: &Profile) -> BTreeMap<String, String> {
    profile.resolve_variables(&BTreeMap::new()).unwrap()
}

fn rest(server: &str) -> Rest {
    let profile = profile();
    let target = Target {
        vars: vars(&profile),
        profile,
        server: Server::parse(server).unwrap(),
        token: Some(Token::new(SECRET)),
        cursor: None,
        discover_base: false,
        net: crate::link::net::Net::for_tests(),
    };
    Rest::new(target.net.http(), &target)
}

/// A server that sends every request to `to` with `status`.
async fn redirecting(status: u16, to: String) -> TestHttp {
    TestHttp::start(move |_| Answer::Redirect(status, to.clone())).await
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_naming_it_and_nothing_reaches_it() {
    let elsewhere = TestHttp::start(|_| Answer::Json(200, json!({"reports": []}))).await;
    for status in [301, 302, 303, 307, 308] {
        let server = redirecting(status, format!("{}/api/reports", elsewhere.url)).await;
        let err = rest(&server.url)
            .get_path("/api/reports")
            .await
            .unwrap_err();
        let Fetched::Failed(message) = &err else {
            panic!("{status}: {err:?}")
        };
        assert!(
            message.contains(&elsewhere.url) && message.contains("another origin"),
            "{status}: {message}"
        );
        let asked = server.requests();
        assert_eq!(asked.len(), 1, "{status}");
        assert!(asked[0].text().contains(SECRET), "sent to the right server");
    }
    // Another scheme on the same host and port is another origin too.
    let https = elsewhere.url.replace("http://", "https://");
    let server = redirecting(307, format!("{https}/api/reports")).await;
    let err = rest(&server.url).get_path("/api/reports").await;
    assert!(
        matches!(&err, Err(Fetched::Failed(m)) if m.contains("https://127.0.0.1")),
        "{err:?}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "credentials reached another origin: {:?}",
        elsewhere.requests()
    );
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_with_the_credentials() {
    let server = TestHttp::start(|request| match request.path() {
        "/old/reports" => Answer::Redirect(308, "/api/reports".into()),
        "/api/reports" => Answer::Json(200, json!({"reports": [{"id": 1}]})),
        _ => Answer::Json(404, json!({})),
    })
    .await;
    let answer = rest(&server.url).get_path("/old/reports").await.unwrap();
    assert_eq!(answer, json!({"reports": [{"id": 1}]}));
    let asked = server.requests();
    assert_eq!(asked.len(), 2);
    assert!(asked[1].text().contains(SECRET));
    // A loop ends with an error, not after reqwest's ten hops.
    let looping = TestHttp::start(|_| Answer::Redirect(302, "/again".into())).await;
    let err = rest(&looping.url).get_path("/again").await.unwrap_err();
    assert!(err.message().contains("more than 5 times"), "{err:?}");
    assert_eq!(looping.requests().len(), MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn a_login_redirected_to_another_origin_never_sends_the_password_there() {
    let elsewhere = TestHttp::start(|_| Answer::Json(200, json!({"token": "stolen"}))).await;
    let profile = profile();
    for status in [307, 308, 302] {
        let server = redirecting(status, format!("{}/api/login", elsewhere.url)).await;
        let err = auth::login(
            &crate::link::net::Net::for_tests().http(),
            &profile,
            &Server::parse(&server.url).unwrap(),
            "officer",
            &Token::new(PASSWORD),
            &vars(&profile),
            false,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&elsewhere.url) && err.contains("another origin"),
            "{status}: {err}"
        );
        let asked = server.requests();
        assert_eq!(asked[0].method, "POST");
        assert!(asked[0].text().contains(PASSWORD));
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the login reached another origin: {:?}",
        elsewhere.requests()
    );
}

/// An alert of station-reports about report `id`.
fn report(profile: &Profile, id: &str) -> Alert {
    let payload = json!({"type": "new_report", "report": {"id": id, "category": "Theft"}});
    rules::find(&profile.rules, "new_report", &payload)
        .unwrap()
        .rule
        .build(&profile.name, "new_report", payload, None, &vars(profile))
        .unwrap()
}

#[tokio::test]
async fn a_write_back_redirected_elsewhere_fails_naming_it_and_ids_stay_in_their_segment() {
    let elsewhere = TestHttp::start(|_| Answer::Json(200, json!({}))).await;
    let to = format!("{}/api/reports/1/acknowledge", elsewhere.url);
    let server = TestHttp::start(move |request| {
        if request.target.contains("redirect") {
            Answer::Redirect(307, to.clone())
        } else {
            Answer::Json(200, json!({"ok": true}))
        }
    })
    .await;
    let profile = profile();
    let send = |id: &'static str| {
        let profile = Arc::clone(&profile);
        let url = server.url.clone();
        async move {
            writeback::write_back(
                &crate::link::net::Net::for_tests().http(),
                &profile,
                &Server::parse(&url).unwrap(),
                Some(&Token::new(SECRET)),
                &vars(&profile),
                &report(&profile, id),
                "acknowledge",
            )
            .await
        }
    };
    let err = send("redirect").await.unwrap_err().to_string();
    assert!(err.contains(&elsewhere.url), "{err}");
    assert!(elsewhere.requests().is_empty());
    // A record id that looks like a path stays one segment on this server.
    send("../../admin?x=1").await.unwrap();
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.target,
        "/api/reports/..%2F..%2Fadmin%3Fx%3D1/acknowledge"
    );
}

#[tokio::test]
async fn answers_are_read_within_the_cap() {
    let server = TestHttp::start(|request| match request.path() {
        "/small" => Answer::Json(200, json!({"reports": [1, 2, 3]})),
        "/declared" => Answer::Declared(10 * 1024 * 1024),
        _ => Answer::Chunked(64 * 1024 * 1024),
    })
    .await;
    let http = crate::link::net::Net::for_tests().http();
    let get = |path: &str| http.get(format!("{}{path}", server.url)).send();
    let limit = 100 * 1024;
    assert_eq!(
        read_json_within(get("/small").await.unwrap(), limit)
            .await
            .unwrap(),
        json!({"reports": [1, 2, 3]})
    );
    // A declared length above the cap: refused before reading.
    let err = read_json_within(get("/declared").await.unwrap(), limit)
        .await
        .unwrap_err();
    assert_eq!(err, BodyError::TooLarge(limit));
    assert_eq!(
        err.to_string(),
        "answer larger than 102400 bytes (the [network] max_body_mib setting); not read"
    );
    // No length, and 64 MiB on their way: the read stops at the cap.
    let started = std::time::Instant::now();
    let err = read_json_within(get("/chunked").await.unwrap(), limit)
        .await
        .unwrap_err();
    assert_eq!(err, BodyError::TooLarge(limit));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Through the REST client, at the default cap.
    let err = rest(&server.url).get_path("/chunked").await.unwrap_err();
    assert_eq!(
        err,
        Fetched::Failed(
            "answer larger than 8 MiB (the [network] max_body_mib setting); not read".into()
        )
    );
}
