//! Every adapter's calls go through the outbound policy: a live account whose `base_url` points
//! at a private address (here a local fake carrier) is refused before anything reaches it, with
//! the policy's reason; a test account reaches the same server. Answers are read within the
//! policy's size limit, and an error body in no carrier's shape is never echoed.

mod account;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use account::TestAccount;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waybill_carriers::{Account, BookingRequest, CarrierError, Carriers};
use waybill_core::Mode;
use waybill_outbound::{Outbound, OutboundSettings};

const RULE: &str = "outbound calls to private, loopback, link-local and metadata addresses are refused";

/// A carrier on 127.0.0.1 that counts the connections it accepts and answers every request
/// with `answer` (a whole HTTP/1.1 response).
async fn carrier_answering(answer: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, accepted)
}

async fn counting_carrier() -> (String, Arc<AtomicUsize>) {
    carrier_answering("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n".into()).await
}

fn answer(status: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
}

fn live(account: &TestAccount) -> Account<'_> {
    Account { mode: Mode::Live, ..account.account() }
}

fn refused_with(result: Result<impl std::fmt::Debug, CarrierError>, expected: &str) {
    match result {
        Err(CarrierError::Unavailable { message, retry_after: None, .. }) => {
            assert!(message.starts_with(expected) && message.ends_with(RULE), "{message}")
        }
        other => panic!("expected the policy's refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn live_calls_to_a_private_address_are_refused_before_any_request_is_sent() {
    let (url, accepted) = counting_carrier().await;
    let account = TestAccount::new(&url, json!({}));
    let carriers = Carriers::new(Outbound::default());
    let http_carriers: Vec<_> = carriers.iter().filter(|c| c.info().slug != "generic").collect();
    assert_eq!(http_carriers.len(), 9);
    for carrier in &http_carriers {
        let tracked = carrier.track(&live(&account), "1Z999").await;
        refused_with(tracked, &format!("`127.0.0.1` is a loopback address; {RULE}"));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "no live call reached the server");

    // The same account in test mode reaches the server: the mode picks the client.
    for carrier in &http_carriers {
        let _ = carrier.track(&account.account(), "1Z999").await;
    }
    assert!(accepted.load(Ordering::SeqCst) >= http_carriers.len(), "every test-mode adapter connected");
}

#[tokio::test]
async fn a_refused_booking_is_unavailable_because_nothing_was_sent() {
    let (url, accepted) = counting_carrier().await;
    let account = TestAccount::new(url.replace("127.0.0.1", "localhost"), json!({"api_key": "k1"}));
    let sandbox = Carriers::new(Outbound::default()).get("sandbox").expect("registered").clone();
    let booked = sandbox.book(&live(&account), &booking_request()).await;
    refused_with(booked, "`localhost` resolves only to refused addresses such as");
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_error_body_in_no_carriers_shape_is_not_echoed() {
    let page = "<html>internal admin console: db_password=hunter2</html>";
    let (url, _) = carrier_answering(answer("500 Internal Server Error", page)).await;
    let account = TestAccount::new(&url, json!({"api_key": "k1"}));
    let sandbox = Carriers::new(Outbound::default()).get("sandbox").expect("registered").clone();
    let tracked = sandbox.track(&account.account(), "1Z999").await;
    assert!(!format!("{tracked:?}").contains("hunter2"), "{tracked:?}");
    assert!(
        matches!(&tracked, Err(CarrierError::Unavailable { message, .. }) if message == "HTTP_500: HTTP 500 Internal Server Error"),
        "{tracked:?}"
    );
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_not_read() {
    let (url, _) = carrier_answering(answer("200 OK", &format!("{{\"pad\": \"{}\"}}", "x".repeat(5000)))).await;
    let account = TestAccount::new(&url, json!({"api_key": "k1"}));
    let settings = OutboundSettings { max_response_bytes: 1000, ..OutboundSettings::default() };
    let carriers = Carriers::new(Outbound::new(settings).expect("clients"));
    let sandbox = carriers.get("sandbox").expect("registered");
    let tracked = sandbox.track(&account.account(), "1Z999").await;
    assert!(
        matches!(&tracked, Err(CarrierError::Protocol { message, .. }) if message.ends_with("larger than 1000 bytes")),
        "{tracked:?}"
    );
    // The carrier accepted a booking whose answer cannot be read: reconcile, never book again.
    let booked = sandbox.book(&account.account(), &booking_request()).await;
    assert!(matches!(&booked, Err(CarrierError::Unknown { .. })), "{booked:?}");
}

fn booking_request() -> BookingRequest {
    let address =
        json!({"name": "Ayşe", "street1": "1 Main St", "city": "Istanbul", "postal_code": "34000", "country": "TR"});
    BookingRequest {
        reference: "shp_refused".into(),
        service: "standard".into(),
        ship_from: serde_json::from_value(address.clone()).expect("an address"),
        ship_to: serde_json::from_value(address).expect("an address"),
        parcels: vec![serde_json::from_value(json!({"weight_g": 1000})).expect("a parcel")],
        cod: None,
        simulate: None,
        is_return: false,
    }
}
