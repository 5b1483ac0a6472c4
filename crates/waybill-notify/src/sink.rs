//! A small SMTP server that keeps what it is sent, the mailer's peer in tests and in
//! `waybill bench notifications`: EHLO/HELO (advertising `AUTH PLAIN LOGIN`), AUTH PLAIN and
//! LOGIN, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP and QUIT. It records every
//! accepted message in memory and can refuse recipients or fail the first transactions, so
//! tests see real SMTP replies and real dropped connections. Not a mail server: it relays
//! nothing and keeps everything until dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the first `fail_first` transactions (counted at `MAIL FROM`) fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `451 4.3.0` to `MAIL FROM`.
    Reply451,
    /// The connection closes after the message data, before any reply: a lost answer.
    DropAfterData,
}

#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Recipients answered `550 5.1.1` at `RCPT TO`.
    pub reject_rcpt: Vec<String>,
    pub fail_first: usize,
    pub failure: Failure,
    /// Accept connections and never say anything.
    pub silent: bool,
    /// How long the server takes to accept each message after its data has arrived.
    pub accept_delay: std::time::Duration,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            reject_rcpt: Vec::new(),
            fail_first: 0,
            failure: Failure::Reply451,
            silent: false,
            accept_delay: std::time::Duration::ZERO,
        }
    }
}

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, after dot-unstuffing, lines ending in CRLF.
    pub raw: Vec<u8>,
    /// The AUTH user and password of the session, if it authenticated.
    pub auth: Option<(String, String)>,
}

struct Shared {
    behaviour: Behaviour,
    attempts: AtomicUsize,
    received: Mutex<Vec<Received>>,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl SmtpSink {
    /// Starts a sink on 127.0.0.1 with an OS-chosen port.
    pub async fn start(behaviour: Behaviour) -> SmtpSink {
        Self::start_on(0, behaviour).await
    }

    /// Starts a sink on 127.0.0.1:`port` (0: the OS chooses).
    pub async fn start_on(port: u16, behaviour: Behaviour) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("a loopback port for the sink");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let shared = Arc::new(Shared { behaviour, attempts: AtomicUsize::new(0), received: Mutex::new(Vec::new()) });
        let accepting = shared.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                if accepting.behaviour.silent {
                    held.push(stream);
                } else {
                    tokio::spawn(session(stream, accepting.clone()));
                }
            }
        });
        SmtpSink { addr, shared }
    }

    /// A plaintext URL for this sink with extra query parameters (`&…`).
    pub fn url(&self, credentials: &str, extra: &str) -> String {
        format!("smtp://{credentials}{}:{}?tls=none{extra}", self.addr.ip(), self.addr.port())
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many messages it accepted (without copying them, as `received` does).
    pub fn count(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// How many transactions (`MAIL FROM`) the sink has seen.
    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }
}

/// The address inside `FROM:<…>` or `TO:<…>`.
fn path(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

/// What a client sent in base64; empty when it is not base64 of UTF-8.
fn decode(b64: &str) -> String {
    STANDARD.decode(b64.trim()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default()
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut auth = None;
    let mut mail_from = None;
    let mut rcpt_to = Vec::new();
    let mut failing = None;
    macro_rules! reply {
        ($text:expr) => {
            if write.write_all(format!("{}\r\n", $text).as_bytes()).await.is_err() {
                return;
            }
        };
    }
    macro_rules! read_line {
        () => {{
            let mut line = String::new();
            match lines.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => line.trim_end_matches(['\r', '\n']).to_owned(),
            }
        }};
    }

    reply!("220 sink.test ESMTP ready");
    loop {
        let line = read_line!();
        let (verb, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => reply!("250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME"),
            "HELO" => reply!("250 sink.test"),
            "AUTH" => {
                let (mechanism, initial) = argument.split_once(' ').unwrap_or((argument, ""));
                match mechanism.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let encoded = if initial.is_empty() {
                            reply!("334 ");
                            read_line!()
                        } else {
                            initial.to_owned()
                        };
                        let decoded = decode(&encoded);
                        let mut fields = decoded.split('\0').skip(1);
                        let user = fields.next().unwrap_or_default().to_owned();
                        auth = Some((user, fields.next().unwrap_or_default().to_owned()));
                    }
                    "LOGIN" => {
                        reply!("334 VXNlcm5hbWU6");
                        let user = decode(&read_line!());
                        reply!("334 UGFzc3dvcmQ6");
                        auth = Some((user, decode(&read_line!())));
                    }
                    _ => {
                        reply!("504 5.5.4 unrecognised authentication type");
                        continue;
                    }
                }
                reply!("235 2.7.0 authentication successful");
            }
            "MAIL" => {
                let attempt = shared.attempts.fetch_add(1, Ordering::SeqCst);
                failing = (attempt < shared.behaviour.fail_first).then_some(shared.behaviour.failure);
                if failing == Some(Failure::Reply451) {
                    reply!("451 4.3.0 temporary failure, try again later");
                    continue;
                }
                mail_from = Some(path(argument));
                rcpt_to.clear();
                reply!("250 2.1.0 ok");
            }
            "RCPT" => {
                let to = path(argument);
                if shared.behaviour.reject_rcpt.contains(&to) {
                    reply!("550 5.1.1 mailbox unavailable");
                } else {
                    rcpt_to.push(to);
                    reply!("250 2.1.5 ok");
                }
            }
            "DATA" if mail_from.is_none() || rcpt_to.is_empty() => reply!("503 5.5.1 need MAIL and RCPT first"),
            "DATA" => {
                reply!("354 end data with <CR><LF>.<CR><LF>");
                let mut raw = Vec::new();
                loop {
                    let line = read_line!();
                    if line == "." {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    raw.extend_from_slice(unstuffed.as_bytes());
                    raw.extend_from_slice(b"\r\n");
                }
                if failing == Some(Failure::DropAfterData) {
                    return;
                }
                tokio::time::sleep(shared.behaviour.accept_delay).await;
                let queued = {
                    let mut received = shared.received.lock().unwrap();
                    received.push(Received {
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        raw,
                        auth: auth.clone(),
                    });
                    format!("250 2.0.0 Ok: queued as Q{}", received.len())
                };
                reply!(queued);
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                reply!("250 2.0.0 ok");
            }
            "NOOP" => reply!("250 2.0.0 ok"),
            "QUIT" => {
                reply!("221 2.0.0 bye");
                return;
            }
            _ => reply!("502 5.5.2 command not recognised"),
        }
    }
}
