//! Bad input: every rejection is problem+json with a pointer per field, and writes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, order_body, warehouse};

fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|x| x["pointer"].as_str().unwrap().to_owned()).collect())
}

async fn rejected(h: &Harness, path: &str, body: Value) -> (StatusCode, Vec<String>, Value) {
    let before = h.counts().await;
    let r = h.http.post(format!("{}{path}", h.api)).bearer_auth(&h.key).json(&body).send().await.unwrap();
    let status = r.status();
    assert_eq!(r.headers()["content-type"], "application/problem+json", "{path}");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], status.as_u16());
    assert_eq!(h.counts().await, before, "[{}] a rejected request wrote something: {problem}", h.backend);
    (status, pointers(&problem), problem)
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type() {
    let h = Harness::start().await;
    let r = h
        .http
        .post(format!("{}/v1/orders", h.api))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .body("{\"external_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("not one valid JSON value"), "{problem}");

    let r = h.http.post(format!("{}/v1/orders", h.api)).bearer_auth(&h.key).body("external_id=1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn order_field_errors_point_at_each_field() {
    let h = Harness::start().await;
    let mut body = order_body("1", json!({"method": "cod", "amount": "0"}));
    body["ship_to"]["country"] = json!("ZZ");
    body["line_items"][0]["quantity"] = json!(0);
    let (status, p, _) = rejected(&h, "/v1/orders", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p, ["/line_items/0/quantity", "/payment/amount", "/ship_to/country"]);

    let mut body = order_body("1", json!({"method": "prepaid"}));
    body["ship_to"]["postal_code"] = json!("ABC");
    body["ship_to"]["phone"] = json!("12");
    let (_, p, _) = rejected(&h, "/v1/orders", body).await;
    assert_eq!(p, ["/ship_to/postal_code", "/ship_to/phone"]);

    let mut body = order_body("1", json!({"method": "prepaid"}));
    body.as_object_mut().unwrap().remove("currency");
    let (_, p, _) = rejected(&h, "/v1/orders", body).await;
    assert_eq!(p, ["/currency"], "a missing field is pointed at");

    let mut body = order_body("1", json!({"method": "prepaid"}));
    body["line_items"][0]["unit_price"] = json!("twelve");
    let (_, p, _) = rejected(&h, "/v1/orders", body).await;
    assert_eq!(p, ["/line_items/0/unit_price"]);
}

#[tokio::test]
async fn duplicate_orders_are_a_conflict() {
    let h = Harness::start().await;
    let first = h.create_order("dup-1", json!({"method": "prepaid"})).await;
    let (status, _, problem) = rejected(&h, "/v1/orders", order_body("dup-1", json!({"method": "prepaid"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains(first["id"].as_str().unwrap()));
}

#[tokio::test]
async fn shipment_field_errors_point_at_each_field() {
    let h = Harness::start().await;
    let mut body = h.booking(None, "delivered");
    body["parcels"][0]["weight"]["value"] = json!(0);
    body["ship_to"]["country"] = json!("TX");
    let (status, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p, ["/ship_to/country", "/parcels/0/weight/value"]);

    let mut body = h.booking(None, "delivered");
    body["parcels"][0]["weight"]["value"] = json!(-2);
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/parcels/0/weight/value"]);

    let mut body = h.booking(None, "delivered");
    body["carrier_account_id"] = json!("car_01jd3xk8w3v6a8g0n6r1c5e2qz");
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/carrier_account_id"], "unknown carrier account");

    let mut body = h.booking(None, "delivered");
    body["service"] = json!("teleport");
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/service"]);

    let mut body = h.booking(None, "teleported");
    body["ship_from"] = warehouse();
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/options/simulate"]);

    let mut body = h.booking(None, "delivered");
    body["options"]["label_format"] = json!("epl2");
    let (_, p, problem) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/options/label_format"]);
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("use pdf, zpl or png"), "{problem}");

    let mut body = h.booking(None, "delivered");
    body.as_object_mut().unwrap().remove("ship_to");
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/ship_to"]);

    let mut body = h.booking(None, "delivered");
    body["parcels"][0]["weight"]["unit"] = json!("stone");
    let (_, p, _) = rejected(&h, "/v1/shipments", body).await;
    assert_eq!(p, ["/parcels/0/weight/unit"]);
}

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let h = Harness::start().await;
    let order = h.create_order("mine", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order["id"].as_str().unwrap()), "delivered")).await;
    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, waybill_core::Mode::Test).await.unwrap();

    for path in [
        format!("/v1/orders/{}", order["id"].as_str().unwrap()),
        format!("/v1/shipments/{}", shipment["id"].as_str().unwrap()),
        format!("/v1/shipments/{}/label?format=pdf", shipment["id"].as_str().unwrap()),
        format!("/v1/trackers/{}", shipment["tracking_number"].as_str().unwrap()),
    ] {
        let (status, problem) = h.get_as(&path, &other_key).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    let (_, list) = h.get_as("/v1/orders", &other_key).await;
    assert_eq!(list["data"], json!([]));
    // Booking against another tenant's order or carrier account finds neither.
    let (status, _) = h
        .post_with("/v1/shipments", &h.booking(Some(order["id"].as_str().unwrap()), "delivered"), &other_key, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = h.post_with("/v1/shipments", &h.booking(None, "delivered"), &other_key, None).await;
    assert_eq!(
        (status, pointers(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["/carrier_account_id".to_owned()])
    );
}

#[tokio::test]
async fn requests_need_a_valid_key() {
    let h = Harness::start().await;
    let r = h.http.get(format!("{}/v1/orders", h.api)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = h.get_as("/v1/orders", "wb_test_notakey").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn carrier_accounts_check_credentials_and_never_show_them() {
    let h = Harness::start().await;
    let (status, _, problem) = rejected(
        &h,
        "/v1/carrier-accounts",
        json!({"carrier": "sandbox", "mode": "test", "credentials": {"api_key": 3, "x": "y"}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/credentials/api_key", "/credentials/x", "/base_url"]);
    let (_, _, problem) =
        rejected(&h, "/v1/carrier-accounts", json!({"carrier": "pigeon", "mode": "test", "credentials": {}})).await;
    assert_eq!(pointers(&problem), ["/carrier"]);

    let body = json!({"carrier": "sandbox", "mode": "test", "base_url": h.sim_url, "credentials": {"api_key": "s3cret-value"}});
    let (status, account) = h.post("/v1/carrier-accounts", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = h.get("/v1/carrier-accounts").await;
    assert!(!list.to_string().contains("s3cret-value") && !account.to_string().contains("s3cret-value"));
    let push_url = format!("{}/v1/hooks/carriers/sandbox/{}", h.api, account["id"].as_str().unwrap());
    assert_eq!(account["push_url"], push_url.as_str());
    assert_eq!(account["push_secret"].as_str().map(str::len), Some(40), "the push secret is shown once, on creation");
    let listed = list["data"].as_array().unwrap().iter().find(|a| a["id"] == account["id"]).unwrap();
    assert_eq!(listed["push_url"], push_url.as_str());
    assert!(listed.get("push_secret").is_none(), "never shown again: {listed}");
    assert_eq!(list["data"].as_array().unwrap().len(), 2);

    let (status, carriers) = h.get("/v1/carriers").await;
    assert_eq!(status, StatusCode::OK);
    let sandbox =
        carriers["data"].as_array().unwrap().iter().find(|c| c["slug"] == "sandbox").expect("sandbox is listed");
    assert_eq!(sandbox["credentials"]["fields"][0]["name"], "api_key");
    let slugs: Vec<_> = carriers["data"].as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert!(slugs.contains(&"ups") && slugs.contains(&"fedex"), "{slugs:?}");
}

#[tokio::test]
async fn lists_page_by_key() {
    let h = Harness::start().await;
    for i in 0..7 {
        h.create_order(&format!("page-{i}"), json!({"method": "prepaid"})).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let (_, page) = h.get(&format!("/v1/orders?limit=3&after={after}")).await;
        seen.extend(page["data"].as_array().unwrap().iter().map(|o| o["external_id"].as_str().unwrap().to_owned()));
        match page["next_after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("page-{i}")).collect::<Vec<_>>());
    let (status, problem) = h.get("/v1/orders?limit=1000").await;
    assert_eq!((status, pointers(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["/query/limit".to_owned()]));
}
