//! Secrets at rest: API keys (handed out once, stored only as a digest, mapped back to their
//! tenant and mode) and carrier-account credentials (sealed in the database, opened only with
//! the master key they were sealed under).

mod common;

use common::*;
use waybill_core::ids::TenantId;
use waybill_core::{Mode, Scope};
use waybill_store::{Sealer, StoreError};

#[tokio::test]
async fn api_keys_authenticate_their_tenant_and_mode_and_are_stored_only_as_digests() {
    for (label, store, guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let b = store.create_tenant("bolt").await.must(l).id;

        let a_test = store.create_api_key(&a, Mode::Test).await.must(l);
        let a_live = store.create_api_key(&a, Mode::Live).await.must(l);
        let b_test = store.create_api_key(&b, Mode::Test).await.must(l);
        assert!(a_test.starts_with("wb_test_"), "[{l}] test key prefix: {a_test}");
        assert!(a_live.starts_with("wb_live_"), "[{l}] live key prefix: {a_live}");
        assert!(b_test.starts_with("wb_test_"), "[{l}] test key prefix: {b_test}");
        for key in [&a_test, &a_live, &b_test] {
            let random = key.rsplit('_').next().unwrap();
            assert!(random.len() >= 24, "[{l}] key {key} carries enough randomness");
        }
        assert!(a_test != a_live && a_test != b_test && a_live != b_test, "[{l}] keys are distinct");

        for (key, tenant, mode) in [(&a_test, &a, Mode::Test), (&a_live, &a, Mode::Live), (&b_test, &b, Mode::Test)] {
            assert_eq!(
                store.authenticate(key).await.must(l),
                Some(Scope::new(tenant.clone(), mode)),
                "[{l}] {key} authenticates"
            );
        }

        let mut altered = a_test.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'x' { 'y' } else { 'x' });
        for wrong in [altered.as_str(), "wb_test_nope", "", &a_test[..a_test.len() - 1], &format!("{a_test} ")] {
            assert_eq!(store.authenticate(wrong).await.must(l), None, "[{l}] {wrong:?} must not authenticate");
        }

        let unknown = TenantId::generate();
        assert!(
            matches!(store.create_api_key(&unknown, Mode::Test).await, Err(StoreError::NotFound)),
            "[{l}] a key for a tenant that does not exist"
        );

        let cells = table_text(&guard.url, "api_keys").await;
        assert!(cells.len() >= 3 * 4, "[{l}] the api_keys table was read: {cells:?}");
        for key in [&a_test, &a_live, &b_test] {
            let random = key.rsplit('_').next().unwrap();
            for cell in &cells {
                assert!(!cell.contains(key.as_str()), "[{l}] api_keys holds the key {key} in the clear: {cell}");
                assert!(!cell.contains(random), "[{l}] api_keys holds the secret part of {key}: {cell}");
            }
        }
    }
}

#[tokio::test]
async fn carrier_credentials_are_sealed_and_open_only_with_their_key() {
    for (label, store, guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let credential = format!("cred-{:016x}", rand::random::<u64>());
        let account = create_account(l, &store, &a, &credential).await;
        assert_eq!(account.carrier, "sandbox", "[{l}] carrier");
        assert_eq!(account.mode, Mode::Live, "[{l}] mode");
        assert_eq!(account.tenant_id, a.tenant, "[{l}] tenant");
        assert_eq!(store.carrier_account(&a, &account.id).await.must(l), account, "[{l}] account reads back");

        let cells = table_text(&guard.url, "carrier_accounts").await;
        assert!(cells.iter().any(|c| c == account.id.as_str()), "[{l}] the carrier_accounts table was read");
        for cell in &cells {
            assert!(!cell.contains(&credential), "[{l}] credential stored in the clear: {cell}");
            assert!(!cell.contains("C-42"), "[{l}] credential field stored in the clear: {cell}");
        }

        assert_eq!(store.account_secrets(&a, &account.id).await.must(l), secrets(&credential), "[{l}] secrets open");
        // A push names its account by id alone; its secrets then open in the account's scope.
        let pushed = store.carrier_account_for_push(&account.id).await.must(l);
        assert_eq!(pushed, account, "[{l}] account for push");
        assert_eq!(
            store.account_secrets(&pushed.scope(), &pushed.id).await.must(l),
            secrets(&credential),
            "[{l}] secrets for push"
        );
        let unknown = waybill_core::ids::CarrierAccountId::generate();
        assert!(
            matches!(store.carrier_account_for_push(&unknown).await, Err(StoreError::NotFound)),
            "[{l}] a push for an unknown account"
        );

        // The same database under another master key: the metadata reads, the secrets do not.
        let other = guard.reopen(&Sealer::generate_key()).await.must(l);
        assert_eq!(other.carrier_account(&a, &account.id).await.must(l), account, "[{l}] metadata needs no key");
        assert_eq!(other.carrier_account_for_push(&account.id).await.must(l), account, "[{l}] nor for a push");
        let opened = other.account_secrets(&a, &account.id).await;
        assert!(matches!(opened, Err(StoreError::Seal(_))), "[{l}] wrong key opens secrets: {opened:?}");
        other.close().await;

        // And under the right key again, from a fresh store.
        let same = guard.reopen(&guard.key).await.must(l);
        assert_eq!(same.account_secrets(&a, &account.id).await.must(l), secrets(&credential), "[{l}] reopened");
        same.close().await;
    }
}
