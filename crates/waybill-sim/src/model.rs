//! Stored shipments and subscriptions, the scans that follow from them, and
//! the JSON shapes the API answers with.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::{self, Hub};
use crate::rates::Service;
use crate::scenario::{self, NdrAct, Place, Scenario, Step};

/// A postal address as the client sent it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Address {
    pub name: String,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub street1: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// One parcel (a piece of the shipment).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Parcel {
    pub weight_g: u64,
    pub length_mm: Option<u64>,
    pub width_mm: Option<u64>,
    pub height_mm: Option<u64>,
}

/// An amount as a decimal string with its ISO currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Money {
    pub amount: String,
    pub currency: String,
}

/// A booked shipment: everything needed to answer for it and to derive its
/// scans, which is why it keeps the clock speed it was booked under.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Shipment {
    pub shipment_id: String,
    pub awb: String,
    pub reference: String,
    pub service: Service,
    pub scenario: Scenario,
    pub shipper: Address,
    pub consignee: Address,
    pub parcels: Vec<Parcel>,
    pub cod: Option<Money>,
    pub charge: Money,
    pub edd: NaiveDate,
    pub origin: Hub,
    pub destination: Hub,
    pub sort_code: String,
    pub route: String,
    /// Fixed offset of the origin hub; every timestamp is written in it.
    pub utc_offset_minutes: i32,
    pub day_seconds: f64,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// What the shipper said to do after the failed attempt (absent in older state files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndr_instruction: Option<NdrInstruction>,
    /// When the shipper asked for the parcel back while it was on its way (absent in older
    /// state files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_requested_at: Option<DateTime<Utc>>,
    /// The shipper's changes after booking, oldest first (absent in older state files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<ShipmentUpdate>,
}

/// The shipper's instruction after a failed delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct NdrInstruction {
    pub action: NdrAct,
    pub at: DateTime<Utc>,
    /// Simulated days the next attempt waits beyond the usual (a rescheduled delivery).
    #[serde(default)]
    pub lead_days: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark: Option<String>,
}

/// One scan on a shipment's timeline, possibly still in the future.
#[derive(Clone, Debug)]
pub(crate) struct Scan {
    /// Position on the timeline, from 1: the `<seq>` of the event id.
    pub seq: usize,
    pub at: DateTime<Utc>,
    pub code: &'static str,
    pub reason: Option<&'static str>,
    pub place: Place,
}

/// A tracking event as the API and the webhooks show it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Event {
    pub event_id: String,
    pub code: &'static str,
    pub description: String,
    pub location: String,
    pub timestamp: String,
    pub reason_code: Option<&'static str>,
}

/// The shipment object of the API (201 body, lookups).
#[derive(Debug, Serialize)]
pub(crate) struct ShipmentView<'a> {
    awb: &'a str,
    shipment_id: &'a str,
    reference: &'a str,
    service: Service,
    status_code: &'static str,
    charge: &'a Money,
    /// The recipient as it stands, after any update.
    consignee: &'a Address,
    cod: Option<&'a Money>,
    edd: NaiveDate,
    routing: Routing<'a>,
    pieces: Vec<Piece>,
    created_at: String,
}

#[derive(Debug, Serialize)]
struct Routing<'a> {
    origin_hub: &'a str,
    destination_hub: &'a str,
    sort_code: &'a str,
    route: &'a str,
}

#[derive(Debug, Serialize)]
struct Piece {
    piece_id: String,
    weight_g: u64,
}

/// A webhook subscription.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Subscription {
    pub id: String,
    pub api_key: String,
    pub awb: String,
    pub url: String,
    pub secret: String,
}

/// A courier pickup, as stored and as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Pickup {
    pub pickup_id: String,
    /// `PRN` and 8 digits: what the courier's dispatcher asks for.
    pub confirmation_number: String,
    pub reference: String,
    pub address: Address,
    pub date: NaiveDate,
    /// `HH:MM`, local time at the address.
    pub ready_time: String,
    pub close_time: String,
    pub parcels: Vec<Parcel>,
    pub awbs: Vec<String>,
    pub instructions: Option<String>,
    pub charge: Money,
    /// Which hub sends the courier.
    pub note: String,
    pub created_at: DateTime<Utc>,
    /// When the shipper called the courier off (absent in older state files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A change of the recipient's details (same address, other words for it) or of the cash to
/// collect; fields left out keep their value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShipmentUpdate {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub cod: Option<Money>,
    pub at: DateTime<Utc>,
}

/// An end-of-day close: the parcels the driver takes, as the shipper declared them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// `MAN` and 8 digits.
    pub manifest_number: String,
    /// The shipper's reference: a repeat with the same one is the same close.
    pub reference: String,
    pub awbs: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// The wall-clock instant `days` simulated days after `start`, when a
/// simulated day lasts `day_seconds` real seconds.
pub(crate) fn days_after(start: DateTime<Utc>, days: f64, day_seconds: f64) -> DateTime<Utc> {
    start + Duration::microseconds((days * day_seconds * 1e6).round() as i64)
}

impl Shipment {
    /// Applies a change of the recipient's details or of the cash to collect.
    pub fn apply(&mut self, update: &ShipmentUpdate) {
        if let Some(name) = &update.name {
            self.consignee.name = name.clone();
        }
        if let Some(phone) = &update.phone {
            self.consignee.phone = Some(phone.clone());
        }
        if let Some(street1) = &update.street1 {
            self.consignee.street1 = street1.clone();
        }
        if let Some(street2) = &update.street2 {
            self.consignee.street2 = Some(street2.clone());
        }
        if let Some(cod) = &update.cod {
            self.cod = Some(cod.clone());
        }
        self.updates.push(update.clone());
    }

    /// The wall-clock instant `day` simulated days after booking.
    fn instant(&self, day: f64) -> DateTime<Utc> {
        days_after(self.created_at, day, self.day_seconds)
    }

    /// The scenario's steps with their instants, and for the `ndr` scenario the steps its
    /// instruction (or the carrier's hold running out) leads to.
    fn steps(&self) -> Vec<(DateTime<Utc>, Step)> {
        let mut steps: Vec<_> = self.scenario.steps().iter().map(|step| (self.instant(step.day), *step)).collect();
        if self.scenario == Scenario::Ndr
            && let Some(&(failed_at, _)) = steps.last()
        {
            let (from, action, lead) = match &self.ndr_instruction {
                Some(i) => (i.at.max(failed_at), i.action, i.lead_days),
                None => (days_after(failed_at, scenario::NDR_HOLD_DAYS, self.day_seconds), NdrAct::Rto, 0.0),
            };
            steps.extend(
                scenario::after_instruction(action)
                    .iter()
                    .map(|step| (days_after(from, step.day + lead, self.day_seconds), *step)),
            );
        }
        if self.scenario == Scenario::Info
            && let Some(&(asked_at, _)) = steps.last()
        {
            let phoned = self.updates.iter().find(|u| u.phone.is_some()).map(|u| u.at.max(asked_at));
            let (from, action) = match phoned {
                Some(at) => (at, NdrAct::Reattempt),
                None => (days_after(asked_at, scenario::NDR_HOLD_DAYS, self.day_seconds), NdrAct::Rto),
            };
            steps.extend(
                scenario::after_instruction(action)
                    .iter()
                    .map(|step| (days_after(from, step.day, self.day_seconds), *step)),
            );
        }
        if let Some(asked) = self.rto_requested_at {
            // The parcel turns back where it is: what was still to come gives way to the return.
            steps.retain(|(at, _)| *at <= asked);
            steps.extend(
                scenario::after_instruction(NdrAct::Rto)
                    .iter()
                    .map(|step| (days_after(asked, step.day, self.day_seconds), *step)),
            );
        }
        steps
    }

    /// Every scan, past and future, in time order. A cancellation cuts the
    /// scenario short and adds a `CX` scan at the moment it happened.
    pub fn timeline(&self) -> Vec<Scan> {
        let mut scans: Vec<Scan> = self
            .steps()
            .into_iter()
            .take_while(|(at, _)| self.cancelled_at.is_none_or(|cx| *at <= cx))
            .enumerate()
            .map(|(i, (at, step))| Scan { seq: i + 1, at, code: step.code, reason: step.reason, place: step.place })
            .collect();
        if let Some(at) = self.cancelled_at {
            scans.push(Scan {
                seq: scans.len() + 1,
                at,
                code: scenario::CANCELLED,
                reason: None,
                place: Place::Origin,
            });
        }
        scans
    }

    /// The scans whose time has come by `now`.
    pub fn scans_until(&self, now: DateTime<Utc>) -> Vec<Scan> {
        let mut scans = self.timeline();
        scans.retain(|scan| scan.at <= now);
        scans
    }

    /// The code of the latest scan by `now` (`BK` exists from booking on).
    pub fn status_at(&self, now: DateTime<Utc>) -> &'static str {
        self.scans_until(now).last().map_or("BK", |scan| scan.code)
    }

    /// When the pickup scan happens, if the scenario (still) has one.
    pub fn pickup_at(&self) -> Option<DateTime<Utc>> {
        self.timeline().into_iter().find(|scan| scan.code == scenario::PICKED_UP).map(|scan| scan.at)
    }

    fn format_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&geo::fixed_offset(self.utc_offset_minutes)).to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// The API form of one scan.
    pub fn event(&self, scan: &Scan) -> Event {
        let location = match scan.place {
            Place::Origin => self.origin.location(),
            Place::Destination => self.destination.location(),
            Place::Linehaul => {
                format!("Linehaul {}-{}, {}", self.origin.code, self.destination.code, self.origin.country)
            }
        };
        Event {
            event_id: format!("{}-{}", self.awb, scan.seq),
            code: scan.code,
            description: scenario::describe(scan.code, scan.reason),
            location,
            timestamp: self.format_time(scan.at),
            reason_code: scan.reason,
        }
    }

    /// The API object with the given current status.
    pub fn view(&self, status_code: &'static str) -> ShipmentView<'_> {
        ShipmentView {
            awb: &self.awb,
            shipment_id: &self.shipment_id,
            reference: &self.reference,
            service: self.service,
            status_code,
            charge: &self.charge,
            consignee: &self.consignee,
            cod: self.cod.as_ref(),
            edd: self.edd,
            routing: Routing {
                origin_hub: &self.origin.code,
                destination_hub: &self.destination.code,
                sort_code: &self.sort_code,
                route: &self.route,
            },
            pieces: self
                .parcels
                .iter()
                .enumerate()
                .map(|(i, parcel)| Piece { piece_id: format!("{}-{}", self.awb, i + 1), weight_g: parcel.weight_g })
                .collect(),
            created_at: self.format_time(self.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn address(country: &str, postal_code: &str) -> Address {
        Address {
            name: "Name".into(),
            company: None,
            phone: None,
            email: None,
            street1: "Street 1".into(),
            street2: None,
            city: "City".into(),
            state: None,
            postal_code: postal_code.into(),
            country: country.into(),
        }
    }

    fn shipment(scenario: Scenario, day_seconds: f64, created_at: DateTime<Utc>) -> Shipment {
        let shipper = address("TR", "34710");
        let consignee = address("TR", "06530");
        Shipment {
            shipment_id: "ss_test".into(),
            awb: "SIM0123456789".into(),
            reference: "ref".into(),
            service: Service::Standard,
            scenario,
            origin: geo::hub_for(&shipper.country, &shipper.postal_code),
            destination: geo::hub_for(&consignee.country, &consignee.postal_code),
            shipper,
            consignee,
            parcels: vec![Parcel { weight_g: 1000, length_mm: None, width_mm: None, height_mm: None }],
            cod: None,
            charge: Money { amount: "7.90".into(), currency: "USD".into() },
            edd: created_at.date_naive(),
            sort_code: "ANK-01-A".into(),
            route: "R1".into(),
            utc_offset_minutes: 180,
            day_seconds,
            created_at,
            cancelled_at: None,
            ndr_instruction: None,
            rto_requested_at: None,
            updates: Vec::new(),
        }
    }

    proptest! {
        #[test]
        fn every_timeline_is_time_ordered(
            scenario in proptest::sample::select(Scenario::ALL.to_vec()),
            day_seconds in 0.001f64..200_000.0,
            created_secs in 1_600_000_000i64..2_000_000_000,
            // Before pickup (day 0.2), as the API demands.
            cancel_at_day in proptest::option::of(0.0f64..0.19),
        ) {
            let created_at = Utc.timestamp_opt(created_secs, 0).unwrap();
            let mut shipment = shipment(scenario, day_seconds, created_at);
            shipment.cancelled_at = cancel_at_day.map(|day| shipment.instant(day));
            let timeline = shipment.timeline();

            prop_assert_eq!(timeline[0].code, "BK");
            prop_assert_eq!(timeline[0].at, created_at);
            for (i, scan) in timeline.iter().enumerate() {
                prop_assert_eq!(scan.seq, i + 1);
            }
            for pair in timeline.windows(2) {
                prop_assert!(pair[0].at <= pair[1].at);
            }
            let stamps: Vec<_> = timeline
                .iter()
                .map(|scan| DateTime::parse_from_rfc3339(&shipment.event(scan).timestamp).unwrap())
                .collect();
            for pair in stamps.windows(2) {
                prop_assert!(pair[0] <= pair[1]);
            }
            match shipment.cancelled_at {
                Some(_) => {
                    let codes: Vec<_> = timeline.iter().map(|s| s.code).collect();
                    prop_assert_eq!(codes, ["BK", "CX"]);
                }
                None => prop_assert_eq!(
                    timeline.len(),
                    // An uninstructed `ndr` shipment, or an `info` one nobody updates, is held,
                    // then returned (RT, RI, RD).
                    scenario.steps().len() + if matches!(scenario, Scenario::Ndr | Scenario::Info) { 3 } else { 0 }
                ),
            }
        }
    }

    #[test]
    fn a_parcel_held_for_a_phone_goes_on_once_an_update_gives_one() {
        let created_at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let mut shipment = shipment(Scenario::Info, 100.0, created_at);
        let codes = |s: &Shipment| s.timeline().iter().map(|scan| scan.code).collect::<Vec<_>>();
        assert_eq!(codes(&shipment), ["BK", "PU", "DP", "AR", "EX", "RT", "RI", "RD"], "held, then returned");
        let update = |phone: Option<&str>, day: f64| ShipmentUpdate {
            name: Some("Ayşe".into()),
            phone: phone.map(Into::into),
            street1: None,
            street2: None,
            cod: None,
            at: days_after(created_at, day, 100.0),
        };
        shipment.apply(&update(None, 1.4));
        assert_eq!(codes(&shipment).last(), Some(&"RD"), "a name is not what was asked");
        shipment.apply(&update(Some("+90 532 111 22 33"), 1.5));
        assert_eq!(codes(&shipment), ["BK", "PU", "DP", "AR", "EX", "OD", "DL"]);
        let delivered = shipment.timeline().last().unwrap().at;
        assert_eq!(delivered, days_after(created_at, 2.0, 100.0), "0.5 days after the phone came");
    }

    #[test]
    fn an_ndr_instruction_decides_what_follows_the_failed_attempt() {
        let created_at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let mut shipment = shipment(Scenario::Ndr, 100.0, created_at);
        let at = |secs| created_at + Duration::seconds(secs);
        let codes = |s: &Shipment| s.timeline().iter().map(|scan| (scan.code, scan.at)).collect::<Vec<_>>();
        // UD at 180 s; nobody instructs: held 300 s, then returned.
        assert_eq!(codes(&shipment)[5..], [("UD", at(180)), ("RT", at(500)), ("RI", at(550)), ("RD", at(650))]);
        let instruct = |action, lead_days| NdrInstruction {
            action,
            at: at(200),
            lead_days,
            date: None,
            address: None,
            phone: None,
            landmark: None,
        };
        shipment.ndr_instruction = Some(instruct(NdrAct::Reattempt, 0.0));
        assert_eq!(codes(&shipment)[5..], [("UD", at(180)), ("OD", at(230)), ("DL", at(250))]);
        shipment.ndr_instruction = Some(instruct(NdrAct::Reschedule, 2.0));
        assert_eq!(codes(&shipment)[5..], [("UD", at(180)), ("OD", at(430)), ("DL", at(450))]);
        shipment.ndr_instruction = Some(instruct(NdrAct::Rto, 0.0));
        assert_eq!(codes(&shipment)[5..], [("UD", at(180)), ("RT", at(220)), ("RI", at(270)), ("RD", at(370))]);
    }

    #[test]
    fn scans_appear_when_their_time_comes() {
        let created_at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let shipment = shipment(Scenario::Delivered, 100.0, created_at);
        let at = |secs| created_at + Duration::seconds(secs);
        assert_eq!(shipment.status_at(at(0)), "BK");
        assert_eq!(shipment.status_at(at(19)), "BK");
        assert_eq!(shipment.status_at(at(20)), "PU");
        assert_eq!(shipment.status_at(at(180)), "DL");
        assert_eq!(shipment.pickup_at(), Some(at(20)));
        let event = shipment.event(&shipment.timeline()[1]);
        assert_eq!(event.event_id, "SIM0123456789-2");
        assert_eq!(event.location, "Istanbul Hub, TR");
        assert_eq!(event.timestamp, "2027-01-15T11:00:20+03:00");
    }
}
