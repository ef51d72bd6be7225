//! Updates go the way every other connection does: the real updater plugin, asking an HTTPS update server whose
//! certificate comes from a private CA (made with openssl at test time), trusts it only through the app's
//! network configuration, and goes through its proxy.

use std::sync::{Arc, Mutex};

use alertdesk_core::config::settings::UpdateSettings;
use alertdesk_core::link::net::test_support::{forwarding_proxy, Pki};
use alertdesk_core::link::net::{Net, NetOptions, Proxies};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tauri::test::MockRuntime;
use tauri::{App, Manager};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{check, plugin, Installer, UpdateStatus, Updates};

/// A public key in the `plugins.updater.pubkey` form; a check never uses it (only an install verifies).
const PUBKEY: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk6IDNBNDY2RjQwMTQxMzg3QTMKUldTamh4TVVRRzlHT2hrVk1WMjNFbmRLaWZKWDBpTE1kZk1kNXNNbEdaWnh3Y0tJQ2QwZjFDcU4K";

/// An HTTPS update server on 127.0.0.1 that answers every request with 204 (no update); counts the requests.
async fn update_server(pki: &Pki) -> (u16, Arc<Mutex<usize>>) {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.path("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Arc::new(Mutex::new(0));
    let count = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, count) = (acceptor.clone(), Arc::clone(&count));
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                if tls.read(&mut buf).await.unwrap_or(0) > 0 {
                    *count.lock().unwrap() += 1;
                    let _ = tls
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (port, asked)
}

fn app(endpoint: &str, net: Option<Net>) -> App<MockRuntime> {
    let mut context = tauri::test::mock_context(tauri::test::noop_assets());
    context.config_mut().plugins.0.insert(
        "updater".into(),
        json!({ "pubkey": PUBKEY, "endpoints": [] }),
    );
    let app = tauri::test::mock_builder()
        .plugin(plugin())
        .build(context)
        .unwrap();
    let settings = UpdateSettings {
        endpoints: vec![endpoint.to_string()],
        ..UpdateSettings::default()
    };
    app.manage(Updates::new(settings, Installer::Unsupported).with_net(net));
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_trust_the_departments_ca_and_take_its_proxy_as_every_connection_does() {
    let pki = Pki::new();
    let (port, asked) = update_server(&pki).await;
    let endpoint = format!("https://127.0.0.1:{port}/latest.json");

    // The updater's own client trusts the OS store only: the department's CA is unknown to it.
    let status = check(app(&endpoint, None).handle()).await;
    let UpdateStatus::Error { message } = &status else {
        panic!("{status:?}");
    };
    assert!(
        message.contains("certificate could not be verified"),
        "{message}"
    );
    let untrusting = Net::direct().unwrap();
    let status = check(app(&endpoint, Some(untrusting)).handle()).await;
    assert!(matches!(status, UpdateStatus::Error { .. }), "{status:?}");
    assert_eq!(
        *asked.lock().unwrap(),
        0,
        "nothing was asked over an unverified connection"
    );

    let with_ca = NetOptions {
        ca_files: vec![pki.ca()],
        ..NetOptions::default()
    };
    let status = check(app(&endpoint, Some(Net::build(&with_ca).unwrap())).handle()).await;
    assert!(
        matches!(status, UpdateStatus::UpToDate { .. }),
        "{status:?}"
    );
    assert_eq!(*asked.lock().unwrap(), 1);

    let (proxy_port, seen) = forwarding_proxy().await;
    let proxied = NetOptions {
        proxies: Proxies::from_env(|name| {
            (name == "HTTPS_PROXY").then(|| format!("http://127.0.0.1:{proxy_port}"))
        })
        .unwrap(),
        ..with_ca
    };
    let status = check(app(&endpoint, Some(Net::build(&proxied).unwrap())).handle()).await;
    assert!(
        matches!(status, UpdateStatus::UpToDate { .. }),
        "{status:?}"
    );
    // The proxy records request lines; the target is the second word.
    let targets: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    assert_eq!(targets, [format!("127.0.0.1:{port}")]);
}
