//! Proxy selection as curl does it, and the CONNECT tunnel against a scripted proxy on 127.0.0.1.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap()
}

fn routed(proxies: &Proxies, to: &str) -> Option<String> {
    proxies.route(&url(to)).map(ProxyServer::authority)
}

#[test]
fn the_scheme_picks_the_variable_and_lower_case_wins() {
    let proxies = Proxies::from_env(env(&[
        ("https_proxy", "http://lower:1"),
        ("HTTPS_PROXY", "http://upper:2"),
        ("HTTP_PROXY", "http://plain:3"),
    ]))
    .unwrap();
    assert_eq!(
        routed(&proxies, "https://a.example/x").as_deref(),
        Some("lower:1")
    );
    assert_eq!(
        routed(&proxies, "wss://a.example/ws").as_deref(),
        Some("lower:1")
    );
    assert_eq!(
        routed(&proxies, "http://a.example/").as_deref(),
        Some("plain:3")
    );
    assert_eq!(
        routed(&proxies, "ws://a.example/").as_deref(),
        Some("plain:3")
    );
    assert_eq!(proxies.https.as_ref().unwrap().from, "https_proxy");
}

#[test]
fn all_proxy_covers_what_is_not_set_and_empty_values_are_unset() {
    let proxies = Proxies::from_env(env(&[
        ("HTTPS_PROXY", ""),
        ("ALL_PROXY", "proxy.corp:8080"),
        ("http_proxy", "http://web.corp:3128"),
    ]))
    .unwrap();
    assert_eq!(
        routed(&proxies, "https://a.example/").as_deref(),
        Some("proxy.corp:8080")
    );
    assert_eq!(
        routed(&proxies, "http://a.example/").as_deref(),
        Some("web.corp:3128")
    );
    let none = Proxies::from_env(env(&[("NO_PROXY", "*")])).unwrap();
    assert!(none.is_empty());
    assert_eq!(routed(&none, "https://a.example/"), None);
}

#[test]
fn no_proxy_sends_its_hosts_direct_and_this_machine_is_proxied_unless_named() {
    let proxies = Proxies::from_env(env(&[
        ("HTTPS_PROXY", "http://127.0.0.1:3128"),
        ("no_proxy", "intranet.local, 10.0.0.0/8"),
    ]))
    .unwrap();
    assert_eq!(routed(&proxies, "https://alerts.intranet.local/"), None);
    assert_eq!(routed(&proxies, "https://10.4.2.1:8443/"), None);
    assert_eq!(
        routed(&proxies, "https://127.0.0.1:9443/").as_deref(),
        Some("127.0.0.1:3128"),
        "loopback is proxied like any other address"
    );
    let named = Proxies::from_env(env(&[
        ("HTTPS_PROXY", "http://127.0.0.1:3128"),
        ("NO_PROXY", "127.0.0.1"),
    ]))
    .unwrap();
    assert_eq!(routed(&named, "wss://127.0.0.1:9443/ws"), None);
}

#[test]
fn proxy_urls_parse_as_curl_reads_them() {
    let bare = ProxyServer::parse("proxy.corp:3128", "HTTPS_PROXY", true).unwrap();
    assert_eq!((bare.host.as_str(), bare.port), ("proxy.corp", 3128));
    let no_port = ProxyServer::parse("http://proxy.corp", "HTTPS_PROXY", true).unwrap();
    assert_eq!(no_port.port, DEFAULT_PORT);
    let port_80 = ProxyServer::parse("http://proxy.corp:80/", "HTTPS_PROXY", true).unwrap();
    assert_eq!(port_80.port, 80);
    let v6 = ProxyServer::parse("http://[::1]:3128", "HTTPS_PROXY", true).unwrap();
    assert_eq!(v6.authority(), "[::1]:3128");
    for (text, needle) in [
        (
            "socks5://proxy.corp:1080",
            "socks5:// proxies are not supported",
        ),
        (
            "https://proxy.corp:443",
            "https:// proxies are not supported",
        ),
        ("http://proxy.corp:3128/path", "only http://host:port"),
        ("http://:3128", "not a URL"),
    ] {
        let err = ProxyServer::parse(text, "HTTPS_PROXY", true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HTTPS_PROXY") && err.contains(needle),
            "{text}: {err}"
        );
    }
}

#[test]
fn credentials_come_from_the_environment_url_or_the_keyring_never_the_settings_file() {
    let env_proxy = ProxyServer::parse(
        "http://ann%40corp:p%3Ass-S3CRET@proxy.corp:3128",
        "HTTPS_PROXY",
        true,
    )
    .unwrap();
    assert_eq!(env_proxy.user.as_deref(), Some("ann@corp"));
    let shown = format!("{env_proxy:?} {env_proxy}");
    assert!(!shown.contains("S3CRET"), "{shown}");
    assert_eq!(
        env_proxy.authorization().unwrap(),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ann@corp:p:ss-S3CRET")
        )
    );
    let err = ProxyServer::parse(
        "http://ann:S3CRET@proxy.corp:3128",
        "[network] proxy",
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("does not belong in the settings file") && !err.contains("S3CRET"),
        "{err}"
    );
    let setting =
        ProxyServer::parse("http://ann@proxy.corp:3128", "[network] proxy", false).unwrap();
    assert_eq!(account(&setting), "proxy:ann@proxy.corp:3128");
    assert!(!setting.has_password());
    let with = setting.with_password(Token::new("pw"));
    assert!(with.authorization().unwrap().starts_with("Basic "));
    assert_eq!(
        ProxyServer::parse("http://proxy.corp:3128", "x", false)
            .unwrap()
            .authorization(),
        None
    );
}

#[test]
fn a_settings_proxy_serves_every_scheme_except_its_exceptions() {
    let proxy = ProxyServer::parse("http://proxy.corp:3128", "[network] proxy", false).unwrap();
    let proxies = Proxies::from_setting(&proxy, &["dispatch.corp".into()]);
    assert_eq!(
        routed(&proxies, "ws://a.example/").as_deref(),
        Some("proxy.corp:3128")
    );
    assert_eq!(
        routed(&proxies, "https://a.example/").as_deref(),
        Some("proxy.corp:3128")
    );
    assert_eq!(routed(&proxies, "https://dispatch.corp/"), None);
}

/// A scripted proxy: answers the first request head with `answer`, then echoes what follows; returns the
/// request head it got.
async fn scripted_proxy(answer: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if socket.read(&mut byte).await.unwrap() == 0 {
                break;
            }
            head.push(byte[0]);
        }
        socket.write_all(answer.as_bytes()).await.unwrap();
        let mut buf = [0u8; 64];
        if let Ok(n) = socket.read(&mut buf).await {
            let _ = socket.write_all(&buf[..n]).await;
        }
        String::from_utf8_lossy(&head).into_owned()
    });
    (port, task)
}

fn local_proxy(port: u16, user: Option<&str>) -> ProxyServer {
    let text = match user {
        Some(user) => format!("http://{user}@127.0.0.1:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    ProxyServer::parse(&text, "HTTPS_PROXY", true).unwrap()
}

#[tokio::test]
async fn a_tunnel_asks_for_the_server_and_then_carries_bytes_both_ways() {
    let (port, proxy) = scripted_proxy("HTTP/1.1 200 Connection established\r\n\r\n").await;
    let server = local_proxy(port, Some("ann")).with_password(Token::new("pw"));
    let mut stream = server.tunnel("dispatch.example", 443).await.unwrap();
    stream.write_all(b"hello").await.unwrap();
    let mut echoed = [0u8; 5];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"hello");
    let head = proxy.await.unwrap();
    assert!(
        head.starts_with("CONNECT dispatch.example:443 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("Host: dispatch.example:443\r\n"), "{head}");
    let basic = base64::engine::general_purpose::STANDARD.encode("ann:pw");
    assert!(
        head.contains(&format!("Proxy-Authorization: Basic {basic}\r\n")),
        "{head}"
    );

    let (port, proxy) = scripted_proxy("HTTP/1.0 200 OK\r\n\r\n").await;
    local_proxy(port, None).tunnel("::1", 8443).await.unwrap();
    let head = proxy.await.unwrap();
    assert!(
        head.starts_with("CONNECT [::1]:8443 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(!head.contains("Proxy-Authorization"), "{head}");
}

#[tokio::test]
async fn a_proxy_that_says_no_is_an_error_that_says_why() {
    let (port, _) = scripted_proxy(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
    )
    .await;
    let err = local_proxy(port, Some("ann"))
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TunnelError::Authentication { sent: true, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("refused the username and password"),
        "{err}"
    );

    let (port, _) = scripted_proxy("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
    let err = local_proxy(port, None)
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("asks for a username and password (HTTP 407 Proxy Authentication Required)"),
        "{err}"
    );
    assert!(err.to_string().contains("alertdesk proxy login"), "{err}");

    // tinyproxy answers a wrong password with 401: before the tunnel, only the proxy speaks.
    let (port, _) = scripted_proxy("HTTP/1.1 401 Unauthorized\r\n\r\n").await;
    let err = local_proxy(port, Some("ann"))
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refused the username and password (HTTP 401 Unauthorized)"),
        "{err}"
    );

    let (port, _) = scripted_proxy("HTTP/1.1 403 Forbidden\r\n\r\n").await;
    let err = local_proxy(port, None)
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refused to connect to a.example:443: HTTP 403 Forbidden"),
        "{err}"
    );
    assert!(!matches!(err, TunnelError::Unreachable { .. }));

    let (port, _) = scripted_proxy("SSH-2.0-OpenSSH\r\n\r\n").await;
    let err = local_proxy(port, None)
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not HTTP"), "{err}");

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = local_proxy(port, None)
        .tunnel("a.example", 443)
        .await
        .unwrap_err();
    assert!(matches!(err, TunnelError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("cannot reach the proxy"), "{err}");
}
