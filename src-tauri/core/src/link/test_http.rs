//! A scripted HTTP/1.1 server on 127.0.0.1 for tests: records every request (method, target, headers and body)
//! and answers each from a closure. One request per connection (`Connection: close`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path and query, as sent.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    /// Every header value and the body as text, to look for a secret in.
    pub(crate) fn text(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.headers {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push('\n');
        }
        text.push_str(&self.target);
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&self.body));
        text
    }
}

/// How to answer one request.
pub(crate) enum Answer {
    /// A status with a JSON body.
    Json(u16, Value),
    /// A redirect with this status to this location.
    Redirect(u16, String),
    /// A 200 whose body is this many bytes, sent in chunks without a length (stops when the client leaves).
    Chunked(usize),
    /// A 200 that declares this length and sends nothing.
    Declared(usize),
}

type Script = dyn Fn(&Request) -> Answer + Send + Sync;

/// The server: its base URL and what it received.
pub(crate) struct TestHttp {
    pub(crate) url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl TestHttp {
    /// Starts a server answering with `script`.
    pub(crate) async fn start(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let script: Arc<Script> = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                let script = Arc::clone(&script);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(20),
                        serve(stream, &log, script.as_ref()),
                    )
                    .await;
                });
            }
        });
        Self { url, requests }
    }

    /// What the server received so far.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("not poisoned").clone()
    }
}

async fn serve(mut stream: TcpStream, log: &Mutex<Vec<Request>>, script: &Script) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    log.lock().expect("not poisoned").push(request.clone());
    let head = |status: u16, extra: &str| {
        format!("HTTP/1.1 {status} X\r\nConnection: close\r\n{extra}\r\n").into_bytes()
    };
    match script(&request) {
        Answer::Json(status, body) => {
            let body = body.to_string();
            let mut out = head(
                status,
                &format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            );
            out.extend_from_slice(body.as_bytes());
            let _ = stream.write_all(&out).await;
        }
        Answer::Redirect(status, location) => {
            let extra = format!("Location: {location}\r\nContent-Length: 0\r\n");
            let _ = stream.write_all(&head(status, &extra)).await;
        }
        Answer::Declared(length) => {
            let extra = format!("Content-Type: application/json\r\nContent-Length: {length}\r\n");
            let _ = stream.write_all(&head(200, &extra)).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Answer::Chunked(total) => {
            let extra = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
            if stream.write_all(&head(200, extra)).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 16 * 1024];
            let mut sent = 0;
            while sent < total {
                let mut out = format!("{:x}\r\n", chunk.len()).into_bytes();
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
                if stream.write_all(&out).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        }
    }
}

/// Reads one request: the head (up to 64 KiB), then a body of its `Content-Length`.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = buffer[end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}
