//! Amazon's `ORDER_CHANGE` notifications, read from the seller's own SQS queue: the optional
//! faster way in beside the sync.
//!
//! Follows: Amazon SQS's AWS JSON protocol (`POST /` to the queue's regional endpoint,
//! `X-Amz-Target: AmazonSQS.{Action}`, `Content-Type: application/x-amz-json-1.0`, errors as
//! `{__type, message}`), signed with Signature Version 4 for the service `sqs` (the `aws-sigv4`
//! crate); the notification shape of `../shared/specs/amazon/schemas/notifications/
//! OrderChangeNotification.json`, as `../shared/notes/channels.md` §1.6 describes it.
//!
//! - A notification says only that an order changed; its buyer, address and items are read with
//!   getOrder, so an order from the queue is the same payload the sync would have found.
//! - A message is deleted only after the engine kept the orders it names ([`Amazon::ack`] after
//!   the commit), so a crash in between shows it again once its visibility timeout ends; the
//!   order fetched a second time is recognised as a repeat.
//! - Messages about other sellers, other marketplaces, FBA orders or other notification types,
//!   and bodies that are no notification at all, are deleted unread: the sync is still there to
//!   find any order such a message might have meant.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::FieldError;

use super::{Amazon, INCLUDED_DATA, SLUG};
use crate::{ChannelError, Connection, Queued, credential};

/// How long one receive waits for a message (SQS long polling; at most 20).
const WAIT_SECONDS: u32 = 10;
/// How long a received message stays hidden from other readers: its orders must be fetched and
/// kept within it.
const VISIBILITY_SECONDS: u32 = 300;
/// The most messages one receive (and one batch delete) takes.
const BATCH: usize = 10;

/// A connection's queue: where it is and the AWS key that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAccess {
    pub queue_url: reqwest::Url,
    /// Where the JSON protocol's requests go: the queue address's scheme, host and port.
    pub endpoint: reqwest::Url,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The credentials that configure the queue (all or none).
pub const QUEUE_CREDENTIALS: [&str; 3] = ["sqs_queue_url", "aws_access_key_id", "aws_secret_access_key"];

/// The region in an SQS address: `sqs.{region}.amazonaws.com` (or `.amazonaws.com.cn`) and the
/// legacy `{region}.queue.amazonaws.com`.
fn region_of_host(host: &str) -> Option<&str> {
    let region = host
        .strip_prefix("sqs.")
        .and_then(|rest| rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn")))
        .or_else(|| host.strip_suffix(".queue.amazonaws.com"))?;
    (!region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .then_some(region)
}

/// The connection's queue, or `None` when it has none. `Err` names each problem with its pointer
/// under `/credentials`.
pub fn queue_access(credentials: &Value) -> Result<Option<QueueAccess>, Vec<FieldError>> {
    let given = |name: &str| credential(credentials, name).trim();
    let present: Vec<&str> = QUEUE_CREDENTIALS.into_iter().filter(|n| !given(n).is_empty()).collect();
    if present.is_empty() {
        return Ok(None);
    }
    let mut errors: Vec<FieldError> = QUEUE_CREDENTIALS
        .into_iter()
        .filter(|n| given(n).is_empty())
        .map(|n| {
            FieldError::new(
                format!("/credentials/{n}"),
                format!(
                    "is required with {}: the queue needs its address and an AWS key allowed to read it",
                    present.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and ")
                ),
            )
        })
        .collect();
    let url = reqwest::Url::parse(given("sqs_queue_url"))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.path().len() > 1);
    let region = match (&url, given("aws_region")) {
        (_, r) if !r.is_empty() => Some(r.to_owned()),
        (Some(u), _) => u.host_str().and_then(region_of_host).map(str::to_owned),
        (None, _) => None,
    };
    match &url {
        None if !given("sqs_queue_url").is_empty() => errors.push(FieldError::new(
            "/credentials/sqs_queue_url",
            "must be the queue's URL as the SQS console shows it: https://sqs.{region}.amazonaws.com/{account}/{queue}",
        )),
        Some(_) if region.is_none() => errors.push(FieldError::new(
            "/credentials/aws_region",
            "is required: the queue's address does not name its AWS region (eu-west-1, us-east-1, …)",
        )),
        _ => {}
    }
    let (Some(queue_url), Some(region), true) = (url, region, errors.is_empty()) else {
        return Err(errors);
    };
    let mut endpoint = queue_url.clone();
    endpoint.set_path("/");
    endpoint.set_query(None);
    Ok(Some(QueueAccess {
        queue_url,
        endpoint,
        region,
        access_key_id: given("aws_access_key_id").to_owned(),
        secret_access_key: given("aws_secret_access_key").to_owned(),
    }))
}

/// What a message on the queue says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An order of this connection's seller and marketplace, shipped by the merchant, changed.
    OrderChanged { order_id: String },
    /// Anything else, with why it is not read.
    NotOurs(String),
}

/// Reads one message body as an `ORDER_CHANGE` notification for `seller_id` in `marketplace_id`.
pub fn read_notice(body: &str, seller_id: &str, marketplace_id: &str) -> Notice {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Envelope {
        notification_type: Option<String>,
        payload: Option<Payload>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Payload {
        order_change_notification: Option<Change>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Change {
        seller_id: Option<String>,
        amazon_order_id: Option<String>,
        summary: Option<Summary>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct Summary {
        marketplace_id: Option<String>,
        fulfillment_type: Option<String>,
    }
    let envelope: Envelope = match serde_json::from_str(body) {
        Ok(e) => e,
        Err(e) => return Notice::NotOurs(format!("not a notification: {e}")),
    };
    let kind = envelope.notification_type.unwrap_or_default();
    if kind != "ORDER_CHANGE" {
        return Notice::NotOurs(format!("a notification of type `{kind}`"));
    }
    let Some(change) = envelope.payload.and_then(|p| p.order_change_notification) else {
        return Notice::NotOurs("an ORDER_CHANGE without OrderChangeNotification".into());
    };
    let Some(order_id) = change.amazon_order_id.filter(|id| !id.trim().is_empty() && id.len() <= 64) else {
        return Notice::NotOurs("an ORDER_CHANGE without AmazonOrderId".into());
    };
    if change.seller_id.as_deref() != Some(seller_id) {
        return Notice::NotOurs(format!("order {order_id} of another seller"));
    }
    let summary = change.summary.unwrap_or_default();
    // A notification without a summary is read: getOrder tells the rest.
    if summary.marketplace_id.as_deref().is_some_and(|m| m != marketplace_id) {
        return Notice::NotOurs(format!("order {order_id} of another marketplace"));
    }
    if summary.fulfillment_type.as_deref() == Some("AFN") {
        return Notice::NotOurs(format!("order {order_id} is fulfilled by Amazon"));
    }
    Notice::OrderChanged { order_id: order_id.trim().to_owned() }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    receipt_handle: String,
    body: String,
}

impl Amazon {
    /// One call to SQS's JSON protocol, signed with the queue's key.
    async fn sqs(
        &self,
        connection: &Connection<'_>,
        access: &QueueAccess,
        action: &str,
        body: &Value,
    ) -> Result<Value, ChannelError> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let payload = serde_json::to_vec(body).expect("a request body serializes");
        let target = format!("AmazonSQS.{action}");
        let content_type = "application/x-amz-json-1.0";
        let host = match access.endpoint.port() {
            Some(port) => format!("{}:{port}", access.endpoint.host_str().unwrap_or_default()),
            None => access.endpoint.host_str().unwrap_or_default().to_owned(),
        };
        let identity = aws_credential_types::Credentials::new(
            &access.access_key_id,
            &access.secret_access_key,
            None,
            None,
            "waybill-connection",
        )
        .into();
        let protocol = |message: String| ChannelError::Protocol { channel: SLUG, message };
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&access.region)
            .name("sqs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| protocol(format!("signing for SQS: {e}")))?
            .into();
        let headers = [("host", host.as_str()), ("content-type", content_type), ("x-amz-target", target.as_str())];
        let signable = SignableRequest::new(
            "POST",
            access.endpoint.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&payload),
        )
        .map_err(|e| protocol(format!("signing for SQS: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| protocol(format!("signing for SQS: {e}")))?.into_parts();
        let mut request = self
            .http
            .client(connection.mode)
            .post(access.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header("x-amz-target", &target);
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let answer = self.http.send(SLUG, request.body(payload)).await?;
        let read: Option<Value> = serde_json::from_slice(&answer.body).ok();
        if answer.is_success() {
            return read.ok_or_else(|| protocol(format!("SQS {action}: not JSON")));
        }
        let kind = read
            .as_ref()
            .and_then(|v| v.get("__type"))
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            .unwrap_or_default();
        let said = read.as_ref().and_then(|v| v.get("message").or_else(|| v.get("Message"))).and_then(Value::as_str);
        let message = format!(
            "the SQS queue {}: {}",
            access.queue_url,
            match said {
                Some(m) => format!("{kind}: {}", m.chars().take(200).collect::<String>()),
                None => format!("{kind} HTTP {}", answer.status).trim().to_owned(),
            }
        );
        Err(match kind.as_str() {
            "QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue" => {
                ChannelError::NotFound { channel: SLUG, what: format!("the SQS queue {}", access.queue_url) }
            }
            "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AccessDenied"
            | "AccessDeniedException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "KMS.AccessDeniedException" => ChannelError::Auth { channel: SLUG, message },
            "RequestThrottled" | "ThrottlingException" | "ServiceUnavailable" | "InternalFailure" => {
                ChannelError::Unavailable { channel: SLUG, message, retry_after: answer.retry_after }
            }
            _ => answer.error(SLUG, &format!("the SQS queue {}", access.queue_url), Some(message)),
        })
    }

    /// Proves the queue can be read with the connection's key; returns the queue's ARN.
    pub(super) async fn check_queue(
        &self,
        connection: &Connection<'_>,
        access: &QueueAccess,
    ) -> Result<String, ChannelError> {
        let body = json!({"QueueUrl": access.queue_url.as_str(), "AttributeNames": ["QueueArn"]});
        let answer = self.sqs(connection, access, "GetQueueAttributes", &body).await?;
        Ok(answer
            .pointer("/Attributes/QueueArn")
            .and_then(Value::as_str)
            .unwrap_or(access.queue_url.as_str())
            .to_owned())
    }

    /// Receives up to ten messages and fetches the orders they name (see the module's
    /// documentation). Messages whose order could not be fetched stay on the queue.
    pub(super) async fn receive(
        &self,
        connection: &Connection<'_>,
        access: &QueueAccess,
    ) -> Result<Queued, ChannelError> {
        let body = json!({"QueueUrl": access.queue_url.as_str(), "MaxNumberOfMessages": BATCH,
            "WaitTimeSeconds": WAIT_SECONDS, "VisibilityTimeout": VISIBILITY_SECONDS});
        let answer = self.sqs(connection, access, "ReceiveMessage", &body).await?;
        let messages: Vec<Message> = match answer.get("Messages") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => serde_json::from_value(list.clone())
                .map_err(|e| ChannelError::Protocol { channel: SLUG, message: format!("SQS ReceiveMessage: {e}") })?,
        };
        let full = messages.len() == BATCH;
        let seller = credential(connection.credentials, "seller_id").trim();
        let marketplace = credential(connection.credentials, "marketplace_id").trim();
        let mut done = Vec::new();
        // Each order once, with every message that named it.
        let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for message in messages {
            match read_notice(&message.body, seller, marketplace) {
                Notice::OrderChanged { order_id } => wanted.entry(order_id).or_default().push(message.receipt_handle),
                Notice::NotOurs(why) => {
                    tracing::debug!(reason = %why, "an SQS message not read");
                    done.push(message.receipt_handle);
                }
            }
        }
        let mut orders = Vec::new();
        for (order_id, receipts) in wanted {
            match self.get_order(connection, &order_id, INCLUDED_DATA).await {
                Ok((raw, _)) => {
                    orders.push(raw.to_string().into_bytes());
                    done.extend(receipts);
                }
                Err(ChannelError::NotFound { .. }) => {
                    tracing::warn!(order = %order_id, "an ORDER_CHANGE names an order Amazon does not show");
                    done.extend(receipts);
                }
                // What was fetched is kept; the rest comes again after its visibility timeout.
                Err(e) if !orders.is_empty() || !done.is_empty() => {
                    tracing::info!(order = %order_id, error = %e, "an order named on the queue is left for later");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Queued { orders, receipts: done, more: full })
    }

    /// Deletes received messages (their orders are kept). A message SQS fails to delete comes
    /// again, and its order is recognised as a repeat.
    pub(super) async fn ack(
        &self,
        connection: &Connection<'_>,
        access: &QueueAccess,
        receipts: &[String],
    ) -> Result<(), ChannelError> {
        for chunk in receipts.chunks(BATCH) {
            let entries: Vec<Value> =
                chunk.iter().enumerate().map(|(i, r)| json!({"Id": i.to_string(), "ReceiptHandle": r})).collect();
            let body = json!({"QueueUrl": access.queue_url.as_str(), "Entries": entries});
            let answer = self.sqs(connection, access, "DeleteMessageBatch", &body).await?;
            for failed in answer.get("Failed").and_then(Value::as_array).into_iter().flatten() {
                let code = failed.get("Code").and_then(Value::as_str).unwrap_or_default();
                tracing::warn!(code, "SQS did not delete a message; its order will come again as a repeat");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of `../shared/specs/amazon/schemas/notifications/OrderChangeNotification.json`.
    const EXAMPLE: &str = r#"{"NotificationVersion":"1.0","NotificationType":"ORDER_CHANGE","PayloadVersion":"1.0",
      "EventTime":"2020-01-11T00:09:53.109Z","Payload":{"OrderChangeNotification":{"NotificationLevel":"OrderLevel",
      "SellerId":"A3TH9S8BH6GOGM","AmazonOrderId":"903-8868176-2219830","OrderChangeType":"BuyerRequestedChange",
      "OrderChangeTrigger":{"TimeOfOrderChange":"2022-11-29T19:42:04.284Z","ChangeReason":"Buyer Requested Cancel"},
      "Summary":{"MarketplaceId":"ATVPDKIKX0DER","OrderStatus":"Unshipped","FulfillmentType":"MFN",
      "OrderType":"StandardOrder"}}},"NotificationMetadata":{"ApplicationId":"app-id-d0e9e693",
      "SubscriptionId":"subscription-id-d0e9e693","PublishTime":"2020-07-13T19:42:04.284Z",
      "NotificationId":"d0e9e693-c3ad-4373-979f-ed4ec98dd746"}}"#;

    #[test]
    fn the_documented_order_change_names_its_order() {
        assert_eq!(
            read_notice(EXAMPLE, "A3TH9S8BH6GOGM", "ATVPDKIKX0DER"),
            Notice::OrderChanged { order_id: "903-8868176-2219830".into() }
        );
    }

    #[test]
    fn other_sellers_marketplaces_fba_and_other_types_are_not_read() {
        let not_ours = |n: Notice| matches!(n, Notice::NotOurs(_));
        assert!(not_ours(read_notice(EXAMPLE, "A2OTHER", "ATVPDKIKX0DER")));
        assert!(not_ours(read_notice(EXAMPLE, "A3TH9S8BH6GOGM", "A33AVAJ2PDY3EV")));
        assert!(not_ours(read_notice(&EXAMPLE.replace("\"MFN\"", "\"AFN\""), "A3TH9S8BH6GOGM", "ATVPDKIKX0DER")));
        assert!(not_ours(read_notice(
            &EXAMPLE.replace("\"ORDER_CHANGE\"", "\"ANY_OFFER_CHANGED\""),
            "A3TH9S8BH6GOGM",
            "ATVPDKIKX0DER"
        )));
        assert!(not_ours(read_notice("{\"Records\":[]}", "A3TH9S8BH6GOGM", "ATVPDKIKX0DER")));
        assert!(not_ours(read_notice("\u{0}", "A3TH9S8BH6GOGM", "ATVPDKIKX0DER")));
    }

    proptest::proptest! {
        /// Any body, and any ids inside a well-formed notification: a notice or a reason,
        /// never a panic; only this seller's own merchant-fulfilled orders are fetched.
        #[test]
        fn any_message_reads_as_a_notice_or_not_ours(
            body in ".{0,300}",
            seller in "[A-Z0-9]{0,14}",
            order in "\\PC{0,80}",
            fulfilment in "(MFN|AFN|[A-Z]{0,4})",
        ) {
            drop(read_notice(&body, "A3TH9S8BH6GOGM", "ATVPDKIKX0DER"));
            let notification = EXAMPLE
                .replace("A3TH9S8BH6GOGM", &seller)
                .replace("903-8868176-2219830", &order.replace(['"', '\\'], ""))
                .replace("\"MFN\"", &format!("\"{fulfilment}\""));
            if let Notice::OrderChanged { order_id } = read_notice(&notification, "A3TH9S8BH6GOGM", "ATVPDKIKX0DER") {
                proptest::prop_assert_eq!(seller.as_str(), "A3TH9S8BH6GOGM");
                proptest::prop_assert!(fulfilment != "AFN");
                proptest::prop_assert!(!order_id.is_empty() && order_id.len() <= 64);
            }
        }
    }

    #[test]
    fn a_queue_is_all_three_credentials_or_none() {
        assert_eq!(queue_access(&json!({"client_id": "x"})), Ok(None));
        let access = queue_access(&json!({
            "sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api-orders",
            "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}))
        .unwrap()
        .unwrap();
        assert_eq!(access.region, "eu-west-1");
        assert_eq!(access.endpoint.as_str(), "https://sqs.eu-west-1.amazonaws.com/");
        let errors = queue_access(&json!({"sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"})).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/credentials/aws_access_key_id", "/credentials/aws_secret_access_key"]);
    }

    #[test]
    fn a_queue_elsewhere_names_its_region() {
        let given = |url: &str, region: &str| json!({"sqs_queue_url": url, "aws_access_key_id": "AKID", "aws_secret_access_key": "s", "aws_region": region});
        let errors = queue_access(&given("http://127.0.0.1:9324/1/q", "")).unwrap_err();
        assert_eq!(errors[0].pointer, "/credentials/aws_region");
        assert_eq!(
            queue_access(&given("http://127.0.0.1:9324/1/q", "us-east-1")).unwrap().unwrap().region,
            "us-east-1"
        );
        assert_eq!(
            queue_access(&given("https://eu-west-2.queue.amazonaws.com/1/q", "")).unwrap().unwrap().region,
            "eu-west-2"
        );
        let errors = queue_access(&given("sqs-orders", "")).unwrap_err();
        assert_eq!(errors[0].pointer, "/credentials/sqs_queue_url");
        let errors = queue_access(&given("https://sqs.eu-west-1.amazonaws.com/", "")).unwrap_err();
        assert_eq!(errors[0].pointer, "/credentials/sqs_queue_url");
    }
}
