//! Merchant webhook endpoints (their secrets sealed), the messages on their way to them, and
//! the delivery log.

use waybill_core::ids::{EventId, TenantId, WebhookDeliveryId, WebhookEndpointId, WebhookMessageId};
use waybill_core::webhook::{WebhookDelivery, WebhookEndpoint, WebhookMessage, WebhookMessageState, WebhookState};
use waybill_core::{Mode, Page, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named, parse};

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    tenant_id: String,
    mode: String,
    url: String,
    description: Option<String>,
    events: String,
    state: String,
    disabled_reason: Option<String>,
    failing_since: Option<i64>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(EndpointRow {
    id,
    tenant_id,
    mode,
    url,
    description,
    events,
    state,
    disabled_reason,
    failing_since,
    created_at,
    updated_at
});

macro_rules! endpoint_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, url, description, events, state, disabled_reason, failing_since, created_at, \
             updated_at FROM webhook_endpoints WHERE deleted_at IS NULL AND ",
            $rest
        )
    };
}

impl EndpointRow {
    fn into_record(self) -> Result<WebhookEndpoint> {
        let corrupt = || StoreError::Corrupt(format!("webhook endpoint {}", self.id));
        Ok(WebhookEndpoint {
            id: WebhookEndpointId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "webhook endpoint mode")?,
            url: self.url,
            description: self.description,
            events: parse(&self.events, "webhook endpoint events")?,
            state: named(&self.state, WebhookState::parse, "webhook endpoint state")?,
            disabled_reason: self.disabled_reason,
            failing_since: self.failing_since,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    tenant_id: String,
    mode: String,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    subject_id: String,
    replay: i64,
    state: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(MessageRow {
    id,
    tenant_id,
    mode,
    endpoint_id,
    event_id,
    event_type,
    subject_id,
    replay,
    state,
    attempts,
    next_attempt_at,
    last_error,
    created_at,
    updated_at
});

macro_rules! message_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, endpoint_id, event_id, event_type, subject_id, replay, state, attempts, \
             next_attempt_at, last_error, created_at, updated_at FROM webhook_messages WHERE ",
            $rest
        )
    };
}

impl MessageRow {
    fn into_record(self) -> Result<WebhookMessage> {
        let corrupt = || StoreError::Corrupt(format!("webhook message {}", self.id));
        Ok(WebhookMessage {
            id: WebhookMessageId::parse(&self.id).ok_or_else(corrupt)?,
            scope: Scope::new(
                TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
                named(&self.mode, Mode::parse, "webhook message mode")?,
            ),
            endpoint_id: WebhookEndpointId::parse(&self.endpoint_id).ok_or_else(corrupt)?,
            event_id: EventId::parse(&self.event_id).ok_or_else(corrupt)?,
            event_type: self.event_type,
            subject_id: self.subject_id,
            replay: self.replay,
            state: named(&self.state, WebhookMessageState::parse, "webhook message state")?,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    endpoint_id: String,
    message_id: String,
    event_id: String,
    event_type: String,
    attempt: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    excerpt: Option<String>,
    error: Option<String>,
    succeeded: i64,
    created_at: i64,
}
crate::sqlite_row!(DeliveryRow {
    id,
    endpoint_id,
    message_id,
    event_id,
    event_type,
    attempt,
    status_code,
    latency_ms,
    excerpt,
    error,
    succeeded,
    created_at
});

impl DeliveryRow {
    fn into_record(self) -> Result<WebhookDelivery> {
        let corrupt = || StoreError::Corrupt(format!("webhook delivery {}", self.id));
        Ok(WebhookDelivery {
            id: WebhookDeliveryId::parse(&self.id).ok_or_else(corrupt)?,
            endpoint_id: WebhookEndpointId::parse(&self.endpoint_id).ok_or_else(corrupt)?,
            message_id: WebhookMessageId::parse(&self.message_id).ok_or_else(corrupt)?,
            event_id: EventId::parse(&self.event_id).ok_or_else(corrupt)?,
            event_type: self.event_type,
            attempt: self.attempt,
            status_code: self.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: self.latency_ms,
            excerpt: self.excerpt,
            error: self.error,
            succeeded: self.succeeded != 0,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    sealed_secret: String,
}
crate::sqlite_row!(SecretRow { sealed_secret });

#[derive(sqlx::FromRow)]
struct ReplayRow {
    replay: i64,
}
crate::sqlite_row!(ReplayRow { replay });

impl Store {
    /// Seals an endpoint's signing secret for [`Tx::insert_webhook_endpoint`].
    pub fn seal_webhook_secret(&self, secret: &str) -> String {
        self.sealer.seal(secret.as_bytes())
    }

    /// An endpoint of the scope that has not been deleted.
    pub async fn webhook_endpoint(&self, scope: &Scope, id: &WebhookEndpointId) -> Result<WebhookEndpoint> {
        let row: EndpointRow = self
            .pool
            .fetch_optional(
                endpoint_select!("id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// An endpoint's signing secret, opened.
    pub async fn webhook_secret(&self, scope: &Scope, id: &WebhookEndpointId) -> Result<String> {
        let row: SecretRow = self
            .pool
            .fetch_optional(
                "SELECT sealed_secret FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let plain = self.sealer.open(&row.sealed_secret)?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt(format!("webhook endpoint {id} secret")))
    }

    pub async fn list_webhook_endpoints(
        &self,
        scope: &Scope,
        after: Option<&WebhookEndpointId>,
        limit: u32,
    ) -> Result<Page<WebhookEndpoint>> {
        let rows: Vec<EndpointRow> = self
            .pool
            .fetch_all(
                endpoint_select!("tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(EndpointRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |e: &WebhookEndpoint| e.id.to_string()))
    }

    /// The scope's enabled endpoints that want events of `event_type`.
    pub async fn webhook_endpoints_wanting(&self, scope: &Scope, event_type: &str) -> Result<Vec<WebhookEndpoint>> {
        let rows: Vec<EndpointRow> = self
            .pool
            .fetch_all(
                endpoint_select!("tenant_id = $1 AND mode = $2 AND state = 'enabled' ORDER BY id"),
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        let all = rows.into_iter().map(EndpointRow::into_record).collect::<Result<Vec<_>>>()?;
        Ok(all.into_iter().filter(|e| e.wants(event_type)).collect())
    }

    pub async fn webhook_message(&self, scope: &Scope, id: &WebhookMessageId) -> Result<WebhookMessage> {
        let row: MessageRow = self
            .pool
            .fetch_optional(
                message_select!("id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// Takes the right to send `message` until `until` (epoch ms); `false` while another run
    /// holds it or once the message is settled, so two runs never send it at once.
    pub async fn claim_webhook_message(&self, message: &WebhookMessageId, now: i64, until: i64) -> Result<bool> {
        let n = self
            .pool
            .execute(
                "UPDATE webhook_messages SET sending_until = $1 \
                 WHERE id = $2 AND state = 'pending' AND (sending_until IS NULL OR sending_until < $3)",
                args![until, message.as_str(), now],
            )
            .await?;
        Ok(n == 1)
    }

    /// The first message still pending ahead of `message` in its line (same endpoint, same
    /// object, an earlier event), which `message` must wait for.
    pub async fn webhook_message_ahead(&self, message: &WebhookMessage) -> Result<Option<WebhookMessage>> {
        let row: Option<MessageRow> = self
            .pool
            .fetch_optional(
                message_select!(
                    "endpoint_id = $1 AND subject_id = $2 AND state = 'pending' AND event_id < $3 \
                     ORDER BY event_id, replay LIMIT 1"
                ),
                args![message.endpoint_id.as_str(), &message.subject_id, message.event_id.as_str()],
            )
            .await?;
        row.map(MessageRow::into_record).transpose()
    }

    /// The next message pending behind `message` in its line, to wake once `message` settles.
    pub async fn webhook_message_behind(&self, message: &WebhookMessage) -> Result<Option<WebhookMessageId>> {
        let row: Option<MessageRow> = self
            .pool
            .fetch_optional(
                message_select!(
                    "endpoint_id = $1 AND subject_id = $2 AND state = 'pending' AND event_id > $3 \
                     ORDER BY event_id, replay LIMIT 1"
                ),
                args![message.endpoint_id.as_str(), &message.subject_id, message.event_id.as_str()],
            )
            .await?;
        row.map(|r| r.into_record().map(|m| m.id)).transpose()
    }

    /// The highest replay number of an event's messages to an endpoint (`None`: never sent).
    pub async fn webhook_last_replay(&self, endpoint: &WebhookEndpointId, event: &EventId) -> Result<Option<i64>> {
        let row: Option<ReplayRow> = self
            .pool
            .fetch_optional(
                "SELECT replay FROM webhook_messages WHERE endpoint_id = $1 AND event_id = $2 ORDER BY replay DESC LIMIT 1",
                args![endpoint.as_str(), event.as_str()],
            )
            .await?;
        Ok(row.map(|r| r.replay))
    }

    /// An endpoint's delivery log, oldest first.
    pub async fn webhook_deliveries(
        &self,
        scope: &Scope,
        endpoint: &WebhookEndpointId,
        after: Option<&WebhookDeliveryId>,
        limit: u32,
    ) -> Result<Page<WebhookDelivery>> {
        let rows: Vec<DeliveryRow> = self
            .pool
            .fetch_all(
                "SELECT id, endpoint_id, message_id, event_id, event_type, attempt, status_code, latency_ms, excerpt, \
                 error, succeeded, created_at FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND tenant_id = $2 AND mode = $3 AND id > $4 ORDER BY id LIMIT $5",
                args![
                    endpoint.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    after.map_or("", |a| a.as_str()),
                    i64::from(limit) + 1
                ],
            )
            .await?;
        let items = rows.into_iter().map(DeliveryRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |d: &WebhookDelivery| d.id.to_string()))
    }
}

impl Tx {
    /// The scope's enabled endpoints, read in the transaction that emits events, so the events
    /// it commits reach exactly the endpoints that exist when it commits.
    pub async fn enabled_webhook_endpoints(&mut self, scope: &Scope) -> Result<Vec<WebhookEndpoint>> {
        let rows: Vec<EndpointRow> = self
            .fetch_all(
                endpoint_select!("tenant_id = $1 AND mode = $2 AND state = 'enabled' ORDER BY id"),
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        rows.into_iter().map(EndpointRow::into_record).collect()
    }

    /// Writes a new endpoint with its sealed secret (see [`Store::seal_webhook_secret`]).
    pub async fn insert_webhook_endpoint(&mut self, e: &WebhookEndpoint, sealed_secret: String) -> Result<()> {
        self.execute(
            "INSERT INTO webhook_endpoints (id, tenant_id, mode, url, description, events, sealed_secret, state, \
             disabled_reason, failing_since, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            args![
                e.id.as_str(),
                e.tenant_id.as_str(),
                e.mode.as_str(),
                &e.url,
                e.description.clone(),
                crate::json(&e.events),
                sealed_secret,
                e.state.as_str(),
                e.disabled_reason.clone(),
                e.failing_since,
                e.created_at,
                e.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Deletes an endpoint (it stays only for its delivery log); `false` when there is none.
    pub async fn delete_webhook_endpoint(&mut self, scope: &Scope, id: &WebhookEndpointId, now: i64) -> Result<bool> {
        let n = self
            .execute(
                "UPDATE webhook_endpoints SET deleted_at = $1, updated_at = $1 \
                 WHERE id = $2 AND tenant_id = $3 AND mode = $4 AND deleted_at IS NULL",
                args![now, id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Writes the endpoint's health: `failing_since`, and its state with the reason.
    pub async fn update_webhook_endpoint_health(&mut self, e: &WebhookEndpoint) -> Result<()> {
        self.execute(
            "UPDATE webhook_endpoints SET failing_since = $1, state = $2, disabled_reason = $3, updated_at = $4 \
             WHERE id = $5 AND tenant_id = $6 AND mode = $7",
            args![
                e.failing_since,
                e.state.as_str(),
                e.disabled_reason.clone(),
                e.updated_at,
                e.id.as_str(),
                e.tenant_id.as_str(),
                e.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Writes a new message; `false` when the endpoint already has this event at this replay.
    pub async fn insert_webhook_message(&mut self, m: &WebhookMessage) -> Result<bool> {
        let n = self
            .execute(
                "INSERT INTO webhook_messages (id, tenant_id, mode, endpoint_id, event_id, event_type, subject_id, replay, \
                 state, attempts, next_attempt_at, last_error, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (endpoint_id, event_id, replay) DO NOTHING",
                args![
                    m.id.as_str(),
                    m.scope.tenant.as_str(),
                    m.scope.mode.as_str(),
                    m.endpoint_id.as_str(),
                    m.event_id.as_str(),
                    &m.event_type,
                    &m.subject_id,
                    m.replay,
                    m.state.as_str(),
                    m.attempts,
                    m.next_attempt_at,
                    m.last_error.clone(),
                    m.created_at,
                    m.updated_at
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Writes a message's state after an attempt.
    pub async fn update_webhook_message(&mut self, m: &WebhookMessage) -> Result<()> {
        self.execute(
            "UPDATE webhook_messages SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4, updated_at = $5, \
             sending_until = NULL WHERE id = $6",
            args![m.state.as_str(), m.attempts, m.next_attempt_at, m.last_error.clone(), m.updated_at, m.id.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Gives up every pending message to an endpoint (it was disabled or deleted).
    pub async fn fail_pending_webhook_messages(
        &mut self,
        endpoint: &WebhookEndpointId,
        reason: &str,
        now: i64,
    ) -> Result<u64> {
        Ok(self
            .execute(
                "UPDATE webhook_messages SET state = 'failed', last_error = $1, next_attempt_at = NULL, updated_at = $2 \
                 WHERE endpoint_id = $3 AND state = 'pending'",
                args![reason, now, endpoint.as_str()],
            )
            .await?)
    }

    /// Adds a line to an endpoint's delivery log.
    pub async fn insert_webhook_delivery(&mut self, scope: &Scope, d: &WebhookDelivery) -> Result<()> {
        self.execute(
            "INSERT INTO webhook_deliveries (id, tenant_id, mode, endpoint_id, message_id, event_id, event_type, attempt, \
             status_code, latency_ms, excerpt, error, succeeded, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            args![
                d.id.as_str(),
                scope.tenant.as_str(),
                scope.mode.as_str(),
                d.endpoint_id.as_str(),
                d.message_id.as_str(),
                d.event_id.as_str(),
                &d.event_type,
                d.attempt,
                d.status_code.map(i64::from),
                d.latency_ms,
                d.excerpt.clone(),
                d.error.clone(),
                i64::from(d.succeeded),
                d.created_at
            ],
        )
        .await?;
        Ok(())
    }
}
