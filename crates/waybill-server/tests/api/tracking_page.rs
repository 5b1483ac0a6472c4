//! The public tracking page over real HTTP: the journey for anyone with the number, the
//! recipient's details only after a proof, tenant URLs that reveal nothing about other
//! tenants, and the branding set through `PUT /v1/branding` with its stored logo.

use std::time::Duration;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::Mode;

use crate::common::Harness;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// Books a shipment for an order going to İstanbul (postcode 34710, phone ending 4567) and
/// returns its tracking number once its booking is done (and, with `status`, once it got there).
async fn booked_number(h: &Harness, external_id: &str, scenario: &str, status: Option<&str>) -> String {
    let order = h.create_order(external_id, json!({"method": "prepaid"})).await;
    let (code, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), scenario)).await;
    assert_eq!(code, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    let id = shipment["id"].as_str().unwrap();
    let shipment = match status {
        Some(status) => h.wait_for_status(id, status, Duration::from_secs(30)).await,
        None => h.wait_for_booking(id, "booked", Duration::from_secs(30)).await,
    };
    shipment["tracking_number"].as_str().unwrap().to_owned()
}

async fn page(h: &Harness, path: &str) -> (StatusCode, String) {
    let r = h.http.get(format!("{}{path}", h.api)).send().await.unwrap();
    let status = r.status();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "[{}] {path}: {content_type}", h.backend);
    // The templates escape `/` in attributes; the assertions read URLs plainly.
    (status, r.text().await.unwrap().replace("&#x2f;", "/"))
}

async fn prove(h: &Harness, path: &str, proof: &str) -> (StatusCode, String) {
    let r = h.http.post(format!("{}{path}", h.api)).form(&[("proof", proof)]).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn put_branding(h: &Harness, key: &str, body: &Value) -> (StatusCode, Value) {
    let r = h.http.put(format!("{}/v1/branding", h.api)).bearer_auth(key).json(body).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

fn pointers(problem: &Value) -> Vec<&str> {
    let mut out: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    out.sort_unstable();
    out
}

#[tokio::test]
async fn the_page_shows_the_journey_and_the_recipient_only_after_proof() {
    let h = Harness::start().await;
    let number = booked_number(&h, "TP-1", "delivered", Some("delivered")).await;
    let (_, branding) = h.get("/v1/branding").await;
    let slug = branding["slug"].as_str().unwrap().to_owned();
    assert_eq!(branding["store_name"], "test");
    assert!(slug.starts_with("ten-"), "{branding}");

    let (status, body) = page(&h, &format!("/t/{number}")).await;
    assert_eq!(status, StatusCode::OK, "[{}] {body}", h.backend);
    assert!(body.contains("Delivered") && body.contains(&number), "[{}] {body}", h.backend);
    assert!(body.contains("Sandbox"), "the carrier is named");
    assert!(!body.contains("Şükrü") && !body.contains("Bağdat") && !body.contains("Tişört"));

    let (status, body) = prove(&h, &format!("/t/{number}"), "34 710").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Şükrü Çağlayan") && body.contains("Bağdat Caddesi No: 12") && body.contains("Tişört"));
    let (_, body) = prove(&h, &format!("/t/{number}"), "4567").await;
    assert!(body.contains("Şükrü Çağlayan"), "the last four digits of the phone prove it too");

    let (status, body) = prove(&h, &format!("/t/{number}"), "99999").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("This does not match this shipment"));
    assert!(!body.contains("Şükrü") && !body.contains("Bağdat"));

    let (status, body) = page(&h, &format!("/t/{slug}/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Delivered"));

    let (status, body) = page(&h, &format!("/t/{number}?lang=tr")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("lang=\"tr\"") && body.contains("Teslim edildi") && body.contains("Kargo hareketleri"));
    assert!(!body.contains("On its way"), "no English page words remain: [{}] {body}", h.backend);
}

#[tokio::test]
async fn branding_is_checked_saved_and_shown_without_revealing_other_tenants() {
    let h = Harness::start().await;
    let number = booked_number(&h, "TP-2", "delivered", None).await;

    let svg = BASE64_STANDARD.encode("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
    let bad = json!({
        "slug": "Acme Store", "store_name": "Acme", "primary_color": "blue", "logo": svg,
        "links": [{"label": "Returns", "url": "http://acme.example/returns"}],
    });
    let (status, problem) = put_branding(&h, &h.key, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {problem}", h.backend);
    assert_eq!(pointers(&problem), ["/links/0/url", "/primary_color", "/slug"]);
    let svg_only = json!({"slug": "acme-store", "store_name": "Acme", "logo": svg});
    let (status, problem) = put_branding(&h, &h.key, &svg_only).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/logo"]);
    assert!(problem.to_string().contains("PNG or JPEG"), "{problem}");
    let (_, unchanged) = h.get("/v1/branding").await;
    assert_eq!(unchanged["updated_at"], Value::Null, "nothing was saved: {unchanged}");
    assert_eq!(unchanged["store_name"], "test");

    let good = json!({
        "slug": "acme-store", "store_name": "Acme Store", "primary_color": "#0b3d2e", "accent_color": "#f59e0b",
        "support_email": "help@acme.example", "links": [{"label": "Returns", "url": "https://acme.example/returns"}],
        "logo": BASE64_STANDARD.encode(PNG),
    });
    let (status, saved) = put_branding(&h, &h.key, &good).await;
    assert_eq!(status, StatusCode::OK, "[{}] {saved}", h.backend);
    assert_eq!(saved["logo_path"], "/t/assets/acme-store/logo");
    let (_, live_view) = h.get_as("/v1/branding", &h.live_key).await;
    assert_eq!(live_view["slug"], "acme-store", "both modes share the branding");

    let r = h.http.get(format!("{}/t/assets/acme-store/logo", h.api)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);

    let (status, body) = page(&h, &format!("/t/acme-store/{number}")).await;
    assert_eq!(status, StatusCode::OK, "[{}] {body}", h.backend);
    assert!(body.contains("Acme Store") && body.contains("/t/assets/acme-store/logo") && body.contains("#0b3d2e"));
    assert!(body.contains("https://acme.example/returns") && body.contains("help@acme.example"));
    let (_, saved_again) = put_branding(&h, &h.key, &json!({"slug": "acme-store", "store_name": "Acme Store"})).await;
    assert_eq!(saved_again["logo_path"], "/t/assets/acme-store/logo", "the logo stays unless replaced or removed");

    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, Mode::Test).await.unwrap();
    let (status, problem) = put_branding(&h, &other_key, &json!({"slug": "acme-store", "store_name": "Other"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/slug"]);
    let (status, _) = put_branding(&h, &other_key, &json!({"slug": "other-shop", "store_name": "Other"})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, theirs) = page(&h, &format!("/t/other-shop/{number}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, unknown) = page(&h, "/t/other-shop/NO0SUCH0NUMBER").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(theirs, unknown, "another tenant's number looks exactly like an unknown one");
    assert!(!theirs.contains(&number) && !theirs.contains("Acme"));
    let (status, _) = page(&h, &format!("/t/no-such-store/{number}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
