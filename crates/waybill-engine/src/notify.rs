//! Customer notifications: the `customer_messages` consumer turns a shipment's milestone into
//! one message per channel the tenant has on ([`NotifyCustomer`]), each sent by its own
//! [`SendNotification`] job. A message is a row unique per shipment, milestone and channel, so
//! however often a carrier repeats a scan and however many nodes run, a customer hears about a
//! milestone once. SMS wait out quiet hours in the recipient's time zone; failures a retry can
//! fix are retried with backoff, the others end the message as `failed` with the reason.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use waybill_core::address::e164;
use waybill_core::api::views::TemplateView;
use waybill_core::error::{Problems, nearest};
use waybill_core::ids::{EventId, NotificationId, ShipmentId};
use waybill_core::notification::{
    Notification, NotificationSettings, NotificationSettingsUpdate, NotificationState, OptOut, TemplatePreview,
    TemplatePut, quiet_hours_problems, recipient_key,
};
use waybill_core::text;
use waybill_core::{Event, Language, MessageChannel, Milestone, Scope, Shipment, TrackingStatus};
use waybill_notify::email::{Mailer, OutgoingEmail, SmtpSettings};
use waybill_notify::sms::{SmsSender, check_credentials};
use waybill_notify::template::{self, Item, TemplateSource, Variables};
use waybill_notify::words;
use waybill_store::{NewJob, now_ms};

use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Work out which messages a milestone sends (the `customer_messages` consumer's job).
#[derive(Serialize, Deserialize)]
pub struct NotifyCustomer {
    pub shipment_id: ShipmentId,
    pub milestone: Milestone,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for NotifyCustomer {
    const KIND: &'static str = "notify_customer";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.shipment_id, self.milestone.as_str()))
    }
}

/// Send one message.
#[derive(Serialize, Deserialize)]
pub struct SendNotification {
    pub notification_id: NotificationId,
}

impl Job for SendNotification {
    const KIND: &'static str = "send_notification";
    const MAX_ATTEMPTS: u32 = 20;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.notification_id))
    }
}

/// Why email cannot go out when neither the operator nor the tenant set up a server.
const NO_SMTP: &str = "no SMTP server is set up (--smtp-url, or smtp_url in notification settings)";

/// How one email leaves.
enum EmailRoute {
    Smtp(Mailer),
    Print,
}

/// Attempts a message gets before it is `failed`.
const MAX_SEND_ATTEMPTS: i64 = 8;

/// How email leaves this node.
#[derive(Clone, Debug, Default)]
pub enum EmailTransport {
    /// No SMTP server set up: email messages are suppressed with that reason.
    #[default]
    None,
    /// Written to the log instead of sent (the demo, without `--smtp-url`).
    Print,
    Smtp(Mailer),
}

/// The milestone a customer hears about from `event`, and the shipment it is about.
fn milestone_of(event: &Event) -> Option<(&Shipment, Milestone)> {
    match event {
        Event::ShipmentBooked { shipment } if !shipment.is_return => Some((shipment, Milestone::Booked)),
        Event::ShipmentStatusChanged { shipment, .. } if !shipment.is_return => {
            Milestone::of_status(shipment.status).map(|m| (shipment, m))
        }
        Event::ShipmentDelayed { shipment } if !shipment.is_return => Some((shipment, Milestone::Exception)),
        Event::InformationRequested { shipment, .. } if !shipment.is_return => {
            Some((shipment, Milestone::InformationNeeded))
        }
        _ => None,
    }
}

/// The `customer_messages` consumer: a job for every milestone a customer may hear about.
pub(crate) fn wants(event: &Event) -> bool {
    milestone_of(event).is_some()
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let (shipment, milestone) = milestone_of(event).expect("only milestones are wanted");
    NotifyCustomer { shipment_id: shipment.id.clone(), milestone, event_id: Some(id.clone()) }
        .to_new(Some(scope), now_ms())
}

impl Engine {
    /// The scope's settings, or the defaults a new tenant gets.
    pub async fn notification_settings(&self, scope: &Scope) -> Result<NotificationSettings, EngineError> {
        Ok(self.store().notification_settings(scope).await?.unwrap_or_default())
    }

    /// Every message about one shipment, oldest first.
    pub async fn shipment_notifications(
        &self,
        scope: &Scope,
        id: &ShipmentId,
    ) -> Result<Vec<Notification>, EngineError> {
        self.shipment(scope, id).await?;
        Ok(self.store().shipment_notifications(scope, id).await?)
    }

    /// The `notify_customer` job: one message row per channel that is on, queued to send or
    /// suppressed with the reason.
    async fn notify_customer(&self, scope: &Scope, job: &NotifyCustomer) -> Result<Next, EngineError> {
        let settings = self.notification_settings(scope).await?;
        let shipment = self.store().shipment(scope, &job.shipment_id).await?;
        let order = match &shipment.order_id {
            Some(id) => Some(self.store().order(scope, id).await?),
            None => None,
        };
        let locale = order.as_ref().and_then(|o| o.locale.as_deref());
        let language = Language::for_customer(locale, &shipment.ship_to.country, settings.default_language);
        // Every read before the transaction: one holding a connection while it waits for
        // another from the pool can run PostgreSQL's pool dry under load.
        let mut messages = Vec::new();
        for channel in MessageChannel::ALL.iter().copied().filter(|c| settings.sends(job.milestone, *c)) {
            let recipient = match channel {
                MessageChannel::Email => shipment.ship_to.email.clone(),
                MessageChannel::Sms => {
                    shipment.ship_to.phone.as_deref().and_then(|p| e164(p, &shipment.ship_to.country))
                }
            };
            let mut reason = match (&recipient, channel) {
                (None, MessageChannel::Email) => Some("the shipment has no email address".to_owned()),
                (None, MessageChannel::Sms) => Some("the shipment has no phone number that can take SMS".to_owned()),
                _ => None,
            };
            if reason.is_none() {
                reason = self.cannot_send(&settings, channel);
            }
            if let (None, Some(to)) = (&reason, &recipient)
                && self.store().opted_out(&scope.tenant, channel, &recipient_key(channel, to)).await?
            {
                reason = Some("the recipient opted out".to_owned());
            }
            let now = now_ms();
            let notification = Notification {
                id: NotificationId::generate(),
                scope: scope.clone(),
                shipment_id: shipment.id.clone(),
                milestone: job.milestone,
                channel,
                language,
                template: "default".into(),
                recipient: recipient.unwrap_or_default(),
                state: if reason.is_some() { NotificationState::Suppressed } else { NotificationState::Queued },
                reason,
                provider_message_id: None,
                attempts: 0,
                created_at: now,
                updated_at: now,
            };
            messages.push(notification);
        }
        let mut uow = self.begin().await?;
        for notification in messages {
            if uow.tx.insert_notification(&notification).await? && notification.state == NotificationState::Queued {
                let now = now_ms();
                uow.enqueue(Some(scope), &SendNotification { notification_id: notification.id.clone() }, now);
            }
        }
        uow.commit(self).await?;
        Ok(Next::Done)
    }

    /// Why nothing can go out on `channel` for this tenant now, if so.
    fn cannot_send(&self, settings: &NotificationSettings, channel: MessageChannel) -> Option<String> {
        match channel {
            MessageChannel::Email => {
                let operator = !matches!(self.inner.email, EmailTransport::None);
                if !operator && settings.smtp_server.is_none() {
                    Some(NO_SMTP.into())
                } else if self.sender_address(settings).is_none() {
                    Some("no sender address is set up (sender_address in notification settings)".into())
                } else {
                    None
                }
            }
            MessageChannel::Sms => settings.sms_provider.is_none().then(|| "no SMS provider is set up".into()),
        }
    }

    /// Where the scope's email goes: its own SMTP server when it set one up, else the
    /// operator's; `Err` with the reason when there is none (or a live tenant's server now
    /// resolves to a private address).
    async fn email_route(&self, scope: &Scope) -> Result<Result<EmailRoute, String>, EngineError> {
        let Some(url) = self.store().notification_smtp(scope).await? else {
            return Ok(match &self.inner.email {
                EmailTransport::Smtp(mailer) => Ok(EmailRoute::Smtp(mailer.clone())),
                EmailTransport::Print => Ok(EmailRoute::Print),
                EmailTransport::None => Err(NO_SMTP.into()),
            });
        };
        let settings = SmtpSettings::parse(&url)
            .map_err(|e| EngineError::Internal(format!("a stored SMTP URL does not parse: {e}")))?;
        if scope.mode == waybill_core::Mode::Live
            && let Err(refused) = self.check_smtp_destination(&settings).await
        {
            return Ok(Err(format!("the store's SMTP server is refused: {refused}")));
        }
        let mailers = self.inner.tenant_mailers.read().expect("the mailer cache is never poisoned");
        let cached = mailers.get(scope).filter(|(cached_url, _)| *cached_url == url).map(|(_, m)| m.clone());
        drop(mailers);
        if let Some(mailer) = cached {
            return Ok(Ok(EmailRoute::Smtp(mailer)));
        }
        let mailer = match Mailer::new(&settings) {
            Ok(mailer) => mailer,
            Err(e) => return Ok(Err(e)),
        };
        let mut mailers = self.inner.tenant_mailers.write().expect("the mailer cache is never poisoned");
        mailers.insert(scope.clone(), (url, mailer.clone()));
        Ok(Ok(EmailRoute::Smtp(mailer)))
    }

    /// A live tenant's SMTP server must be a public address, like every live outbound call.
    async fn check_smtp_destination(&self, settings: &SmtpSettings) -> Result<(), String> {
        self.inner.outbound.check_host(&settings.host).await.map_err(|refused| refused.to_string())
    }

    fn sender_address(&self, settings: &NotificationSettings) -> Option<String> {
        settings.sender_address.clone().or_else(|| self.config().mail_from.clone())
    }

    /// The `send_notification` job: render and send one message.
    async fn send_notification(&self, scope: &Scope, id: &NotificationId) -> Result<Next, EngineError> {
        let mut n = self.store().notification(scope, id).await?;
        if n.state != NotificationState::Queued {
            return Ok(Next::Done);
        }
        let settings = self.notification_settings(scope).await?;
        let shipment = self.store().shipment(scope, &n.shipment_id).await?;
        if n.channel == MessageChannel::Sms
            && let Some(wait) = self.quiet_wait(&settings, &shipment.ship_to.country)
        {
            return Ok(Next::RunAgainAt(now_ms() + wait));
        }
        let (source, custom) = self.template_for(scope, n.milestone, n.channel, n.language).await?;
        let mut vars = self.variables(scope, &settings, &shipment, n.language).await?;
        if n.channel == MessageChannel::Email {
            vars.unsubscribe_url = self.unsubscribe_url(scope, n.channel, &n.recipient);
        }
        if n.milestone == Milestone::DeliveryFailed {
            let path = self.ndr_page_path(scope, &shipment.id);
            vars.ndr_url = format!("{}{path}", self.config().public_url.trim_end_matches('/'));
        }
        if n.milestone == Milestone::InformationNeeded
            && let Some(request) = self
                .store()
                .information_requests_of_shipment(scope, &shipment.id)
                .await?
                .into_iter()
                .rfind(|r| r.state == waybill_core::information::InfoState::Open)
        {
            vars.information_field = words::text(n.language, &format!("info-field-{}", request.field.as_str()));
            let path = self.information_page_path(scope, &request.id);
            vars.information_url = format!("{}{path}", self.config().public_url.trim_end_matches('/'));
        }
        if n.milestone == Milestone::Booked
            && let Some(order) = &shipment.order_id
            && let Some(path) = self.customer_cancel_offer(scope, order).await?
        {
            vars.cancel_url = format!("{}{path}", self.config().public_url.trim_end_matches('/'));
        }
        let rendered = template::render(n.channel, &source, &vars)
            .map_err(|e| EngineError::Internal(format!("notification {id}: the template does not render: {e:?}")))?;
        n.template = if custom { "custom".into() } else { "default".into() };
        let sent: Result<String, (bool, String)> = match n.channel {
            MessageChannel::Email => {
                let Some(from) = self.sender_address(&settings) else {
                    return self.settle(n, Err((false, "no sender address is set up".into()))).await;
                };
                let email = OutgoingEmail {
                    message_id: n.id.to_string(),
                    from_name: vars.store_name.clone(),
                    from_address: from,
                    to: n.recipient.clone(),
                    reply_to: settings.reply_to.clone(),
                    subject: rendered.subject.clone().unwrap_or_default(),
                    text: rendered.text.clone(),
                    html: rendered.html.clone().unwrap_or_default(),
                    // Mail clients offer one-click unsubscribe only over https (RFC 8058).
                    list_unsubscribe: vars
                        .unsubscribe_url
                        .starts_with("https://")
                        .then(|| vars.unsubscribe_url.clone()),
                };
                match self.email_route(scope).await? {
                    Ok(EmailRoute::Smtp(mailer)) => mailer
                        .send(&email)
                        .await
                        .map(|s| s.provider_message_id)
                        .map_err(|e| (e.is_retryable(), e.to_string())),
                    Ok(EmailRoute::Print) => {
                        tracing::info!(to = %email.to, subject = %email.subject, "email (printed, not sent):\n{}", email.text);
                        Ok(format!("printed:{}", n.id))
                    }
                    Err(reason) => Err((false, reason)),
                }
            }
            MessageChannel::Sms => {
                let credentials = self.store().notification_secrets(scope).await?;
                match credentials.map(|c| check_credentials(&c)) {
                    Some(Ok(provider)) => {
                        let restricted = scope.mode == waybill_core::Mode::Live;
                        self.inner
                            .sms
                            .send(&provider, restricted, &n.recipient, &rendered.text)
                            .await
                            .map(|s| s.provider_message_id)
                            .map_err(|e| (e.is_retryable(), e.to_string()))
                    }
                    _ => Err((false, "no SMS provider is set up".into())),
                }
            }
        };
        self.settle(n, sent).await
    }

    /// Records a send's outcome; a failure a retry can fix runs again after a backoff.
    async fn settle(&self, mut n: Notification, sent: Result<String, (bool, String)>) -> Result<Next, EngineError> {
        let now = now_ms();
        n.attempts += 1;
        n.updated_at = now;
        let next = match sent {
            Ok(provider_id) => {
                n.state = NotificationState::Sent;
                n.provider_message_id = Some(provider_id);
                n.reason = None;
                Next::Done
            }
            Err((true, reason)) if n.attempts < MAX_SEND_ATTEMPTS => {
                n.reason = Some(reason);
                Next::RunAgainAt(now + 2_000 * (1 << n.attempts.min(12)))
            }
            Err((_, reason)) => {
                n.state = NotificationState::Failed;
                n.reason = Some(reason);
                Next::Done
            }
        };
        let mut uow = self.begin().await?;
        uow.tx.update_notification(&n).await?;
        uow.commit(self).await?;
        tracing::info!(notification = %n.id, channel = n.channel.as_str(), state = n.state.as_str(), "notification");
        Ok(next)
    }

    /// How long an SMS must wait for the recipient's quiet hours to end (ms), if it must.
    fn quiet_wait(&self, settings: &NotificationSettings, country: &str) -> Option<i64> {
        let quiet = settings.quiet_hours.as_ref()?;
        let zone: chrono_tz::Tz = zone_of(country).or_else(|| settings.timezone.parse().ok()).unwrap_or(chrono_tz::UTC);
        let local = Utc::now().with_timezone(&zone).time();
        quiet.minutes_left(local).map(|m| i64::from(m) * 60_000)
    }

    /// The tenant's own template, else Waybill's default; `true` when it is the tenant's.
    pub async fn template_for(
        &self,
        scope: &Scope,
        milestone: Milestone,
        channel: MessageChannel,
        language: Language,
    ) -> Result<(TemplateSource, bool), EngineError> {
        match self.store().notification_template(scope, milestone, channel, language).await? {
            Some(stored) => serde_json::from_value(stored)
                .map(|s| (s, true))
                .map_err(|e| EngineError::Internal(format!("a stored template cannot be read: {e}"))),
            None => Ok((template::default_template(milestone, channel, language), false)),
        }
    }

    /// What a template is rendered with for `shipment`.
    pub async fn variables(
        &self,
        scope: &Scope,
        settings: &NotificationSettings,
        shipment: &Shipment,
        language: Language,
    ) -> Result<Variables, EngineError> {
        let order = match &shipment.order_id {
            Some(id) => Some(self.store().order(scope, id).await?),
            None => None,
        };
        let brand = self.branding(scope).await?;
        let carrier = self.carrier_name(shipment).await?;
        let tracking_number = shipment.tracking_number.clone().unwrap_or_default();
        let pickup_point = if shipment.status == TrackingStatus::AvailableForPickup {
            // Where the carrier's scan says it waits (its branch or locker).
            let events = self.store().tracking_events(scope, &shipment.id).await?;
            events
                .iter()
                .rev()
                .find(|e| e.status == TrackingStatus::AvailableForPickup)
                .and_then(|e| e.location.clone().or_else(|| Some(e.description.clone())))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Variables {
            customer_name: shipment.ship_to.name.clone(),
            store_name: settings.sender_name.clone().unwrap_or(brand.store_name),
            order_reference: order
                .as_ref()
                .map(|o| o.number.clone().unwrap_or_else(|| o.external_id.clone()))
                .or_else(|| shipment.reference.clone())
                .unwrap_or_default(),
            items: order
                .map(|o| {
                    o.line_items
                        .into_iter()
                        .map(|l| Item {
                            name: l.name.unwrap_or_else(|| l.sku.clone()),
                            sku: l.sku,
                            quantity: l.quantity,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            carrier,
            tracking_url: self.tracking_page_url(&brand.slug, &tracking_number),
            tracking_number,
            edd: shipment.edd.map(|d| d.to_string()).unwrap_or_default(),
            status_text: words::status(language, shipment.status),
            ndr_reason: shipment.ndr_reason.map(|r| words::ndr_reason(language, r)).unwrap_or_default(),
            pickup_point,
            unsubscribe_url: String::new(),
            ndr_url: String::new(),
            information_field: String::new(),
            information_url: String::new(),
            cancel_url: String::new(),
        })
    }
}

/// What an unsubscribe link stops, for the page that confirms it.
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    pub branding: waybill_core::branding::Branding,
    pub channel: MessageChannel,
    /// The recipient, masked as the notification log shows it.
    pub recipient: String,
}

impl Engine {
    /// The link that stops this tenant's messages on `channel` to `recipient`: a token only
    /// this deployment can make, naming the tenant, the channel and the recipient.
    fn unsubscribe_url(&self, scope: &Scope, channel: MessageChannel, recipient: &str) -> String {
        let token = self.store().unsubscribe_token(&scope.tenant, channel, &recipient_key(channel, recipient));
        format!("{}/u/{token}", self.config().public_url.trim_end_matches('/'))
    }

    /// What an unsubscribe link names; `None` when the token is not one of ours.
    pub async fn unsubscribe_target(&self, token: &str) -> Result<Option<Unsubscribe>, EngineError> {
        let Some((tenant, channel, recipient)) = self.store().open_unsubscribe_token(token) else {
            return Ok(None);
        };
        let branding = self.branding_of(&tenant).await?;
        Ok(Some(Unsubscribe { branding, channel, recipient: waybill_core::notification::mask(&recipient) }))
    }

    /// Records the opt-out an unsubscribe link names (again is harmless); `None` when the token
    /// is not one of ours.
    pub async fn unsubscribe(&self, token: &str) -> Result<Option<Unsubscribe>, EngineError> {
        let Some((tenant, channel, recipient)) = self.store().open_unsubscribe_token(token) else {
            return Ok(None);
        };
        let mut uow = self.begin().await?;
        uow.tx.opt_out(&tenant, channel, &recipient).await?;
        uow.commit(self).await?;
        tracing::info!(tenant = %tenant, channel = channel.as_str(), "a recipient unsubscribed through their link");
        self.unsubscribe_target(token).await
    }
}

/// The time zone of countries that have one; others use the tenant's.
pub(crate) fn zone_of(country: &str) -> Option<chrono_tz::Tz> {
    use chrono_tz::{Asia, Europe};
    Some(match country {
        "TR" => Europe::Istanbul,
        "KR" => Asia::Seoul,
        "FR" | "MC" => Europe::Paris,
        "BE" => Europe::Brussels,
        "IN" => Asia::Kolkata,
        "GB" => Europe::London,
        "DE" => Europe::Berlin,
        "JP" => Asia::Tokyo,
        "AE" => Asia::Dubai,
        "SA" => Asia::Riyadh,
        _ => return None,
    })
}

/// The handlers of the notification jobs.
pub(crate) fn register(registry: &mut Registry) {
    registry.register(|engine: Engine, ctx: JobContext, job: NotifyCustomer| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a notification job without a scope".into()))?;
        engine.notify_customer(&scope, &job).await
    });
    registry.register(|engine: Engine, ctx: JobContext, job: AlertMerchant| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a merchant alert without a scope".into()))?;
        engine.alert_merchant(&scope, &job.event_id).await
    });
    registry.register(|engine: Engine, ctx: JobContext, job: SendNotification| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a notification job without a scope".into()))?;
        engine.send_notification(&scope, &job.notification_id).await
    });
}

/// Tell the merchant, by email, about an event that needs them.
#[derive(Serialize, Deserialize)]
pub struct AlertMerchant {
    pub event_id: EventId,
}

impl Job for AlertMerchant {
    const KIND: &'static str = "alert_merchant";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.event_id))
    }
}

/// The `merchant_alerts` consumer: events a merchant must hear about even when the channel that
/// would tell them (their webhook endpoint) is the thing that broke.
pub(crate) fn alerts_merchant(event: &Event) -> bool {
    matches!(event, Event::WebhookEndpointDisabled { .. })
}

pub(crate) fn alert_job(scope: &Scope, id: &EventId, _: &Event) -> NewJob {
    AlertMerchant { event_id: id.clone() }.to_new(Some(scope), now_ms())
}

impl Engine {
    /// The `alert_merchant` job: one email to the tenant's `merchant_email`, with a
    /// `Message-ID` stable per event; skipped (and logged) when there is nowhere to send it.
    async fn alert_merchant(&self, scope: &Scope, event_id: &EventId) -> Result<Next, EngineError> {
        let stored = self.store().event(scope, event_id).await?;
        let Event::WebhookEndpointDisabled { endpoint_id, url, reason } = &stored.event else {
            return Ok(Next::Done);
        };
        let settings = self.notification_settings(scope).await?;
        let (Ok(EmailRoute::Smtp(mailer)), Some(to), Some(from)) =
            (self.email_route(scope).await?, settings.merchant_email.clone(), self.sender_address(&settings))
        else {
            tracing::warn!(endpoint = %endpoint_id, %url, "webhook endpoint disabled; no merchant_email or SMTP server to tell the merchant by email");
            return Ok(Next::Done);
        };
        let text = format!(
            "Waybill stopped sending webhooks to {url} (endpoint {endpoint_id}, {} mode): {reason}.\n\n\
             Events are kept. Fix the receiver, register it again (POST /v1/webhooks), and replay what it \
             missed with POST /v1/events/{{id}}/redeliver.\n",
            scope.mode.as_str()
        );
        let email = OutgoingEmail {
            message_id: format!("alert-{event_id}"),
            from_name: "Waybill".into(),
            from_address: from,
            to,
            reply_to: None,
            subject: format!("Webhook endpoint disabled: {url}"),
            html: OutgoingEmail::html_of_text(&text),
            text,
            list_unsubscribe: None,
        };
        match mailer.send(&email).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if e.is_retryable() => Err(EngineError::Internal(format!("the merchant alert was not sent: {e}"))),
            Err(e) => {
                tracing::error!(error = %e, "the merchant alert was refused");
                Ok(Next::Done)
            }
        }
    }
}

/// Sends the SMS of every tenant (one client pool for all providers).
pub(crate) fn sms_sender(outbound: &waybill_outbound::Outbound) -> SmsSender {
    SmsSender::new(outbound.clone())
}

impl Engine {
    /// Replaces the scope's settings; every problem is reported at once and nothing is saved
    /// when there is one.
    pub async fn update_notification_settings(
        &self,
        scope: &Scope,
        body: NotificationSettingsUpdate,
    ) -> Result<NotificationSettings, EngineError> {
        let mut problems = Problems::new();
        let mut triggers = std::collections::BTreeMap::new();
        for (name, channels) in &body.triggers {
            match Milestone::parse(name) {
                Some(m) => {
                    triggers.insert(m, *channels);
                }
                None => {
                    let known: Vec<_> = Milestone::ALL.iter().map(|m| m.as_str()).collect();
                    let hint = nearest(name, known.iter().copied()).map_or_else(
                        || format!("milestones are: {}", known.join(", ")),
                        |k| format!("did you mean `{k}`?"),
                    );
                    let shown: String = name.chars().take(40).collect();
                    problems.add(format!("/triggers/{shown}"), format!("unknown milestone `{shown}`; {hint}"));
                }
            }
        }
        for (pointer, value, rule) in [
            ("/sender_name", &body.sender_name, text::INSTRUCTIONS),
            ("/sender_address", &body.sender_address, text::EMAIL),
            ("/reply_to", &body.reply_to, text::EMAIL),
            ("/merchant_email", &body.merchant_email, text::EMAIL),
        ] {
            if let Some(v) = value {
                problems.extend(rule.check(pointer, v).into_iter().collect());
            }
        }
        for (pointer, value) in [
            ("/sender_address", &body.sender_address),
            ("/reply_to", &body.reply_to),
            ("/merchant_email", &body.merchant_email),
        ] {
            if value.as_deref().is_some_and(|v| !text::is_email(v)) {
                problems.add(pointer, "an email address such as orders@shop.example");
            }
        }
        if let Some(q) = &body.quiet_hours {
            problems.extend(quiet_hours_problems(q));
        }
        let timezone = body.timezone.clone().unwrap_or_else(|| "UTC".into());
        if timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.add("/timezone", "an IANA time zone such as Europe/Istanbul");
        }
        // `Some(None)` removes the tenant's server; `Some(Some((url, host:port)))` sets one.
        let mut smtp = None;
        match body.smtp_url.as_deref() {
            None => {}
            Some("") => smtp = Some(None),
            Some(url) if url.len() > 512 => problems.add("/smtp_url", "at most 512 characters"),
            Some(url) => match SmtpSettings::parse(url) {
                Ok(parsed) => {
                    if scope.mode == waybill_core::Mode::Live
                        && let Err(refused) = self.check_smtp_destination(&parsed).await
                    {
                        problems.add("/smtp_url", refused);
                    }
                    smtp = Some(Some((url.to_owned(), format!("{}:{}", parsed.host, parsed.port))));
                }
                Err(e) => problems.add("/smtp_url", e),
            },
        }
        let mut provider = None;
        if let Some(credentials) = &body.sms_provider {
            match check_credentials(credentials) {
                Ok(p) => provider = Some(p.name().to_owned()),
                Err(errors) => {
                    for (pointer, detail) in errors {
                        problems.add(format!("/sms_provider{pointer}"), detail);
                    }
                }
            }
        }
        problems.finish(())?;
        let previous = self.notification_settings(scope).await?;
        let settings = NotificationSettings {
            triggers,
            default_language: body.default_language.unwrap_or(previous.default_language),
            sender_name: body.sender_name,
            sender_address: body.sender_address,
            reply_to: body.reply_to,
            quiet_hours: body.quiet_hours,
            timezone,
            sms_provider: provider.or(previous.sms_provider),
            merchant_email: body.merchant_email,
            smtp_server: match &smtp {
                None => previous.smtp_server,
                Some(server) => server.as_ref().map(|(_, server)| server.clone()),
            },
        };
        let sealed = body.sms_provider.as_ref().map(|c| self.store().seal_notification_secrets(c));
        let mut uow = self.begin().await?;
        uow.tx.save_notification_settings(scope, &settings, sealed).await?;
        if let Some(server) = smtp {
            let sealed = server.map(|(url, _)| self.store().seal_notification_smtp(&url));
            uow.tx.set_notification_smtp(scope, sealed).await?;
        }
        uow.commit(self).await?;
        Ok(settings)
    }

    /// The templates that apply in the scope (the tenant's where it has one, else Waybill's),
    /// narrowed by the filters given.
    pub async fn notification_templates(
        &self,
        scope: &Scope,
        milestone: Option<Milestone>,
        channel: Option<MessageChannel>,
        language: Option<Language>,
    ) -> Result<Vec<TemplateView>, EngineError> {
        let mut out = Vec::new();
        for m in Milestone::ALL.iter().copied().filter(|m| milestone.is_none_or(|x| x == *m)) {
            for c in MessageChannel::ALL.iter().copied().filter(|c| channel.is_none_or(|x| x == *c)) {
                for l in Language::ALL.iter().copied().filter(|l| language.is_none_or(|x| x == *l)) {
                    let (source, custom) = self.template_for(scope, m, c, l).await?;
                    out.push(template_view(m, c, l, source, custom, vec![]));
                }
            }
        }
        Ok(out)
    }

    /// Saves the tenant's own template once it parses, uses only known variables and renders;
    /// a problem names the part, line and column.
    pub async fn put_notification_template(
        &self,
        scope: &Scope,
        body: TemplatePut,
    ) -> Result<TemplateView, EngineError> {
        let source = TemplateSource { subject: body.subject, text: body.text, html: body.html };
        let warnings = check_template(body.channel, body.language, &source)?;
        let mut uow = self.begin().await?;
        let stored = serde_json::to_value(&source).expect("templates serialize");
        uow.tx.save_notification_template(scope, body.milestone, body.channel, body.language, &stored).await?;
        uow.commit(self).await?;
        Ok(template_view(body.milestone, body.channel, body.language, source, true, warnings))
    }

    /// Renders a template against a shipment of the scope, or Waybill's sample shipment.
    pub async fn preview_notification(
        &self,
        scope: &Scope,
        body: TemplatePreview,
    ) -> Result<TemplateView, EngineError> {
        let given = body.text.is_some() || body.subject.is_some() || body.html.is_some();
        let (source, custom) = if given {
            let source = TemplateSource { subject: body.subject, text: body.text.unwrap_or_default(), html: body.html };
            (source, true)
        } else {
            self.template_for(scope, body.milestone, body.channel, body.language).await?
        };
        let warnings = check_template(body.channel, body.language, &source)?;
        let vars = match &body.shipment_id {
            Some(id) => {
                let shipment = self.shipment(scope, id).await?;
                let settings = self.notification_settings(scope).await?;
                self.variables(scope, &settings, &shipment, body.language).await?
            }
            None => Variables::sample(body.language),
        };
        let rendered = template::render(body.channel, &source, &vars).map_err(|e| {
            let mut problems = Problems::new();
            problems.add("/text", format!("the template does not render: {e:?}"));
            EngineError::from(problems.finish(()).expect_err("a problem was added"))
        })?;
        let view = TemplateSource { subject: rendered.subject, text: rendered.text, html: rendered.html };
        Ok(template_view(body.milestone, body.channel, body.language, view, custom, warnings))
    }

    /// Records that a recipient wants no more messages on a channel from this tenant.
    pub async fn opt_out(&self, scope: &Scope, body: OptOut) -> Result<(), EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.problems());
        problems.finish(())?;
        let recipient = recipient_key(body.channel, &body.recipient);
        let mut uow = self.begin().await?;
        uow.tx.opt_out(&scope.tenant, body.channel, &recipient).await?;
        uow.commit(self).await
    }
}

/// `check` as the API reports it: each problem at the part it is in, with line and column.
fn check_template(
    channel: MessageChannel,
    language: Language,
    source: &TemplateSource,
) -> Result<Vec<String>, EngineError> {
    match template::check(channel, language, source) {
        Ok(warnings) => Ok(warnings.into_iter().map(|w| format!("{}: {}", w.field, w.detail)).collect()),
        Err(problems) => {
            let mut out = Problems::new();
            for p in problems {
                out.add(format!("/{}", p.field), format!("line {}, column {}: {}", p.line, p.column, p.detail));
            }
            Err(out.finish(()).expect_err("check reported problems").into())
        }
    }
}

fn template_view(
    milestone: Milestone,
    channel: MessageChannel,
    language: Language,
    source: TemplateSource,
    custom: bool,
    warnings: Vec<String>,
) -> TemplateView {
    TemplateView {
        milestone,
        channel,
        language,
        source: if custom { "custom" } else { "default" }.into(),
        subject: source.subject,
        text: source.text,
        html: source.html,
        warnings,
    }
}
