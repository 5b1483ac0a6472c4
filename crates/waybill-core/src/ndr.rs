//! NDR cases (non-delivery reports): one failed-delivery episode of a shipment, from its first
//! failed attempt to its end in delivered or RTO.
//!
//! Pure: the engine keeps a case and feeds it what happens (a failed attempt, an action someone
//! asks for, the deadline, the parcel's end); what a case allows and refuses is decided here.
//!
//! - A case opens at a `delivery_failed` scan with the attempt's reason, the carrier's remark and
//!   a deadline: the tenant's response window (default [`DEFAULT_WINDOW_MS`]).
//! - While it waits, one action can be asked for per attempt: by the customer, by the merchant,
//!   or at the deadline the tenant's default ([`NdrCase::take_deadline`], which acts once however
//!   often it is called). Which actions exist depends on the reason and on what the carrier can
//!   be told ([`NdrCapability`]); `rto` always can.
//! - Another failed attempt updates the same case: a new attempt with its reason and remark, a
//!   new deadline, the earlier attempts and their actions kept. After the carrier's last attempt
//!   only `rto` remains.
//! - Delivered or RTO closes the case with its outcome (the KPIs' NDR → delivered rate); nothing
//!   changes a closed case.
//! - A customer who says the attempt never happened ("I was home") is recorded on the attempt,
//!   for the merchant's dispute with the carrier.

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::Mode;
use crate::ids::{CarrierAccountId, NdrCaseId, ShipmentId, TenantId};
use crate::tracking::NdrReason;

/// How long a case waits for an action before the tenant's default is taken: 24 hours.
pub const DEFAULT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest carrier remark or customer statement kept.
pub const MAX_TEXT: usize = 500;
/// The longest corrected address line, phone or landmark.
const MAX_FIELD: usize = 200;

crate::named_enum! {
    /// What can be asked of the carrier about a failed delivery.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum NdrActionKind as "snake_case" {
        /// Try again on the next working day.
        Reattempt,
        /// Try again on a date the customer chose.
        Reschedule,
        /// Try again with a corrected address, phone or directions.
        UpdateAndReattempt,
        /// Give up and return the parcel to the sender.
        Rto,
    }
}

crate::named_enum! {
    /// Where a case stands.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum NdrState as "snake_case" {
        /// The latest attempt failed and nobody has said what to do yet.
        AwaitingAction,
        /// An action was asked for the latest attempt; the carrier acts on it.
        ActionRequested,
        /// Closed: the parcel was delivered after all.
        Delivered,
        /// Closed: the parcel goes (or went) back to the sender.
        ReturnedToOrigin,
    }
}

crate::named_enum! {
    /// Who asked for an action.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum NdrActor as "snake_case" {
        Customer,
        Merchant,
        /// Nobody acted within the window: the tenant's default was taken.
        Deadline,
    }
}

impl NdrState {
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Delivered | Self::ReturnedToOrigin)
    }
}

/// An action with what it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"action": "reschedule", "date": "2026-12-09"})))]
pub enum NdrAction {
    // `{}`, not unit variants: serde refuses unknown fields only on struct variants.
    Reattempt {},
    Reschedule {
        /// The day to deliver on (in the carrier's calendar), `YYYY-MM-DD`.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, max_length = 10))]
        date: NaiveDate,
    },
    UpdateAndReattempt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 200))]
        street1: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 200))]
        street2: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 200))]
        phone: Option<String>,
        /// Directions for the courier ("behind the mosque, blue door").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 200))]
        landmark: Option<String>,
    },
    Rto {},
}

impl NdrAction {
    pub fn kind(&self) -> NdrActionKind {
        match self {
            Self::Reattempt {} => NdrActionKind::Reattempt,
            Self::Reschedule { .. } => NdrActionKind::Reschedule,
            Self::UpdateAndReattempt { .. } => NdrActionKind::UpdateAndReattempt,
            Self::Rto {} => NdrActionKind::Rto,
        }
    }
}

/// What a carrier can be told about a failed delivery (recorded per carrier adapter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdrCapability {
    /// The carrier takes NDR actions through its API; otherwise they go in the daily NDR report
    /// to the carrier's contact.
    pub api: bool,
    /// The actions it takes (`rto` is always taken).
    pub actions: &'static [NdrActionKind],
    /// Attempts it makes before returning the parcel by itself.
    pub max_attempts: u32,
    /// How far ahead a delivery may be rescheduled, in days.
    pub max_reschedule_days: u32,
}

impl NdrCapability {
    /// A carrier told by the daily report: every action, three attempts, a week ahead.
    pub const REPORT: Self = Self { api: false, actions: NdrActionKind::ALL, max_attempts: 3, max_reschedule_days: 7 };
}

crate::named_enum! {
    /// How the carrier heard of an action.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InstructionState as "snake_case" {
        /// The carrier's API took it.
        Sent,
        /// The carrier's API does not take it: it is for the carrier's contact (the daily NDR
        /// report).
        ForReport,
        /// The carrier refused it; a person must follow it up.
        Refused,
    }
}

/// What became of an action at the carrier, and when (epoch milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierInstruction {
    pub state: InstructionState,
    pub at: i64,
    /// The carrier's words on a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One action asked for, by whom and when (epoch milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakenAction {
    pub action: NdrAction,
    pub actor: NdrActor,
    pub at: i64,
    /// What the carrier made of it; none while it is still to be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<CarrierInstruction>,
}

/// One failed attempt and what was asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NdrAttempt {
    /// 1 for the first failed attempt.
    pub number: u32,
    pub reason: NdrReason,
    /// The carrier's own words.
    pub remark: Option<String>,
    pub failed_at: i64,
    pub action: Option<TakenAction>,
    /// The customer says this attempt never happened, in their words.
    pub disputed: Option<String>,
}

/// A failed-delivery episode (see the module's documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NdrCase {
    pub state: NdrState,
    /// Oldest first; never empty.
    pub attempts: Vec<NdrAttempt>,
    /// When the tenant's default is taken, while the case awaits an action.
    pub deadline_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// Why an NDR change was refused. Each names the request field it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NdrError {
    #[error("the case is closed ({})", .0.as_str())]
    Closed(NdrState),
    #[error("`{}` was already asked for this attempt; the carrier acts on it", .0.as_str())]
    AlreadyRequested(NdrActionKind),
    #[error("`{}` is not possible for this failed delivery; possible: {}", .action.as_str(), names(.allowed))]
    NotAllowed { action: NdrActionKind, allowed: Vec<NdrActionKind> },
    #[error("must be after {today}: a delivery cannot be rescheduled to today or earlier")]
    DateNotAhead { today: NaiveDate },
    #[error("must be at most {days} days ahead (by {latest})")]
    DateTooFar { days: u32, latest: NaiveDate },
    #[error("{0} is a holiday of the carrier: choose another day")]
    CarrierHoliday(NaiveDate),
    #[error("give at least one of street1, street2, phone or landmark")]
    NothingToUpdate,
    #[error("is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("must not be empty")]
    Empty { field: &'static str },
}

fn names(kinds: &[NdrActionKind]) -> String {
    kinds.iter().map(|k| format!("`{}`", k.as_str())).collect::<Vec<_>>().join(", ")
}

impl NdrError {
    /// The request field this error is about, as a JSON pointer.
    pub fn pointer(&self) -> String {
        match self {
            Self::Closed(_) | Self::AlreadyRequested(_) | Self::NotAllowed { .. } | Self::NothingToUpdate => {
                "/action".into()
            }
            Self::DateNotAhead { .. } | Self::DateTooFar { .. } | Self::CarrierHoliday(_) => "/date".into(),
            Self::TooLong { field, .. } | Self::Empty { field } => format!("/{field}"),
        }
    }

    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(self.pointer(), self.to_string())
    }
}

/// The actions a failed delivery for `reason` can take, before the carrier's limits: a bad or
/// unserviceable address is not tried again as it is, and a refusal is not rescheduled.
fn actions_for(reason: NdrReason) -> &'static [NdrActionKind] {
    use NdrActionKind::*;
    match reason {
        NdrReason::AddressIssue | NdrReason::OutOfServiceArea => &[UpdateAndReattempt, Rto],
        NdrReason::Refused => &[Reattempt, Rto],
        NdrReason::CustomerUnavailable
        | NdrReason::CodNotReady
        | NdrReason::PremisesClosed
        | NdrReason::RescheduledByCustomer
        | NdrReason::Other => NdrActionKind::ALL,
    }
}

/// Checks a carrier remark or customer statement; trimmed.
fn text(value: &str, field: &'static str) -> Result<String, NdrError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(NdrError::Empty { field });
    }
    if value.chars().count() > MAX_TEXT {
        return Err(NdrError::TooLong { field, max: MAX_TEXT });
    }
    Ok(value.to_owned())
}

/// A remark as kept: trimmed, cut to [`MAX_TEXT`] characters, none when blank (carriers send
/// what they send; a long remark is not a reason to lose the scan).
fn remark(remark: Option<&str>) -> Option<String> {
    remark.map(str::trim).filter(|r| !r.is_empty()).map(|r| r.chars().take(MAX_TEXT).collect())
}

impl NdrCase {
    /// Opens a case at the first failed attempt; its deadline is `window_ms` later.
    pub fn open(reason: NdrReason, carrier_remark: Option<&str>, failed_at: i64, window_ms: i64) -> Self {
        Self {
            state: NdrState::AwaitingAction,
            attempts: vec![NdrAttempt {
                number: 1,
                reason,
                remark: remark(carrier_remark),
                failed_at,
                action: None,
                disputed: None,
            }],
            deadline_at: Some(failed_at.saturating_add(window_ms.max(0))),
            closed_at: None,
        }
    }

    /// The latest attempt.
    pub fn attempt(&self) -> &NdrAttempt {
        self.attempts.last().expect("a case has an attempt")
    }

    fn attempt_mut(&mut self) -> &mut NdrAttempt {
        self.attempts.last_mut().expect("a case has an attempt")
    }

    /// The actions the latest attempt can take with this carrier; `rto` is always among them
    /// while the case is open, and alone after the carrier's last attempt. None once closed.
    pub fn allowed(&self, carrier: &NdrCapability) -> Vec<NdrActionKind> {
        if self.state.is_closed() {
            return Vec::new();
        }
        let last_attempt = self.attempt().number >= carrier.max_attempts;
        actions_for(self.attempt().reason)
            .iter()
            .copied()
            .filter(|k| *k == NdrActionKind::Rto || (!last_attempt && carrier.actions.contains(k)))
            .collect()
    }

    /// Checks `action` against the case, the carrier and the calendar (`today` and `holidays`
    /// in the carrier's calendar), without changing anything; the action as it will be kept
    /// (texts trimmed).
    pub fn check(
        &self,
        action: &NdrAction,
        carrier: &NdrCapability,
        today: NaiveDate,
        holidays: &[NaiveDate],
    ) -> Result<NdrAction, NdrError> {
        if self.state.is_closed() {
            return Err(NdrError::Closed(self.state));
        }
        if let Some(taken) = &self.attempt().action {
            return Err(NdrError::AlreadyRequested(taken.action.kind()));
        }
        let allowed = self.allowed(carrier);
        if !allowed.contains(&action.kind()) {
            return Err(NdrError::NotAllowed { action: action.kind(), allowed });
        }
        match action {
            NdrAction::Reschedule { date } => {
                if *date <= today {
                    return Err(NdrError::DateNotAhead { today });
                }
                let latest = today + TimeDelta::days(i64::from(carrier.max_reschedule_days));
                if *date > latest {
                    return Err(NdrError::DateTooFar { days: carrier.max_reschedule_days, latest });
                }
                if holidays.contains(date) {
                    return Err(NdrError::CarrierHoliday(*date));
                }
                Ok(action.clone())
            }
            NdrAction::UpdateAndReattempt { street1, street2, phone, landmark } => {
                let field = |value: &Option<String>, name: &'static str| -> Result<Option<String>, NdrError> {
                    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
                    if v.chars().count() > MAX_FIELD {
                        return Err(NdrError::TooLong { field: name, max: MAX_FIELD });
                    }
                    Ok(Some(v.to_owned()))
                };
                let kept = NdrAction::UpdateAndReattempt {
                    street1: field(street1, "street1")?,
                    street2: field(street2, "street2")?,
                    phone: field(phone, "phone")?,
                    landmark: field(landmark, "landmark")?,
                };
                match &kept {
                    NdrAction::UpdateAndReattempt { street1: None, street2: None, phone: None, landmark: None } => {
                        Err(NdrError::NothingToUpdate)
                    }
                    _ => Ok(kept),
                }
            }
            NdrAction::Reattempt {} | NdrAction::Rto {} => Ok(action.clone()),
        }
    }

    /// Asks for `action` on the latest attempt (see [`Self::check`]); the case then waits for
    /// the carrier.
    pub fn request(
        &mut self,
        action: &NdrAction,
        actor: NdrActor,
        at: i64,
        carrier: &NdrCapability,
        today: NaiveDate,
        holidays: &[NaiveDate],
    ) -> Result<NdrAction, NdrError> {
        let action = self.check(action, carrier, today, holidays)?;
        self.attempt_mut().action = Some(TakenAction { action: action.clone(), actor, at, carrier: None });
        self.state = NdrState::ActionRequested;
        self.deadline_at = None;
        Ok(action)
    }

    /// At or after the deadline of a case still awaiting an action: takes the tenant's
    /// `default` (or `rto` where the default is not possible, or needs what only a person can
    /// give: a date, a correction) and returns it. `None` otherwise, so a second call, on this
    /// node or another, takes nothing.
    pub fn take_deadline(&mut self, now: i64, default: NdrActionKind, carrier: &NdrCapability) -> Option<NdrAction> {
        if self.state != NdrState::AwaitingAction || self.deadline_at.is_none_or(|d| now < d) {
            return None;
        }
        let action = match default {
            NdrActionKind::Reattempt if self.allowed(carrier).contains(&NdrActionKind::Reattempt) => {
                NdrAction::Reattempt {}
            }
            _ => NdrAction::Rto {},
        };
        self.attempt_mut().action =
            Some(TakenAction { action: action.clone(), actor: NdrActor::Deadline, at: now, carrier: None });
        self.state = NdrState::ActionRequested;
        self.deadline_at = None;
        Some(action)
    }

    /// Another failed attempt: a new attempt awaiting an action, with a new deadline. A scan
    /// of an attempt already recorded (not later than the latest) changes nothing: `Ok(false)`.
    pub fn failed_again(
        &mut self,
        reason: NdrReason,
        carrier_remark: Option<&str>,
        failed_at: i64,
        window_ms: i64,
    ) -> Result<bool, NdrError> {
        if self.state.is_closed() {
            return Err(NdrError::Closed(self.state));
        }
        if failed_at <= self.attempt().failed_at {
            return Ok(false);
        }
        let number = self.attempt().number.saturating_add(1);
        self.attempts.push(NdrAttempt {
            number,
            reason,
            remark: remark(carrier_remark),
            failed_at,
            action: None,
            disputed: None,
        });
        self.state = NdrState::AwaitingAction;
        self.deadline_at = Some(failed_at.saturating_add(window_ms.max(0)));
        Ok(true)
    }

    /// Closes the case with its outcome: `delivered` or `returned_to_origin`. Closing again
    /// with the same outcome changes nothing (`Ok(false)`); with another, it is refused.
    pub fn close(&mut self, outcome: NdrState, at: i64) -> Result<bool, NdrError> {
        debug_assert!(outcome.is_closed(), "a case closes as delivered or returned to origin");
        if self.state == outcome {
            return Ok(false);
        }
        if self.state.is_closed() {
            return Err(NdrError::Closed(self.state));
        }
        self.state = outcome;
        self.deadline_at = None;
        self.closed_at = Some(at);
        Ok(true)
    }

    /// Records what the carrier made of attempt `number`'s action: once per action, so a
    /// repeated job changes nothing (`false`).
    pub fn instructed(&mut self, number: u32, instruction: CarrierInstruction) -> bool {
        match self.attempts.iter_mut().find(|a| a.number == number).and_then(|a| a.action.as_mut()) {
            Some(taken) if taken.carrier.is_none() => {
                taken.carrier = Some(instruction);
                true
            }
            _ => false,
        }
    }

    /// Records the customer's word that the latest attempt never happened.
    pub fn dispute(&mut self, statement: &str) -> Result<(), NdrError> {
        if self.state.is_closed() {
            return Err(NdrError::Closed(self.state));
        }
        self.attempt_mut().disputed = Some(text(statement, "statement")?);
        Ok(())
    }
}

/// A stored case: the [`NdrCase`] of one shipment with what identifies it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NdrRecord {
    pub id: NdrCaseId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub shipment_id: ShipmentId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub tracking_number: Option<String>,
    pub case: NdrCase,
    /// What the latest attempt can still take with this carrier (empty once decided or closed).
    pub allowed_actions: Vec<NdrActionKind>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The longest response window a tenant may set: a week, in minutes.
pub const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;

/// A tenant's NDR rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NdrSettings {
    /// How long a case waits for the customer or the merchant before the default is taken,
    /// in minutes (0: at once).
    pub window_minutes: u32,
    /// `reattempt` or `rto`: what is asked of the carrier when nobody answered in time.
    pub default_action: NdrActionKind,
}

impl Default for NdrSettings {
    fn default() -> Self {
        Self { window_minutes: (DEFAULT_WINDOW_MS / 60_000) as u32, default_action: NdrActionKind::Reattempt }
    }
}

impl NdrSettings {
    pub fn window_ms(&self) -> i64 {
        i64::from(self.window_minutes) * 60_000
    }

    /// The problems of these settings, one per field.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        if self.window_minutes > MAX_WINDOW_MINUTES {
            problems.push(FieldError::new("/window_minutes", format!("must be at most {MAX_WINDOW_MINUTES} (a week)")));
        }
        if !matches!(self.default_action, NdrActionKind::Reattempt | NdrActionKind::Rto) {
            problems.push(FieldError::new(
                "/default_action",
                "must be `reattempt` or `rto`: the others need a date or a correction only a person can give",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 60 * 60 * 1000;
    /// A carrier with an NDR API that takes every action (as Delhivery does).
    const API: NdrCapability = NdrCapability { api: true, ..NdrCapability::REPORT };
    /// A carrier that only returns or tries again.
    const NARROW: NdrCapability =
        NdrCapability { api: true, actions: &[NdrActionKind::Reattempt], max_attempts: 2, max_reschedule_days: 3 };

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn case(reason: NdrReason) -> NdrCase {
        NdrCase::open(reason, Some("  Customer not available  "), 1_000, DEFAULT_WINDOW_MS)
    }

    #[test]
    fn a_case_opens_awaiting_an_action_until_its_deadline() {
        let c = case(NdrReason::CustomerUnavailable);
        assert_eq!(c.state, NdrState::AwaitingAction);
        assert_eq!(c.deadline_at, Some(1_000 + 24 * HOUR));
        assert_eq!(c.attempt().number, 1);
        assert_eq!(c.attempt().remark.as_deref(), Some("Customer not available"));
        assert_eq!(c.allowed(&API), NdrActionKind::ALL);
    }

    #[test]
    fn the_reason_and_the_carrier_decide_the_actions_and_rto_is_always_one() {
        use NdrActionKind::*;
        assert_eq!(case(NdrReason::AddressIssue).allowed(&API), [UpdateAndReattempt, Rto]);
        assert_eq!(case(NdrReason::OutOfServiceArea).allowed(&API), [UpdateAndReattempt, Rto]);
        assert_eq!(case(NdrReason::Refused).allowed(&API), [Reattempt, Rto]);
        assert_eq!(case(NdrReason::PremisesClosed).allowed(&NARROW), [Reattempt, Rto]);
        assert_eq!(case(NdrReason::AddressIssue).allowed(&NARROW), [Rto]);
        for reason in NdrReason::ALL {
            for carrier in [API, NARROW, NdrCapability::REPORT] {
                assert!(case(*reason).allowed(&carrier).contains(&Rto), "{reason:?}");
            }
        }
    }

    #[test]
    fn an_action_not_possible_is_refused_naming_the_possible_ones() {
        let mut c = case(NdrReason::AddressIssue);
        let err =
            c.request(&NdrAction::Reattempt {}, NdrActor::Merchant, 2_000, &API, day("2026-12-07"), &[]).unwrap_err();
        assert_eq!(err.pointer(), "/action");
        assert_eq!(
            err.to_string(),
            "`reattempt` is not possible for this failed delivery; possible: `update_and_reattempt`, `rto`"
        );
        assert_eq!(c, case(NdrReason::AddressIssue), "nothing changed");
    }

    #[test]
    fn a_reschedule_is_to_a_working_day_ahead_within_the_carriers_reach() {
        let today = day("2026-12-07");
        let holidays = [day("2026-12-09")];
        let c = case(NdrReason::CustomerUnavailable);
        let ask = |d: &str| c.check(&NdrAction::Reschedule { date: day(d) }, &API, today, &holidays);
        assert_eq!(ask("2026-12-07"), Err(NdrError::DateNotAhead { today }));
        assert_eq!(ask("2026-12-01").unwrap_err().pointer(), "/date");
        assert_eq!(ask("2026-12-09"), Err(NdrError::CarrierHoliday(day("2026-12-09"))));
        assert_eq!(ask("2026-12-15"), Err(NdrError::DateTooFar { days: 7, latest: day("2026-12-14") }));
        assert!(ask("2026-12-14").is_ok());
        assert!(ask("2026-12-08").is_ok());
    }

    #[test]
    fn an_update_needs_something_to_update_and_keeps_it_trimmed() {
        let c = case(NdrReason::AddressIssue);
        let today = day("2026-12-07");
        let update = |street1: Option<&str>, landmark: Option<&str>| NdrAction::UpdateAndReattempt {
            street1: street1.map(str::to_owned),
            street2: None,
            phone: None,
            landmark: landmark.map(str::to_owned),
        };
        assert_eq!(c.check(&update(None, Some("   ")), &API, today, &[]), Err(NdrError::NothingToUpdate));
        assert_eq!(c.check(&update(Some(&"x".repeat(201)), None), &API, today, &[]).unwrap_err().pointer(), "/street1");
        assert_eq!(
            c.check(&update(None, Some("  behind the mosque, blue door ")), &API, today, &[]),
            Ok(update(None, Some("behind the mosque, blue door")))
        );
    }

    #[test]
    fn one_action_per_attempt_and_the_next_attempt_asks_again() {
        let today = day("2026-12-07");
        let mut c = case(NdrReason::CustomerUnavailable);
        c.request(&NdrAction::Reattempt {}, NdrActor::Customer, 2_000, &API, today, &[]).unwrap();
        assert_eq!(c.state, NdrState::ActionRequested);
        assert_eq!(c.deadline_at, None);
        let again = c.request(&NdrAction::Rto {}, NdrActor::Merchant, 3_000, &API, today, &[]);
        assert_eq!(again, Err(NdrError::AlreadyRequested(NdrActionKind::Reattempt)));

        assert_eq!(c.failed_again(NdrReason::PremisesClosed, None, 1_000, DEFAULT_WINDOW_MS), Ok(false), "a repeat");
        assert_eq!(c.failed_again(NdrReason::PremisesClosed, Some("shop shut"), 5 * HOUR, HOUR), Ok(true));
        assert_eq!((c.state, c.attempt().number, c.deadline_at), (NdrState::AwaitingAction, 2, Some(6 * HOUR)));
        assert_eq!(
            c.attempts[0].action.as_ref().unwrap().actor,
            NdrActor::Customer,
            "the first attempt's action stays"
        );
        c.request(&NdrAction::Rto {}, NdrActor::Merchant, 5 * HOUR + 1, &API, today, &[]).unwrap();
    }

    #[test]
    fn after_the_carriers_last_attempt_only_rto_remains() {
        let mut c = case(NdrReason::CustomerUnavailable);
        c.failed_again(NdrReason::CustomerUnavailable, None, 2_000, HOUR).unwrap();
        assert_eq!(c.allowed(&NARROW), [NdrActionKind::Rto]);
        c.failed_again(NdrReason::CustomerUnavailable, None, 3_000, HOUR).unwrap();
        assert_eq!(c.allowed(&API), [NdrActionKind::Rto], "the third of three attempts");
    }

    #[test]
    fn the_deadline_takes_the_default_once_or_rto_where_the_default_needs_a_person() {
        let mut c = case(NdrReason::CustomerUnavailable);
        let due = c.deadline_at.unwrap();
        assert_eq!(c.take_deadline(due - 1, NdrActionKind::Reattempt, &API), None, "not yet due");
        assert_eq!(c.take_deadline(due, NdrActionKind::Reattempt, &API), Some(NdrAction::Reattempt {}));
        assert_eq!(c.take_deadline(due + 1, NdrActionKind::Reattempt, &API), None, "taken once");
        assert_eq!(c.attempt().action.as_ref().unwrap().actor, NdrActor::Deadline);

        let mut address = case(NdrReason::AddressIssue);
        assert_eq!(address.take_deadline(due, NdrActionKind::Reattempt, &API), Some(NdrAction::Rto {}));
        let mut reschedule = case(NdrReason::CustomerUnavailable);
        assert_eq!(reschedule.take_deadline(due, NdrActionKind::Reschedule, &API), Some(NdrAction::Rto {}));
    }

    #[test]
    fn a_closed_case_changes_no_more_and_keeps_its_outcome() {
        let today = day("2026-12-07");
        let mut c = case(NdrReason::CustomerUnavailable);
        assert_eq!(c.close(NdrState::Delivered, 9_000), Ok(true));
        assert_eq!(c.close(NdrState::Delivered, 9_500), Ok(false), "a repeated delivery scan");
        let closed = c.clone();
        assert_eq!(c.close(NdrState::ReturnedToOrigin, 10_000), Err(NdrError::Closed(NdrState::Delivered)));
        assert!(c.request(&NdrAction::Rto {}, NdrActor::Merchant, 10_000, &API, today, &[]).is_err());
        assert!(c.failed_again(NdrReason::Other, None, 11_000, HOUR).is_err());
        assert!(c.dispute("I was home all day").is_err());
        assert_eq!(c.take_deadline(i64::MAX, NdrActionKind::Rto, &API), None);
        assert!(c.allowed(&API).is_empty());
        assert_eq!(c, closed);
        assert_eq!(c.closed_at, Some(9_000));
    }

    #[test]
    fn a_disputed_attempt_keeps_the_customers_words() {
        let mut c = case(NdrReason::CustomerUnavailable);
        assert_eq!(c.dispute("   "), Err(NdrError::Empty { field: "statement" }));
        c.dispute("  I was home all day, nobody rang. ").unwrap();
        assert_eq!(c.attempt().disputed.as_deref(), Some("I was home all day, nobody rang."));
        assert_eq!(c.dispute(&"x".repeat(MAX_TEXT + 1)).unwrap_err().pointer(), "/statement");
    }

    #[test]
    fn what_the_carrier_made_of_an_action_is_kept_once() {
        let mut c = case(NdrReason::CustomerUnavailable);
        let sent = CarrierInstruction { state: InstructionState::Sent, at: 5, note: None };
        assert!(!c.instructed(1, sent.clone()), "no action was asked yet");
        c.request(&NdrAction::Reattempt {}, NdrActor::Merchant, 2, &API, day("2026-12-07"), &[]).unwrap();
        assert!(!c.instructed(2, sent.clone()), "there is no second attempt");
        assert!(c.instructed(1, sent.clone()));
        let refused = CarrierInstruction { state: InstructionState::Refused, at: 6, note: Some("no".into()) };
        assert!(!c.instructed(1, refused), "a repeated job changes nothing");
        assert_eq!(c.attempt().action.as_ref().and_then(|a| a.carrier.clone()), Some(sent));
    }

    #[test]
    fn settings_take_a_window_up_to_a_week_and_a_default_that_needs_no_person() {
        assert_eq!(NdrSettings::default().window_ms(), DEFAULT_WINDOW_MS);
        assert!(NdrSettings { window_minutes: 0, default_action: NdrActionKind::Rto }.problems().is_empty());
        let wrong = NdrSettings { window_minutes: MAX_WINDOW_MINUTES + 1, default_action: NdrActionKind::Reschedule };
        let pointers: Vec<_> = wrong.problems().into_iter().map(|p| p.pointer).collect();
        assert_eq!(pointers, ["/window_minutes", "/default_action"]);
    }

    #[test]
    fn actions_travel_as_tagged_json_and_unknown_fields_are_refused() {
        let action: NdrAction = serde_json::from_str(r#"{"action":"reschedule","date":"2026-12-09"}"#).unwrap();
        assert_eq!(action, NdrAction::Reschedule { date: day("2026-12-09") });
        assert_eq!(serde_json::to_string(&NdrAction::Rto {}).unwrap(), r#"{"action":"rto"}"#);
        assert!(serde_json::from_str::<NdrAction>(r#"{"action":"rto","date":"2026-12-09"}"#).is_err());
        assert!(serde_json::from_str::<NdrAction>(r#"{"action":"teleport"}"#).is_err());
    }

    /// One thing that can happen to a case.
    #[derive(Debug, Clone)]
    enum Step {
        Request(NdrAction, NdrActor),
        Deadline(NdrActionKind),
        FailedAgain(NdrReason),
        Repeat,
        Close(bool),
        Dispute,
    }

    fn step() -> impl Strategy<Value = Step> {
        let reason = proptest::sample::select(NdrReason::ALL);
        let kind = proptest::sample::select(NdrActionKind::ALL);
        let actor = proptest::sample::select(NdrActor::ALL);
        let action = prop_oneof![
            Just(NdrAction::Reattempt {}),
            Just(NdrAction::Rto {}),
            (0i64..12).prop_map(|d| NdrAction::Reschedule { date: day("2026-12-05") + TimeDelta::days(d) }),
            proptest::option::of("[a-z ]{0,8}").prop_map(|l| NdrAction::UpdateAndReattempt {
                street1: None,
                street2: None,
                phone: None,
                landmark: l
            }),
        ];
        prop_oneof![
            (action, actor).prop_map(|(a, who)| Step::Request(a, who)),
            kind.prop_map(Step::Deadline),
            reason.prop_map(Step::FailedAgain),
            Just(Step::Repeat),
            any::<bool>().prop_map(Step::Close),
            Just(Step::Dispute),
        ]
    }

    proptest! {
        /// Whatever happens, in any order: attempts are numbered 1, 2, … in time order with at
        /// most one action each, every action was possible when asked, the deadline acts at
        /// most once per attempt, only an awaiting case has a deadline, and nothing changes a
        /// closed case.
        #[test]
        fn a_case_keeps_its_rules_whatever_happens(
            first in proptest::sample::select(NdrReason::ALL),
            steps in proptest::collection::vec(step(), 0..40),
            narrow in any::<bool>(),
        ) {
            let carrier = if narrow { NARROW } else { API };
            let today = day("2026-12-07");
            let mut c = NdrCase::open(first, None, 0, HOUR);
            let mut now = 0;
            for s in steps {
                now += HOUR / 2;
                let before = c.clone();
                let allowed = c.allowed(&carrier);
                match s {
                    Step::Request(action, actor) => {
                        if c.request(&action, actor, now, &carrier, today, &[]).is_ok() {
                            prop_assert!(allowed.contains(&action.kind()));
                            prop_assert!(before.attempt().action.is_none());
                        } else {
                            prop_assert_eq!(&c, &before);
                        }
                    }
                    Step::Deadline(default) => {
                        let first_take = c.take_deadline(now, default, &carrier);
                        let second_take = c.take_deadline(now, default, &carrier);
                        prop_assert_eq!(second_take, None);
                        if let Some(action) = first_take {
                            prop_assert!(allowed.contains(&action.kind()));
                        }
                    }
                    Step::FailedAgain(reason) => drop(c.failed_again(reason, None, now, HOUR)),
                    Step::Repeat => prop_assert_eq!(c.failed_again(first, None, 0, HOUR).ok(), (!c.state.is_closed()).then_some(false)),
                    Step::Close(delivered) => {
                        let outcome = if delivered { NdrState::Delivered } else { NdrState::ReturnedToOrigin };
                        drop(c.close(outcome, now));
                    }
                    Step::Dispute => drop(c.dispute("I was home")),
                }
                if before.state.is_closed() {
                    prop_assert_eq!(&c, &before);
                }
                for (i, a) in c.attempts.iter().enumerate() {
                    prop_assert_eq!(a.number as usize, i + 1);
                }
                prop_assert!(c.attempts.windows(2).all(|w| w[0].failed_at < w[1].failed_at));
                prop_assert_eq!(c.deadline_at.is_some(), c.state == NdrState::AwaitingAction);
                match c.state {
                    NdrState::AwaitingAction => prop_assert!(c.attempt().action.is_none()),
                    NdrState::ActionRequested => prop_assert!(c.attempt().action.is_some()),
                    NdrState::Delivered | NdrState::ReturnedToOrigin => {}
                }
                prop_assert_eq!(c.closed_at.is_some(), c.state.is_closed());
            }
        }
    }
}
