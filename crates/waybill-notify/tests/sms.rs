//! Each SMS provider against a local server that checks what is sent and answers as the
//! provider documents.

#[path = "support/http.rs"]
mod fake;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fake::{FakeProvider, answer};
use proptest::prelude::*;
use serde_json::json;
use waybill_notify::sms::{
    Msg91Credentials, NetgsmCredentials, SmsError, SmsProvider, SmsSender, TwilioCredentials, check_credentials,
    parse_msg91_answer, parse_netgsm_answer, parse_twilio_answer,
};
use waybill_outbound::{Outbound, OutboundSettings};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
const TURKISH: &str = "Siparişiniz yola çıktı: ğüşıöç İĞÜŞÖÇ & takip=1 + 2";
const KOREAN: &str = "주문하신 상품이 발송되었습니다";

fn sender() -> SmsSender {
    SmsSender::new(
        Outbound::new(OutboundSettings { timeout: Duration::from_millis(500), ..OutboundSettings::default() }).unwrap(),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn twilio(base_url: &str) -> SmsProvider {
    SmsProvider::Twilio(TwilioCredentials {
        account_sid: SID.into(),
        auth_token: "twilio-token".into(),
        from: Some("+15005550006".into()),
        messaging_service_sid: None,
        base_url: Some(base_url.into()),
    })
}

fn netgsm(base_url: &str) -> SmsProvider {
    SmsProvider::Netgsm(NetgsmCredentials {
        usercode: "8503051234".into(),
        password: "netgsm-pass".into(),
        msgheader: "KARGODUKKAN".into(),
        base_url: Some(base_url.into()),
    })
}

fn msg91(base_url: &str) -> SmsProvider {
    SmsProvider::Msg91(Msg91Credentials {
        authkey: "msg91-key".into(),
        template_id: "6571f1e3d6fc05".into(),
        variable: None,
        short_url: None,
        base_url: Some(base_url.into()),
    })
}

fn reason(error: &SmsError) -> &str {
    match error {
        SmsError::Retry { reason } | SmsError::GiveUp { reason } => reason,
    }
}

#[tokio::test]
async fn twilio_gets_a_form_with_basic_auth_and_its_sid_is_kept() {
    let server = FakeProvider::start(vec![answer(
        201,
        r#"{"sid":"SM9f2c6b1e0a4d4b8c9e7f6a5b4c3d2e1f","status":"queued","to":"+905321234567"}"#,
    )])
    .await;

    let sent = sender().send(&twilio(&server.base_url), false, "+905321234567", TURKISH).await.expect("sent");
    assert_eq!(sent.provider_message_id, "SM9f2c6b1e0a4d4b8c9e7f6a5b4c3d2e1f");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(request.header("authorization"), basic(SID, "twilio-token"));
    assert_eq!(request.header("content-type"), "application/x-www-form-urlencoded");
    let form = request.form();
    let expected = [("To", "+905321234567"), ("From", "+15005550006"), ("Body", TURKISH)];
    assert_eq!(form, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
}

#[tokio::test]
async fn twilio_sends_through_a_messaging_service_with_korean_text() {
    let server = FakeProvider::start(vec![answer(201, r#"{"sid":"SMaaaa"}"#)]).await;
    let provider = SmsProvider::Twilio(TwilioCredentials {
        account_sid: SID.into(),
        auth_token: "twilio-token".into(),
        from: None,
        messaging_service_sid: Some(SERVICE.into()),
        base_url: Some(format!("{}/", server.base_url)),
    });

    sender().send(&provider, false, "+821012345678", KOREAN).await.expect("sent");
    let form = server.only_request().form();
    let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(get("MessagingServiceSid"), Some(SERVICE));
    assert_eq!(get("From"), None);
    assert_eq!(get("Body"), Some(KOREAN));
}

#[tokio::test]
async fn twilio_errors_are_sorted_and_never_echo_the_answer() {
    let cases = [
        (
            400,
            r#"{"code":21211,"message":"The 'To' number +90532 is not a valid phone number.","status":400}"#,
            false,
            "21211",
        ),
        (400, r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","status":400}"#, false, "21610"),
        (400, r#"{"code":21614,"message":"'To' number is not a valid mobile number","status":400}"#, false, "21614"),
        (401, r#"{"code":20003,"message":"Authenticate","status":401}"#, false, "authentication failed"),
        (429, r#"{"code":20429,"message":"Too Many Requests","status":429}"#, true, "HTTP 429"),
        (500, r#"{"debug":"internal token=twilio-secret-xyz"}"#, true, "HTTP 500"),
        (503, "<html>down, token=twilio-secret-xyz</html>", true, "HTTP 503"),
    ];
    for (status, body, retry, expected) in cases {
        let server = FakeProvider::start(vec![answer(status, body)]).await;
        let error = sender().send(&twilio(&server.base_url), false, "+905321234567", "hi").await.unwrap_err();
        assert_eq!(error.is_retryable(), retry, "{status}: {error}");
        assert!(reason(&error).contains(expected), "{status}: {error}");
        assert!(!error.to_string().contains("twilio-secret-xyz"), "{error}");
    }
}

#[tokio::test]
async fn netgsm_gets_json_with_basic_auth_and_turkish_encoding() {
    let server = FakeProvider::start(vec![answer(
        200,
        r#"{"code":"00","jobid":"17377215342605050417149344","description":"queued"}"#,
    )])
    .await;

    let sent = sender().send(&netgsm(&server.base_url), false, "+905321234567", TURKISH).await.expect("sent");
    assert_eq!(sent.provider_message_id, "17377215342605050417149344");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms/rest/v2/send");
    assert_eq!(request.header("authorization"), basic("8503051234", "netgsm-pass"));
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(
        request.json(),
        json!({
            "msgheader": "KARGODUKKAN",
            "messages": [{ "msg": TURKISH, "no": "5321234567" }],
            "encoding": "TR",
        })
    );
}

#[tokio::test]
async fn netgsm_sends_ascii_without_encoding_and_foreign_numbers_with_00() {
    let server = FakeProvider::start(vec![answer(200, r#"{"code":"00","jobid":"42"}"#)]).await;
    sender().send(&netgsm(&server.base_url), false, "+4915112345678", "Your parcel is on its way").await.unwrap();
    let body = server.only_request().json();
    assert_eq!(body["messages"][0]["no"], "004915112345678");
    assert_eq!(body["encoding"], serde_json::Value::Null);
}

#[tokio::test]
async fn netgsm_codes_are_sorted_by_their_documented_meaning() {
    let cases = [
        (200, r#"{"code":"20","description":"message too long"}"#, false, "code 20"),
        (406, r#"{"code":"30","description":"invalid credentials"}"#, false, "bad credentials"),
        (200, r#"{"code":"40","description":"header"}"#, false, "code 40"),
        (200, r#"{"code":"50"}"#, false, "İYS"),
        (200, r#"{"code":"51"}"#, false, "İYS brand"),
        (200, r#"{"code":"70"}"#, false, "invalid or missing parameters"),
        (200, r#"{"code":"80","description":"limit"}"#, true, "sending limit"),
        (200, r#"{"code":85}"#, true, "code 85"),
        (200, r#"{"code":"99"}"#, false, "unknown code"),
        (200, "00 1234", false, "not JSON"),
        (500, "", true, "HTTP 500"),
        (429, "", true, "HTTP 429"),
    ];
    for (status, body, retry, expected) in cases {
        let error = parse_netgsm_answer(status, body.as_bytes()).unwrap_err();
        assert_eq!(error.is_retryable(), retry, "{body}: {error}");
        assert!(reason(&error).contains(expected), "{body}: {error}");
    }

    let server = FakeProvider::start(vec![answer(200, r#"{"code":"30","description":"x"}"#)]).await;
    let error = sender().send(&netgsm(&server.base_url), false, "+905321234567", "hi").await.unwrap_err();
    assert!(!error.is_retryable() && reason(&error).contains("Netgsm code 30"), "{error}");
}

#[tokio::test]
async fn msg91_gets_the_template_with_the_text_as_its_variable() {
    let server =
        FakeProvider::start(vec![answer(200, r#"{"type":"success","message":"3763646c3058373530393034"}"#)]).await;

    let sent = sender().send(&msg91(&server.base_url), false, "+919812345678", KOREAN).await.expect("sent");
    assert_eq!(sent.provider_message_id, "3763646c3058373530393034");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v5/flow");
    assert_eq!(request.header("authkey"), "msg91-key");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(
        request.json(),
        json!({
            "template_id": "6571f1e3d6fc05",
            "short_url": "0",
            "recipients": [{ "mobiles": "919812345678", "message": KOREAN }],
        })
    );
}

#[tokio::test]
async fn msg91_uses_the_configured_variable_and_short_urls() {
    let server = FakeProvider::start(vec![answer(200, r#"{"type":"success","message":"r1"}"#)]).await;
    let provider = SmsProvider::Msg91(Msg91Credentials {
        authkey: "msg91-key".into(),
        template_id: "t1".into(),
        variable: Some("VAR1".into()),
        short_url: Some(true),
        base_url: Some(server.base_url.clone()),
    });
    sender().send(&provider, false, "+919812345678", TURKISH).await.unwrap();
    let body = server.only_request().json();
    assert_eq!(body["short_url"], "1");
    assert_eq!(body["recipients"][0]["VAR1"], TURKISH);
}

#[tokio::test]
async fn msg91_errors_are_sorted() {
    let cases = [
        (200, r#"{"type":"error","message":"Template ID Missing or Invalid Template"}"#, false, "Invalid Template"),
        (401, r#"{"type":"error","message":"Authentication failure","code":"401"}"#, false, "Authentication failure"),
        (400, "Bad Request", false, "HTTP 400"),
        (429, "", true, "HTTP 429"),
        (503, r#"{"type":"error","message":"authkey=msg91-key leaked"}"#, true, "HTTP 503"),
        (200, r#"{"type":"success"}"#, false, "no request id"),
    ];
    for (status, body, retry, expected) in cases {
        let server = FakeProvider::start(vec![answer(status, body)]).await;
        let error = sender().send(&msg91(&server.base_url), false, "+919812345678", "hi").await.unwrap_err();
        assert_eq!(error.is_retryable(), retry, "{status} {body}: {error}");
        assert!(reason(&error).contains(expected), "{status} {body}: {error}");
        assert!(!error.to_string().contains("msg91-key"), "{error}");
    }
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_retried() {
    let mut slow = answer(201, r#"{"sid":"SMlate"}"#);
    slow.delay = Duration::from_secs(3);
    let server = FakeProvider::start(vec![slow]).await;

    let error = sender().send(&twilio(&server.base_url), false, "+905321234567", "hi").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(reason(&error).contains("did not answer in time"), "{error}");
}

#[tokio::test]
async fn an_unreachable_provider_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = sender().send(&netgsm(&base_url), false, "+905321234567", "hi").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(reason(&error).contains("cannot reach Netgsm"), "{error}");
}

#[tokio::test]
async fn the_live_client_refuses_a_loopback_base_url() {
    let server = FakeProvider::start(vec![answer(201, r#"{"sid":"SMx"}"#)]).await;
    for provider in [twilio(&server.base_url), netgsm(&server.base_url), msg91(&server.base_url)] {
        let error = sender().send(&provider, true, "+905321234567", "hi").await.unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert!(reason(&error).contains("address is refused") && reason(&error).contains("loopback"), "{error}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn bad_numbers_and_empty_texts_give_up_without_a_call() {
    let server = FakeProvider::start(vec![answer(201, r#"{"sid":"SMx"}"#)]).await;
    for (to, body) in [
        ("05321234567", "hi"),
        ("+90 532 123 45 67", "hi"),
        ("+1234567", "hi"),
        ("+0532123456", "hi"),
        ("+905321234567", " "),
    ] {
        let error = sender().send(&twilio(&server.base_url), false, to, body).await.unwrap_err();
        assert!(!error.is_retryable(), "{to}: {error}");
    }
    assert!(server.requests().is_empty());
}

#[test]
fn valid_credentials_come_back_typed_and_round_trip() {
    let value = json!({"provider": "twilio", "account_sid": SID, "auth_token": "t", "from": "+15005550006"});
    let provider = check_credentials(&value).expect("valid");
    assert!(
        matches!(&provider, SmsProvider::Twilio(c) if c.account_sid == SID && c.from.as_deref() == Some("+15005550006"))
    );
    assert_eq!(serde_json::to_value(&provider).unwrap(), value);

    let value = json!({"provider": "netgsm", "usercode": "850", "password": "p", "msgheader": "SHOP"});
    assert!(matches!(check_credentials(&value), Ok(SmsProvider::Netgsm(_))));
    let value = json!({"provider": "msg91", "authkey": "k", "template_id": "t", "short_url": true, "base_url": "https://m.example"});
    assert!(matches!(check_credentials(&value), Ok(SmsProvider::Msg91(c)) if c.short_url == Some(true)));

    let typed: Result<SmsProvider, _> = serde_json::from_value(
        json!({"provider": "netgsm", "usercode": "1", "password": "p", "msgheader": "H", "extra": 1}),
    );
    assert!(typed.unwrap_err().to_string().contains("unknown field `extra`"));
}

#[test]
fn credential_problems_name_the_field() {
    let problems = |value: serde_json::Value| check_credentials(&value).unwrap_err();

    assert_eq!(problems(json!("twilio"))[0].0, "");
    assert_eq!(problems(json!({"account_sid": SID}))[0].0, "/provider");
    let unknown = problems(json!({"provider": "sinch"}));
    assert_eq!(unknown[0].0, "/provider");
    assert!(unknown[0].1.contains("unknown provider `sinch`"), "{unknown:?}");

    let twilio = problems(json!({"provider": "twilio", "account_sid": SID, "authtoken": "t", "from": "+1"}));
    assert!(twilio.contains(&("/auth_token".into(), "required".into())), "{twilio:?}");
    let unknown_field = twilio.iter().find(|(p, _)| p == "/authtoken").expect("the unknown field");
    assert!(unknown_field.1.contains("unknown field") && unknown_field.1.contains("`auth_token`"), "{twilio:?}");

    let shapes = problems(json!({"provider": "msg91", "authkey": 5, "template_id": " ", "short_url": "yes"}));
    assert!(shapes.contains(&("/authkey".into(), "must be a string".into())), "{shapes:?}");
    assert!(shapes.contains(&("/template_id".into(), "must not be empty".into())), "{shapes:?}");
    assert!(shapes.contains(&("/short_url".into(), "must be true or false".into())), "{shapes:?}");

    let senders = problems(json!({"provider": "twilio", "account_sid": "AC1", "auth_token": "t"}));
    let pointers: Vec<_> = senders.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, ["/account_sid", "/from"], "{senders:?}");
    let both = problems(
        json!({"provider": "twilio", "account_sid": SID, "auth_token": "t", "from": "+1", "messaging_service_sid": SERVICE}),
    );
    assert_eq!(both[0].0, "/messaging_service_sid");

    let url = problems(
        json!({"provider": "netgsm", "usercode": "1", "password": "p", "msgheader": "H", "base_url": "ftp://x"}),
    );
    assert_eq!(url, [("/base_url".to_owned(), "must be an http or https URL".to_owned())]);
}

#[test]
fn debug_never_shows_secrets() {
    let debug = format!("{:?} {:?} {:?}", twilio("http://a"), netgsm("http://a"), msg91("http://a"));
    for secret in ["twilio-token", "netgsm-pass", "msg91-key"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

proptest! {
    #[test]
    fn answers_never_panic_and_busy_answers_always_retry(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        for parse in [parse_twilio_answer, parse_netgsm_answer, parse_msg91_answer] {
            let outcome = parse(status, &body);
            if status == 429 || status >= 500 {
                prop_assert!(outcome.unwrap_err().is_retryable());
            }
        }
    }
}
