//! The policy against real local servers: the open client reaches them, the guarded client is
//! refused with a recognisable reason before any connection is made, and answers are read
//! within a size limit. (Every local server is on loopback, so redirects from an allowed server
//! are tested on the redirect policy itself, in `src/guard.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use waybill_outbound::{Outbound, ReadError, Refused, read_limited, refused_reason};

/// A server on 127.0.0.1 that counts the connections it accepts and answers every request with
/// `answer` (a whole HTTP/1.1 response).
async fn server(answer: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, accepted)
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
const RULE: &str = "outbound calls to private, loopback, link-local and metadata addresses are refused";

#[tokio::test]
async fn the_guarded_client_never_connects_to_loopback_however_it_is_written() {
    let (port, accepted) = server(OK).await;
    let outbound = Outbound::default();
    for url in [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/")] {
        let answer = outbound.open().get(&url).send().await.expect("the open client reaches a local server");
        assert_eq!(answer.text().await.expect("body"), "ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    for (url, reason) in [
        (format!("http://127.0.0.1:{port}/"), format!("`127.0.0.1` is a loopback address; {RULE}")),
        (format!("http://[::1]:{port}/"), format!("`::1` is a loopback address; {RULE}")),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), format!("`::ffff:127.0.0.1` is a loopback address; {RULE}")),
        (format!("http://2130706433:{port}/"), format!("`127.0.0.1` is a loopback address; {RULE}")),
        (format!("http://localhost:{port}/"), "`localhost` resolves only to refused addresses such as".to_owned()),
    ] {
        let refused = outbound.guarded().post(&url).body("secret").send().await.expect_err(&url);
        let got = refused_reason(&refused).unwrap_or_else(|| panic!("{url}: not recognisable: {refused:?}"));
        assert!(got.starts_with(&reason) && got.ends_with(RULE), "{url}: {got}");
        assert!(refused.is_connect(), "{url}: {refused:?}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the guarded client opened no connection");
}

#[tokio::test]
async fn other_failures_are_not_mistaken_for_refusals() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("address");
    let failed = Outbound::default().open().get(format!("http://{closed}/")).send().await.expect_err("nothing listens");
    assert_eq!(refused_reason(&failed), None);
}

#[tokio::test]
async fn destinations_are_checked_when_registered() {
    let outbound = Outbound::default();
    for url in ["https://93.184.216.34/api", "http://[2606:4700:4700::1111]:8080/"] {
        assert_eq!(outbound.check_destination(url).await, Ok(()), "{url}");
    }
    for (url, expected) in [
        ("http://10.0.0.5/api", format!("`10.0.0.5` is a private address; {RULE}")),
        ("http://169.254.169.254/latest/meta-data/", format!("`169.254.169.254` is a cloud metadata address; {RULE}")),
        ("http://[fd00:ec2::254]/", format!("`fd00:ec2::254` is a cloud metadata address; {RULE}")),
        ("ftp://carrier.example/", "`ftp://carrier.example/` is not an http or https URL with a host".to_owned()),
        ("carrier.example/api", "`carrier.example/api` is not an http or https URL with a host".to_owned()),
    ] {
        let refused = outbound.check_destination(url).await.expect_err(url);
        assert_eq!(refused.to_string(), expected);
    }
    let refused = outbound.check_destination("http://localhost:8080/").await.expect_err("localhost");
    assert!(matches!(&refused, Refused::Resolved { host, .. } if host == "localhost"), "{refused:?}");

    // The same rule for hosts that are not URLs (a tenant's SMTP server).
    assert_eq!(outbound.check_host("93.184.216.34").await, Ok(()));
    assert_eq!(outbound.check_host("[2606:4700:4700::1111]").await, Ok(()));
    for host in ["10.0.0.5", "::1", "[fd00:ec2::254]"] {
        assert!(outbound.check_host(host).await.is_err(), "{host}");
    }
    let refused = outbound.check_host("localhost").await.expect_err("localhost");
    assert!(matches!(&refused, Refused::Resolved { host, .. } if host == "localhost"), "{refused:?}");
}

#[tokio::test]
async fn a_body_larger_than_the_limit_is_refused_with_or_without_its_length() {
    let outbound = Outbound::default();
    let get = async |answer: &'static str| {
        let (port, _) = server(answer).await;
        outbound.open().get(format!("http://127.0.0.1:{port}/")).send().await.expect("answer")
    };

    let declared = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\nconnection: close\r\n\r\nabc";
    let read = read_limited(get(declared).await, 1000).await;
    assert!(matches!(read, Err(ReadError::TooLarge { max: 1000 })), "{read:?}");

    // Chunked: no length up front, so the chunks are counted.
    let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
                   6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n";
    let read = read_limited(get(chunked).await, 10).await;
    assert!(matches!(read, Err(ReadError::TooLarge { max: 10 })), "{read:?}");
    assert_eq!(read_limited(get(chunked).await, 12).await.expect("within the limit"), b"abcdefghijkl");
    assert_eq!(read_limited(get(OK).await, 2).await.expect("exactly the limit"), b"ok");
}
