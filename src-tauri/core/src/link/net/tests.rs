//! The network configuration against real TLS on 127.0.0.1: a private CA made with openssl, a rustls server
//! with a certificate from it (requiring a client certificate or not), and a scripted CONNECT proxy in front.

use std::sync::Arc;

use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::test_support::{forwarding_proxy, Pki};
use super::*;
use crate::link::auth::MemoryStore;
use crate::link::protocol::{Heartbeat, Limits, LinkEnd, LinkSpec};

#[derive(Clone, Copy)]
enum Serve {
    /// Answers one HTTP request with `{"ok": true}`.
    Rest,
    /// Accepts a WebSocket and sends one text message.
    WebSocket,
}

/// A TLS server on 127.0.0.1 with the PKI's server certificate; with `client_ca`, it requires a client
/// certificate from that CA. Returns its port.
async fn tls_server(pki: &Pki, serve: Serve, require_client: bool) -> u16 {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.path("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(pki.ca()).unwrap())
            .unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                match serve {
                    Serve::Rest => {
                        let mut buf = [0u8; 4096];
                        let _ = tls.read(&mut buf).await;
                        let body = r#"{"ok": true}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(answer.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    }
                    Serve::WebSocket => {
                        use futures_util::SinkExt;
                        let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                            return;
                        };
                        let _ = ws
                            .send(tokio_tungstenite::tungstenite::Message::text(
                                "hello over TLS",
                            ))
                            .await;
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                }
            });
        }
    });
    port
}

async fn get(net: &Net, port: u16) -> Result<serde_json::Value, String> {
    let response = net
        .http()
        .get(format!("https://127.0.0.1:{port}/api/ping"))
        .send()
        .await
        .map_err(|e| crate::link::http::describe(&e))?;
    response.json().await.map_err(|e| e.to_string())
}

fn spec(net: Net, port: u16) -> LinkSpec {
    LinkSpec {
        url: format!("wss://127.0.0.1:{port}/ws").parse().unwrap(),
        headers: Vec::new(),
        namespace: "/".into(),
        auth: None,
        emits: Vec::new(),
        heartbeat: Heartbeat::default(),
        limits: Limits::default(),
        recovery: None,
        net,
    }
}

#[tokio::test]
async fn a_server_certificate_from_a_private_ca_is_refused_until_that_ca_is_trusted() {
    let pki = Pki::new();
    let rest = tls_server(&pki, Serve::Rest, false).await;
    let untrusting = Net::direct().unwrap();
    let err = get(&untrusting, rest).await.unwrap_err();
    assert!(
        err.contains("could not be verified") && err.contains("ca_files"),
        "{err}"
    );
    let with_ca = NetOptions {
        ca_files: vec![pki.ca()],
        ..NetOptions::default()
    };
    assert_eq!(
        get(&Net::build(&with_ca).unwrap(), rest).await.unwrap()["ok"],
        true
    );
    assert_eq!(
        get(&untrusting.with_ca_file(&pki.ca()).unwrap(), rest)
            .await
            .unwrap()["ok"],
        true,
        "a server's own CA file is trusted besides the rest"
    );

    let ws = tls_server(&pki, Serve::WebSocket, false).await;
    let Err(LinkEnd::Closed(why)) =
        crate::link::protocol::ws::connect(&spec(untrusting.clone(), ws)).await
    else {
        panic!("the WebSocket opened over a certificate from an untrusted CA");
    };
    assert!(why.contains("could not be verified"), "{why}");
    let mut socket = crate::link::protocol::ws::connect(&spec(Net::build(&with_ca).unwrap(), ws))
        .await
        .unwrap();
    let message = socket.next().await.unwrap().unwrap();
    assert_eq!(message.to_text().unwrap(), "hello over TLS");
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate_gets_the_configured_one() {
    let pki = Pki::new();
    let rest = tls_server(&pki, Serve::Rest, true).await;
    let without = Net::only(&NetOptions {
        ca_files: vec![pki.ca()],
        ..NetOptions::default()
    })
    .unwrap();
    let err = get(&without, rest).await.unwrap_err();
    assert!(err.contains("asks for a client certificate"), "{err}");
    let with = Net::only(&NetOptions {
        ca_files: vec![pki.ca()],
        ..pki.client()
    })
    .unwrap();
    assert_eq!(get(&with, rest).await.unwrap()["ok"], true);

    let ws = tls_server(&pki, Serve::WebSocket, true).await;
    let Err(LinkEnd::Closed(why)) = crate::link::protocol::ws::connect(&spec(without, ws)).await
    else {
        panic!("the WebSocket opened without a client certificate");
    };
    assert!(why.contains("asks for a client certificate"), "{why}");
    let mut socket = crate::link::protocol::ws::connect(&spec(with, ws))
        .await
        .unwrap();
    assert!(socket.next().await.unwrap().is_ok());
}

#[tokio::test]
async fn the_websocket_and_rest_go_through_the_same_proxy_unless_no_proxy_names_the_host() {
    let pki = Pki::new();
    let (rest, ws) = (
        tls_server(&pki, Serve::Rest, false).await,
        tls_server(&pki, Serve::WebSocket, false).await,
    );
    let (proxy, seen) = forwarding_proxy().await;
    let with_proxy = |no_proxy: &str| {
        let proxies = Proxies::from_env(|name| match name {
            "HTTPS_PROXY" => Some(format!("http://127.0.0.1:{proxy}")),
            "NO_PROXY" => Some(no_proxy.to_string()),
            _ => None,
        })
        .unwrap();
        Net::only(&NetOptions {
            ca_files: vec![pki.ca()],
            proxies,
            ..NetOptions::default()
        })
        .unwrap()
    };
    let net = with_proxy("");
    assert_eq!(get(&net, rest).await.unwrap()["ok"], true);
    let mut socket = crate::link::protocol::ws::connect(&spec(net.clone(), ws))
        .await
        .unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap().to_text().unwrap(),
        "hello over TLS"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            format!("CONNECT 127.0.0.1:{rest} HTTP/1.1"),
            format!("CONNECT 127.0.0.1:{ws} HTTP/1.1")
        ]
    );

    seen.lock().unwrap().clear();
    let direct = with_proxy("example.org, 127.0.0.1");
    assert_eq!(get(&direct, rest).await.unwrap()["ok"], true);
    crate::link::protocol::ws::connect(&spec(direct, ws))
        .await
        .unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn a_proxy_refusal_and_an_unreachable_proxy_end_the_link_with_words() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = closed.local_addr().unwrap().port();
    drop(closed);
    let net = Net::only(&NetOptions {
        proxies: Proxies::from_env(|name| {
            (name == "HTTPS_PROXY").then(|| format!("127.0.0.1:{gone}"))
        })
        .unwrap(),
        ..NetOptions::default()
    })
    .unwrap();
    match crate::link::protocol::ws::connect(&spec(net, 9)).await {
        Err(LinkEnd::Closed(why)) => assert!(why.contains("cannot reach the proxy"), "{why}"),
        other => panic!("{other:?}"),
    }
    let (proxy, _) = forwarding_proxy().await;
    let net = Net::only(&NetOptions {
        proxies: Proxies::from_env(|name| {
            (name == "ALL_PROXY").then(|| format!("127.0.0.1:{proxy}"))
        })
        .unwrap(),
        ..NetOptions::default()
    })
    .unwrap();
    let mut to_elsewhere = spec(net, 443);
    to_elsewhere.url = "wss://192.0.2.1:443/ws".parse().unwrap();
    match crate::link::protocol::ws::connect(&to_elsewhere).await {
        Err(LinkEnd::Closed(why)) => assert!(why.contains("HTTP 403"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_files_are_errors_that_name_them() {
    let pki = Pki::new();
    let missing = pki.path("nope.pem");
    let err = Net::build(&NetOptions {
        ca_files: vec![missing.clone()],
        ..NetOptions::default()
    })
    .unwrap_err();
    assert!(
        matches!(&err, NetError::CaFile { path, .. } if *path == missing),
        "{err}"
    );
    // Another certificate's key: the pair is no identity.
    let mismatched = NetOptions {
        client_key: Some(pki.path("server.key")),
        ..pki.client()
    };
    let err = Net::only(&mismatched).unwrap_err();
    assert!(matches!(err, NetError::Identity(_)), "{err}");
    let half = NetOptions {
        client_key: None,
        ..pki.client()
    };
    assert!(matches!(
        Net::only(&half).unwrap_err(),
        NetError::Identity(_)
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            pki.path("client.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let err = Net::only(&pki.client()).unwrap_err().to_string();
        assert!(
            err.contains("client.key") && err.contains("chmod 600"),
            "{err}"
        );
    }
}

#[test]
fn the_settings_proxy_takes_its_password_from_the_keyring() {
    let secrets = MemoryStore::default();
    let mut network = crate::config::settings::NetworkSettings {
        proxy: Some("http://ann@proxy.corp:3128".into()),
        no_proxy: vec!["dispatch.corp".into()],
        ..Default::default()
    };
    let options = NetOptions::from_settings(&network, &secrets).unwrap();
    let proxy = options.proxies.https.clone().unwrap();
    assert!(!proxy.has_password(), "nothing stored yet");
    secrets
        .set(
            "proxy:ann@proxy.corp:3128",
            &crate::domain::Token::new("pw"),
        )
        .unwrap();
    let options = NetOptions::from_settings(&network, &secrets).unwrap();
    let proxy = options
        .proxies
        .route(&"https://a.example/".parse().unwrap())
        .unwrap();
    assert!(proxy.has_password() && proxy.from == PROXY_SETTING);
    assert!(options
        .proxies
        .route(&"https://dispatch.corp/".parse().unwrap())
        .is_none());
    network.proxy = Some("socks5://proxy.corp:1080".into());
    let err = NetOptions::from_settings(&network, &secrets)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[network] proxy") && err.contains("socks5"),
        "{err}"
    );
}

#[test]
fn plain_http_is_unencrypted_only_off_this_machine() {
    for (url, want) in [
        ("http://10.0.4.2:8080", true),
        ("ws://dispatch.example/ws", true),
        ("http://127.0.0.1:8080", false),
        ("ws://127.3.2.1/ws", false),
        ("http://localhost:1", false),
        ("http://[::1]:1", false),
        ("https://10.0.4.2", false),
        ("wss://dispatch.example/ws", false),
    ] {
        assert_eq!(unencrypted(&url.parse().unwrap()), want, "{url}");
    }
}

#[test]
fn the_summary_says_what_is_trusted_and_where_connections_go() {
    let pki = Pki::new();
    let net = Net::only(&NetOptions {
        ca_files: vec![pki.ca()],
        proxies: Proxies::from_env(|name| match name {
            "HTTPS_PROXY" => Some("http://ann:S3CRET@proxy.corp:3128".into()),
            "NO_PROXY" => Some("dispatch.corp".into()),
            _ => None,
        })
        .unwrap(),
        ..pki.client()
    })
    .unwrap();
    let summary = net.summary();
    for needle in [
        "ca.pem",
        "with a client certificate",
        "https/wss via http://ann@proxy.corp:3128 (HTTPS_PROXY)",
        "http/ws direct",
        "NO_PROXY",
    ] {
        assert!(summary.contains(needle), "{needle}: {summary}");
    }
    assert!(!summary.contains("S3CRET") && !format!("{net:?}").contains("S3CRET"));
}
