//! A scripted Socket.IO server on 127.0.0.1 for tests. Each connection, in turn, gets the Engine.IO open packet,
//! then, once the client's CONNECT arrives, the frames of its script; then the server keeps reading (answering
//! WebSocket pings) until the client leaves. Connections beyond the scripts get an empty script. A plain HTTP
//! request (a reconnect probe) gets `400 Bad Request`, as Socket.IO answers one without a transport, and takes no
//! script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// The server: where it listens and how many connections it took.
pub(crate) struct TestSio {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    connections: Arc<Mutex<usize>>,
}

impl TestSio {
    /// Starts a server playing `scripts`, one per connection.
    pub(crate) async fn start(scripts: Vec<Vec<String>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let connections = Arc::new(Mutex::new(0));
        let count = Arc::clone(&connections);
        let scripts = Arc::new(Mutex::new(VecDeque::from(scripts)));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if !asks_for_upgrade(&stream).await {
                    use tokio::io::AsyncWriteExt;
                    let answer = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = stream.write_all(answer.as_bytes()).await;
                    continue;
                }
                *count.lock().expect("not poisoned") += 1;
                let script = scripts
                    .lock()
                    .expect("not poisoned")
                    .pop_front()
                    .unwrap_or_default();
                tokio::spawn(async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(60), play(stream, script)).await;
                });
            }
        });
        Self { url, connections }
    }

    /// The WebSocket URL of the default Socket.IO path.
    pub(crate) fn ws_url(&self) -> url::Url {
        format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            self.url.replace("http://", "ws://")
        )
        .parse()
        .expect("a URL")
    }

    /// How many connections it took so far.
    pub(crate) fn connections(&self) -> usize {
        *self.connections.lock().expect("not poisoned")
    }
}

/// Whether the request head on `stream` (peeked, not consumed) asks for a WebSocket upgrade.
async fn asks_for_upgrade(stream: &tokio::net::TcpStream) -> bool {
    let mut head = [0u8; 4096];
    for _ in 0..50 {
        let Ok(n) = stream.peek(&mut head).await else {
            return false;
        };
        let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
        if n == 0 || text.contains("\r\n\r\n") || n == head.len() {
            return text.contains("upgrade: websocket");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn play(stream: tokio::net::TcpStream, script: Vec<String>) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let open = r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    if socket.send(Message::Text(open.into())).await.is_err() {
        return;
    }
    // Wait for the namespace CONNECT ("40...").
    while let Some(Ok(frame)) = socket.next().await {
        if matches!(&frame, Message::Text(t) if t.starts_with("40")) {
            break;
        }
    }
    for frame in script {
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    while let Some(Ok(_)) = socket.next().await {}
}
