//! Carrier accounts: a tenant's credentials for one carrier, in one mode. The credentials
//! themselves are sealed by the store and never part of this record.

use serde::{Deserialize, Serialize};

use crate::ids::{CarrierAccountId, TenantId};
use crate::scope::{Mode, Scope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarrierAccount {
    pub id: CarrierAccountId,
    pub tenant_id: TenantId,
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    /// Overrides the carrier's host for this account (tests, the demo, a carrier's regional host).
    pub base_url: Option<String>,
    /// What the tenant told us about a carrier without an API (`generic`); `None` for others.
    pub settings: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CarrierAccount {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}

/// A day a carrier does not deliver on (a public holiday, a strike day), as the merchant keeps
/// it for one carrier account: no rescheduled delivery is asked for on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holiday {
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-25", max_length = 10))]
    pub date: chrono::NaiveDate,
    /// What it is, e.g. "Christmas Day".
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
}

/// Most days one account's calendar holds (a little over a year, day by day).
pub const MAX_HOLIDAYS: usize = 400;

/// Checks a whole calendar: a pointer per problem (a name that is blank or too long, a date
/// given twice, more than [`MAX_HOLIDAYS`] days); the days sorted by date.
pub fn check_holidays(days: Vec<Holiday>) -> Result<Vec<Holiday>, Vec<crate::FieldError>> {
    let mut problems = Vec::new();
    if days.len() > MAX_HOLIDAYS {
        problems.push(crate::FieldError::new("/holidays", format!("at most {MAX_HOLIDAYS} days")));
    }
    let mut seen = std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(days.len());
    for (i, day) in days.into_iter().enumerate() {
        let name = day.name.trim().to_owned();
        problems.extend(crate::text::NAME.check(&format!("/holidays/{i}/name"), &name));
        if let Some(first) = seen.insert(day.date, i) {
            problems.push(crate::FieldError::new(
                format!("/holidays/{i}/date"),
                format!("{} is given twice (also at /holidays/{first})", day.date),
            ));
        }
        kept.push(Holiday { date: day.date, name });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    kept.sort_by_key(|d| d.date);
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, name: &str) -> Holiday {
        Holiday { date: date.parse().unwrap(), name: name.into() }
    }

    #[test]
    fn a_calendar_is_kept_sorted_and_refused_whole_with_a_pointer_per_problem() {
        let kept = check_holidays(vec![day("2026-12-25", " Christmas Day "), day("2026-01-01", "New Year")]).unwrap();
        assert_eq!(kept, vec![day("2026-01-01", "New Year"), day("2026-12-25", "Christmas Day")]);
        let problems = check_holidays(vec![
            day("2026-12-25", "Christmas"),
            day("2026-12-25", "  "),
            day("2026-05-01", "x".repeat(101).as_str()),
        ])
        .unwrap_err();
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/holidays/1/name", "/holidays/1/date", "/holidays/2/name"]);
        assert!(problems[1].detail.contains("also at /holidays/0"), "{problems:?}");
        assert!(check_holidays(vec![day("2026-01-01", "x"); MAX_HOLIDAYS + 1]).is_err());
        assert_eq!(check_holidays(vec![]), Ok(vec![]));
    }
}
