//! Carrier accounts: creating them (with the mode and outbound rules), and opening one for a
//! carrier call.

use std::sync::Arc;

use rand::Rng;
use rand::distr::Alphanumeric;
use waybill_carriers::{Account, Carrier};
use waybill_core::account::CarrierAccount;
use waybill_core::api::requests::CarrierAccountCreate;
use waybill_core::error::Problems;
use waybill_core::ids::CarrierAccountId;
use waybill_core::{Event, Invalid, Mode, Scope};
use waybill_store::{AccountSecrets, NewCarrierAccount, StoreError, now_ms};

use crate::error::Found;
use crate::{Engine, EngineError};

/// Which `base_url` overrides live carrier accounts may have. Test accounts may point
/// anywhere (tests and the demo point them at local servers); a live account's override sends
/// the tenant's credentials to that host, so the operator decides. Whatever is allowed, a live
/// account never reaches a private, loopback, link-local or metadata address (checked when
/// the account is created and again on every call, after DNS).
#[derive(Debug, Clone, Default)]
pub struct BaseUrlPolicy {
    /// Any host (`--allow-base-url-override`).
    pub allow_any: bool,
    /// Only these hosts (`--base-url-hosts`), compared without case.
    pub hosts: Vec<String>,
}

impl BaseUrlPolicy {
    fn allows(&self, host: &str) -> bool {
        self.allow_any || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

impl Engine {
    /// Connects a carrier account in the key's scope; `credentials` are checked against the
    /// carrier's schema and sealed.
    pub async fn create_carrier_account(
        &self,
        scope: &Scope,
        body: CarrierAccountCreate,
    ) -> Result<(CarrierAccount, String), EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.text_problems());
        let Some(carrier) = self.carriers().get(&body.carrier) else {
            let known: Vec<_> = self.carriers().iter().map(|c| c.info().slug).collect();
            problems.add("/carrier", format!("unknown carrier `{}`; known: {}", body.carrier, known.join(", ")));
            return Err(problems.finish(()).expect_err("a problem was just added").into());
        };
        if let Err(errors) = carrier.check_credentials(&body.credentials) {
            problems.extend(errors);
        }
        let mode = body.mode;
        if mode != scope.mode {
            problems.add(
                "/mode",
                format!(
                    "a {} key connects {} accounts only; use a wb_{}_… key for a {} account",
                    scope.mode.as_str(),
                    scope.mode.as_str(),
                    mode.as_str(),
                    mode.as_str()
                ),
            );
        }
        let configured = crate::generic::check_settings(&body.carrier, body.settings.as_ref(), &mut problems);
        let default_url = match mode {
            Mode::Test => carrier.info().test_base_url,
            Mode::Live => carrier.info().live_base_url,
        };
        match &body.base_url {
            Some(url) => self.check_base_url(url, mode, &mut problems).await,
            None if default_url.is_none() && body.carrier != waybill_carriers::generic::SLUG => {
                problems.add("/base_url", format!("{} has no public host: give the base_url to reach it", body.carrier))
            }
            None => {}
        }
        problems.finish(())?;
        let push_secret: String = rand::rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
        let now = now_ms();
        let (settings, next_number) = configured.map_or((None, None), |(s, n)| (Some(s), n));
        let new = NewCarrierAccount {
            account: CarrierAccount {
                id: CarrierAccountId::generate(),
                tenant_id: scope.tenant.clone(),
                carrier: body.carrier,
                mode,
                description: body.description,
                base_url: body.base_url,
                settings,
                created_at: now,
                updated_at: now,
            },
            secrets: AccountSecrets { credentials: body.credentials, push_secret: push_secret.clone() },
            next_number,
        };
        let sealed = self.store().seal_secrets(&new.secrets);
        let mut uow = self.begin().await?;
        uow.tx.insert_carrier_account(&new, sealed).await?;
        uow.emit(scope, Event::CarrierAccountCreated { account: new.account.clone() });
        uow.commit(self).await?;
        Ok((new.account, push_secret))
    }

    /// Problems with a `base_url` override for an account (or a channel connection) in `mode`.
    pub(crate) async fn check_base_url(&self, url: &str, mode: Mode, problems: &mut Problems) {
        let parsed = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(parsed) = parsed.filter(|u| u.host_str().is_some()) else {
            problems.add("/base_url", "must be an absolute http:// or https:// URL");
            return;
        };
        if mode == Mode::Test {
            return;
        }
        let host = parsed.host_str().unwrap_or_default();
        if !self.config().base_urls.allows(host) {
            problems.add(
                "/base_url",
                format!(
                    "live accounts cannot override the carrier's host `{host}` on this server; the operator may allow it \
                     (--allow-base-url-override, or --base-url-hosts {host})"
                ),
            );
        } else if parsed.scheme() != "https" {
            problems.add("/base_url", "a live account's base_url must use https://");
        } else if let Err(refused) = self.inner.outbound.check_destination(url).await {
            problems.add("/base_url", refused.to_string());
        }
    }

    /// The account (in `scope`) and its adapter, with its credentials opened.
    pub(crate) async fn account(
        &self,
        scope: &Scope,
        id: &CarrierAccountId,
    ) -> Result<(CarrierAccount, AccountSecrets, Arc<dyn Carrier>), EngineError> {
        let account = self.store().carrier_account(scope, id).await.found(|| format!("carrier account {id}"))?;
        let secrets = self.secrets_of(&account).await?;
        let carrier = self.carriers().get(&account.carrier).cloned().ok_or_else(|| {
            EngineError::Internal(format!("carrier `{}` of account {id} is not in this build", account.carrier))
        })?;
        Ok((account, secrets, carrier))
    }

    /// The days the account's carrier does not deliver on, by date.
    pub async fn carrier_holidays(
        &self,
        scope: &Scope,
        id: &CarrierAccountId,
    ) -> Result<Vec<waybill_core::account::Holiday>, EngineError> {
        self.store().carrier_account(scope, id).await.found(|| format!("carrier account {id}"))?;
        Ok(self.store().carrier_holidays(scope, id).await?)
    }

    /// Replaces the account's calendar of days its carrier does not deliver on; refused whole
    /// with a pointer per problem. Rescheduled deliveries asked for from now on avoid them.
    pub async fn set_carrier_holidays(
        &self,
        scope: &Scope,
        id: &CarrierAccountId,
        body: waybill_core::api::requests::HolidaysPut,
    ) -> Result<Vec<waybill_core::account::Holiday>, EngineError> {
        self.store().carrier_account(scope, id).await.found(|| format!("carrier account {id}"))?;
        let days = waybill_core::account::check_holidays(body.holidays).map_err(Invalid)?;
        let mut uow = self.begin().await?;
        uow.tx.replace_carrier_holidays(scope, id, &days).await?;
        uow.commit(self).await?;
        Ok(days)
    }

    /// [`Engine::account`], with a missing account reported at `/carrier_account_id`.
    pub(crate) async fn named_account(
        &self,
        scope: &Scope,
        id: &CarrierAccountId,
    ) -> Result<(CarrierAccount, AccountSecrets, Arc<dyn Carrier>), EngineError> {
        self.account(scope, id).await.map_err(|e| match e {
            EngineError::NotFound(_) => {
                Invalid::one("/carrier_account_id", format!("no carrier account `{id}` for this key")).into()
            }
            other => other,
        })
    }

    /// The account's opened secrets: from the cache while the account is unchanged since they
    /// were cached (its `updated_at`), else from the store.
    pub(crate) async fn secrets_of(&self, account: &CarrierAccount) -> Result<AccountSecrets, EngineError> {
        let cached = self.inner.accounts.read().unwrap_or_else(|e| e.into_inner()).get(&account.id).cloned();
        if let Some(entry) = cached.filter(|e| e.0 == *account) {
            return Ok(entry.1.clone());
        }
        let secrets = match self.store().account_secrets(&account.scope(), &account.id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => {
                return Err(EngineError::Internal(format!("carrier account {} has no secrets", account.id)));
            }
            Err(e) => return Err(e.into()),
        };
        let entry = Arc::new((account.clone(), secrets.clone()));
        self.inner.accounts.write().unwrap_or_else(|e| e.into_inner()).insert(account.id.clone(), entry);
        Ok(secrets)
    }

    /// What a carrier call needs to act for `account`.
    pub fn call_context<'a>(
        &self,
        account: &'a CarrierAccount,
        secrets: &'a AccountSecrets,
        carrier: &dyn Carrier,
    ) -> Account<'a> {
        Account {
            id: &account.id,
            mode: account.mode,
            base_url: self.base_url(account, carrier),
            credentials: &secrets.credentials,
        }
    }

    /// Where to reach the carrier for this account: its override, else the carrier's host for its mode.
    pub fn base_url<'a>(&self, account: &'a CarrierAccount, carrier: &dyn Carrier) -> &'a str {
        let info = carrier.info();
        account
            .base_url
            .as_deref()
            .or(match account.mode {
                Mode::Test => info.test_base_url,
                Mode::Live => info.live_base_url,
            })
            .unwrap_or_default()
    }

    /// The URL this account's carrier pushes scans to.
    pub fn push_url(&self, account: &CarrierAccount) -> String {
        format!(
            "{}/v1/hooks/carriers/{}/{}",
            self.config().public_url.trim_end_matches('/'),
            account.carrier,
            account.id
        )
    }
}
