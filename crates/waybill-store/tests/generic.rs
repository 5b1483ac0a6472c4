//! Generic (no-API) carrier accounts hand out tracking numbers from a range: each number once,
//! in order, even to concurrent bookings, and none past the end of the range.

mod common;

use std::collections::HashSet;

use common::*;
use waybill_core::Scope;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_number_of_a_range_is_taken_once() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let mut new = new_account(&a, "cred");
        new.account.carrier = "generic".to_owned();
        new.account.settings = Some(serde_json::json!({ "name": "Local Courier" }));
        new.next_number = Some(500);
        let account = insert_account(l, &store, &new).await;
        assert_eq!(store.carrier_account(&a, &account.id).await.must(l), account, "[{l}] settings read back");

        assert_eq!(store.take_tracking_number(&a, &account.id, 599).await.must(l), Some(500), "[{l}] the first");
        assert_eq!(store.take_tracking_number(&a, &account.id, 599).await.must(l), Some(501), "[{l}] the next");

        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (store, a, id, label) = (store.clone(), a.clone(), account.id.clone(), label.clone());
            tasks.push(tokio::spawn(async move {
                let mut taken = Vec::new();
                while let Some(n) = store.take_tracking_number(&a, &id, 599).await.must(&label) {
                    taken.push(n);
                }
                taken
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("taker task"));
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "[{l}] a number was handed out twice");
        all.sort();
        assert_eq!(all, (502..=599).collect::<Vec<_>>(), "[{l}] every number up to the end, once");
        assert_eq!(store.take_tracking_number(&a, &account.id, 599).await.must(l), None, "[{l}] the range is used up");
        assert_eq!(store.take_tracking_number(&a, &account.id, 600).await.must(l), Some(600), "[{l}] a longer range");

        let plain = create_account(l, &store, &a, "cred-2").await;
        assert_eq!(store.take_tracking_number(&a, &plain.id, 599).await.must(l), None, "[{l}] no range, no numbers");
    }
}
