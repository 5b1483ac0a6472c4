//! NDR (failed deliveries): the `ndr` consumer that opens, updates and closes a shipment's case
//! from its scans, the deadline that takes the tenant's default action, actions asked for by
//! merchants and customers, and the job that tells the carrier. The rules are
//! `waybill_core::ndr`'s; this module keeps cases and talks to the store and the carriers.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use waybill_carriers::CarrierError;
use waybill_core::ids::{EventId, NdrCaseId, ShipmentId};
use waybill_core::ndr::{
    CarrierInstruction, InstructionState, NdrAction, NdrActionKind, NdrActor, NdrCapability, NdrCase, NdrRecord,
    NdrSettings, NdrState,
};
use waybill_core::{Event, Invalid, NdrReason, Page, Scope, Shipment, TrackingStatus};
use waybill_store::{NewJob, now_ms};

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Bring a shipment's NDR case up to date with its scans.
#[derive(Serialize, Deserialize)]
pub struct FollowNdr {
    pub shipment_id: ShipmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for FollowNdr {
    const KIND: &'static str = "follow_ndr";
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// At the deadline of a case's attempt: take the tenant's default if nobody acted.
#[derive(Serialize, Deserialize)]
pub struct NdrDeadline {
    pub case_id: NdrCaseId,
    pub attempt: u32,
}

impl Job for NdrDeadline {
    const KIND: &'static str = "ndr_deadline";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.case_id, self.attempt))
    }
}

/// Tell the carrier what was asked after a case's attempt. Retried while the carrier is down.
#[derive(Serialize, Deserialize)]
pub struct SendNdrInstruction {
    pub case_id: NdrCaseId,
    pub attempt: u32,
}

impl Job for SendNdrInstruction {
    const KIND: &'static str = "send_ndr_instruction";
    const MAX_ATTEMPTS: u32 = 16;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.case_id, self.attempt))
    }
}

/// Where a case ends when its shipment reaches `status`, if it does.
fn outcome_of(status: TrackingStatus) -> Option<NdrState> {
    match status {
        TrackingStatus::Delivered => Some(NdrState::Delivered),
        TrackingStatus::ReturnToOrigin | TrackingStatus::Returned => Some(NdrState::ReturnedToOrigin),
        _ => None,
    }
}

/// Shipments with a new failed attempt, and those that failed once and now end.
pub(crate) fn wants(event: &Event) -> bool {
    match event {
        Event::TrackerUpdated { shipment, scans } => {
            scans.iter().any(|s| s.status == TrackingStatus::DeliveryFailed)
                || (shipment.ndr_reason.is_some() && outcome_of(shipment.status).is_some())
        }
        _ => false,
    }
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let Event::TrackerUpdated { shipment, .. } = event else { unreachable!("only tracker.updated is wanted") };
    FollowNdr { shipment_id: shipment.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: FollowNdr| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("an NDR job without a scope".into()))?;
        engine.follow_ndr(&scope, &job.shipment_id).await.map(|_| Next::Done)
    });
    r.register(|engine: Engine, ctx: JobContext, job: NdrDeadline| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("an NDR job without a scope".into()))?;
        engine.ndr_deadline(&scope, &job.case_id, job.attempt).await
    });
    r.register(|engine: Engine, ctx: JobContext, job: SendNdrInstruction| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("an NDR job without a scope".into()))?;
        engine.send_ndr_instruction(&scope, &job.case_id, job.attempt).await.map(|_| Next::Done)
    });
}

/// What the latest attempt can still take: nothing once an action was asked or the case closed.
fn allowed_now(case: &NdrCase, carrier: &NdrCapability) -> Vec<NdrActionKind> {
    if case.state == NdrState::AwaitingAction { case.allowed(carrier) } else { Vec::new() }
}

/// Today in the calendar of the place the parcel is delivered to (UTC where its country's
/// zone is not known).
fn today_at(shipment_country: &str) -> NaiveDate {
    let now = Utc::now();
    match crate::notify::zone_of(shipment_country) {
        Some(zone) => now.with_timezone(&zone).date_naive(),
        None => now.date_naive(),
    }
}

impl Engine {
    /// What the shipment's carrier can be told after a failed delivery.
    fn ndr_capability(&self, carrier: &str) -> NdrCapability {
        self.carriers().get(carrier).map_or(NdrCapability::REPORT, |c| c.ndr())
    }

    /// Opens the shipment's case at its first failed attempt, adds later failed attempts, and
    /// closes it when the parcel is delivered or goes back: the fold of its scans, so running
    /// it again changes nothing.
    pub(crate) async fn follow_ndr(&self, scope: &Scope, shipment_id: &ShipmentId) -> Result<(), EngineError> {
        let settings = self.store().ndr_settings(scope).await?;
        let mut uow = self.begin().await?;
        let shipment = uow.tx.lock_shipment(scope, shipment_id).await?;
        let scans = uow.tx.scans(&shipment).await?;
        let mut failed = scans.iter().filter(|s| s.status == TrackingStatus::DeliveryFailed);
        let attempt_of = |s: &waybill_core::TrackingEvent| {
            (s.ndr_reason.unwrap_or(NdrReason::Other), s.description.clone(), s.placed_at.timestamp_millis())
        };
        let now = now_ms();
        let (mut record, opened) = match uow.tx.lock_ndr_case_of_shipment(scope, shipment_id).await? {
            Some(record) => (record, false),
            None => {
                let Some(first) = failed.next() else { return Ok(()) };
                let (reason, remark, at) = attempt_of(first);
                (new_record(&shipment, NdrCase::open(reason, Some(&remark), at, settings.window_ms()), now), true)
            }
        };
        let mut attempts_added = false;
        for scan in failed {
            let (reason, remark, at) = attempt_of(scan);
            // A scan of a closed case (a late or repeated scan) changes nothing.
            attempts_added |=
                record.case.failed_again(reason, Some(&remark), at, settings.window_ms()).unwrap_or(false);
        }
        let closed = match outcome_of(shipment.status) {
            Some(outcome) => record.case.close(outcome, shipment.last_scan_at.unwrap_or(now)).unwrap_or(false),
            None => false,
        };
        if !(opened || attempts_added || closed) {
            return Ok(());
        }
        let capability = self.ndr_capability(&shipment.carrier);
        record.allowed_actions = allowed_now(&record.case, &capability);
        record.updated_at = now;
        if opened {
            uow.tx.insert_ndr_case(&record).await?;
            uow.emit(scope, Event::NdrOpened { ndr: record.clone() });
        } else {
            uow.tx.update_ndr_case(&record).await?;
        }
        if attempts_added {
            uow.emit(scope, Event::NdrAttemptFailed { ndr: record.clone() });
        }
        if closed {
            tracing::info!(ndr = %record.id, outcome = record.case.state.as_str(), "NDR case closed");
            uow.emit(scope, Event::NdrClosed { ndr: record.clone() });
        }
        if let (NdrState::AwaitingAction, Some(deadline)) = (record.case.state, record.case.deadline_at) {
            let job = NdrDeadline { case_id: record.id.clone(), attempt: record.case.attempt().number };
            uow.enqueue(Some(scope), &job, deadline);
        }
        uow.commit(self).await
    }

    /// At an attempt's deadline: the tenant's default, once, however many nodes run the job.
    async fn ndr_deadline(&self, scope: &Scope, id: &NdrCaseId, attempt: u32) -> Result<Next, EngineError> {
        let settings = self.store().ndr_settings(scope).await?;
        let mut uow = self.begin().await?;
        let mut record = uow.tx.lock_ndr_case(scope, id).await?;
        if record.case.attempt().number != attempt {
            return Ok(Next::Done); // a later attempt has its own deadline
        }
        let now = now_ms();
        if let (NdrState::AwaitingAction, Some(deadline)) = (record.case.state, record.case.deadline_at)
            && now < deadline
        {
            return Ok(Next::RunAgainAt(deadline));
        }
        let capability = self.ndr_capability(&record.carrier);
        let Some(action) = record.case.take_deadline(now, settings.default_action, &capability) else {
            return Ok(Next::Done);
        };
        tracing::info!(ndr = %record.id, action = action.kind().as_str(), "NDR deadline passed: the default action is taken");
        self.requested(&mut uow, scope, &mut record, &capability, now).await?;
        uow.commit(self).await?;
        Ok(Next::Done)
    }

    /// Writes a case whose latest attempt just got an action, and queues telling the carrier.
    async fn requested(
        &self,
        uow: &mut crate::uow::UnitOfWork,
        scope: &Scope,
        record: &mut NdrRecord,
        capability: &NdrCapability,
        now: i64,
    ) -> Result<(), EngineError> {
        record.allowed_actions = allowed_now(&record.case, capability);
        record.updated_at = now;
        uow.tx.update_ndr_case(record).await?;
        uow.emit(scope, Event::NdrActionRequested { ndr: record.clone() });
        let job = SendNdrInstruction { case_id: record.id.clone(), attempt: record.case.attempt().number };
        uow.enqueue(Some(scope), &job, now);
        Ok(())
    }

    /// Asks for `action` on a case's latest attempt, by the merchant or the customer: checked
    /// against the case, the carrier and the calendar; nothing changes when it is refused.
    pub async fn request_ndr_action(
        &self,
        scope: &Scope,
        id: &NdrCaseId,
        action: NdrAction,
        actor: NdrActor,
    ) -> Result<NdrRecord, EngineError> {
        let case = self.store().ndr_case(scope, id).await.found(|| format!("NDR case {id}"))?;
        let shipment = self.store().shipment(scope, &case.shipment_id).await?;
        let today = today_at(&shipment.ship_to.country);
        let holidays: Vec<_> = self
            .store()
            .carrier_holidays(scope, &shipment.carrier_account_id)
            .await?
            .into_iter()
            .map(|h| h.date)
            .collect();
        let mut uow = self.begin().await?;
        let mut record = uow.tx.lock_ndr_case(scope, id).await?;
        let capability = self.ndr_capability(&record.carrier);
        let now = now_ms();
        record
            .case
            .request(&action, actor, now, &capability, today, &holidays)
            .map_err(|e| Invalid(vec![e.to_field_error()]))?;
        self.requested(&mut uow, scope, &mut record, &capability, now).await?;
        uow.commit(self).await?;
        Ok(record)
    }

    /// Records the customer's word that the latest attempt never happened.
    pub async fn dispute_ndr_attempt(
        &self,
        scope: &Scope,
        id: &NdrCaseId,
        statement: &str,
    ) -> Result<NdrRecord, EngineError> {
        self.store().ndr_case(scope, id).await.found(|| format!("NDR case {id}"))?;
        let mut uow = self.begin().await?;
        let mut record = uow.tx.lock_ndr_case(scope, id).await?;
        record.case.dispute(statement).map_err(|e| Invalid(vec![e.to_field_error()]))?;
        record.updated_at = now_ms();
        uow.tx.update_ndr_case(&record).await?;
        uow.commit(self).await?;
        Ok(record)
    }

    /// Tells the carrier what was asked after `attempt`, once. A carrier whose API does not
    /// take the action leaves it for its contact (the daily NDR report); a refusal is kept and
    /// told to the merchant; a carrier that is down is asked again later (the job's retries).
    async fn send_ndr_instruction(&self, scope: &Scope, id: &NdrCaseId, attempt: u32) -> Result<(), EngineError> {
        let record = self.store().ndr_case(scope, id).await?;
        let Some(taken) = record.case.attempts.iter().find(|a| a.number == attempt).and_then(|a| a.action.clone())
        else {
            return Ok(());
        };
        if taken.carrier.is_some() || record.case.state.is_closed() {
            return Ok(()); // told already, or the parcel's journey ended first
        }
        let shipment = self.store().shipment(scope, &record.shipment_id).await?;
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        let result = match crate::booking::booked_ref(&shipment) {
            Some(booked) if carrier.ndr().api => {
                let ctx = self.call_context(&account, &secrets, carrier.as_ref());
                carrier.ndr_action(&ctx, &booked, &taken.action).await
            }
            _ => Err(CarrierError::Unsupported { carrier: carrier.info().slug, operation: "NDR actions" }),
        };
        let (state, note) = match result {
            Ok(()) => (InstructionState::Sent, None),
            Err(CarrierError::Unsupported { .. }) => (InstructionState::ForReport, None),
            Err(e) if e.is_transient() || matches!(e, CarrierError::Unknown { .. }) => return Err(e.into()),
            Err(e) => (InstructionState::Refused, Some(e.to_string())),
        };
        let now = now_ms();
        let mut uow = self.begin().await?;
        let mut record = uow.tx.lock_ndr_case(scope, id).await?;
        if !record.case.instructed(attempt, CarrierInstruction { state, at: now, note: note.clone() }) {
            return Ok(());
        }
        record.updated_at = now;
        uow.tx.update_ndr_case(&record).await?;
        if let Some(reason) = note {
            tracing::warn!(ndr = %record.id, %reason, "the carrier refused an NDR instruction");
            uow.emit(scope, Event::NdrInstructionRefused { ndr: record.clone(), reason });
        }
        uow.commit(self).await
    }

    pub async fn ndr_case(&self, scope: &Scope, id: &NdrCaseId) -> Result<NdrRecord, EngineError> {
        self.store().ndr_case(scope, id).await.found(|| format!("NDR case {id}"))
    }

    pub async fn ndr_case_of_shipment(
        &self,
        scope: &Scope,
        shipment: &ShipmentId,
    ) -> Result<Option<NdrRecord>, EngineError> {
        Ok(self.store().ndr_case_of_shipment(scope, shipment).await?)
    }

    pub async fn list_ndr_cases(
        &self,
        scope: &Scope,
        states: &[NdrState],
        after: Option<&NdrCaseId>,
        limit: u32,
    ) -> Result<Page<NdrRecord>, EngineError> {
        Ok(self.store().list_ndr_cases(scope, states, after, limit).await?)
    }

    pub async fn ndr_settings(&self, scope: &Scope) -> Result<NdrSettings, EngineError> {
        Ok(self.store().ndr_settings(scope).await?)
    }

    /// Changes the scope's NDR rules; fields left out keep their value. Open cases keep the
    /// deadline they were given.
    pub async fn set_ndr_settings(
        &self,
        scope: &Scope,
        body: waybill_core::api::requests::NdrSettingsUpdate,
    ) -> Result<NdrSettings, EngineError> {
        let current = self.store().ndr_settings(scope).await?;
        let settings = NdrSettings {
            window_minutes: body.window_minutes.unwrap_or(current.window_minutes),
            default_action: body.default_action.unwrap_or(current.default_action),
        };
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(Invalid(problems).into());
        }
        let mut uow = self.begin().await?;
        uow.tx.put_ndr_settings(scope, &settings, now_ms()).await?;
        uow.commit(self).await?;
        Ok(settings)
    }
}

/// A shipment's NDR case as its customer sees it, through the link Waybill gave them (on the
/// tracking page, after the proof).
#[derive(Debug, Clone)]
pub struct CustomerNdr {
    pub branding: waybill_core::branding::Branding,
    pub tracking_number: String,
    pub tracking_url: String,
    pub record: NdrRecord,
    /// The deadline at the delivery address (in UTC where its zone is not known).
    pub deadline: Option<DateTime<FixedOffset>>,
    /// The days a delivery can be rescheduled to: tomorrow at the address, up to the carrier's reach.
    pub earliest_date: NaiveDate,
    pub latest_date: NaiveDate,
}

impl Engine {
    /// The path of a shipment's NDR page for its customer (`/n/{token}`): the token names the
    /// shipment, so the link holds for every attempt of its case.
    pub(crate) fn ndr_page_path(&self, scope: &Scope, shipment: &ShipmentId) -> String {
        format!("/n/{}", self.store().ndr_token(scope, shipment))
    }

    /// The case an NDR link names; `None` when the token is not one of ours or the shipment
    /// has no case.
    pub async fn customer_ndr(&self, token: &str) -> Result<Option<CustomerNdr>, EngineError> {
        let Some((scope, shipment_id)) = self.store().open_ndr_token(token) else { return Ok(None) };
        let Some(record) = self.store().ndr_case_of_shipment(&scope, &shipment_id).await? else { return Ok(None) };
        let shipment = self.store().shipment(&scope, &shipment_id).await?;
        let branding = self.branding_of(&scope.tenant).await?;
        let tracking_number = shipment.tracking_number.clone().unwrap_or_default();
        let today = today_at(&shipment.ship_to.country);
        let reach = self.ndr_capability(&record.carrier).max_reschedule_days;
        let deadline = record.case.deadline_at.and_then(chrono::DateTime::from_timestamp_millis).map(|at| {
            match crate::notify::zone_of(&shipment.ship_to.country) {
                Some(zone) => at.with_timezone(&zone).fixed_offset(),
                None => at.fixed_offset(),
            }
        });
        Ok(Some(CustomerNdr {
            tracking_url: self.tracking_page_url(&branding.slug, &tracking_number),
            branding,
            tracking_number,
            record,
            deadline,
            earliest_date: today + chrono::TimeDelta::days(1),
            latest_date: today + chrono::TimeDelta::days(i64::from(reach)),
        }))
    }

    /// Asks for the customer's choice on the case an NDR link names, checked as the API checks
    /// the merchant's; the case after it (`None` as for [`Self::customer_ndr`]).
    pub async fn customer_ndr_action(
        &self,
        token: &str,
        action: NdrAction,
    ) -> Result<Option<CustomerNdr>, EngineError> {
        let Some((scope, shipment)) = self.store().open_ndr_token(token) else { return Ok(None) };
        let Some(record) = self.store().ndr_case_of_shipment(&scope, &shipment).await? else { return Ok(None) };
        self.request_ndr_action(&scope, &record.id, action, NdrActor::Customer).await?;
        tracing::info!(ndr = %record.id, "the customer chose what happens to their failed delivery");
        self.customer_ndr(token).await
    }

    /// Records, from an NDR link, the customer's word that the attempt never happened.
    pub async fn customer_ndr_dispute(&self, token: &str, statement: &str) -> Result<Option<CustomerNdr>, EngineError> {
        let Some((scope, shipment)) = self.store().open_ndr_token(token) else { return Ok(None) };
        let Some(record) = self.store().ndr_case_of_shipment(&scope, &shipment).await? else { return Ok(None) };
        self.dispute_ndr_attempt(&scope, &record.id, statement).await?;
        self.customer_ndr(token).await
    }
}

fn new_record(shipment: &Shipment, case: NdrCase, now: i64) -> NdrRecord {
    NdrRecord {
        id: NdrCaseId::generate(),
        tenant_id: shipment.tenant_id.clone(),
        mode: shipment.mode,
        shipment_id: shipment.id.clone(),
        carrier_account_id: shipment.carrier_account_id.clone(),
        carrier: shipment.carrier.clone(),
        tracking_number: shipment.tracking_number.clone(),
        case,
        allowed_actions: Vec::new(),
        created_at: now,
        updated_at: now,
    }
}
