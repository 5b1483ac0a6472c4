//! A fake Amazon SQS standard queue, the one an Amazon seller points SP-API notifications at.
//!
//! It speaks SQS's AWS JSON protocol (`POST /`, `X-Amz-Target: AmazonSQS.{Action}`,
//! `Content-Type: application/x-amz-json-1.0`, errors as `{"__type", "message"}`) for the
//! actions a reader needs: `ReceiveMessage` (`MaxNumberOfMessages` 1–10, `VisibilityTimeout`,
//! `WaitTimeSeconds`, waited for at most [`SqsConfig::max_wait`]), `DeleteMessageBatch` and
//! `GetQueueAttributes` (`QueueArn`, `ApproximateNumberOfMessages`). Every call's Signature
//! Version 4 (service `sqs`, the queue's region) is computed again from the request as received,
//! with the queue's key: an unknown key is `InvalidClientTokenId`, a signature that differs
//! `SignatureDoesNotMatch`, a date more than 15 minutes off `SignatureDoesNotMatch` too, as
//! AWS answers. Answers carry no `MD5OfBody`.
//!
//! Messages are at-least-once as in SQS: a received message is hidden until its visibility
//! timeout ends and then shown again unless deleted; [`SqsQueue::expire_in_flight`] ends every
//! timeout at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{NaiveDateTime, Utc};
use serde_json::{Value, json};

/// The queue and the one AWS key allowed to read it.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub account_id: String,
    pub queue_name: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The longest a receive waits for a message, whatever `WaitTimeSeconds` asks (tests and the
    /// demo should not hold a worker for 20 s).
    pub max_wait: Duration,
}

impl Default for SqsConfig {
    fn default() -> Self {
        Self {
            account_id: "123456789012".into(),
            queue_name: "sp-api-notifications".into(),
            region: "eu-west-1".into(),
            access_key_id: "AKIAWAYBILLDEMO00001".into(),
            secret_access_key: "demo/aws/secret/access/key/0000000000000".into(),
            max_wait: Duration::from_millis(500),
        }
    }
}

struct Stored {
    id: String,
    body: String,
}

#[derive(Default)]
struct Queue {
    seq: u64,
    visible: VecDeque<Stored>,
    /// Receipt handle → the message and when it shows again.
    in_flight: HashMap<String, (Stored, Instant)>,
    /// Each call's action, in order; refused calls as `refused:{Action}`.
    actions: Vec<String>,
    deleted: u64,
    down: bool,
}

/// The fake queue. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct SqsQueue {
    config: Arc<SqsConfig>,
    state: Arc<Mutex<Queue>>,
    arrived: Arc<tokio::sync::Notify>,
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"__type": format!("com.amazonaws.sqs#{kind}"), "message": message});
    (status, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
}

impl SqsQueue {
    pub fn new(config: SqsConfig) -> Self {
        Self { config: Arc::new(config), state: Arc::default(), arrived: Arc::default() }
    }

    pub fn config(&self) -> &SqsConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The queue's URL on a server reached at `base` (`http://127.0.0.1:port`).
    pub fn queue_url(&self, base: &str) -> String {
        format!("{}/{}/{}", base.trim_end_matches('/'), self.config.account_id, self.config.queue_name)
    }

    fn arn(&self) -> String {
        let c = &self.config;
        format!("arn:aws:sqs:{}:{}:{}", c.region, c.account_id, c.queue_name)
    }

    /// Puts a message on the queue.
    pub fn send(&self, body: String) {
        let mut state = self.lock();
        state.seq += 1;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", state.seq, state.seq);
        state.visible.push_back(Stored { id, body });
        drop(state);
        self.arrived.notify_waiters();
    }

    /// Messages not yet deleted (shown or hidden).
    pub fn pending(&self) -> usize {
        let state = self.lock();
        state.visible.len() + state.in_flight.len()
    }

    /// The bodies of the messages not yet deleted, oldest first among the shown ones.
    pub fn bodies(&self) -> Vec<String> {
        let state = self.lock();
        state.visible.iter().chain(state.in_flight.values().map(|(m, _)| m)).map(|m| m.body.clone()).collect()
    }

    pub fn deleted(&self) -> u64 {
        self.lock().deleted
    }

    /// Each call's action, in order (`refused:{Action}` for a refused one).
    pub fn actions(&self) -> Vec<String> {
        self.lock().actions.clone()
    }

    /// Ends every received message's visibility timeout now (a reader that died without
    /// deleting them).
    pub fn expire_in_flight(&self) {
        let mut state = self.lock();
        let back: Vec<Stored> = state.in_flight.drain().map(|(_, (m, _))| m).collect();
        state.visible.extend(back);
    }

    /// While down, every call is answered 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The routes, for merging into a server's router.
    pub fn router(&self) -> Router {
        Router::new().route("/", post(handle)).with_state(self.clone())
    }

    /// Why the call's signature is not the queue key's, if it is not.
    fn check_signature(&self, headers: &HeaderMap, body: &[u8]) -> Option<(StatusCode, &'static str, String)> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let missing = || {
            (StatusCode::BAD_REQUEST, "MissingAuthenticationToken", "Request is missing Authentication Token".into())
        };
        let authorization = header("authorization");
        let Some(rest) = authorization.strip_prefix("AWS4-HMAC-SHA256 ").map(str::trim) else {
            return Some(missing());
        };
        let part = |name: &str| {
            rest.split(',').map(str::trim).find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        let (Some(credential), Some(signed), Some(signature)) =
            (part("Credential"), part("SignedHeaders"), part("Signature"))
        else {
            return Some(missing());
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let c = &self.config;
        if scope.len() != 5 || scope[0] != c.access_key_id {
            return Some((
                StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.".into(),
            ));
        }
        if scope[2] != c.region || scope[3] != "sqs" || scope[4] != "aws4_request" {
            return Some((
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                format!("Credential should be scoped to a valid region and service: {credential}"),
            ));
        }
        let Ok(date) = NaiveDateTime::parse_from_str(header("x-amz-date"), "%Y%m%dT%H%M%SZ") else {
            return Some(missing());
        };
        let skew = (Utc::now().naive_utc() - date).num_seconds().abs();
        if skew > 15 * 60 {
            return Some((StatusCode::FORBIDDEN, "SignatureDoesNotMatch", "Signature expired".into()));
        }
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.and_utc().timestamp()).ok()?);
        let names: Vec<&str> = signed.split(';').filter(|n| *n != "x-amz-date").collect();
        let values: Vec<(&str, &str)> = names.iter().map(|n| (*n, header(n))).collect();
        let uri = format!("http://{}/", header("host"));
        let identity =
            aws_credential_types::Credentials::new(&c.access_key_id, &c.secret_access_key, None, None, "fake").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&c.region)
            .name("sqs")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .ok()?
            .into();
        let request = SignableRequest::new("POST", uri, values.into_iter(), SignableBody::Bytes(body)).ok()?;
        let (_, expected) = sign(request, &params).ok()?.into_parts();
        (expected != signature).then(|| {
            (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.".into(),
            )
        })
    }

    /// Moves messages whose visibility timeout ended back to the shown ones.
    fn show_expired(state: &mut Queue) {
        let now = Instant::now();
        let expired: Vec<String> =
            state.in_flight.iter().filter(|(_, (_, until))| *until <= now).map(|(r, _)| r.clone()).collect();
        for receipt in expired {
            if let Some((message, _)) = state.in_flight.remove(&receipt) {
                state.visible.push_back(message);
            }
        }
    }

    async fn receive(&self, request: &Value) -> Response {
        let max = request.get("MaxNumberOfMessages").and_then(Value::as_u64).unwrap_or(1);
        if !(1..=10).contains(&max) {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
            );
        }
        let visibility = request.get("VisibilityTimeout").and_then(Value::as_u64).unwrap_or(30).min(43_200);
        let wait = request.get("WaitTimeSeconds").and_then(Value::as_u64).unwrap_or(0);
        if wait > 20 {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
            );
        }
        let deadline = Instant::now() + Duration::from_secs(wait).min(self.config.max_wait);
        loop {
            let arrived = self.arrived.notified();
            {
                let mut state = self.lock();
                Self::show_expired(&mut state);
                if !state.visible.is_empty() || Instant::now() >= deadline {
                    let take = (max as usize).min(state.visible.len());
                    let until = Instant::now() + Duration::from_secs(visibility);
                    let mut messages = Vec::new();
                    for message in state.visible.drain(..take).collect::<Vec<_>>() {
                        let receipt = format!("AQEB{}", ulid::Ulid::new());
                        messages.push(json!({"MessageId": message.id, "ReceiptHandle": receipt, "Body": message.body}));
                        state.in_flight.insert(receipt, (message, until));
                    }
                    return ok(if messages.is_empty() { json!({}) } else { json!({"Messages": messages}) });
                }
            }
            let _ = tokio::time::timeout_at(deadline.into(), arrived).await;
        }
    }

    fn delete_batch(&self, request: &Value) -> Response {
        let entries = request.get("Entries").and_then(Value::as_array).cloned().unwrap_or_default();
        if entries.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "EmptyBatchRequest",
                "There should be at least one entry in the request.",
            );
        }
        if entries.len() > 10 {
            return error(
                StatusCode::BAD_REQUEST,
                "TooManyEntriesInBatchRequest",
                "Maximum number of entries per request are 10.",
            );
        }
        let mut state = self.lock();
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for entry in entries {
            let id = entry.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let receipt = entry.get("ReceiptHandle").and_then(Value::as_str).unwrap_or_default();
            if state.in_flight.remove(receipt).is_some() {
                state.deleted += 1;
                successful.push(json!({"Id": id}));
            } else {
                failed.push(json!({"Id": id, "SenderFault": true, "Code": "ReceiptHandleIsInvalid",
                    "Message": "The input receipt handle is invalid."}));
            }
        }
        ok(json!({"Successful": successful, "Failed": failed}))
    }
}

async fn handle(State(queue): State<SqsQueue>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AmazonSQS."))
        .unwrap_or_default()
        .to_owned();
    let refused = |queue: &SqsQueue, response: Response| {
        queue.lock().actions.push(format!("refused:{action}"));
        response
    };
    if queue.lock().down {
        return refused(
            &queue,
            error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service is unavailable."),
        );
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-amz-json-1.0") {
        return refused(
            &queue,
            error(StatusCode::BAD_REQUEST, "InvalidParameterValue", "Content-Type must be application/x-amz-json-1.0."),
        );
    }
    if let Some((status, kind, message)) = queue.check_signature(&headers, &body) {
        return refused(&queue, error(status, kind, &message));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refused(&queue, error(StatusCode::BAD_REQUEST, "SerializationException", "The body is not JSON."));
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let url = queue.queue_url(&format!("http://{host}"));
    if request.get("QueueUrl").and_then(Value::as_str) != Some(url.as_str()) {
        return refused(
            &queue,
            error(StatusCode::BAD_REQUEST, "QueueDoesNotExist", "The specified queue does not exist."),
        );
    }
    queue.lock().actions.push(action.clone());
    match action.as_str() {
        "ReceiveMessage" => queue.receive(&request).await,
        "DeleteMessageBatch" => queue.delete_batch(&request),
        "GetQueueAttributes" => {
            let count = queue.lock().visible.len();
            ok(json!({"Attributes": {"QueueArn": queue.arn(), "ApproximateNumberOfMessages": count.to_string()}}))
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("The action {action} is not valid for this endpoint."),
        ),
    }
}
