//! The mailer against a real SMTP exchange with a test server on 127.0.0.1.

#[path = "support/mime.rs"]
mod mime;

use std::time::Duration;

use mime::Part;
use waybill_notify::email::{Mailer, OutgoingEmail, SendError, SmtpSecurity, SmtpSettings};
use waybill_notify::sink::{Behaviour, Failure, SmtpSink};

const TURKISH_SUBJECT: &str = "Siparişiniz yola çıktı";
const TURKISH_TEXT: &str = "Merhaba Ayşe,\nSiparişiniz kargoya verildi: ğüşıöç İĞÜŞÖÇ.\n.Bu satır noktayla başlıyor.\n";
const KOREAN_SUBJECT: &str = "주문하신 상품이 발송되었습니다";
const KOREAN_TEXT: &str = "안녕하세요, 김민준 고객님.\n주문하신 상품이 오늘 발송되었습니다.\n";

fn email(to: &str, subject: &str, text: &str) -> OutgoingEmail {
    OutgoingEmail {
        message_id: "ntf_01HX7Q2B9Z".into(),
        from_name: "Kargo Dükkânı".into(),
        from_address: "notify@shop.example".into(),
        to: to.into(),
        reply_to: Some("help@shop.example".into()),
        subject: subject.into(),
        text: text.into(),
        html: format!("<p>{}</p>", text.replace('\n', "<br>")),
        list_unsubscribe: Some("https://shop.example/unsubscribe/ntf_01HX7Q2B9Z?t=abc".into()),
    }
}

async fn mailer(sink: &SmtpSink, credentials: &str, extra: &str) -> Mailer {
    Mailer::new(&SmtpSettings::parse(&sink.url(credentials, extra)).expect("a valid URL")).expect("a mailer")
}

#[tokio::test]
async fn a_turkish_message_arrives_whole_with_auth_headers_and_both_parts() {
    let sink = SmtpSink::start(Behaviour::default()).await;
    let mailer = mailer(&sink, "mailer%40shop.example:p%40ss%3Aw%C3%B6rd@", "").await;

    let sent = mailer.send(&email("ayse@example.com.tr", TURKISH_SUBJECT, TURKISH_TEXT)).await.expect("sent");
    assert_eq!(sent.provider_message_id, "Q1", "the queue id from the final 250 reply");

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.auth, Some(("mailer@shop.example".into(), "p@ss:wörd".into())));
    assert_eq!(message.mail_from, "notify@shop.example");
    assert_eq!(message.rcpt_to, ["ayse@example.com.tr"]);

    let mail = Part::parse(&message.raw);
    assert_eq!(mail.decoded_header("Subject"), TURKISH_SUBJECT);
    assert!(mail.header("Subject").starts_with("=?utf-8?"), "an encoded word: {}", mail.header("Subject"));
    assert!(mail.header("From").contains("=?utf-8?"), "the name is encoded: {}", mail.header("From"));
    assert_eq!(mail.decoded_header("From"), "Kargo Dükkânı <notify@shop.example>");
    assert_eq!(mail.header("To"), "ayse@example.com.tr");
    assert_eq!(mail.header("Reply-To"), "help@shop.example");
    assert_eq!(mail.header("Message-ID"), "<ntf_01HX7Q2B9Z@shop.example>");
    assert_eq!(mail.header("List-Unsubscribe"), "<https://shop.example/unsubscribe/ntf_01HX7Q2B9Z?t=abc>");
    assert_eq!(mail.header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    assert_eq!(mail.content_type(), "multipart/alternative");

    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].content_type(), "text/plain");
    assert_eq!(parts[1].content_type(), "text/html");
    for part in &parts {
        assert_eq!(part.param("Content-Type", "charset").as_deref(), Some("utf-8"));
        assert!(
            ["quoted-printable", "base64"].contains(&part.transfer_encoding().as_str()),
            "non-ASCII text is transfer-encoded, got {}",
            part.transfer_encoding()
        );
    }
    assert_eq!(parts[0].text().replace("\r\n", "\n"), TURKISH_TEXT);
    assert_eq!(parts[1].text().replace("\r\n", "\n"), format!("<p>{}</p>", TURKISH_TEXT.replace('\n', "<br>")));
}

#[tokio::test]
async fn a_korean_message_keeps_its_message_id_when_sent_again() {
    let sink = SmtpSink::start(Behaviour::default()).await;
    let mailer = mailer(&sink, "", "").await;
    let mut korean = email("minjun@example.kr", KOREAN_SUBJECT, KOREAN_TEXT);
    korean.from_name = "배송 알림".into();
    korean.list_unsubscribe = None;
    korean.reply_to = None;

    mailer.send(&korean).await.expect("first send");
    mailer.send(&korean).await.expect("second send");

    let received = sink.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].auth, None, "no credentials, no AUTH");
    let first = Part::parse(&received[0].raw);
    let second = Part::parse(&received[1].raw);
    assert_eq!(first.header("Message-ID"), "<ntf_01HX7Q2B9Z@shop.example>");
    assert_eq!(second.header("Message-ID"), first.header("Message-ID"));
    assert_eq!(first.decoded_header("Subject"), KOREAN_SUBJECT);
    assert_eq!(first.decoded_header("From"), "배송 알림 <notify@shop.example>");
    assert!(first.headers("List-Unsubscribe").is_empty());
    assert!(first.headers("Reply-To").is_empty());
    let parts = first.parts();
    assert_eq!(parts[0].text().replace("\r\n", "\n"), KOREAN_TEXT);
    assert!(parts[1].text().contains("주문하신 상품이 오늘 발송되었습니다."));
}

#[tokio::test]
async fn a_refused_mailbox_gives_up() {
    let sink =
        SmtpSink::start(Behaviour { reject_rcpt: vec!["gone@example.com".into()], ..Behaviour::default() }).await;
    let mailer = mailer(&sink, "", "").await;

    let error = mailer.send(&email("gone@example.com", "Hi", "Hello")).await.unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(error.to_string().contains("550"), "{error}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_temporary_refusal_retries_and_the_next_attempt_goes_through() {
    let sink = SmtpSink::start(Behaviour { fail_first: 1, failure: Failure::Reply451, ..Behaviour::default() }).await;
    let mailer = mailer(&sink, "", "").await;
    let message = email("ayse@example.com.tr", TURKISH_SUBJECT, TURKISH_TEXT);

    let error = mailer.send(&message).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("451"), "{error}");
    assert!(sink.received().is_empty());

    mailer.send(&message).await.expect("the retry goes through");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_before_the_answer_retries_with_the_same_message_id() {
    let sink =
        SmtpSink::start(Behaviour { fail_first: 1, failure: Failure::DropAfterData, ..Behaviour::default() }).await;
    let mailer = mailer(&sink, "", "").await;
    let message = email("ayse@example.com.tr", TURKISH_SUBJECT, TURKISH_TEXT);

    let error = mailer.send(&message).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(sink.attempts(), 1);

    mailer.send(&message).await.expect("the retry goes through");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(Part::parse(&received[0].raw).header("Message-ID"), "<ntf_01HX7Q2B9Z@shop.example>");
}

#[tokio::test]
async fn a_server_that_never_answers_retries_after_the_timeout() {
    let sink = SmtpSink::start(Behaviour { silent: true, ..Behaviour::default() }).await;
    let mailer = mailer(&sink, "", "&timeout_ms=300").await;

    let outcome = tokio::time::timeout(Duration::from_secs(20), mailer.send(&email("a@example.com", "Hi", "Hello")))
        .await
        .expect("the mailer's own timeout ends the send");
    let error = outcome.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("300 ms"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}?tls=none")).unwrap();
    let error = Mailer::new(&settings).unwrap().send(&email("a@example.com", "Hi", "Hello")).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

#[tokio::test]
async fn bad_addresses_and_ids_give_up_before_connecting() {
    let sink = SmtpSink::start(Behaviour::default()).await;
    let mailer = mailer(&sink, "", "").await;
    let base = email("ayse@example.com.tr", "Hi", "Hello");

    let cases = [
        (OutgoingEmail { to: "not an address".into(), ..base.clone() }, "recipient address"),
        (OutgoingEmail { from_address: "notify@".into(), ..base.clone() }, "sender address"),
        (OutgoingEmail { reply_to: Some("help@@shop".into()), ..base.clone() }, "reply-to address"),
        (OutgoingEmail { message_id: "<ntf_1@x>".into(), ..base.clone() }, "left part of a Message-ID"),
        (OutgoingEmail { message_id: "ntf..1".into(), ..base.clone() }, "left part of a Message-ID"),
        (OutgoingEmail { list_unsubscribe: Some("http://shop.example/u".into()), ..base.clone() }, "https"),
    ];
    for (message, expected) in cases {
        let error = mailer.send(&message).await.unwrap_err();
        assert!(matches!(error, SendError::GiveUp { .. }), "{error}");
        assert!(error.to_string().contains(expected), "{error} should mention {expected}");
    }
    assert_eq!(sink.attempts(), 0);
}

#[test]
fn urls_choose_security_and_ports() {
    let starttls = SmtpSettings::parse("smtp://mail.example.com").unwrap();
    assert_eq!((starttls.security, starttls.port), (SmtpSecurity::StartTls, 587));
    assert_eq!(starttls.timeout, Duration::from_secs(30));
    assert_eq!(starttls.credentials, None);

    let explicit = SmtpSettings::parse("smtp://mail.example.com:2587?tls=starttls").unwrap();
    assert_eq!((explicit.security, explicit.port), (SmtpSecurity::StartTls, 2587));

    let implicit = SmtpSettings::parse("smtps://u:p@mail.example.com?timeout_ms=1500").unwrap();
    assert_eq!((implicit.security, implicit.port), (SmtpSecurity::Implicit, 465));
    assert_eq!(implicit.timeout, Duration::from_millis(1500));

    let plain = SmtpSettings::parse("smtp://127.0.0.1?tls=none").unwrap();
    assert_eq!((plain.security, plain.port, plain.host.as_str()), (SmtpSecurity::None, 25, "127.0.0.1"));

    let v6 = SmtpSettings::parse("smtp://[::1]:2525?tls=none").unwrap();
    assert_eq!((v6.host.as_str(), v6.port), ("::1", 2525));

    let decoded = SmtpSettings::parse("smtp://apikey%2B1:s%C3%BCper%20secret%25@mail.example.com").unwrap();
    let credentials = decoded.credentials.clone().unwrap();
    assert_eq!((credentials.user.as_str(), credentials.password.as_str()), ("apikey+1", "süper secret%"));
    let debug = format!("{decoded:?}");
    assert!(!debug.contains("secret") && debug.contains("apikey+1"), "{debug}");
}

#[test]
fn bad_urls_say_what_is_wrong_without_the_password() {
    let cases = [
        ("mail.example.com", "not a valid SMTP URL"),
        ("http://mail.example.com", "scheme must be `smtp` or `smtps`"),
        ("smtp://", "no host"),
        ("smtp://mail.example.com/inbox", "no path"),
        ("smtp://mail.example.com?tls=maybe", "`tls` must be `starttls` or `none`"),
        ("smtps://mail.example.com?tls=none", "`smtps://` is always implicit TLS"),
        ("smtp://mail.example.com?timeout_ms=0", "`timeout_ms` must be a whole number"),
        ("smtp://mail.example.com?timeout_ms=soon", "`timeout_ms` must be a whole number"),
        ("smtp://mail.example.com?pool=4", "unknown parameter `pool`"),
        ("smtp://user@mail.example.com", "no password"),
        ("smtp://:hunter2secret@mail.example.com", "no user"),
        ("smtp://user:bad%ZZhunter2secret@mail.example.com", "password is not valid percent-encoded"),
        ("smtp://user:hunter2secret@mail.example.com?tls=none&x=1", "unknown parameter `x`"),
    ];
    for (url, expected) in cases {
        let error = SmtpSettings::parse(url).unwrap_err();
        assert!(error.contains(expected), "{url}: {error}");
        assert!(!error.contains("hunter2secret"), "{url}: the error repeats the password: {error}");
    }
}
