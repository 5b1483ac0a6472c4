//! The whole flow over real HTTP: order → booking with the sandbox carrier (the simulator) →
//! labels in three formats → scans pushed and pulled → delivered → order closed. Runs on
//! SQLite, or on PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set.

use std::time::Duration;

use crate::common::{self, Harness};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn statuses(shipment: &Value) -> Vec<String> {
    shipment["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_owned()).collect()
}

/// Reads one kind of barcode out of a PNG label.
fn decode_png(png: &[u8], format: rxing::BarcodeFormat) -> String {
    let image = image::load_from_memory(png).unwrap().into_luma8();
    let (w, h) = image.dimensions();
    rxing::helpers::detect_in_luma(image.into_raw(), w, h, Some(format))
        .unwrap_or_else(|e| panic!("no {format:?} in the label: {e:?}"))
        .getText()
        .to_owned()
}

#[tokio::test]
async fn order_to_delivered_with_labels() {
    let h = Harness::start().await;
    let order = h.create_order("1001", json!({"method": "cod", "amount": "499.90"})).await;
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(order["status"], "open");

    let (status, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    assert_eq!(shipment["booking_state"], "booked");
    assert_eq!(shipment["status"], "info_received");
    assert_eq!(shipment["cod"], json!({"amount": "499.90", "currency": "TRY"}), "COD comes from the order");
    assert_eq!(shipment["reference"], "1001");
    assert_eq!(
        shipment["parcels"][0],
        json!({"weight_g": 1250, "dimensions_mm": {"length": 300, "width": 200, "height": 100}})
    );
    assert!(shipment["charge"]["amount"].as_str().is_some());
    let id = shipment["id"].as_str().unwrap();
    let tracking_number = shipment["tracking_number"].as_str().unwrap();
    assert!(tracking_number.starts_with("SIM"));
    let (_, order) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert!(["shipped", "in_transit"].contains(&order["status"].as_str().unwrap()), "{order}");
    // The sandbox subscribed its pushes with the booking: only the first poll is queued.
    let queued: Vec<_> =
        h.store.queued_jobs().await.unwrap().into_iter().filter(|(k, _)| k == "track" || k == "subscribe").collect();
    assert_eq!(queued, [("track".to_owned(), 1)], "no separate subscribe job");

    // PDF: parses, one 4×6 in page.
    let (status, ct, pdf) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let doc = lopdf::Document::load_mem(&pdf).expect("the PDF label parses");
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 1);
    let page = doc.get_object(*pages.values().next().unwrap()).unwrap().as_dict().unwrap();
    let media_box: Vec<f32> =
        page.get(b"MediaBox").unwrap().as_array().unwrap().iter().map(|n| n.as_float().unwrap()).collect();
    assert_eq!(media_box, vec![0.0, 0.0, 288.0, 432.0], "4×6 inches in points");
    // The same bytes on every fetch: a label never changes once printed.
    assert_eq!(h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await.2, pdf);

    // PNG: the barcodes decode to the tracking number and the routing data.
    let (status, ct, png) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=png")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(decode_png(&png, rxing::BarcodeFormat::CODE_128), tracking_number);
    let qr = decode_png(&png, rxing::BarcodeFormat::QR_CODE);
    assert!(qr.starts_with(&format!("WB1|{tracking_number}|")), "{qr}");
    assert!(qr.contains(shipment["routing"]["sort_code"].as_str().unwrap()), "{qr}");

    // ZPL: UTF-8, the barcode command carries the tracking number, COD printed.
    let (status, _, zpl) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=zpl")).await;
    assert_eq!(status, StatusCode::OK);
    let zpl = String::from_utf8(zpl).unwrap();
    assert!(zpl.starts_with("^XA") && zpl.contains("^CI28") && zpl.trim_end().ends_with("^XZ"));
    assert!(zpl.contains(tracking_number) && zpl.contains("^BC") && zpl.contains("499.90"));

    let (status, problem) = h.get(&format!("/v1/shipments/{id}/label?format=gif")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/query/format");

    let delivered = h.wait_for_status(id, "delivered", Duration::from_secs(30)).await;
    assert_eq!(
        statuses(&delivered),
        ["info_received", "picked_up", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    );
    let times: Vec<_> = delivered["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "history is in carrier-time order");
    assert!(delivered["events"][0]["occurred_at"].as_str().unwrap().ends_with("+03:00"), "carrier offset is kept");
    h.wait_for_order(order_id, "closed", Duration::from_secs(10)).await;

    let (_, tracker) = h.get(&format!("/v1/trackers/{tracking_number}")).await;
    assert_eq!(tracker["status"], "delivered");
    assert_eq!(tracker["shipment_id"], id);
    assert_eq!(tracker["events"].as_array().unwrap().len(), 6, "push and pull together record each scan once");
}

#[tokio::test]
async fn failed_delivery_then_delivered_records_the_ndr_reason() {
    let h = Harness::start().await;
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "ndr_then_delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    let done = h.wait_for_status(id, "delivered", Duration::from_secs(40)).await;
    assert_eq!(
        statuses(&done),
        [
            "info_received",
            "picked_up",
            "in_transit",
            "in_transit",
            "out_for_delivery",
            "delivery_failed",
            "out_for_delivery",
            "delivered"
        ]
    );
    let failed = done["events"].as_array().unwrap().iter().find(|e| e["status"] == "delivery_failed").unwrap();
    assert_eq!(
        (failed["carrier_code"].as_str(), failed["ndr_reason"].as_str()),
        (Some("UD"), Some("customer_unavailable"))
    );
    assert_eq!(done["ndr_reason"], "customer_unavailable");
}

#[tokio::test]
async fn undeliverable_parcels_return_to_origin_and_the_order_is_returned() {
    let h = Harness::start().await;
    let order = h.create_order("2001", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "rto")).await;
    let done = h.wait_for_status(shipment["id"].as_str().unwrap(), "returned", Duration::from_secs(60)).await;
    assert!(statuses(&done).contains(&"return_to_origin".to_owned()));
    h.wait_for_order(order_id, "returned", Duration::from_secs(10)).await;
}

#[tokio::test]
async fn cancel_before_pickup_voids_the_booking_and_reopens_the_order() {
    // A slow clock: the parcel is not picked up while the test runs.
    let h = Harness::with(common::Options { day_seconds: 3600.0, ..Default::default() }).await;
    let order = h.create_order("3001", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    let id = shipment["id"].as_str().unwrap();

    let (status, cancelled) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(statuses(&cancelled).last().map(String::as_str), Some("cancelled"));
    let (_, order) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "open", "a cancelled booking hands the order back");
    let (status, again) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("cancelled")), "cancelling twice is harmless");

    // The order can be booked again.
    let (status, rebooked) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{rebooked}");
}

#[tokio::test]
async fn cancel_after_pickup_is_refused_with_the_carriers_reason() {
    let h = Harness::with(common::Options { day_seconds: 2.0, ..Default::default() }).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let id = shipment["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{id}")).await.1["status"] == "info_received" {
        assert!(std::time::Instant::now() < deadline, "never picked up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, problem) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (_, after) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_ne!(after["status"], "cancelled");
}

#[tokio::test]
async fn a_label_format_named_at_booking_is_stored_with_the_booking() {
    let h = Harness::start().await;
    let mut body = h.booking(None, "delivered");
    body["options"]["label_format"] = json!("ZPL");
    let (status, shipment) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    let id = shipment["id"].as_str().unwrap();
    let tracking_number = shipment["tracking_number"].as_str().unwrap();

    // Kept before anyone asked for it; the other formats are not rendered yet.
    let shipment_id = waybill_core::ids::ShipmentId::parse(id).unwrap();
    let stored = h.store.document(&h.scope, &shipment_id, "zpl").await.unwrap().expect("stored with the booking");
    let zpl = String::from_utf8(stored.clone()).unwrap();
    assert!(zpl.starts_with("^XA") && zpl.contains(tracking_number) && zpl.contains("^BC"), "{zpl}");
    assert!(zpl.contains(shipment["routing"]["sort_code"].as_str().unwrap()), "routing is on the label");
    assert_eq!(h.store.document(&h.scope, &shipment_id, "pdf").await.unwrap(), None);

    let (status, ct, served) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=zpl")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/zpl"));
    assert_eq!(served, stored, "the label served is the one booked");
    let (status, _, pdf) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"), "other formats still render on first fetch");
}
