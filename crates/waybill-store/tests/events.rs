//! Stored events: written in the transaction of their change (and gone with it), read back as
//! written with their scope, and listed per subject oldest first.

mod common;

use common::*;
use waybill_core::ids::EventId;
use waybill_core::{Event, OrderStatus, Scope};
use waybill_store::{NewEvent, StoreError, now_ms};

#[tokio::test]
async fn events_are_written_with_their_change_and_read_back_per_subject() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let first = order(&a, "shopify", "1001");
        let other = create_order(l, &store, &a, "shopify", "1002").await;

        // The event of a change that is dropped is dropped with it.
        let created = order_created(&first);
        let mut tx = store.begin().await.must(l);
        tx.insert_order(&first).await.must(l);
        tx.insert_event(&created).await.must(l);
        drop(tx);
        assert!(matches!(store.event(&a, &created.id).await, Err(StoreError::NotFound)), "[{l}] dropped");

        let before = now_ms();
        let mut tx = store.begin().await.must(l);
        tx.insert_order(&first).await.must(l);
        tx.insert_event(&created).await.must(l);
        tx.commit().await.must(l);
        let moved = waybill_core::Order { status: OrderStatus::Shipped, ..first.clone() };
        let changed = NewEvent {
            id: EventId::generate(),
            scope: a.clone(),
            event: Event::OrderStatusChanged { order: moved, from: OrderStatus::Open },
        };
        insert_event(l, &store, &changed).await;
        let unrelated = order_created(&other);
        insert_event(l, &store, &unrelated).await;

        let stored = store.event(&a, &created.id).await.must(l);
        assert_eq!((&stored.id, &stored.scope, &stored.event), (&created.id, &a, &created.event), "[{l}] as written");
        assert!(stored.created_at >= before && stored.created_at <= now_ms(), "[{l}] stamped when written");
        let about = store.events_about(&a, first.id.as_str()).await.must(l);
        assert_eq!(
            about.iter().map(|e| (&e.id, &e.event)).collect::<Vec<_>>(),
            vec![(&created.id, &created.event), (&changed.id, &changed.event)],
            "[{l}] the order's events, oldest first, and only its own"
        );
        assert_eq!(about[1].event.kind(), "order.status_changed", "[{l}] kind");
        assert_eq!(store.events_about(&a, other.id.as_str()).await.must(l).len(), 1, "[{l}] the other order's");
    }
}
