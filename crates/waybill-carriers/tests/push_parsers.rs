//! Every adapter's push parser takes input straight from the internet (the carrier hook URL):
//! whatever arrives, it answers with scans or a typed error, never a panic.

use proptest::prelude::*;
use waybill_carriers::{Carriers, PushError, PushRequest};
use waybill_outbound::Outbound;

const SECRET: &str = "push-secret-for-tests";

fn carriers() -> Carriers {
    Carriers::new(Outbound::default())
}

/// Header values a push might carry: real names with arbitrary values, including the secret.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("authorization".to_owned()),
        Just("x-sim-timestamp".to_owned()),
        Just("x-sim-signature".to_owned()),
        Just("content-type".to_owned()),
        "[a-z-]{1,20}",
    ];
    let value = prop_oneof![Just(SECRET.to_owned()), Just(format!("Token {SECRET}")), ".{0,80}"];
    proptest::collection::vec((name, value), 0..5)
}

/// Bodies that are JSON-shaped often enough to reach the parsers' deeper paths.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        ".{0,400}".prop_map(String::into_bytes),
        (".{0,30}", ".{0,30}", ".{0,40}").prop_map(|(a, b, c)| {
            format!(
                r#"{{"Shipment":{{"AWB":"{a}","Status":{{"Status":"{b}","StatusType":"UD","StatusDateTime":"{c}"}}}}}}"#
            )
            .into_bytes()
        }),
        (".{0,30}", ".{0,30}").prop_map(|(a, b)| {
            format!(r#"[{{"Shipment":{{"AWB":"{a}","Scans":[{{"ScanDetail":{{"Scan":"{b}"}}}}]}}}}]"#).into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_push_parser_panics(headers in headers(), body in body()) {
        for carrier in carriers().iter() {
            let push = PushRequest { headers: &headers, body: &body };
            match carrier.parse_push(SECRET, &push) {
                Ok(scans) => {
                    for s in scans {
                        prop_assert!(!s.tracking_number.is_empty() || !s.scan.code.is_empty());
                    }
                }
                Err(PushError::BadSignature(m) | PushError::Malformed(m)) => prop_assert!(!m.is_empty()),
            }
        }
    }
}

#[test]
fn carriers_without_pushes_refuse_them_by_name() {
    for carrier in carriers().iter().filter(|c| !c.info().capabilities.push) {
        let push = PushRequest { headers: &[], body: b"{}" };
        match carrier.parse_push(SECRET, &push) {
            Err(PushError::Malformed(m)) => assert!(m.contains(carrier.info().name), "{m}"),
            other => panic!("{}: expected a refusal, got {other:?}", carrier.info().slug),
        }
    }
}
