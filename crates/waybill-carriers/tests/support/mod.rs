//! Test helpers shared by the carrier adapter tests.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A carrier whose answers are cut off: it declares the whole `body` in `Content-Length`,
/// sends half, and closes (a real HTTP server refuses to do that, hence the raw socket).
/// Requests whose head contains `token.0` get `token.1` whole first, so OAuth adapters can log
/// in before the cut-off call.
pub async fn start_cutting_server(token: Option<(&'static str, &'static str)>, body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Read one request: headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    let http = |len: usize, sent: &str| {
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n{sent}"
                        )
                    };
                    match token {
                        Some((path, whole)) if head.contains(path) => {
                            if socket.write_all(http(whole.len(), whole).as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        _ => {
                            let _ = socket.write_all(http(body.len(), &body[..body.len() / 2]).as_bytes()).await;
                            let _ = socket.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}
