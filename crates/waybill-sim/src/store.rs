//! The in-memory state: shipments partitioned by API key, webhook
//! subscriptions with their delivery progress, and the push queue.
//!
//! Every change is a journal [`Record`]: `commit` writes it to the journal and
//! then applies it with the same `apply` that replays the journal on start,
//! so live state and replayed state cannot drift apart.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::error::ApiError;
use crate::journal::{Journal, Record};
use crate::model::{Manifest, NdrInstruction, Pickup, Shipment, ShipmentUpdate, Subscription};
use crate::push::{self, Job, Queue};
use crate::scenario;

/// The shipments of one API key.
#[derive(Default)]
struct Tenant {
    shipments: HashMap<String, Shipment>,
    /// Client reference → AWB.
    references: HashMap<String, String>,
    /// Pickups in the order they were booked. A repeated reference books
    /// another pickup, as at a real carrier.
    pickups: Vec<Pickup>,
    /// Closes in the order they were made.
    manifests: Vec<Manifest>,
}

/// A subscription and how far its deliveries got.
struct Delivery {
    subscription: Subscription,
    /// Index in the shipment's timeline of the next scan to send.
    next_index: usize,
    /// Failed attempts for that scan so far.
    failures: u32,
    /// An attempt is under way: keeps deliveries one at a time, in order.
    busy: bool,
}

/// All state of a simulator.
#[derive(Default)]
pub(crate) struct Store {
    tenants: HashMap<String, Tenant>,
    /// Every AWB of every key, so new ones never clash.
    awbs: HashSet<String>,
    deliveries: HashMap<String, Delivery>,
    /// AWB → ids of its subscriptions.
    subscriptions_by_awb: HashMap<String, Vec<String>>,
    queue: Queue,
    journal: Option<Journal>,
}

impl Store {
    pub fn attach_journal(&mut self, journal: Journal) {
        self.journal = Some(journal);
    }

    /// Applies one state change (live or replayed).
    pub fn apply(&mut self, record: Record) -> Result<(), String> {
        match record {
            Record::ShipmentCreated { api_key, shipment } => {
                if !self.awbs.insert(shipment.awb.clone()) {
                    return Err(format!("awb {} exists already", shipment.awb));
                }
                let tenant = self.tenants.entry(api_key).or_default();
                tenant.references.insert(shipment.reference.clone(), shipment.awb.clone());
                tenant.shipments.insert(shipment.awb.clone(), *shipment);
            }
            Record::ShipmentCancelled { api_key, awb, at } => {
                let shipment = self
                    .tenants
                    .get_mut(&api_key)
                    .and_then(|t| t.shipments.get_mut(&awb))
                    .ok_or_else(|| format!("cancelled shipment {awb} is unknown"))?;
                shipment.cancelled_at.get_or_insert(at);
            }
            Record::NdrInstructed { api_key, awb, instruction } => {
                let shipment = self
                    .tenants
                    .get_mut(&api_key)
                    .and_then(|t| t.shipments.get_mut(&awb))
                    .ok_or_else(|| format!("instructed shipment {awb} is unknown"))?;
                shipment.ndr_instruction.get_or_insert(instruction);
            }
            Record::SubscriptionSet { subscription } => {
                if self.shipment(&subscription.api_key, &subscription.awb).is_none() {
                    return Err(format!(
                        "subscription {} is for unknown shipment {}",
                        subscription.id, subscription.awb
                    ));
                }
                if let Some(delivery) = self.deliveries.get_mut(&subscription.id) {
                    delivery.subscription = subscription;
                } else {
                    self.subscriptions_by_awb
                        .entry(subscription.awb.clone())
                        .or_default()
                        .push(subscription.id.clone());
                    self.deliveries.insert(
                        subscription.id.clone(),
                        Delivery { subscription, next_index: 0, failures: 0, busy: false },
                    );
                }
            }
            Record::PushDone { subscription_id, next_index } => {
                let delivery = self
                    .deliveries
                    .get_mut(&subscription_id)
                    .ok_or_else(|| format!("subscription {subscription_id} is unknown"))?;
                delivery.next_index = delivery.next_index.max(next_index);
            }
            Record::PickupScheduled { api_key, pickup } => {
                self.tenants.entry(api_key).or_default().pickups.push(*pickup);
            }
            Record::PickupCancelled { api_key, confirmation_number, at } => {
                let pickup = self
                    .tenants
                    .get_mut(&api_key)
                    .and_then(|t| t.pickups.iter_mut().find(|p| p.confirmation_number == confirmation_number))
                    .ok_or_else(|| format!("cancelled pickup {confirmation_number} is unknown"))?;
                pickup.cancelled_at.get_or_insert(at);
            }
            Record::RtoRequested { api_key, awb, at } => {
                let shipment = self
                    .tenants
                    .get_mut(&api_key)
                    .and_then(|t| t.shipments.get_mut(&awb))
                    .ok_or_else(|| format!("returned shipment {awb} is unknown"))?;
                shipment.rto_requested_at.get_or_insert(at);
            }
            Record::ShipmentUpdated { api_key, awb, update } => {
                let shipment = self
                    .tenants
                    .get_mut(&api_key)
                    .and_then(|t| t.shipments.get_mut(&awb))
                    .ok_or_else(|| format!("updated shipment {awb} is unknown"))?;
                shipment.apply(&update);
            }
            Record::ManifestClosed { api_key, manifest } => {
                self.tenants.entry(api_key).or_default().manifests.push(manifest);
            }
        }
        Ok(())
    }

    fn persist(&mut self, record: &Record) -> std::io::Result<()> {
        match &mut self.journal {
            Some(journal) => journal.append(record),
            None => Ok(()),
        }
    }

    /// Journals and applies a change made through the API.
    fn commit(&mut self, record: Record) -> Result<(), ApiError> {
        self.persist(&record).map_err(|e| ApiError::internal(format!("cannot write the state file: {e}")))?;
        self.apply(record).map_err(ApiError::internal)
    }

    /// A new AWB: `SIM` and 10 random digits, unused so far.
    pub fn shipment_count(&self) -> usize {
        self.tenants.values().map(|t| t.shipments.len()).sum()
    }

    pub fn fresh_awb(&self) -> String {
        let mut rng = rand::rng();
        loop {
            let awb = format!("SIM{:010}", rng.random_range(0..10_000_000_000u64));
            if !self.awbs.contains(&awb) {
                return awb;
            }
        }
    }

    pub fn shipment(&self, api_key: &str, awb: &str) -> Option<&Shipment> {
        self.tenants.get(api_key)?.shipments.get(awb)
    }

    pub fn by_reference(&self, api_key: &str, reference: &str) -> Option<&Shipment> {
        let tenant = self.tenants.get(api_key)?;
        tenant.shipments.get(tenant.references.get(reference)?)
    }

    /// Books a shipment unless its reference is taken for this key.
    pub fn book(&mut self, api_key: &str, shipment: Shipment) -> Result<&Shipment, ApiError> {
        if let Some(existing) = self.by_reference(api_key, &shipment.reference) {
            return Err(ApiError::duplicate_reference(&shipment.reference, &existing.awb));
        }
        let awb = shipment.awb.clone();
        self.commit(Record::ShipmentCreated { api_key: api_key.to_owned(), shipment: Box::new(shipment) })?;
        self.shipment(api_key, &awb).ok_or_else(|| ApiError::internal("booked shipment vanished"))
    }

    /// Books a courier pickup; never refused as a repeat.
    pub fn schedule_pickup(&mut self, api_key: &str, pickup: Pickup) -> Result<Pickup, ApiError> {
        self.commit(Record::PickupScheduled { api_key: api_key.to_owned(), pickup: Box::new(pickup.clone()) })?;
        Ok(pickup)
    }

    /// Every pickup booked with `reference`, oldest first.
    pub fn pickups_by_reference<'a>(&'a self, api_key: &str, reference: &'a str) -> impl Iterator<Item = &'a Pickup> {
        self.tenants.get(api_key).into_iter().flat_map(|t| t.pickups.iter()).filter(move |p| p.reference == reference)
    }

    /// Calls off the pickup with `confirmation_number` unless its day has passed (`today`);
    /// calling it off twice is fine. The pickup as it is now.
    pub fn cancel_pickup(
        &mut self,
        api_key: &str,
        confirmation_number: &str,
        today: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Pickup, ApiError> {
        let find = |store: &Self| {
            store
                .tenants
                .get(api_key)
                .and_then(|t| t.pickups.iter().find(|p| p.confirmation_number == confirmation_number))
                .cloned()
        };
        let pickup =
            find(self).ok_or_else(|| ApiError::not_found(format!("pickup {confirmation_number} not found")))?;
        if pickup.cancelled_at.is_some() {
            return Ok(pickup);
        }
        if pickup.date < today {
            return Err(ApiError::pickup_cancel_not_allowed());
        }
        self.commit(Record::PickupCancelled {
            api_key: api_key.to_owned(),
            confirmation_number: confirmation_number.to_owned(),
            at: now,
        })?;
        find(self).ok_or_else(|| ApiError::internal("cancelled pickup vanished"))
    }

    /// Turns a parcel on its way back to the shipper: after pickup, before delivery or return.
    /// Asking again answers the first request. Subscribers are queued for the return's scans.
    pub fn request_rto(&mut self, api_key: &str, awb: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
        let shipment =
            self.shipment(api_key, awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
        if let Some(asked) = shipment.rto_requested_at {
            return Ok(asked);
        }
        let status = if shipment.cancelled_at.is_some() { scenario::CANCELLED } else { shipment.status_at(now) };
        if ["BK", "DL", "RT", "RI", "RD", scenario::CANCELLED].contains(&status) {
            return Err(ApiError::rto_not_allowed(format!(
                "the shipment's latest scan is {status}; a return is asked for between pickup and delivery"
            )));
        }
        self.commit(Record::RtoRequested { api_key: api_key.to_owned(), awb: awb.to_owned(), at: now })?;
        for id in self.subscriptions_by_awb.get(awb).into_iter().flatten() {
            self.queue.schedule(now, id.clone());
        }
        Ok(now)
    }

    /// Changes a shipment's recipient details or cash to collect until it is delivered, returned
    /// or cancelled. COD can be changed, not added to a prepaid shipment, in its own currency.
    pub fn update(&mut self, api_key: &str, awb: &str, update: ShipmentUpdate) -> Result<&Shipment, ApiError> {
        let shipment =
            self.shipment(api_key, awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
        let status = if shipment.cancelled_at.is_some() { scenario::CANCELLED } else { shipment.status_at(update.at) };
        if ["DL", "RT", "RI", "RD", scenario::CANCELLED].contains(&status) {
            return Err(ApiError::update_not_allowed(format!("the shipment's latest scan is {status}")));
        }
        if let Some(cod) = &update.cod {
            match &shipment.cod {
                None => {
                    return Err(ApiError::validation(
                        "cod",
                        "the shipment is prepaid; cash on delivery cannot be added",
                    ));
                }
                Some(booked) if booked.currency != cod.currency => {
                    return Err(ApiError::validation("cod.currency", format!("must be {}", booked.currency)));
                }
                Some(_) => {}
            }
        }
        self.commit(Record::ShipmentUpdated { api_key: api_key.to_owned(), awb: awb.to_owned(), update })?;
        self.shipment(api_key, awb).ok_or_else(|| ApiError::internal("updated shipment vanished"))
    }

    /// Closes the shipper's day for `awbs` under `reference`. A repeat of the same reference
    /// answers the first close; an AWB that is unknown, cancelled or on another close is refused.
    /// `(manifest, created)`.
    pub fn close_manifest(
        &mut self,
        api_key: &str,
        reference: &str,
        awbs: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(Manifest, bool), ApiError> {
        let manifests = self.tenants.get(api_key).map(|t| t.manifests.as_slice()).unwrap_or_default();
        if let Some(first) = manifests.iter().find(|m| m.reference == reference) {
            return Ok((first.clone(), false));
        }
        for (i, awb) in awbs.iter().enumerate() {
            let field = format!("awbs[{i}]");
            let shipment = self
                .shipment(api_key, awb)
                .ok_or_else(|| ApiError::validation(&field, format!("shipment {awb} not found")))?;
            if shipment.cancelled_at.is_some() {
                return Err(ApiError::validation(&field, format!("shipment {awb} is cancelled")));
            }
            if let Some(other) = manifests.iter().find(|m| m.awbs.contains(awb)) {
                return Err(ApiError::already_manifested(awb, &other.manifest_number));
            }
        }
        let manifest = Manifest {
            manifest_number: format!("MAN{:08}", rand::rng().random_range(0..100_000_000u32)),
            reference: reference.to_owned(),
            awbs,
            created_at: now,
        };
        self.commit(Record::ManifestClosed { api_key: api_key.to_owned(), manifest: manifest.clone() })?;
        Ok((manifest, true))
    }

    /// The close made under `reference`, if there is one.
    pub fn manifests_by_reference<'a>(
        &'a self,
        api_key: &str,
        reference: &'a str,
    ) -> impl Iterator<Item = &'a Manifest> {
        self.tenants.get(api_key).into_iter().flat_map(|t| t.manifests.iter()).filter(move |m| m.reference == reference)
    }

    /// A new confirmation number: `PRN` and 8 random digits.
    pub fn fresh_confirmation(&self) -> String {
        format!("PRN{:08}", rand::rng().random_range(0..100_000_000u32))
    }

    /// Cancels a shipment that has not been picked up by `now`; cancelling
    /// twice is fine. Subscribers are queued for the new `CX` scan.
    pub fn cancel(&mut self, api_key: &str, awb: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let shipment =
            self.shipment(api_key, awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
        if shipment.cancelled_at.is_some() {
            return Ok(());
        }
        if shipment.pickup_at().is_none_or(|pickup| pickup <= now) {
            return Err(ApiError::cancel_not_allowed());
        }
        self.commit(Record::ShipmentCancelled { api_key: api_key.to_owned(), awb: awb.to_owned(), at: now })?;
        for id in self.subscriptions_by_awb.get(awb).into_iter().flatten() {
            self.queue.schedule(now, id.clone());
        }
        Ok(())
    }

    /// Takes the shipper's instruction for a shipment whose latest scan by `instruction.at` is a
    /// failed delivery. The same instruction again is answered as the first (a client's retry);
    /// another one is refused. Subscribers are queued for the scans it leads to.
    pub fn instruct_ndr(
        &mut self,
        api_key: &str,
        awb: &str,
        instruction: NdrInstruction,
    ) -> Result<&'static str, ApiError> {
        let shipment =
            self.shipment(api_key, awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
        if let Some(given) = &shipment.ndr_instruction {
            let same = NdrInstruction { at: given.at, lead_days: given.lead_days, ..instruction.clone() };
            if *given == same {
                return Ok(shipment.status_at(instruction.at));
            }
            return Err(ApiError::ndr_already_instructed(given.action.name()));
        }
        let status = shipment.status_at(instruction.at);
        if status != scenario::UNDELIVERED {
            return Err(ApiError::ndr_not_allowed(format!(
                "the latest scan is {status}, not a failed delivery (UD): there is nothing to instruct"
            )));
        }
        let at = instruction.at;
        self.commit(Record::NdrInstructed { api_key: api_key.to_owned(), awb: awb.to_owned(), instruction })?;
        for id in self.subscriptions_by_awb.get(awb).into_iter().flatten() {
            self.queue.schedule(at, id.clone());
        }
        Ok(status)
    }

    /// Subscribes `url` to the events of `awb`, or gives an existing
    /// subscription of the same AWB and URL a new secret. A new subscription
    /// starts pushing at `first_push_at`. Returns the subscription id and
    /// whether it is new.
    pub fn subscribe(
        &mut self,
        api_key: &str,
        awb: &str,
        url: &str,
        secret: &str,
        first_push_at: DateTime<Utc>,
    ) -> Result<(String, bool), ApiError> {
        if self.shipment(api_key, awb).is_none() {
            return Err(ApiError::not_found(format!("shipment {awb} not found")));
        }
        let existing = self
            .subscriptions_by_awb
            .get(awb)
            .into_iter()
            .flatten()
            .find(|id| self.deliveries.get(*id).is_some_and(|d| d.subscription.url == url))
            .cloned();
        let created = existing.is_none();
        let id = existing.unwrap_or_else(|| format!("sub_{}", ulid::Ulid::new()));
        self.commit(Record::SubscriptionSet {
            subscription: Subscription {
                id: id.clone(),
                api_key: api_key.to_owned(),
                awb: awb.to_owned(),
                url: url.to_owned(),
                secret: secret.to_owned(),
            },
        })?;
        if created {
            self.queue.schedule(first_push_at, id.clone());
        }
        Ok((id, created))
    }

    /// Queues every subscription for a check (after a replay).
    pub fn wake_all_subscriptions(&mut self, now: DateTime<Utc>) {
        for id in self.deliveries.keys() {
            self.queue.schedule(now, id.clone());
        }
    }

    /// When the push queue next needs attention.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.queue.next_at()
    }

    /// Attempts to start now: for each subscription due, its next scan if
    /// that scan's time has come (otherwise it is queued for that time).
    pub fn due_jobs(&mut self, now: DateTime<Utc>) -> Vec<Job> {
        let mut jobs = Vec::new();
        for id in self.queue.pop_due(now) {
            let Some(delivery) = self.deliveries.get_mut(&id) else {
                continue;
            };
            if delivery.busy {
                continue; // the attempt under way queues the next check
            }
            let sub = &delivery.subscription;
            let Some(shipment) = self.tenants.get(&sub.api_key).and_then(|t| t.shipments.get(&sub.awb)) else {
                continue;
            };
            match shipment.timeline().get(delivery.next_index) {
                // Caught up; a cancellation queues it again.
                None => {}
                Some(scan) if scan.at <= now => {
                    delivery.busy = true;
                    jobs.push(Job {
                        subscription_id: id,
                        index: delivery.next_index,
                        url: sub.url.clone(),
                        secret: sub.secret.clone(),
                        awb: sub.awb.clone(),
                        event: shipment.event(scan),
                    });
                }
                Some(scan) => self.queue.schedule(scan.at, id),
            }
        }
        jobs
    }

    /// Records the outcome of one attempt: on success (or after the last
    /// allowed attempt) move on to the next scan, otherwise retry later.
    pub fn finish_attempt(&mut self, job: &Job, delivered: bool, now: DateTime<Utc>) {
        let Some(delivery) = self.deliveries.get_mut(&job.subscription_id) else {
            return;
        };
        delivery.busy = false;
        if delivered || delivery.failures + 1 >= push::MAX_ATTEMPTS {
            if !delivered {
                tracing::warn!(
                    subscription = %job.subscription_id,
                    event = %job.event.event_id,
                    "giving up on a webhook event after {} attempts",
                    push::MAX_ATTEMPTS
                );
            }
            delivery.failures = 0;
            let record = Record::PushDone { subscription_id: job.subscription_id.clone(), next_index: job.index + 1 };
            // The push goes on from memory even if the journal cannot be
            // written; a restart would then re-send some events.
            if let Err(why) = self.persist(&record) {
                tracing::error!(%why, "cannot write the state file");
            }
            if let Err(why) = self.apply(record) {
                tracing::error!(%why, "cannot record a finished webhook event");
            }
            self.queue.schedule(now, job.subscription_id.clone());
        } else {
            delivery.failures += 1;
            let retry_at = now + push::backoff(delivery.failures);
            self.queue.schedule(retry_at, job.subscription_id.clone());
        }
    }
}
