//! The status machine on arbitrary scans: statuses, carrier times and receipt times (any
//! skew, any order, repeats). Placing never puts a scan after its receipt; folding new scans
//! onto a state equals replaying every scan whenever `extends_to` says it may; a replay does
//! not depend on the order scans came in; and a final status never changes afterwards.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use waybill_core::tracking::{PlacedScan, TrackingState, TrackingStatus, place};

fn at(minutes: i16) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + i64::from(minutes) * 60, 0).single().expect("a time")
}

fuzz_target!(|data: &[u8]| {
    // Five bytes a scan: status, carrier time (2), receipt time (2), in minutes.
    let scans: Vec<PlacedScan> = data
        .chunks_exact(5)
        .map(|c| {
            let status = TrackingStatus::ALL[usize::from(c[0]) % TrackingStatus::ALL.len()];
            let stamped = at(i16::from_le_bytes([c[1], c[2]]));
            let received = at(i16::from_le_bytes([c[3], c[4]]));
            let placed = place(status, stamped, received);
            assert!(placed.at <= received && placed.at <= stamped, "placed after its receipt");
            placed
        })
        .collect();
    let replayed = TrackingState::replay(scans.iter().copied());
    let mut reversed = scans.clone();
    reversed.reverse();
    assert_eq!(TrackingState::replay(reversed), replayed, "a replay depends on arrival order");

    // Arrival one scan at a time, as the store does it: extend when allowed, else replay.
    let mut state = TrackingState::booked();
    let mut seen: Vec<PlacedScan> = Vec::new();
    for scan in &scans {
        seen.push(*scan);
        if state.status.is_final() {
            continue;
        }
        state =
            if state.extends_to(scan.at) { state.extend([*scan]) } else { TrackingState::replay(seen.iter().copied()) };
    }
    if !scans.iter().any(|s| s.status.is_final()) {
        assert_eq!(state, replayed, "arrival by arrival differs from one replay");
    }
});
