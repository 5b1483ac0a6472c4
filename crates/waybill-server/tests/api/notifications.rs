//! Customer notifications end to end: the simulator plays a parcel's journey, Waybill emails
//! the customer at each milestone the tenant has on, once each, over a real SMTP exchange with
//! a server the test starts; templates are checked with line and column; the log is masked.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_engine::notify::EmailTransport;
use waybill_notify::email::{Mailer, SmtpSettings};

use crate::common::{Harness, Options};

#[path = "../../../waybill-notify/tests/support/mime.rs"]
pub(crate) mod mime;
use waybill_notify::sink::{Behaviour, SmtpSink};

async fn with_sink(behaviour: Behaviour) -> (Harness, SmtpSink) {
    let sink = SmtpSink::start(behaviour).await;
    let settings = SmtpSettings::parse(&sink.url("", "&timeout_ms=3000")).unwrap();
    let email = EmailTransport::Smtp(Mailer::new(&settings).unwrap());
    (Harness::with(Options { email, ..Default::default() }).await, sink)
}

/// Books an order with the simulator's `scenario` and waits for the order to close.
async fn journey(h: &Harness, external_id: &str, scenario: &str) -> String {
    let order = h.create_order(external_id, json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (status, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), scenario)).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    h.wait_for_order(order_id, "closed", Duration::from_secs(30)).await;
    shipment["id"].as_str().unwrap().to_owned()
}

/// Waits until every message of the shipment is settled (sent, failed or suppressed).
async fn settled_log(h: &Harness, shipment: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, log) = h.get(&format!("/v1/shipments/{shipment}/notifications")).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let log = log["data"].as_array().unwrap().clone();
        if log.len() >= count && log.iter().all(|n| n["state"] != "queued") {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (_, again) = h.get(&format!("/v1/shipments/{shipment}/notifications")).await;
            return again["data"].as_array().unwrap().clone();
        }
        assert!(Instant::now() < deadline, "[{}] messages never settled: {log:?}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn milestones(log: &[Value]) -> Vec<String> {
    log.iter().map(|n| n["milestone"].as_str().unwrap().to_owned()).collect()
}

fn subjects(sink: &SmtpSink) -> Vec<String> {
    sink.received().iter().map(|m| mime::Part::parse(&m.raw).decoded_header("subject")).collect()
}

#[tokio::test]
async fn a_delivered_parcel_emails_the_customer_at_each_default_milestone_once_in_turkish() {
    let (h, sink) = with_sink(Behaviour::default()).await;
    let shipment = journey(&h, "N-1", "ndr_then_delivered").await;
    let log = settled_log(&h, &shipment, 4).await;
    // Once each. (Messages of scans that arrived together are made by jobs running side by
    // side, so the log may list those in either order; the emails below went out in order.)
    let mut made = milestones(&log);
    made.sort();
    assert_eq!(made, ["booked", "delivered", "delivery_failed", "out_for_delivery"], "{log:?}");
    for n in &log {
        assert_eq!(n["state"], "sent", "{n}");
        assert_eq!(n["channel"], "email");
        assert_eq!(n["language"], "tr", "the ship-to country is TR: {n}");
        assert_eq!(n["recipient"], "s•••@example.com", "the log masks the address: {n}");
        assert!(n["provider_message_id"].as_str().is_some_and(|p| !p.is_empty()), "{n}");
    }
    let received = sink.received();
    assert_eq!(received.len(), 4, "one email per milestone, however often the carrier repeats a scan");
    assert!(received.iter().all(|m| m.rcpt_to == ["sukru@example.com"]), "{received:?}");
    let subjects = subjects(&sink);
    assert!(subjects.iter().all(|s| !s.is_empty()), "{subjects:?}");
    // The failed delivery's email: the sink numbers what it takes Q1, Q2, … in order.
    let failed_id = log.iter().find(|n| n["milestone"] == "delivery_failed").unwrap()["provider_message_id"].clone();
    let index: usize = failed_id.as_str().unwrap().trim_start_matches('Q').parse::<usize>().unwrap() - 1;
    let failed = mime::Part::parse(&received[index].raw);
    let part = |kind: &str| failed.parts().into_iter().find(|p| p.content_type().starts_with(kind));
    let text = part("text/plain").expect("a text part").text();
    assert!(text.contains("Şükrü"), "Turkish letters survive: {text}");
    assert!(part("text/html").is_some(), "an HTML part goes with the text");
    let tracking = h.get(&format!("/v1/shipments/{shipment}")).await.1["tracking_number"].as_str().unwrap().to_owned();
    assert!(text.contains(&tracking), "the message names the tracking number: {text}");
}

#[tokio::test]
async fn a_smtp_server_that_refuses_for_a_while_gets_the_message_later_once() {
    let (h, sink) = with_sink(Behaviour { fail_first: 1, ..Default::default() }).await;
    let order = h.create_order("N-2", json!({"method": "prepaid"})).await;
    let (status, shipment) =
        h.post("/v1/shipments", &h.booking(Some(order["id"].as_str().unwrap()), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let booked = loop {
        let (_, log) = h.get(&format!("/v1/shipments/{id}/notifications")).await;
        let booked = log["data"].as_array().unwrap().iter().find(|n| n["milestone"] == "booked").cloned();
        if let Some(n) = booked.filter(|n| n["state"] == "sent") {
            break n;
        }
        assert!(Instant::now() < deadline, "the booked email was never sent after the server came back: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(booked["attempts"], 2, "a 451 is retried: {booked}");
    assert!(sink.attempts() >= 2, "the server saw the refused attempt and the retry");
    let received = sink.received();
    let booked_mails = received
        .iter()
        .filter(|m| String::from_utf8_lossy(&m.raw).contains(&booked["id"].as_str().unwrap().to_string()))
        .count();
    assert_eq!(booked_mails, 1, "the refused attempt delivered nothing, the retry delivered it once");
}

#[tokio::test]
async fn without_an_email_address_or_with_an_opt_out_nothing_is_sent_and_the_log_says_why() {
    let (h, sink) = with_sink(Behaviour::default()).await;
    let (status, _) =
        h.post("/v1/notification-opt-outs", &json!({"channel": "email", "recipient": "Sukru@Example.com"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let shipment = journey(&h, "N-3", "delivered").await;
    let log = settled_log(&h, &shipment, 3).await;
    assert!(log.iter().all(|n| n["state"] == "suppressed" && n["reason"] == "the recipient opted out"), "{log:?}");
    assert!(sink.received().is_empty());

    let (status, problem) = h.post("/v1/notification-opt-outs", &json!({"channel": "sms", "recipient": "0532"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/recipient");
}

/// The link at the foot of every email: the page names the store and the masked address and
/// asks first; its button (or a mail client's one-click POST) opts the address out, and the
/// next shipment's messages to it are suppressed. A token altered by one character is refused.
#[tokio::test]
async fn the_unsubscribe_link_in_an_email_stops_later_emails() {
    let (h, sink) = with_sink(Behaviour::default()).await;
    let (status, _) = h.put("/v1/branding", &json!({"slug": "kargo-dukkani", "store_name": "Kargo Dükkânı"})).await;
    assert_eq!(status, StatusCode::OK);
    let first = journey(&h, "U-1", "delivered").await;
    settled_log(&h, &first, 3).await;
    let mail = mime::Part::parse(&sink.received()[0].raw);
    let text = mail.parts().into_iter().find(|p| p.content_type().starts_with("text/plain")).unwrap().text();
    let start = text.find(&format!("{}/u/", h.api)).unwrap_or_else(|| panic!("an unsubscribe link: {text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let html = mail.parts().into_iter().find(|p| p.content_type().starts_with("text/html")).unwrap().text();
    let token = link.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("u&#x2f;{token}\"")), "the HTML part links to it too: {html}");
    assert!(mail.headers("list-unsubscribe").is_empty(), "one-click headers need https; this server is http");

    let page = h.http.get(&link).header("accept-language", "tr").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Kargo Dükkânı") && page.contains("s•••@example.com"), "{page}");
    assert!(page.contains("Abonelikten çık") && page.contains("<form method=\"post\""), "asks first: {page}");
    let (_, log) = h.get(&format!("/v1/shipments/{first}/notifications")).await;
    assert!(log["data"].as_array().unwrap().iter().all(|n| n["state"] == "sent"), "looking changes nothing");

    let mut altered = link.clone().into_bytes();
    let last = altered.len() - 5;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let refused = h.http.post(&altered).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "an altered token is not ours");

    let done = h.http.post(&link).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("will send no more delivery emails to s•••@example.com"));
    let again = h.http.post(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK, "unsubscribing twice is harmless");

    let sent_before = sink.received().len();
    let second = journey(&h, "U-2", "delivered").await;
    let log = settled_log(&h, &second, 3).await;
    assert!(log.iter().all(|n| n["state"] == "suppressed" && n["reason"] == "the recipient opted out"), "{log:?}");
    assert_eq!(sink.received().len(), sent_before, "no email after unsubscribing");
}

/// A store that sends through its own SMTP server, though the operator set none up: its URL
/// (with the password) is sealed and never shown, only `host:port`; mail goes out with its
/// login. A URL that does not parse is refused at `/smtp_url`, and so is a live one on a
/// private address; `""` removes it.
#[tokio::test]
async fn a_store_sends_through_its_own_smtp_server() {
    let h = Harness::start().await;
    let sink = SmtpSink::start(Behaviour::default()).await;
    let settings = |url: &str| json!({"triggers": {"booked": {"email": true}}, "smtp_url": url});
    let (status, problem) = h.put("/v1/notification-settings", &settings("smtp://mail.example:25?tls=maybe")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/smtp_url");
    let live = h
        .http
        .put(format!("{}/v1/notification-settings", h.api))
        .bearer_auth(&h.live_key)
        .json(&settings(&sink.url("relay:s3cret@", "")))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::UNPROCESSABLE_ENTITY, "a live store's server must be public");
    let problem: Value = live.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/smtp_url", "{problem}");
    assert!(!problem.to_string().contains("s3cret"), "{problem}");

    let (status, saved) = h.put("/v1/notification-settings", &settings(&sink.url("relay:s3cret@", ""))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["smtp_server"], format!("127.0.0.1:{}", sink.addr.port()));
    let (_, shown) = h.get("/v1/notification-settings").await;
    assert!(!shown.to_string().contains("s3cret"), "the password is never shown: {shown}");
    let (status, _) = h.put("/v1/notification-settings", &json!({"triggers": {"booked": {"email": true}}})).await;
    assert_eq!(status, StatusCode::OK, "absent keeps the server");

    let order = h.create_order("S-1", json!({"method": "prepaid"})).await;
    let (status, shipment) =
        h.post("/v1/shipments", &h.booking(Some(order["id"].as_str().unwrap()), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let log = settled_log(&h, shipment["id"].as_str().unwrap(), 1).await;
    assert_eq!(log[0]["state"], "sent", "{log:?}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].auth, Some(("relay".to_owned(), "s3cret".to_owned())), "with the store's login");

    let (status, saved) = h.put("/v1/notification-settings", &settings("")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved["smtp_server"], Value::Null, "removed");
    let order = h.create_order("S-2", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order["id"].as_str().unwrap()), "delivered")).await;
    let log = settled_log(&h, shipment["id"].as_str().unwrap(), 1).await;
    assert_eq!(log[0]["state"], "suppressed", "no server left: {log:?}");
    assert!(log[0]["reason"].as_str().unwrap().contains("no SMTP server"), "{log:?}");
}

#[tokio::test]
async fn templates_are_checked_with_line_and_column_and_previewed() {
    let h = Harness::start().await;
    let (status, problem) = h
        .put(
            "/v1/notification-templates",
            &json!({"milestone": "delivered", "channel": "sms", "language": "tr",
        "text": "Merhaba {{ customer_name }},\nteslim edildi: {{ tracking_nmber }}"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/text");
    let detail = problem["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("line 2, column 19"), "{detail}");
    assert!(detail.contains("tracking_number"), "{detail}");
    let (status, problem) = h
        .put(
            "/v1/notification-templates",
            &json!({"milestone": "delivered", "channel": "email", "language": "en", "text": "{% if %}"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, list) = h.get("/v1/notification-templates?milestone=delivered&channel=sms&language=tr").await;
    assert_eq!(list["data"][0]["source"], "default", "nothing was saved: {list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "one milestone, channel and language: {list}");
    let (status, problem) = h.get("/v1/notification-templates?milestone=shiped&language=de").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/query/milestone");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().starts_with("one of: booked, picked_up"), "{problem}");
    assert_eq!(problem["errors"][1]["pointer"], "/query/language");

    let long =
        "Siparişiniz teslim edildi. Bizi tercih ettiğiniz için teşekkür ederiz, görüşmek üzere! {{ tracking_url }}";
    let (status, saved) = h
        .put(
            "/v1/notification-templates",
            &json!({"milestone": "delivered", "channel": "sms", "language": "tr", "text": long}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["source"], "custom");
    assert!(saved["warnings"][0].as_str().unwrap().contains("UCS-2"), "Turkish SMS over 70 characters: {saved}");
    let (status, preview) = h
        .post(
            "/v1/notification-templates/preview",
            &json!({"milestone": "delivered", "channel": "sms", "language": "tr"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(preview["text"].as_str().unwrap().starts_with("Siparişiniz teslim edildi."), "{preview}");
    let (status, preview) = h
        .post(
            "/v1/notification-templates/preview",
            &json!({"milestone": "booked", "channel": "email", "language": "ko"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["source"], "default");
    assert!(preview["subject"].as_str().unwrap().chars().any(|c| ('가'..='힣').contains(&c)), "{preview}");
}

#[tokio::test]
async fn settings_refuse_bad_input_whole_and_never_show_sms_credentials() {
    let h = Harness::start().await;
    let (status, problem) = h
        .put(
            "/v1/notification-settings",
            &json!({
                "triggers": {"deliverd": {"email": true}},
                "sender_address": "not-an-address",
                "quiet_hours": {"start": "25:00", "end": "08:00"},
                "sms_provider": {"provider": "twilio", "account_sid": "AC1"},
                "merchant_email": "ops at shop",
                "smtp_url": "https://mail.example"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let pointers: Vec<_> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert!(pointers.contains(&"/triggers/deliverd"), "{pointers:?}");
    assert!(pointers.contains(&"/sender_address"), "{pointers:?}");
    assert!(pointers.contains(&"/quiet_hours/start"), "{pointers:?}");
    assert!(pointers.iter().any(|p| p.starts_with("/sms_provider/")), "{pointers:?}");
    assert!(pointers.contains(&"/merchant_email") && pointers.contains(&"/smtp_url"), "{pointers:?}");
    assert!(problem.to_string().contains("did you mean `delivered`"), "{problem}");
    let (_, settings) = h.get("/v1/notification-settings").await;
    assert_eq!(settings["sender_address"], Value::Null, "nothing was saved: {settings}");
    assert_eq!(settings["smtp_server"], Value::Null, "nothing was saved: {settings}");
    assert_eq!(settings["triggers"]["booked"]["email"], true, "a new tenant has the defaults: {settings}");

    let (status, saved) = h.put("/v1/notification-settings", &json!({
        "triggers": {"delivered": {"email": true, "sms": true}},
        "sender_address": "siparis@kuryem.example",
        "sms_provider": {"provider": "twilio", "account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "secret-token", "from": "+15005550006"}
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["sms_provider"], "twilio");
    assert!(!saved.to_string().contains("secret-token"), "credentials are never shown: {saved}");
}

/// The failed-delivery email carries the customer's NDR link, which opens their case.
#[tokio::test]
async fn the_failed_delivery_email_links_to_the_page_where_the_customer_decides() {
    let (h, sink) = with_sink(Behaviour::default()).await;
    let order = h.create_order("NDR-1", json!({"method": "prepaid"})).await;
    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "ndr")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, log) = h.get(&format!("/v1/shipments/{id}/notifications")).await;
        let failed = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["milestone"] == "delivery_failed" && n["channel"] == "email" && n["state"] == "sent");
        if failed {
            break;
        }
        assert!(Instant::now() < deadline, "[{}] no failed-delivery email: {log}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let prefix = format!("{}/n/", h.api);
    let texts: Vec<String> = sink
        .received()
        .iter()
        .map(|m| {
            let mail = mime::Part::parse(&m.raw);
            mail.parts().into_iter().find(|p| p.content_type().starts_with("text/plain")).unwrap().text()
        })
        .collect();
    let with_link: Vec<_> = texts.iter().filter(|t| t.contains(&prefix)).collect();
    assert_eq!(with_link.len(), 1, "only the failed-delivery email links to the NDR page: {texts:?}");
    let start = with_link[0].find(&prefix).unwrap();
    let link: String = with_link[0][start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let page = h.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{link}");
    let page = page.text().await.unwrap();
    assert!(page.contains(shipment["tracking_number"].as_str().unwrap()), "{page}");
}

/// The text part of the `n`-th email the sink takes, once it has.
async fn nth_text(sink: &SmtpSink, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.received().len() < n {
        assert!(Instant::now() < deadline, "no email number {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = mime::Part::parse(&sink.received()[n - 1].raw);
    mail.parts().into_iter().find(|p| p.content_type().starts_with("text/plain")).unwrap().text()
}

#[tokio::test]
async fn the_shipped_email_links_to_the_cancellation_page_only_while_customers_may_cancel() {
    let sink = SmtpSink::start(Behaviour::default()).await;
    let settings = SmtpSettings::parse(&sink.url("", "&timeout_ms=3000")).unwrap();
    let email = EmailTransport::Smtp(Mailer::new(&settings).unwrap());
    // A slow clock: nothing is picked up, so the orders can still be cancelled.
    let h = Harness::with(Options { email, day_seconds: 3600.0, ..Default::default() }).await;
    let prefix = format!("{}/c/", h.api);

    let quiet = h.create_order("CXL-0", json!({"method": "prepaid"})).await;
    h.post("/v1/shipments", &h.booking(quiet["id"].as_str(), "delivered")).await;
    let text = nth_text(&sink, 1).await;
    assert!(!text.contains(&prefix), "customers may not cancel by default: {text}");

    h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": true})).await;
    let order = h.create_order("CXL-1", json!({"method": "prepaid"})).await;
    h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    let text = nth_text(&sink, 2).await;
    let start = text.find(&prefix).unwrap_or_else(|| panic!("no cancellation link: {text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let page = h.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{link}");
    let page = page.text().await.unwrap();
    assert!(page.contains("CXL-1") && page.contains("<form"), "{page}");
}
