//! Customer notifications: each tenant's settings (SMS credentials sealed), its templates, every
//! message with its outcome (one per shipment, milestone and channel), and opt-outs.

use waybill_core::ids::{NotificationId, ShipmentId, TenantId};
use waybill_core::notification::{Notification, NotificationSettings, NotificationState};
use waybill_core::{Language, MessageChannel, Milestone, Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, json, named, now_ms, parse};

/// The purpose sealed into unsubscribe tokens.
const UNSUBSCRIBE: &str = "unsubscribe";

#[derive(sqlx::FromRow)]
struct SettingsRow {
    settings: String,
}
crate::sqlite_row!(SettingsRow { settings });

#[derive(sqlx::FromRow)]
struct SecretsRow {
    sealed_secrets: Option<String>,
}
crate::sqlite_row!(SecretsRow { sealed_secrets });

#[derive(sqlx::FromRow)]
struct SmtpRow {
    sealed_smtp: Option<String>,
}
crate::sqlite_row!(SmtpRow { sealed_smtp });

#[derive(sqlx::FromRow)]
struct TemplateRow {
    source: String,
}
crate::sqlite_row!(TemplateRow { source });

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    tenant_id: String,
    mode: String,
    shipment_id: String,
    milestone: String,
    channel: String,
    language: String,
    template: String,
    recipient: String,
    state: String,
    reason: Option<String>,
    provider_message_id: Option<String>,
    attempts: i64,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(NotificationRow {
    id,
    tenant_id,
    mode,
    shipment_id,
    milestone,
    channel,
    language,
    template,
    recipient,
    state,
    reason,
    provider_message_id,
    attempts,
    created_at,
    updated_at
});

macro_rules! notification_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, shipment_id, milestone, channel, language, template, recipient, state, reason, \
             provider_message_id, attempts, created_at, updated_at FROM notifications WHERE ",
            $rest
        )
    };
}

impl NotificationRow {
    fn into_record(self) -> Result<Notification> {
        let corrupt = || StoreError::Corrupt(format!("notification {}", self.id));
        Ok(Notification {
            id: NotificationId::parse(&self.id).ok_or_else(corrupt)?,
            scope: Scope::new(
                TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
                named(&self.mode, Mode::parse, "notification mode")?,
            ),
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(corrupt)?,
            milestone: named(&self.milestone, Milestone::parse, "notification milestone")?,
            channel: named(&self.channel, MessageChannel::parse, "notification channel")?,
            language: named(&self.language, Language::parse, "notification language")?,
            template: self.template,
            recipient: self.recipient,
            state: named(&self.state, NotificationState::parse, "notification state")?,
            reason: self.reason,
            provider_message_id: self.provider_message_id,
            attempts: self.attempts,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct One {
    n: i64,
}
crate::sqlite_row!(One { n });

impl Store {
    /// The scope's settings; `None` until the tenant saves some (the defaults apply).
    pub async fn notification_settings(&self, scope: &Scope) -> Result<Option<NotificationSettings>> {
        let row: Option<SettingsRow> = self
            .pool
            .fetch_optional(
                "SELECT settings FROM notification_settings WHERE tenant_id = $1 AND mode = $2",
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        row.map(|r| parse(&r.settings, "notification settings")).transpose()
    }

    /// The scope's sealed SMS credentials, opened.
    pub async fn notification_secrets(&self, scope: &Scope) -> Result<Option<serde_json::Value>> {
        let row: Option<SecretsRow> = self
            .pool
            .fetch_optional(
                "SELECT sealed_secrets FROM notification_settings WHERE tenant_id = $1 AND mode = $2",
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        let Some(sealed) = row.and_then(|r| r.sealed_secrets) else { return Ok(None) };
        let plain = self.sealer.open(&sealed)?;
        serde_json::from_slice(&plain).map(Some).map_err(|e| StoreError::Corrupt(format!("notification secrets: {e}")))
    }

    /// The token of a recipient's unsubscribe link: who, on which channel, from which tenant.
    pub fn unsubscribe_token(&self, tenant: &TenantId, channel: MessageChannel, recipient: &str) -> String {
        self.sealer.seal_token(UNSUBSCRIBE, &format!("{}\n{}\n{recipient}", tenant.as_str(), channel.as_str()))
    }

    /// What an unsubscribe token names; `None` when it is not one this deployment made.
    pub fn open_unsubscribe_token(&self, token: &str) -> Option<(TenantId, MessageChannel, String)> {
        let text = self.sealer.open_token(UNSUBSCRIBE, token)?;
        let mut parts = text.splitn(3, '\n');
        let tenant = TenantId::parse(parts.next()?)?;
        let channel = MessageChannel::parse(parts.next()?)?;
        Some((tenant, channel, parts.next()?.to_owned()))
    }

    /// The scope's own SMTP server URL (with its password), opened; `None` when it has none.
    pub async fn notification_smtp(&self, scope: &Scope) -> Result<Option<String>> {
        let row: Option<SmtpRow> = self
            .pool
            .fetch_optional(
                "SELECT sealed_smtp FROM notification_settings WHERE tenant_id = $1 AND mode = $2",
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        let Some(sealed) = row.and_then(|r| r.sealed_smtp) else { return Ok(None) };
        let plain = self.sealer.open(&sealed)?;
        String::from_utf8(plain).map(Some).map_err(|_| StoreError::Corrupt("notification SMTP URL".into()))
    }

    /// Seals a tenant's SMTP URL for [`Tx::set_notification_smtp`].
    pub fn seal_notification_smtp(&self, url: &str) -> String {
        self.sealer.seal(url.as_bytes())
    }

    /// Seals SMS credentials for [`Tx::save_notification_settings`].
    pub fn seal_notification_secrets(&self, secrets: &serde_json::Value) -> String {
        self.sealer.seal(json(secrets).as_bytes())
    }

    /// The tenant's own template for a milestone, channel and language (its JSON source).
    pub async fn notification_template(
        &self,
        scope: &Scope,
        milestone: Milestone,
        channel: MessageChannel,
        language: Language,
    ) -> Result<Option<serde_json::Value>> {
        let row: Option<TemplateRow> = self
            .pool
            .fetch_optional(
                "SELECT source FROM notification_templates \
                 WHERE tenant_id = $1 AND mode = $2 AND milestone = $3 AND channel = $4 AND language = $5",
                args![
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    milestone.as_str(),
                    channel.as_str(),
                    language.as_str()
                ],
            )
            .await?;
        row.map(|r| parse(&r.source, "notification template")).transpose()
    }

    pub async fn notification(&self, scope: &Scope, id: &NotificationId) -> Result<Notification> {
        let row: NotificationRow = self
            .pool
            .fetch_optional(
                notification_select!("id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// Every message about one shipment, oldest first.
    pub async fn shipment_notifications(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Vec<Notification>> {
        let rows: Vec<NotificationRow> = self
            .pool
            .fetch_all(
                notification_select!("tenant_id = $1 AND mode = $2 AND shipment_id = $3 ORDER BY id"),
                args![scope.tenant.as_str(), scope.mode.as_str(), shipment.as_str()],
            )
            .await?;
        rows.into_iter().map(NotificationRow::into_record).collect()
    }

    /// Whether the recipient asked the tenant to stop messages on `channel`.
    pub async fn opted_out(&self, tenant: &TenantId, channel: MessageChannel, recipient: &str) -> Result<bool> {
        // COUNT is a BIGINT on both backends (a literal `1` would be INT4 on PostgreSQL).
        let row: Option<One> = self
            .pool
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM notification_opt_outs WHERE tenant_id = $1 AND channel = $2 AND recipient = $3",
                args![tenant.as_str(), channel.as_str(), recipient],
            )
            .await?;
        Ok(row.is_some_and(|r| r.n > 0))
    }
}

impl Tx {
    /// Saves the scope's settings; `sealed_secrets` replaces the stored credentials when given.
    pub async fn save_notification_settings(
        &mut self,
        scope: &Scope,
        settings: &NotificationSettings,
        sealed_secrets: Option<String>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO notification_settings (tenant_id, mode, settings, sealed_secrets, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, mode) DO UPDATE SET settings = excluded.settings, \
             sealed_secrets = COALESCE(excluded.sealed_secrets, notification_settings.sealed_secrets), \
             updated_at = excluded.updated_at",
            args![scope.tenant.as_str(), scope.mode.as_str(), json(settings), sealed_secrets, now_ms()],
        )
        .await?;
        Ok(())
    }

    /// Sets (or, with `None`, removes) the scope's own SMTP server; the settings row must exist.
    pub async fn set_notification_smtp(&mut self, scope: &Scope, sealed: Option<String>) -> Result<()> {
        self.execute(
            "UPDATE notification_settings SET sealed_smtp = $1 WHERE tenant_id = $2 AND mode = $3",
            args![sealed, scope.tenant.as_str(), scope.mode.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Saves the tenant's template for a milestone, channel and language.
    pub async fn save_notification_template(
        &mut self,
        scope: &Scope,
        milestone: Milestone,
        channel: MessageChannel,
        language: Language,
        source: &serde_json::Value,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO notification_templates (tenant_id, mode, milestone, channel, language, source, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, mode, milestone, channel, language) \
             DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
            args![
                scope.tenant.as_str(),
                scope.mode.as_str(),
                milestone.as_str(),
                channel.as_str(),
                language.as_str(),
                json(source),
                now_ms()
            ],
        )
        .await?;
        Ok(())
    }

    /// Writes a new message; `false` when the shipment already has one for this milestone and
    /// channel (at most one, however often the carrier repeats a scan).
    pub async fn insert_notification(&mut self, n: &Notification) -> Result<bool> {
        let inserted = self
            .execute(
                "INSERT INTO notifications (id, tenant_id, mode, shipment_id, milestone, channel, language, template, \
                 recipient, state, reason, provider_message_id, attempts, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (tenant_id, mode, shipment_id, milestone, channel) DO NOTHING",
                args![
                    n.id.as_str(),
                    n.scope.tenant.as_str(),
                    n.scope.mode.as_str(),
                    n.shipment_id.as_str(),
                    n.milestone.as_str(),
                    n.channel.as_str(),
                    n.language.as_str(),
                    &n.template,
                    &n.recipient,
                    n.state.as_str(),
                    n.reason.clone(),
                    n.provider_message_id.clone(),
                    n.attempts,
                    n.created_at,
                    n.updated_at
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Writes a message's outcome.
    pub async fn update_notification(&mut self, n: &Notification) -> Result<()> {
        self.execute(
            "UPDATE notifications SET state = $1, reason = $2, provider_message_id = $3, attempts = $4, template = $5, \
             language = $6, updated_at = $7 WHERE id = $8 AND tenant_id = $9 AND mode = $10",
            args![
                n.state.as_str(),
                n.reason.clone(),
                n.provider_message_id.clone(),
                n.attempts,
                &n.template,
                n.language.as_str(),
                n.updated_at,
                n.id.as_str(),
                n.scope.tenant.as_str(),
                n.scope.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Records that a recipient wants no more messages on `channel` from the tenant.
    pub async fn opt_out(&mut self, tenant: &TenantId, channel: MessageChannel, recipient: &str) -> Result<()> {
        self.execute(
            "INSERT INTO notification_opt_outs (tenant_id, channel, recipient, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, channel, recipient) DO NOTHING",
            args![tenant.as_str(), channel.as_str(), recipient, now_ms()],
        )
        .await?;
        Ok(())
    }
}
