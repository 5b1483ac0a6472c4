//! `POST /v1/orders/import`: a CSV file of orders, each all or nothing, every problem by row
//! and column, a repeated file adding nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::Harness;

const HEADER: &str = "external_id,channel,currency,payment,cod_amount,locale,ship_to_name,ship_to_company,ship_to_phone,ship_to_email,ship_to_street1,ship_to_street2,ship_to_city,ship_to_state,ship_to_postal_code,ship_to_country,sku,item_name,quantity,unit_price";

async fn upload(h: &Harness, body: String, content_type: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/v1/orders/import", h.api))
        .bearer_auth(&h.key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn good_orders_come_in_and_each_bad_row_is_told_by_row_and_column() {
    let h = Harness::start().await;
    let file = [
        HEADER,
        "1001,shop,TRY,cod,749.90,tr,Şükrü Çağlayan,,+90 532 123 45 67,sukru@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,TSHIRT-M,Tişört,2,249.95",
        "1001,shop,TRY,cod,749.90,tr,Şükrü Çağlayan,,+90 532 123 45 67,sukru@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,CAP,Şapka,1,250.00",
        "1002,shop,TRY,prepaid,,,Ayşe,,,,Atatürk Cd. 1,,Ankara,,0610,TR,MUG,,1,99",
        "1003,shop,XXX,prepaid,,,Ali,,,,Moda Cd. 3,,İstanbul,,34710,TR,MUG,,1,99",
    ]
    .join("\n");
    let (status, report) = upload(&h, file.clone(), "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 1, "{report}");
    let problems: Vec<(u64, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(problems, [(4, "ship_to_postal_code"), (5, "currency")], "{report}");
    let (_, orders) = h.get("/v1/orders").await;
    let imported: Vec<_> = orders["data"].as_array().unwrap().iter().filter(|o| o["channel"] == "shop").collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0]["line_items"].as_array().unwrap().len(), 2);

    // The same file again: the imported order is a duplicate, told at its first row.
    let (_, again) = upload(&h, file, "text/csv").await;
    assert_eq!(again["imported"], 0);
    assert!(
        again["problems"].as_array().unwrap().iter().any(|p| p["row"] == 2 && p["column"] == "external_id"),
        "{again}"
    );

    let (status, wrong) = upload(&h, "external_id,price\n1,2".into(), "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong["errors"].as_array().unwrap().iter().any(|e| e["pointer"] == "/rows/1/price"), "{wrong}");
    let (status, _) = upload(&h, HEADER.into(), "application/json").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
