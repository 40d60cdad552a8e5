//! Blob uploads over a real socket, through hyper: what an in-process `oneshot` cannot show.
//!
//! A phone that loses its signal leaves a request body unfinished; hyper reports that as a body
//! error, and the bytes that did arrive must stay held. `HEAD` must keep its `Content-Length`
//! on the wire. A device sending `Expect: 100-continue` must be refused before it sends a chunk
//! the server cannot use.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use yijian_core::division::DivisionCode;
use yijian_core::ids::DeviceId;
use yijian_core::role::Role;
use yijian_server::blobstore::DiskBlobStore;
use yijian_server::domain::accounts::{NewUser, new_device_token};
use yijian_server::store::Storage;
use yijian_server::store::sqlite::SqliteStorage;
use yijian_server::{AppState, ServerSettings, serve};

struct Server {
    addr: SocketAddr,
    token: String,
    storage: Arc<dyn Storage>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open_in(dir.path()).await.expect("storage");
    let blobs = DiskBlobStore::open_in(dir.path()).await.expect("blobs");
    let (user, hash) = NewUser {
        login: "13900139000".into(),
        name: "测试网格员".into(),
        role: Role::VillageWorker,
        scope: DivisionCode::parse("621102105201").expect("code"),
        password: "correct horse battery".into(),
    }
    .prepare()
    .expect("user");
    storage
        .create_user(&user, &hash)
        .await
        .expect("create user");
    let (token, token_hash) = new_device_token().expect("token");
    storage
        .create_device(
            DeviceId::new(),
            user.id,
            "测试手机",
            &token_hash,
            Utc::now(),
            Utc::now() + chrono::Duration::days(1),
        )
        .await
        .expect("device");
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let state = AppState::new(
        Arc::clone(&storage),
        Arc::new(blobs),
        ServerSettings::default(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        token,
        storage,
        _dir: dir,
        _stop: stop,
    }
}

/// A parsed response: status, lower-cased headers, body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Send `head` (request line and headers, without the blank line) and `body`; optionally
/// half-close the connection right after, as a phone losing its signal mid-upload does.
async fn exchange(addr: SocketAddr, head: String, body: Vec<u8>, cut: bool) -> Reply {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.write_all(head.as_bytes()).expect("write head");
        s.write_all(b"Connection: close\r\n\r\n")
            .expect("write head");
        s.write_all(&body).expect("write body");
        if cut {
            s.shutdown(Shutdown::Write).expect("half-close");
        }
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read reply");
        parse(&raw)
    })
    .await
    .expect("join")
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes
}

#[tokio::test]
async fn a_dropped_connection_keeps_what_arrived_and_the_upload_resumes() {
    let server = start().await;
    let data = jpeg(1_000_000);
    let sha = hex::encode(Sha256::digest(&data));
    // The photo's record lies in the user's village (pushed before any upload).
    server
        .storage
        .link_blob(&sha, &DivisionCode::parse("621102105201").expect("code"))
        .await
        .expect("link");
    let auth = format!("Authorization: Bearer {}\r\n", server.token);

    // The whole photo is announced; only 300 000 bytes get through before the signal is lost.
    let reply = exchange(
        server.addr,
        format!(
            "PUT /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}Content-Length: 1000000\r\n\
             Content-Range: bytes 0-999999/1000000\r\n"
        ),
        data[..300_000].to_vec(),
        true,
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.header("upload-offset"), Some("300000"));

    let reply = exchange(
        server.addr,
        format!("HEAD /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}"),
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("upload-offset"), Some("300000"));

    let reply = exchange(
        server.addr,
        format!(
            "PUT /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}Content-Length: 700000\r\n\
             Content-Range: bytes 300000-999999/1000000\r\n"
        ),
        data[300_000..].to_vec(),
        false,
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");

    let reply = exchange(
        server.addr,
        format!("HEAD /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}"),
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("1000000"));
    assert!(reply.body.is_empty());

    let reply = exchange(
        server.addr,
        format!("GET /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}Range: bytes=-100\r\n"),
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(reply.status, 206);
    assert_eq!(
        reply.header("content-range"),
        Some("bytes 999900-999999/1000000")
    );
    assert_eq!(reply.body, data[999_900..]);

    let reply = exchange(
        server.addr,
        format!("GET /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}Accept-Encoding: zstd, gzip\r\n"),
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("image/jpeg"));
    // Photos are compressed already: sent as they are, with their length.
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.header("content-length"), Some("1000000"));
    assert!(reply.body == data, "downloaded bytes differ");
}

#[tokio::test]
async fn a_chunk_that_cannot_be_used_is_refused_before_it_is_sent() {
    let server = start().await;
    let data = jpeg(10_000);
    let sha = hex::encode(Sha256::digest(&data));
    // The photo's record lies in the user's village (pushed before any upload).
    server
        .storage
        .link_blob(&sha, &DivisionCode::parse("621102105201").expect("code"))
        .await
        .expect("link");
    let auth = format!("Authorization: Bearer {}\r\n", server.token);
    // Wrong offset, and too large: the answer comes instead of `100 Continue`.
    for (range, status) in [
        ("bytes 5000-9999/10000", 409),
        ("bytes 0-4999/99999999", 413),
    ] {
        let reply = exchange(
            server.addr,
            format!(
                "PUT /v1/blobs/{sha} HTTP/1.1\r\nHost: t\r\n{auth}Expect: 100-continue\r\n\
                 Content-Length: 5000\r\nContent-Range: {range}\r\n"
            ),
            Vec::new(),
            false,
        )
        .await;
        assert_eq!(reply.status, status, "{range}: {reply:?}");
    }
}
