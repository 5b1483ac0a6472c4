//! A local stand-in for an SMS provider: records every request and answers with canned
//! answers, in order (the last one repeats).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no `{name}` header"))
    }

    /// The body as a form, decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        let body = std::str::from_utf8(&self.body).expect("a UTF-8 form");
        reqwest::Url::parse(&format!("http://form.test/?{body}"))
            .expect("a form body")
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

pub fn answer(status: u16, body: &str) -> Canned {
    Canned { status, body: body.to_owned(), delay: Duration::ZERO }
}

struct Shared {
    answers: Mutex<Vec<Canned>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeProvider {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeProvider {
    pub async fn start(answers: Vec<Canned>) -> FakeProvider {
        assert!(!answers.is_empty());
        let shared = Arc::new(Shared { answers: Mutex::new(answers), requests: Mutex::new(Vec::new()) });
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        FakeProvider { base_url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The one request received.
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests[0].clone()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let canned = {
        let mut answers = shared.answers.lock().unwrap();
        if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() }
    };
    tokio::time::sleep(canned.delay).await;
    let status = StatusCode::from_u16(canned.status).expect("a status");
    (status, [(header::CONTENT_TYPE, "application/json")], canned.body).into_response()
}
