//! The `sandbox` adapter against a real `waybill-sim` over HTTP on ephemeral ports.
//!
//! Every test starts its own simulator (and, for pushes, its own webhook receiver) and drives
//! the adapter only through the [`Carrier`] trait, as the engine does: rating, booking and
//! finding a booking again, tracking whole scenarios, cancelling, subscribing to signed pushes
//! and reading them back, and the error kind each failure is sorted into (what the caller may
//! safely do next). Waits poll with a generous deadline instead of sleeping a fixed time, so
//! the tests hold on a loaded machine.

mod account;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use account::TestAccount;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::FixedOffset;
use hmac::{KeyInit, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use waybill_carriers::sandbox::{
    parse_address_answer, parse_booking_answer, parse_cancel_answer, parse_found_booking_answer, parse_manifest_answer,
    parse_pickup_answer, parse_pickup_cancel_answer, parse_rates_answer, parse_rto_answer, parse_serviceability_answer,
    parse_subscription_answer, parse_tracking_answer, parse_update_answer,
};
use waybill_carriers::{
    Account, AddressClass, AddressVerdict, BookedRef, Booking, BookingRequest, Carrier, CarrierError, Carriers,
    ManifestRequest, PickupRequest, PushError, PushRequest, PushTarget, RateRequest, Scan, ShipmentUpdate,
};
use waybill_core::ids::CarrierAccountId;
use waybill_core::parcel::Dimensions;
use waybill_core::{Address, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::{Outbound, OutboundSettings};
use waybill_sim::{Faults, SimConfig, Simulator};

/// How long any wait for the simulator's clock or its pushes may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// A fast clock: one simulated day per 50 ms, so the longest scenario (4.5 days) plays in
/// about a quarter of a second.
const FAST_DAY: f64 = 0.05;

/// A slow clock: pickup (day 0.2) is 12 real minutes away, far beyond any test.
const SLOW_DAY: f64 = 3600.0;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A simulator served on `127.0.0.1:<ephemeral>` with its push scheduler; stops when dropped.
struct Sim {
    url: String,
    sim: Simulator,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_sim(day_seconds: f64) -> Sim {
    let sim = Simulator::new(SimConfig { day_seconds, ..SimConfig::default() }).await.expect("simulator starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(sim.clone().serve(listener));
    Sim { url, sim, task }
}

/// What an [`Account`] borrows: an account id, the simulator's URL and the credentials.
impl TestAccount {
    /// An account with the API key `k1`.
    fn on(sim: &Sim) -> Self {
        Self::new(&sim.url, json!({"api_key": "k1"}))
    }
}

/// The sandbox adapter, looked up by slug the way the engine finds it.
fn sandbox_with(outbound: Outbound) -> Arc<dyn Carrier> {
    Carriers::new(outbound).get("sandbox").expect("the sandbox adapter is registered").clone()
}

fn sandbox() -> Arc<dyn Carrier> {
    sandbox_with(Outbound::default())
}

/// Clients that give up after 300 ms: shorter than the simulator's hangs.
fn impatient_outbound() -> Outbound {
    Outbound::new(OutboundSettings { timeout: Duration::from_millis(300), ..OutboundSettings::default() })
        .expect("clients")
}

fn address(name: &str, city: &str, postal_code: &str) -> Address {
    Address {
        name: name.into(),
        company: None,
        phone: Some("+905551112233".into()),
        email: None,
        street1: "Ataturk Cd. 1".into(),
        street2: None,
        city: city.into(),
        state: None,
        postal_code: postal_code.into(),
        country: "TR".into(),
    }
}

/// Istanbul → Ankara, one 1.2 kg parcel.
fn rate_request() -> RateRequest {
    RateRequest {
        ship_from: address("Acme Store", "Istanbul", "34710"),
        ship_to: address("Ayse Yilmaz", "Ankara", "06530"),
        parcels: vec![Parcel {
            weight_g: 1200,
            dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 100 }),
        }],
    }
}

/// A standard booking of [`rate_request`]'s route with `reference`, playing `scenario`.
fn booking_request(reference: &str, scenario: Option<&str>) -> BookingRequest {
    let route = rate_request();
    BookingRequest {
        reference: reference.into(),
        service: "standard".into(),
        ship_from: route.ship_from,
        ship_to: route.ship_to,
        parcels: route.parcels,
        cod: None,
        simulate: scenario.map(Into::into),
        is_return: false,
    }
}

/// A reference no other booking in this process uses.
fn unique_reference(prefix: &str) -> String {
    format!("{prefix}-{}", CarrierAccountId::generate().as_str().trim_start_matches("car_"))
}

fn booked_ref(booking: &Booking) -> BookedRef<'_> {
    BookedRef { tracking_number: &booking.tracking_number, carrier_shipment_id: &booking.carrier_shipment_id }
}

/// Polls `track` until `done` holds for the scans, and returns them then.
async fn track_until(
    carrier: &dyn Carrier,
    account: &Account<'_>,
    tracking_number: &str,
    done: impl Fn(&[Scan]) -> bool,
) -> Vec<Scan> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let scans = carrier.track(account, tracking_number).await.expect("tracking answers");
        if done(&scans) {
            return scans;
        }
        assert!(Instant::now() < deadline, "tracking never reached the expected state: {:#?}", statuses(&scans));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn last_status_is(status: TrackingStatus) -> impl Fn(&[Scan]) -> bool {
    move |scans| scans.last().is_some_and(|s| s.status == status)
}

fn statuses(scans: &[Scan]) -> Vec<TrackingStatus> {
    scans.iter().map(|s| s.status).collect()
}

/// The `(code, field)` of a `Rejected`, failing the test on any other kind.
fn rejected(result: Result<impl std::fmt::Debug, CarrierError>) -> (String, Option<String>) {
    match result {
        Err(CarrierError::Rejected { carrier, code, field, .. }) => {
            assert_eq!(carrier, "sandbox");
            (code, field)
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

fn assert_unavailable(result: Result<impl std::fmt::Debug, CarrierError>) {
    match result {
        Err(e @ CarrierError::Unavailable { .. }) => assert!(e.is_transient(), "{e}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// Checks the scans every completed journey shares: ids `<awb>-<seq>`, the carrier's codes
/// kept, times in the origin hub's offset (+03:00 for Turkey) and in order.
fn assert_well_formed(tracking_number: &str, scans: &[Scan], codes: &[&str]) {
    let got: Vec<_> = scans.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(got, codes);
    let turkey = FixedOffset::east_opt(3 * 3600).expect("offset");
    for (i, scan) in scans.iter().enumerate() {
        assert_eq!(scan.event_id.as_deref(), Some(format!("{tracking_number}-{}", i + 1).as_str()));
        assert_eq!(scan.occurred_at.offset(), &turkey, "{scan:?}");
        assert!(!scan.description.is_empty(), "{scan:?}");
        assert!(scan.location.as_deref().is_some_and(|l| !l.is_empty()), "{scan:?}");
        assert_eq!(scan.raw["code"], scan.code.as_str(), "raw keeps the carrier's event");
        assert_eq!(scan.raw["event_id"], scan.event_id.as_deref().unwrap_or_default());
        if scan.status != TrackingStatus::DeliveryFailed {
            assert_eq!(scan.ndr_reason, None, "{scan:?}");
        }
    }
    for pair in scans.windows(2) {
        assert!(pair[0].occurred_at <= pair[1].occurred_at, "scans out of order: {pair:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Rating and booking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rates_cover_every_service_with_positive_charges() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let rates = sandbox().rate(&acct.account(), &rate_request()).await.expect("rates");

    let services: Vec<_> = rates.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(services, ["express", "standard", "economy"]);
    for rate in &rates {
        assert!(rate.charge.amount > Decimal::ZERO, "{rate:?}");
        assert_eq!(rate.charge.currency.code(), "USD");
        assert!(rate.transit_days.is_some_and(|d| d > 0), "{rate:?}");
    }
    let charge = |service: &str| rates.iter().find(|r| r.service == service).expect("rate").charge.amount;
    assert!(charge("express") > charge("standard") && charge("standard") > charge("economy"));
}

#[tokio::test]
async fn booking_returns_routing_and_charge_and_can_be_found_by_reference() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let reference = unique_reference("book");

    let booking = carrier.book(&account, &booking_request(&reference, Some("ndr_then_delivered"))).await.expect("book");
    let digits = booking.tracking_number.strip_prefix("SIM").expect("tracking number starts with SIM");
    assert!(digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()), "{}", booking.tracking_number);
    assert!(booking.carrier_shipment_id.starts_with("ss_"), "{}", booking.carrier_shipment_id);
    assert_eq!(booking.service, "standard");
    let routing = booking.routing.as_ref().expect("routing");
    assert_eq!((routing.origin_hub.as_str(), routing.destination_hub.as_str()), ("IST", "ANK"));
    assert!(!routing.sort_code.is_empty() && !routing.route.is_empty(), "{routing:?}");
    let charge = booking.charge.expect("charge");
    assert!(charge.amount > Decimal::ZERO);
    let quoted = carrier.rate(&account, &rate_request()).await.expect("rates");
    assert_eq!(Some(charge), quoted.iter().find(|r| r.service == "standard").map(|r| r.charge), "booked as quoted");
    assert!(booking.edd.is_some());
    assert!(booking.documents.is_empty(), "the sandbox renders no label of its own");

    let found = carrier.find_booking(&account, &reference).await.expect("find").expect("the booking is found");
    assert_eq!(found.tracking_number, booking.tracking_number);
    assert_eq!(found.carrier_shipment_id, booking.carrier_shipment_id);
    assert_eq!(found.routing, booking.routing);
    assert_eq!(carrier.find_booking(&account, "unknown-ref").await.expect("find"), None);

    // Keys partition the simulator's data: another key neither finds nor tracks it.
    let other = TestAccount::new(&sim.url, json!({"api_key": "k2"}));
    assert_eq!(carrier.find_booking(&other.account(), &reference).await.expect("find"), None);
    match carrier.track(&other.account(), &booking.tracking_number).await {
        Err(CarrierError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn booking_a_reference_twice_is_rejected_not_booked_again() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let reference = unique_reference("dup");

    let first = carrier.book(&account, &booking_request(&reference, None)).await.expect("first booking");
    let (code, field) = rejected(carrier.book(&account, &booking_request(&reference, None)).await);
    assert_eq!(code, "DUPLICATE_REFERENCE");
    assert_eq!(field.as_deref(), Some("/reference"));
    let found = carrier.find_booking(&account, &reference).await.expect("find").expect("found");
    assert_eq!(found.tracking_number, first.tracking_number, "the reference still names the first shipment");
}

// ---------------------------------------------------------------------------------------------
// Tracking whole scenarios
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ndr_then_delivered_maps_every_scan() {
    use TrackingStatus::*;
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let booking = carrier
        .book(&account, &booking_request(&unique_reference("ndr"), Some("ndr_then_delivered")))
        .await
        .expect("book");

    let scans = track_until(&*carrier, &account, &booking.tracking_number, last_status_is(Delivered)).await;
    assert_eq!(
        statuses(&scans),
        [InfoReceived, PickedUp, InTransit, InTransit, OutForDelivery, DeliveryFailed, OutForDelivery, Delivered]
    );
    assert_well_formed(&booking.tracking_number, &scans, &["BK", "PU", "DP", "AR", "OD", "UD", "OD", "DL"]);
    let failed = &scans[5];
    assert_eq!(failed.ndr_reason, Some(NdrReason::CustomerUnavailable));
    assert_eq!(failed.reason_code.as_deref(), Some("CNA"));
}

#[tokio::test]
async fn rto_ends_returned_with_both_failure_reasons() {
    use TrackingStatus::*;
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let booking = carrier.book(&account, &booking_request(&unique_reference("rto"), Some("rto"))).await.expect("book");

    let scans = track_until(&*carrier, &account, &booking.tracking_number, last_status_is(Returned)).await;
    assert_eq!(
        statuses(&scans),
        [
            InfoReceived,
            PickedUp,
            InTransit,
            InTransit,
            OutForDelivery,
            DeliveryFailed,
            OutForDelivery,
            DeliveryFailed,
            ReturnToOrigin,
            ReturnToOrigin,
            Returned,
        ]
    );
    assert_well_formed(
        &booking.tracking_number,
        &scans,
        &["BK", "PU", "DP", "AR", "OD", "UD", "OD", "UD", "RT", "RI", "RD"],
    );
    let reasons: Vec<_> = scans.iter().filter_map(|s| s.ndr_reason).collect();
    assert_eq!(reasons, [NdrReason::AddressIssue, NdrReason::Refused]);
}

// ---------------------------------------------------------------------------------------------
// Cancelling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_before_pickup_ends_tracking_cancelled() {
    let sim = start_sim(SLOW_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let booking = carrier.book(&account, &booking_request(&unique_reference("cx"), None)).await.expect("book");

    carrier.cancel(&account, &booked_ref(&booking)).await.expect("cancel before pickup");
    carrier.cancel(&account, &booked_ref(&booking)).await.expect("cancelling again is harmless");

    let scans = carrier.track(&account, &booking.tracking_number).await.expect("track");
    assert_eq!(statuses(&scans), [TrackingStatus::InfoReceived, TrackingStatus::Cancelled]);
    assert_well_formed(&booking.tracking_number, &scans, &["BK", "CX"]);
}

#[tokio::test]
async fn cancel_after_pickup_is_rejected() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let booking = carrier.book(&account, &booking_request(&unique_reference("late"), None)).await.expect("book");
    track_until(&*carrier, &account, &booking.tracking_number, |scans| {
        scans.iter().any(|s| s.status == TrackingStatus::PickedUp)
    })
    .await;

    let (code, _) = rejected(carrier.cancel(&account, &booked_ref(&booking)).await);
    assert_eq!(code, "CANCEL_NOT_ALLOWED");
    let scans =
        track_until(&*carrier, &account, &booking.tracking_number, last_status_is(TrackingStatus::Delivered)).await;
    assert!(scans.iter().all(|s| s.status != TrackingStatus::Cancelled), "the refused cancel changed nothing");
}

#[tokio::test]
async fn an_ndr_instruction_changes_the_journey_and_is_taken_once() {
    use waybill_core::ndr::NdrAction;
    // The failed attempt comes 0.9 s after booking; the simulator would return it 1.5 s later.
    let sim = start_sim(0.5).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    assert!(carrier.info().capabilities.ndr && carrier.ndr().api);
    let booking = carrier.book(&account, &booking_request(&unique_reference("ndr"), Some("ndr"))).await.expect("book");
    let (code, _) = rejected(carrier.ndr_action(&account, &booked_ref(&booking), &NdrAction::Reattempt {}).await);
    assert_eq!(code, "NDR_NOT_ALLOWED", "nothing failed yet");

    let failed =
        track_until(&*carrier, &account, &booking.tracking_number, last_status_is(TrackingStatus::DeliveryFailed))
            .await;
    assert_eq!(failed.last().and_then(|s| s.ndr_reason), Some(NdrReason::CustomerUnavailable));
    let fix = NdrAction::UpdateAndReattempt {
        street1: Some("Ataturk Cd. 12".into()),
        street2: Some("Daire 4".into()),
        phone: None,
        landmark: Some("next to the pharmacy".into()),
    };
    carrier.ndr_action(&account, &booked_ref(&booking), &fix).await.expect("taken");
    carrier.ndr_action(&account, &booked_ref(&booking), &fix).await.expect("the same instruction again is harmless");
    let (code, _) = rejected(carrier.ndr_action(&account, &booked_ref(&booking), &NdrAction::Rto {}).await);
    assert_eq!(code, "NDR_ALREADY_INSTRUCTED");

    let scans =
        track_until(&*carrier, &account, &booking.tracking_number, last_status_is(TrackingStatus::Delivered)).await;
    assert_well_formed(&booking.tracking_number, &scans, &["BK", "PU", "DP", "AR", "OD", "UD", "OD", "DL"]);
}

#[tokio::test]
async fn cancelling_an_unknown_shipment_is_not_found() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let unknown = BookedRef { tracking_number: "SIM0000000000", carrier_shipment_id: "ss_none" };
    match sandbox().cancel(&acct.account(), &unknown).await {
        Err(CarrierError::NotFound { carrier: "sandbox", .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Error kinds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn service_unavailable_is_transient_and_books_nothing() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let reference = unique_reference("503");

    sim.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    assert_unavailable(carrier.rate(&account, &rate_request()).await);
    assert_unavailable(carrier.book(&account, &booking_request(&reference, None)).await);
    assert_unavailable(carrier.find_booking(&account, &reference).await);
    assert_unavailable(carrier.track(&account, "SIM0000000000").await);

    sim.sim.set_faults(Faults::default());
    assert_eq!(carrier.find_booking(&account, &reference).await.expect("find"), None, "a 503 books nothing");
}

#[tokio::test]
async fn a_booking_whose_answer_is_lost_is_unknown_and_then_found() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let impatient = sandbox_with(impatient_outbound());
    let reference = unique_reference("hang");

    sim.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 2000, ..Faults::default() });
    match impatient.book(&account, &booking_request(&reference, None)).await {
        Err(e @ CarrierError::Unknown { carrier: "sandbox", .. }) => {
            assert!(!e.is_transient(), "a lost booking answer must not be retried blindly")
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    // Reads are safe to repeat, so the same hang makes them Unavailable.
    assert_unavailable(impatient.rate(&account, &rate_request()).await);
    assert_unavailable(impatient.find_booking(&account, &reference).await);

    // Reconcile, as the engine does: the simulator did the work before hanging.
    sim.sim.set_faults(Faults::default());
    let deadline = Instant::now() + PATIENCE;
    let found = loop {
        if let Some(found) = impatient.find_booking(&account, &reference).await.expect("find") {
            break found;
        }
        assert!(Instant::now() < deadline, "the hung booking never showed up");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(found.tracking_number.starts_with("SIM"), "{found:?}");
    let (code, _) = rejected(impatient.book(&account, &booking_request(&reference, None)).await);
    assert_eq!(code, "DUPLICATE_REFERENCE", "booking again after Unknown would not make a second shipment");
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address")
    };
    let acct = TestAccount::new(format!("http://{closed}"), json!({"api_key": "k1"}));
    let carrier = sandbox();
    assert_unavailable(carrier.rate(&acct.account(), &rate_request()).await);
    // Nothing was sent, so even a booking is safe to retry.
    assert_unavailable(carrier.book(&acct.account(), &booking_request("closed", None)).await);
}

#[tokio::test]
async fn a_refused_api_key_is_auth() {
    let sim = start_sim(FAST_DAY).await;
    let carrier = sandbox();
    for credentials in [json!({"api_key": ""}), json!({"api_key": "   "}), json!({})] {
        let acct = TestAccount::new(&sim.url, credentials.clone());
        for result in [
            carrier.rate(&acct.account(), &rate_request()).await.map(drop),
            carrier.book(&acct.account(), &booking_request("auth", None)).await.map(drop),
            carrier.track(&acct.account(), "SIM0000000000").await.map(drop),
        ] {
            match result {
                Err(e @ CarrierError::Auth { carrier: "sandbox", .. }) => assert!(!e.is_transient()),
                other => panic!("{credentials}: expected Auth, got {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn simulator_validation_errors_are_rejected_with_the_field() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();

    let mut no_city = rate_request();
    no_city.ship_to.city = String::new();
    let (code, field) = rejected(carrier.rate(&account, &no_city).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/ship_to/city")));

    let mut booking = booking_request(&unique_reference("invalid"), None);
    booking.ship_to.city = String::new();
    let (code, field) = rejected(carrier.book(&account, &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/ship_to/city")));

    let mut booking = booking_request(&unique_reference("invalid"), None);
    booking.parcels.clear();
    let (code, field) = rejected(carrier.book(&account, &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/parcels")));

    let mut booking = booking_request(&unique_reference("invalid"), None);
    booking.service = "overnight".into();
    let (code, field) = rejected(carrier.book(&account, &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/service")));

    let (code, field) = rejected(carrier.book(&account, &booking_request(&"r".repeat(65), None)).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/reference")));

    let booking = booking_request(&unique_reference("invalid"), Some("teleported"));
    let (code, field) = rejected(carrier.book(&account, &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/scenario")));

    // A postcode the carrier does not serve names the recipient's field, as the booking does.
    let mut booking = booking_request(&unique_reference("invalid"), None);
    booking.ship_to.country = "TR".into();
    booking.ship_to.postal_code = "34999".into();
    let (code, field) = rejected(carrier.book(&account, &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("PINCODE_NOT_SERVICEABLE", Some("/ship_to/postal_code")));
}

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

/// A pushed request as the receiver got it: lower-case header names and the raw body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn push(&self) -> PushRequest<'_> {
        PushRequest { headers: &self.headers, body: &self.body }
    }

    fn header(&self, name: &str) -> &str {
        let found = self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("{name} header"))
    }
}

type Inbox = Arc<Mutex<Vec<Received>>>;

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().expect("ASCII header").to_owned()))
        .collect();
    inbox.lock().expect("inbox").push(Received { headers, body: body.to_vec() });
    StatusCode::NO_CONTENT
}

/// Serves a webhook receiver on an ephemeral port; returns its URL and what it received.
async fn start_receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, as the simulator signs.
fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `received` with a new body and timestamp, signed with `secret`.
fn resigned(received: &Received, secret: &str, timestamp: i64, body: &[u8]) -> Received {
    let timestamp = timestamp.to_string();
    let headers = received
        .headers
        .iter()
        .map(|(name, value)| match name.as_str() {
            "x-sim-timestamp" => (name.clone(), timestamp.clone()),
            "x-sim-signature" => (name.clone(), sign(secret, &timestamp, body)),
            _ => (name.clone(), value.clone()),
        })
        .collect();
    Received { headers, body: body.to_vec() }
}

#[tokio::test]
async fn pushed_scans_verify_and_map_like_pulled_ones() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    let secret = "whsec-test-1";
    let (url, inbox) = start_receiver().await;

    let booking = carrier
        .book(&account, &booking_request(&unique_reference("push"), Some("ndr_then_delivered")))
        .await
        .expect("book");
    let target = PushTarget { url, secret: secret.into() };
    carrier.subscribe(&account, &booking.tracking_number, &target).await.expect("subscribe");
    // Subscribing again with the same URL only replaces the secret.
    carrier.subscribe(&account, &booking.tracking_number, &target).await.expect("subscribe again");

    let pulled =
        track_until(&*carrier, &account, &booking.tracking_number, last_status_is(TrackingStatus::Delivered)).await;
    let deadline = Instant::now() + PATIENCE;
    while inbox.lock().expect("inbox").len() < pulled.len() {
        assert!(Instant::now() < deadline, "only some pushes arrived");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // long enough for a duplicate to show
    let received = inbox.lock().expect("inbox").clone();
    assert_eq!(received.len(), pulled.len(), "each scan is pushed once");

    let mut pushed = Vec::new();
    for r in &received {
        let scans = carrier.parse_push(secret, &r.push()).expect("a genuine push verifies");
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].tracking_number, booking.tracking_number);
        assert_eq!(Some(r.header("x-sim-event-id")), scans[0].scan.event_id.as_deref());
        pushed.push(scans[0].scan.clone());
    }
    assert_eq!(pushed, pulled, "a pushed scan reads exactly like the pulled one");

    // Forgeries and damage, all built from a genuine push (the failed delivery attempt).
    let genuine = received.iter().find(|r| r.header("x-sim-event-id").ends_with("-6")).expect("the UD push");
    let bad_signature = |push: &Received| match carrier.parse_push(secret, &push.push()) {
        Err(PushError::BadSignature(_)) => {}
        other => panic!("expected BadSignature, got {other:?}"),
    };
    match carrier.parse_push("not-the-secret", &genuine.push()) {
        Err(PushError::BadSignature(_)) => {}
        other => panic!("a wrong secret must not verify, got {other:?}"),
    }
    for i in [0, genuine.body.len() / 2, genuine.body.len() - 1] {
        let mut altered = genuine.clone();
        altered.body[i] ^= 0x01;
        bad_signature(&altered);
    }
    let now = chrono::Utc::now().timestamp();
    bad_signature(&resigned(genuine, secret, now - 600, &genuine.body));
    bad_signature(&resigned(genuine, secret, now + 600, &genuine.body));
    // The control: the same re-signing with a fresh timestamp verifies.
    let fresh = carrier.parse_push(secret, &resigned(genuine, secret, now - 60, &genuine.body).push()).expect("fresh");
    assert_eq!(fresh[0].scan.ndr_reason, Some(NdrReason::CustomerUnavailable));

    for body in [&b"not json"[..], b"", b"{\"awb\": 1}", b"{\"awb\": \"SIM1\"}"] {
        match carrier.parse_push(secret, &resigned(genuine, secret, now, body).push()) {
            Err(PushError::Malformed(_)) => {}
            other => panic!("{:?}: expected Malformed, got {other:?}", String::from_utf8_lossy(body)),
        }
    }

    let without = |name: &str| Received {
        headers: genuine.headers.iter().filter(|(n, _)| n != name).cloned().collect(),
        body: genuine.body.clone(),
    };
    bad_signature(&without("x-sim-signature"));
    bad_signature(&without("x-sim-timestamp"));
    let mut unprefixed = genuine.clone();
    for (name, value) in &mut unprefixed.headers {
        if name == "x-sim-signature" {
            *value = value.trim_start_matches("sha256=").to_owned();
        }
    }
    bad_signature(&unprefixed);
}

#[tokio::test]
async fn a_booking_can_subscribe_its_pushes_in_the_same_call() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    assert!(carrier.info().capabilities.push_at_booking);
    let secret = "whsec-at-booking";
    let (url, inbox) = start_receiver().await;

    let target = PushTarget { url, secret: secret.into() };
    let request = booking_request(&unique_reference("push-at-booking"), Some("delivered"));
    let booking = carrier.book_subscribed(&account, &request, &target).await.expect("book");
    let pulled =
        track_until(&*carrier, &account, &booking.tracking_number, last_status_is(TrackingStatus::Delivered)).await;
    let deadline = Instant::now() + PATIENCE;
    while inbox.lock().expect("inbox").len() < pulled.len() {
        assert!(Instant::now() < deadline, "only some pushes arrived without a subscribe call");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let received = inbox.lock().expect("inbox").clone();
    let pushed: Vec<_> = received
        .iter()
        .map(|r| carrier.parse_push(secret, &r.push()).expect("signed with the target's secret").remove(0).scan)
        .collect();
    assert_eq!(pushed, pulled, "every scan pushed once, in order");
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

#[test]
fn credentials_are_checked_field_by_field() {
    let carrier = sandbox();
    let pointers = |credentials: Value| -> Vec<String> {
        carrier.check_credentials(&credentials).expect_err("invalid").into_iter().map(|e| e.pointer).collect()
    };
    assert_eq!(carrier.check_credentials(&json!({"api_key": "k1"})), Ok(()));
    assert_eq!(pointers(json!({})), ["/credentials/api_key"]);
    assert_eq!(pointers(json!({"api_key": 42})), ["/credentials/api_key"]);
    assert_eq!(pointers(json!({"api_key": null})), ["/credentials/api_key"]);
    assert_eq!(pointers(json!({"api_key": " "})), ["/credentials/api_key"]);
    assert_eq!(pointers(json!({"api_key": "k1", "region": "eu"})), ["/credentials/region"]);
    let mut both = pointers(json!({"api_key": [], "secret": "s"}));
    both.sort();
    assert_eq!(both, ["/credentials/api_key", "/credentials/secret"]);
    assert_eq!(pointers(json!("k1")), ["/credentials"]);
}

#[test]
fn info_describes_the_sandbox() {
    let carrier = sandbox();
    let info = carrier.info();
    assert_eq!((info.slug, info.name), ("sandbox", "Waybill Sandbox"));
    let services: Vec<_> = info.services.iter().map(|s| s.code).collect();
    assert_eq!(services, ["express", "standard", "economy"]);
    let c = &info.capabilities;
    assert!(c.rates && c.cancel && c.track && c.push && c.find_booking && c.cash_on_delivery);
    assert!(c.address_validation && c.serviceability && c.pickup);
    assert!(info.carrier_label_formats.is_empty());
}

// ---------------------------------------------------------------------------------------------
// A carrier that acts and then loses its answer half way
// ---------------------------------------------------------------------------------------------

/// A one-connection-at-a-time fake carrier: reads each request in full, answers `201 Created`
/// with a `Content-Length` of 1000, sends a few bytes of body and closes the connection. The
/// carrier acted (201) but the client never gets the whole answer.
async fn start_truncating_carrier() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let head = "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(br#"{"awb": "SIM00"#).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

/// Reproduces a bug in `src/sandbox.rs` `read()` (line 231): a failure while reading the body
/// is always `Unavailable`, even for a booking (`Repeatable::No`) whose 201 status already
/// arrived. `Unavailable` tells the engine the carrier did not act and a retry is safe; here it
/// did act, so the outcome is `Unknown` and must be reconciled with `find_booking`.
#[tokio::test]
async fn a_booking_answer_cut_off_after_201_is_unknown() {
    let url = start_truncating_carrier().await;
    let acct = TestAccount::new(&url, json!({"api_key": "k1"}));
    match sandbox().book(&acct.account(), &booking_request("cut", None)).await {
        Err(CarrierError::Unknown { .. }) => {}
        other => panic!("the carrier answered 201, so the booking may exist: expected Unknown, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses, serviceability and pickups
// ---------------------------------------------------------------------------------------------

fn pickup_request(reference: &str) -> PickupRequest {
    PickupRequest {
        reference: reference.into(),
        address: address("Acme Store", "Istanbul", "34710"),
        date: (chrono::Utc::now() + chrono::Duration::days(1)).date_naive(),
        ready_time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        close_time: chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        parcels: rate_request().parcels,
        tracking_numbers: vec![],
        service: None,
        instructions: Some("loading dock".into()),
    }
}

#[tokio::test]
async fn addresses_and_postcodes_are_checked_with_the_simulator() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let carrier = sandbox();

    let valid = carrier.validate_address(&acct.account(), &address("Ayse", "istanbul", "34710")).await.expect("check");
    assert_eq!((valid.verdict, valid.classification), (AddressVerdict::Valid, AddressClass::Residential));
    assert_eq!((valid.candidates[0].city.as_str(), valid.candidates[0].name.as_str()), ("Istanbul", "Ayse"));
    let mut company = address("Ayse", "Izmir", "34710");
    company.company = Some("Acme".into());
    let ambiguous = carrier.validate_address(&acct.account(), &company).await.expect("check");
    assert_eq!((ambiguous.verdict, ambiguous.classification), (AddressVerdict::Ambiguous, AddressClass::Commercial));
    assert_eq!(ambiguous.candidates.len(), 2);
    let invalid = carrier.validate_address(&acct.account(), &address("Ayse", "Sivas", "58000")).await.expect("check");
    assert_eq!(invalid.verdict, AddressVerdict::Invalid);

    let served = carrier.serviceability(&acct.account(), "TR", "34710").await.expect("serviceability");
    assert!(served.delivery && served.cash_on_delivery && served.pickup);
    let no_cod = carrier.serviceability(&acct.account(), "TR", "06999").await.expect("serviceability");
    assert!(no_cod.delivery && !no_cod.cash_on_delivery);
    let none = carrier.serviceability(&acct.account(), "TR", "34999").await.expect("serviceability");
    assert!(!none.delivery && !none.pickup && none.remark.is_some());
}

#[tokio::test]
async fn a_pickup_is_confirmed_and_a_lost_answer_is_unknown() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let pickup = sandbox().schedule_pickup(&acct.account(), &pickup_request("pku-1")).await.expect("pickup");
    assert!(pickup.confirmation_number.starts_with("PRN"));
    assert_eq!(pickup.charge.map(|c| c.amount), Some(Decimal::new(450, 2)));

    let mut refused = pickup_request("pku-2");
    refused.close_time = refused.ready_time;
    let (code, field) = rejected(sandbox().schedule_pickup(&acct.account(), &refused).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/close_time")));

    sim.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 2_000, ..Faults::default() });
    match sandbox_with(impatient_outbound()).schedule_pickup(&acct.account(), &pickup_request("pku-3")).await {
        Err(CarrierError::Unknown { .. }) => {}
        other => panic!("a pickup may have been booked: expected Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_pickup_is_called_off_and_calling_it_off_again_is_harmless() {
    let sim = start_sim(FAST_DAY).await;
    let acct = TestAccount::on(&sim);
    let carrier = sandbox();
    assert!(carrier.info().capabilities.pickup_cancel);
    let pickup = carrier.schedule_pickup(&acct.account(), &pickup_request("pku-cx")).await.expect("pickup");
    carrier.cancel_pickup(&acct.account(), &pickup.confirmation_number).await.expect("called off");
    carrier.cancel_pickup(&acct.account(), &pickup.confirmation_number).await.expect("again is harmless");
    match carrier.cancel_pickup(&acct.account(), "PRN00000000").await {
        Err(CarrierError::NotFound { .. } | CarrierError::Rejected { .. }) => {}
        other => panic!("an unknown pickup: {other:?}"),
    }
    let protocol = parse_pickup_cancel_answer(br#"{"confirmation_number": "PRN1", "status": "scheduled"}"#);
    assert!(matches!(protocol, Err(CarrierError::Protocol { .. })), "{protocol:?}");
}

#[tokio::test]
async fn the_recipient_and_the_cod_amount_are_updated_until_the_parcel_is_done_with() {
    let sim = start_sim(SLOW_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    assert!(carrier.info().capabilities.update);
    let lira = |amount: i64| waybill_core::Money::new(Decimal::new(amount, 2), "TRY".parse().unwrap());
    let request = BookingRequest { cod: Some(lira(49990)), ..booking_request(&unique_reference("up"), None) };
    let booking = carrier.book(&account, &request).await.expect("book");
    let mut ship_to = request.ship_to.clone();
    ship_to.phone = Some("+905559998877".into());
    let update = ShipmentUpdate { ship_to: Some(ship_to), cod: Some(lira(45000)), parcels: None };
    carrier.update_shipment(&account, &booked_ref(&booking), &update).await.expect("updated");
    carrier.update_shipment(&account, &booked_ref(&booking), &update).await.expect("the same update again");
    let view: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/shipments/{}", sim.url, booking.tracking_number))
        .header("X-Api-Key", "k1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["consignee"]["phone"], "+905559998877", "{view}");
    assert_eq!(view["cod"], json!({"amount": "450.00", "currency": "TRY"}));

    let parcels = ShipmentUpdate { ship_to: None, cod: None, parcels: Some(request.parcels.clone()) };
    let unsupported = carrier.update_shipment(&account, &booked_ref(&booking), &parcels).await;
    assert!(matches!(unsupported, Err(CarrierError::Unsupported { .. })), "{unsupported:?}");
    carrier.cancel(&account, &booked_ref(&booking)).await.expect("cancel");
    let (code, _) = rejected(carrier.update_shipment(&account, &booked_ref(&booking), &update).await);
    assert_eq!(code, "UPDATE_NOT_ALLOWED");
    let prepaid = carrier.book(&account, &booking_request(&unique_reference("up"), None)).await.expect("book");
    let (code, field) = rejected(carrier.update_shipment(&account, &booked_ref(&prepaid), &update).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/cod")));
    let protocol = parse_update_answer(br#"{"awb": "SIM2"}"#, "SIM1");
    assert!(matches!(protocol, Err(CarrierError::Protocol { .. })), "{protocol:?}");
}

#[tokio::test]
async fn a_moving_parcel_turns_back_when_asked_and_a_waiting_one_is_refused() {
    // Half-second days: picked up after 0.1 s, delivered after 0.9 s unless turned back.
    let sim = start_sim(0.5).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    assert!(carrier.info().capabilities.rto_request);
    let slow = start_sim(SLOW_DAY).await;
    let slow_acct = TestAccount::on(&slow);
    let waiting = carrier.book(&slow_acct.account(), &booking_request(&unique_reference("rt"), None)).await.unwrap();
    let (code, _) = rejected(carrier.request_rto(&slow_acct.account(), &booked_ref(&waiting)).await);
    assert_eq!(code, "RTO_NOT_ALLOWED", "not picked up yet");

    let booking = carrier.book(&account, &booking_request(&unique_reference("rt"), None)).await.expect("book");
    tokio::time::sleep(Duration::from_millis(300)).await;
    carrier.request_rto(&account, &booked_ref(&booking)).await.expect("turned back");
    carrier.request_rto(&account, &booked_ref(&booking)).await.expect("asking again is harmless");
    let scans =
        track_until(carrier.as_ref(), &account, &booking.tracking_number, last_status_is(TrackingStatus::Returned))
            .await;
    assert!(!statuses(&scans).contains(&TrackingStatus::Delivered), "{scans:?}");
    let protocol = parse_rto_answer(br#"{"awb": "SIM1", "status": "in_transit"}"#);
    assert!(matches!(protocol, Err(CarrierError::Protocol { .. })), "{protocol:?}");
}

#[tokio::test]
async fn a_day_is_closed_once_per_reference_and_a_parcel_on_one_close_only() {
    let sim = start_sim(SLOW_DAY).await;
    let acct = TestAccount::on(&sim);
    let account = acct.account();
    let carrier = sandbox();
    assert!(carrier.info().capabilities.manifest);
    let first = carrier.book(&account, &booking_request(&unique_reference("mf"), None)).await.expect("book");
    let second = carrier.book(&account, &booking_request(&unique_reference("mf"), None)).await.expect("book");
    let request = |reference: &str, awbs: &[&Booking]| ManifestRequest {
        reference: reference.into(),
        date: chrono::Utc::now().date_naive(),
        tracking_numbers: awbs.iter().map(|b| b.tracking_number.clone()).collect(),
    };
    let closed = carrier.close_manifest(&account, &request("mft-1", &[&first, &second])).await.expect("closed");
    let number = closed.reference.expect("the simulator numbers its closes");
    assert!(number.starts_with("MAN") && number.len() == 11, "{number}");
    let again = carrier.close_manifest(&account, &request("mft-1", &[&first, &second])).await.expect("a repeat");
    assert_eq!(again.reference.as_deref(), Some(number.as_str()), "the same close");

    let (code, _) = rejected(carrier.close_manifest(&account, &request("mft-2", &[&first])).await);
    assert_eq!(code, "AWB_ALREADY_MANIFESTED");
    let unknown = ManifestRequest { tracking_numbers: vec!["SIM0000000000".into()], ..request("mft-3", &[]) };
    let (code, field) = rejected(carrier.close_manifest(&account, &unknown).await);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_ERROR", Some("/awbs[0]")));
    let protocol = parse_manifest_answer(br#"{"manifest_number": " "}"#);
    assert!(matches!(protocol, Err(CarrierError::Protocol { .. })), "{protocol:?}");
}

#[test]
fn answers_with_the_wrong_shape_are_protocol_errors() {
    let asked = address("Ayse", "Istanbul", "34710");
    let protocol = |r: Result<(), CarrierError>| assert!(matches!(r, Err(CarrierError::Protocol { .. })), "{r:?}");
    protocol(parse_cancel_answer(br#"{"awb": "SIM1", "status_code": "DL"}"#));
    protocol(parse_pickup_answer(br#"{"confirmation_number": " "}"#).map(drop));
    protocol(
        parse_address_answer(
            br#"{"verdict": "maybe", "classification": "x", "candidates": [], "messages": []}"#,
            &asked,
        )
        .map(drop),
    );
    protocol(
        parse_rates_answer(br#"{"rates": [{"service": "x", "charge": {"amount": "1,5", "currency": "USD"}}]}"#)
            .map(drop),
    );
    assert_eq!(parse_cancel_answer(br#"{"awb": "SIM1", "status_code": "CX"}"#), Ok(()));
    assert_eq!(parse_found_booking_answer(br#"{"shipments": []}"#), Ok(None));
}

proptest::proptest! {
    #[test]
    fn any_answer_bytes_read_as_a_value_or_a_typed_error(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let asked = address("Ayse", "Istanbul", "34710");
        let typed = |e: &CarrierError| matches!(e, CarrierError::Protocol { carrier: "sandbox", .. });
        proptest::prop_assert!(parse_rates_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_booking_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_found_booking_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_cancel_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_tracking_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_subscription_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_address_answer(&body, &asked).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_serviceability_answer(&body).err().is_none_or(|e| typed(&e)));
        proptest::prop_assert!(parse_pickup_answer(&body).err().is_none_or(|e| typed(&e)));
    }
}
