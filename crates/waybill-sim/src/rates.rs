//! The tariff: what a service costs and how long it takes, as a function of
//! total weight, service and whether the shipment crosses a border.

use serde::{Deserialize, Serialize};

/// Every price is in this currency.
pub(crate) const CURRENCY: &str = "USD";

/// Weight is charged in started steps of this many grams.
const STEP_G: u64 = 500;

/// A service level of the carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    Express,
    Standard,
    Economy,
}

/// Price (cents) of the first step, price of each further step, transit days.
struct Tariff {
    first_step: u64,
    next_step: u64,
    transit_days: u32,
}

impl Service {
    /// Services in the order quotes list them.
    pub const ALL: [Service; 3] = [Service::Express, Service::Standard, Service::Economy];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Express => "express",
            Service::Standard => "standard",
            Service::Economy => "economy",
        }
    }

    fn tariff(self, international: bool) -> Tariff {
        let (first_step, next_step, transit_days) = match (self, international) {
            (Service::Express, false) => (1240, 180, 1),
            (Service::Standard, false) => (790, 110, 2),
            (Service::Economy, false) => (590, 70, 4),
            (Service::Express, true) => (3450, 520, 3),
            (Service::Standard, true) => (2290, 340, 6),
            (Service::Economy, true) => (1590, 210, 10),
        };
        Tariff { first_step, next_step, transit_days }
    }
}

/// A price quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quote {
    pub cents: u64,
    pub transit_days: u32,
}

/// The charge for `weight_g` grams in total (at least one step is charged).
pub(crate) fn quote(service: Service, weight_g: u64, international: bool) -> Quote {
    let tariff = service.tariff(international);
    let steps = weight_g.div_ceil(STEP_G).max(1);
    Quote {
        cents: tariff.first_step.saturating_add((steps - 1).saturating_mul(tariff.next_step)),
        transit_days: tariff.transit_days,
    }
}

/// `1240` → `"12.40"`.
pub(crate) fn format_cents(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_domestic_express_is_the_base_price() {
        let q = quote(Service::Express, 400, false);
        assert_eq!(format_cents(q.cents), "12.40");
        assert_eq!(q.transit_days, 1);
        assert_eq!(format_cents(quote(Service::Economy, 1001, true).cents), "20.10");
        assert_eq!(format_cents(5), "0.05");
    }
}
