//! The carrier's vocabulary (status and reason codes) and the scenario
//! tables: which scans a shipment gets, and when, in simulated days after
//! booking.

use serde::{Deserialize, Serialize};

use Place::{Destination, Linehaul, Origin};

/// Every status code of this carrier and the description its scans carry.
const STATUS_CODES: [(&str, &str); 14] = [
    ("BK", "Shipment data received"),
    ("PU", "Shipment picked up"),
    ("DP", "Departed origin hub"),
    ("AR", "Arrived at destination hub"),
    ("OD", "Out for delivery"),
    ("UD", "Delivery attempt failed"),
    ("DL", "Delivered"),
    ("HP", "Held at pickup point"),
    ("EX", "Shipment exception"),
    ("RT", "Return to shipper initiated"),
    ("RI", "Return in transit"),
    ("RD", "Returned to shipper"),
    ("CX", "Shipment cancelled by shipper"),
    ("LS", "Shipment declared lost"),
];

/// Every reason code (`UD` ones first, then `EX` ones) and its wording.
const REASON_CODES: [(&str, &str); 12] = [
    ("CNA", "consignee not available"),
    ("ADR", "address incorrect or incomplete"),
    ("REF", "refused by consignee"),
    ("COD", "COD amount not ready"),
    ("CLS", "premises closed"),
    ("RSC", "consignee asked to reschedule"),
    ("OOS", "out of service area"),
    ("DMG", "shipment damaged"),
    ("CUS", "held by customs"),
    ("WTH", "weather delay"),
    ("PHN", "consignee phone number needed"),
    ("ADI", "street address incomplete"),
];

/// Where a scan happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The origin hub (early scans, cancellation, return delivered).
    Origin,
    /// Between the hubs.
    Linehaul,
    /// The destination hub (late scans).
    Destination,
}

/// One row of a scenario table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub day: f64,
    pub code: &'static str,
    pub reason: Option<&'static str>,
    pub place: Place,
}

const fn at(day: f64, code: &'static str, place: Place) -> Step {
    Step { day, code, reason: None, place }
}

const fn because(day: f64, code: &'static str, reason: &'static str, place: Place) -> Step {
    Step { day, code, reason: Some(reason), place }
}

const DELIVERED: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    at(1.2, "AR", Destination),
    at(1.6, "OD", Destination),
    at(1.8, "DL", Destination),
];

const NDR_THEN_DELIVERED: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    at(1.2, "AR", Destination),
    at(1.6, "OD", Destination),
    because(1.8, "UD", "CNA", Destination),
    at(2.6, "OD", Destination),
    at(2.8, "DL", Destination),
];

/// Fails once and waits for the shipper's instruction (`POST /api/v1/shipments/{awb}/ndr`);
/// the scans after the failure follow from it ([`crate::model::Shipment::timeline`]).
const NDR: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    at(1.2, "AR", Destination),
    at(1.6, "OD", Destination),
    because(1.8, "UD", "CNA", Destination),
];

const RTO: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    at(1.2, "AR", Destination),
    at(1.6, "OD", Destination),
    because(1.8, "UD", "ADR", Destination),
    at(2.6, "OD", Destination),
    because(2.8, "UD", "REF", Destination),
    at(3.0, "RT", Destination),
    at(3.5, "RI", Destination),
    at(4.5, "RD", Origin),
];

const LOST: &[Step] = &[at(0.0, "BK", Origin), at(0.2, "PU", Origin), at(0.5, "DP", Origin), at(7.0, "LS", Linehaul)];

const EXCEPTION: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    because(1.0, "EX", "DMG", Linehaul),
    at(1.5, "AR", Destination),
    at(2.0, "OD", Destination),
    at(2.2, "DL", Destination),
];

/// Stops at the destination hub asking for the consignee's phone (`EX` `PHN`) and waits for an
/// update that gives one (`POST /api/v1/shipments/{awb}/update`); the scans after it follow from
/// it ([`crate::model::Shipment::timeline`]).
const INFO: &[Step] = &[
    at(0.0, "BK", Origin),
    at(0.2, "PU", Origin),
    at(0.5, "DP", Origin),
    at(1.2, "AR", Destination),
    because(1.3, "EX", "PHN", Destination),
];

/// The code of the scan added when a shipment is cancelled.
pub(crate) const CANCELLED: &str = "CX";
/// A failed delivery attempt: the scan an NDR instruction answers.
pub(crate) const UNDELIVERED: &str = "UD";
/// The scan after which a shipment can no longer be cancelled.
pub(crate) const PICKED_UP: &str = "PU";

/// What happens to a shipment after booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scenario {
    Delivered,
    NdrThenDelivered,
    /// Fails once, then follows the shipper's NDR instruction.
    Ndr,
    Rto,
    Lost,
    Exception,
    /// Asks for the consignee's phone, then waits for it.
    Info,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Delivered,
        Scenario::NdrThenDelivered,
        Scenario::Ndr,
        Scenario::Rto,
        Scenario::Lost,
        Scenario::Exception,
        Scenario::Info,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Delivered => "delivered",
            Scenario::NdrThenDelivered => "ndr_then_delivered",
            Scenario::Ndr => "ndr",
            Scenario::Rto => "rto",
            Scenario::Lost => "lost",
            Scenario::Exception => "exception",
            Scenario::Info => "info",
        }
    }

    /// The scenario's scans, in time order.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Scenario::Delivered => DELIVERED,
            Scenario::NdrThenDelivered => NDR_THEN_DELIVERED,
            Scenario::Ndr => NDR,
            Scenario::Rto => RTO,
            Scenario::Lost => LOST,
            Scenario::Exception => EXCEPTION,
            Scenario::Info => INFO,
        }
    }
}

/// Simulated days after the failed attempt of an `ndr` shipment that nobody instructs, after
/// which the carrier returns it by itself.
pub(crate) const NDR_HOLD_DAYS: f64 = 3.0;

/// The scans an NDR instruction leads to, in simulated days after it was given (the failed
/// attempt of the `ndr` scenario, or the hold running out, for `Rto`).
pub(crate) fn after_instruction(action: NdrAct) -> &'static [Step] {
    const ATTEMPT: &[Step] = &[at(0.3, "OD", Destination), at(0.5, "DL", Destination)];
    const RETURN: &[Step] = &[at(0.2, "RT", Destination), at(0.7, "RI", Linehaul), at(1.7, "RD", Origin)];
    match action {
        NdrAct::Reattempt | NdrAct::Reschedule | NdrAct::Update => ATTEMPT,
        NdrAct::Rto => RETURN,
    }
}

/// What a shipper can tell this carrier after a failed delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NdrAct {
    Reattempt,
    Reschedule,
    Update,
    Rto,
}

impl NdrAct {
    pub const ALL: [NdrAct; 4] = [NdrAct::Reattempt, NdrAct::Reschedule, NdrAct::Update, NdrAct::Rto];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            NdrAct::Reattempt => "reattempt",
            NdrAct::Reschedule => "reschedule",
            NdrAct::Update => "update",
            NdrAct::Rto => "rto",
        }
    }
}

/// Human wording of a scan: `Delivery attempt failed: consignee not available`.
pub(crate) fn describe(code: &str, reason: Option<&str>) -> String {
    let text = STATUS_CODES.iter().find(|(c, _)| *c == code).map_or(code, |(_, text)| text);
    match reason.and_then(|r| REASON_CODES.iter().find(|(c, _)| *c == r)) {
        Some((_, why)) => format!("{text}: {why}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_use_only_known_codes_in_time_order() {
        for scenario in Scenario::ALL {
            let steps = scenario.steps();
            assert_eq!(steps[0].code, "BK", "{scenario:?}");
            assert_eq!(steps[0].day, 0.0);
            assert!(steps.iter().any(|s| s.code == PICKED_UP));
            for pair in steps.windows(2) {
                assert!(pair[0].day < pair[1].day, "{scenario:?}");
            }
            for step in steps {
                assert!(STATUS_CODES.iter().any(|(c, _)| *c == step.code));
                if let Some(reason) = step.reason {
                    assert!(REASON_CODES.iter().any(|(c, _)| *c == reason));
                }
            }
            assert_eq!(Scenario::parse(scenario.name()), Some(scenario));
        }
        assert!(STATUS_CODES.iter().any(|(c, _)| *c == CANCELLED));
    }

    #[test]
    fn descriptions_include_the_reason() {
        assert_eq!(describe("PU", None), "Shipment picked up");
        assert_eq!(describe("UD", Some("CNA")), "Delivery attempt failed: consignee not available");
        assert_eq!(describe("CX", None), "Shipment cancelled by shipper");
    }
}
