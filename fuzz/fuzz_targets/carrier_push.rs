//! Every adapter's `parse_push` on arbitrary headers and bodies: scans or a typed error, never a
//! panic. The first input byte picks a header layout (none, the shared secret as Delhivery's
//! `Authorization`, or raw header text split from the input).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use waybill_carriers::{Carriers, PushRequest};
use waybill_outbound::Outbound;

const SECRET: &str = "fuzz-secret";

static CARRIERS: LazyLock<Carriers> = LazyLock::new(|| Carriers::new(Outbound::default()));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (headers, body): (Vec<(String, String)>, &[u8]) = match mode % 3 {
        0 => (vec![], rest),
        1 => (vec![("authorization".into(), SECRET.into())], rest),
        _ => {
            let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..split]).into_owned();
            let (name, value) = header.split_once(':').unwrap_or(("x-fuzz", &header));
            (vec![(name.trim().to_ascii_lowercase(), value.trim().to_owned())], rest.get(split + 1..).unwrap_or(&[]))
        }
    };
    for carrier in CARRIERS.iter() {
        let _ = carrier.parse_push(SECRET, &PushRequest { headers: &headers, body });
    }
});
