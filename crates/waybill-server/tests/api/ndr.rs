//! Failed deliveries through the running server and the simulator: a case opens at the failed
//! scan, the merchant (or the tenant's deadline) decides, the carrier is told once (later, when
//! it is down), and the case ends with the parcel's journey.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, Options};

/// A simulated day of two seconds: the `ndr` scenario fails 3.6 s after booking and the
/// simulator waits 6 s for an instruction before it returns the parcel by itself.
fn slow_days() -> Options {
    Options { day_seconds: 2.0, ..Options::default() }
}

async fn book(h: &Harness, scenario: &str) -> String {
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, scenario)).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    shipment["id"].as_str().unwrap().to_owned()
}

/// Polls the shipment's NDR case until `done` holds for it.
async fn case_until(h: &Harness, shipment: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, list) = h.get(&format!("/v1/ndr?shipment_id={shipment}")).await;
        assert_eq!(status, StatusCode::OK, "[{}] {list}", h.backend);
        if let Some(case) = list["data"].as_array().unwrap().first()
            && done(case)
        {
            return case.clone();
        }
        assert!(Instant::now() < deadline, "[{}] the case never {what}: {list}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn event_types(h: &Harness, case_id: &str) -> Vec<String> {
    let events = h.store.events_about(&h.scope, case_id).await.unwrap();
    events.into_iter().map(|e| e.event.kind().to_owned()).collect()
}

#[tokio::test]
async fn the_merchant_asks_for_a_reattempt_and_the_case_closes_delivered() {
    let h = Harness::with(slow_days()).await;
    let shipment = book(&h, "ndr").await;
    let case = case_until(&h, &shipment, "opened", |c| c["state"] == "awaiting_action").await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ndr_"), "{case}");
    assert_eq!(case["reason"], "customer_unavailable");
    assert_eq!(case["carrier"], "sandbox");
    assert_eq!(case["allowed_actions"], json!(["reattempt", "reschedule", "update_and_reattempt", "rto"]));
    let attempts = case["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["number"], 1);
    assert_eq!(attempts[0]["remark"], "Delivery attempt failed: consignee not available");
    assert!(attempts[0]["action"].is_null());
    assert!(case["deadline_at"].is_string(), "a default window of 24 h: {case}");

    let (status, by_id) = h.get(&format!("/v1/ndr/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id, case);
    let (status, waiting) = h.get("/v1/ndr?state=awaiting_action,action_requested").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(waiting["data"][0]["id"], id.as_str());
    let (status, none) = h.get("/v1/ndr?state=delivered").await;
    assert_eq!((status, none["data"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let (status, problem) = h.get("/v1/ndr?state=awaiting_action,lost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/query/state");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("`lost` is not a state"), "{problem}");

    // Wrong actions change nothing and say where they are wrong.
    let path = format!("/v1/ndr/{id}/actions");
    for (body, pointer) in [
        (json!({"action": "reschedule", "date": "2020-01-01"}), "/date"),
        (json!({"action": "update_and_reattempt", "landmark": "  "}), "/action"),
        (json!({"action": "update_and_reattempt", "phone": "9".repeat(201)}), "/phone"),
    ] {
        let (status, problem) = h.post(&path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {body}: {problem}", h.backend);
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {problem}");
    }
    for body in [json!({"action": "teleport"}), json!({"action": "rto", "date": "2030-01-01"}), json!([])] {
        let (status, problem) = h.post(&path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
    }
    let (status, _) = h.post("/v1/ndr/ndr_01JZZZZZZZZZZZZZZZZZZZZZZZ/actions", &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.post_with(&path, &json!({"action": "rto"}), &h.live_key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a live key does not see a test case");
    assert_eq!(h.get(&format!("/v1/ndr/{id}")).await.1, case, "nothing changed");

    let (status, disputed) =
        h.post(&format!("/v1/ndr/{id}/dispute"), &json!({"statement": "I was home all afternoon."})).await;
    assert_eq!(status, StatusCode::OK, "{disputed}");
    assert_eq!(disputed["attempts"][0]["disputed"], "I was home all afternoon.");

    let (status, asked) = h.post(&path, &json!({"action": "reattempt"})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {asked}", h.backend);
    assert_eq!(asked["state"], "action_requested");
    assert_eq!(asked["allowed_actions"], json!([]));
    assert_eq!(asked["attempts"][0]["action"]["action"], "reattempt");
    assert_eq!(asked["attempts"][0]["action"]["requested_by"], "merchant");
    let (status, again) = h.post(&path, &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "one action per attempt: {again}");

    let sent =
        case_until(&h, &shipment, "told the carrier", |c| c["attempts"][0]["action"]["carrier_state"] == "sent").await;
    assert!(sent["attempts"][0]["action"]["carrier_at"].is_string());
    h.wait_for_status(&shipment, "delivered", Duration::from_secs(30)).await;
    let closed = case_until(&h, &shipment, "closed", |c| c["state"] == "delivered").await;
    assert!(closed["closed_at"].is_string());
    let (status, refused) = h.post(&path, &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a closed case takes nothing: {refused}");
    assert_eq!(event_types(&h, &id).await, ["ndr.opened", "ndr.action_requested", "ndr.closed"]);
}

#[tokio::test]
async fn with_no_answer_the_deadline_takes_the_default_once_even_while_the_carrier_is_down() {
    // Slower still: the instruction's retries must land before the simulator's own hold ends.
    let h = Harness::with(Options { day_seconds: 3.0, ..Options::default() }).await;
    for (body, pointer) in [
        (json!({"window_minutes": 10081}), "/window_minutes"),
        (json!({"default_action": "reschedule"}), "/default_action"),
    ] {
        let (status, problem) = h.put("/v1/ndr-settings", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer);
    }
    assert_eq!(h.get("/v1/ndr-settings").await.1, json!({"window_minutes": 1440, "default_action": "reattempt"}));
    let (status, settings) = h.put("/v1/ndr-settings", &json!({"window_minutes": 0})).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings, json!({"window_minutes": 0, "default_action": "reattempt"}));

    let shipment = book(&h, "ndr").await;
    // The carrier's API is down when the default is sent (its pushes still come): the
    // instruction waits and goes once it is back.
    h.sim.set_faults(waybill_sim::Faults { error_rate: 1.0, ..Default::default() });
    let taken = case_until(&h, &shipment, "took the default", |c| c["state"] == "action_requested").await;
    assert_eq!(taken["attempts"][0]["action"]["action"], "reattempt");
    assert_eq!(taken["attempts"][0]["action"]["requested_by"], "deadline");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, waiting) = h.get(&format!("/v1/ndr/{}", taken["id"].as_str().unwrap())).await;
    assert!(waiting["attempts"][0]["action"]["carrier_state"].is_null(), "not told yet: {waiting}");
    h.sim.set_faults(waybill_sim::Faults::default());

    let sent =
        case_until(&h, &shipment, "told the carrier", |c| c["attempts"][0]["action"]["carrier_state"] == "sent").await;
    assert_eq!(sent["attempts"].as_array().unwrap().len(), 1);
    h.wait_for_status(&shipment, "delivered", Duration::from_secs(30)).await;
    let closed = case_until(&h, &shipment, "closed", |c| c["state"] == "delivered").await;
    let id = closed["id"].as_str().unwrap();
    assert_eq!(event_types(&h, id).await, ["ndr.opened", "ndr.action_requested", "ndr.closed"]);
}

#[tokio::test]
async fn a_second_failed_attempt_updates_the_same_case_which_ends_returned_to_origin() {
    let h = Harness::with(slow_days()).await;
    let (status, _) = h.put("/v1/ndr-settings", &json!({"window_minutes": 0, "default_action": "rto"})).await;
    assert_eq!(status, StatusCode::OK);
    // `rto`: a failed attempt for a bad address, another refused, then the return.
    let shipment = book(&h, "rto").await;
    h.wait_for_status(&shipment, "returned", Duration::from_secs(40)).await;
    let closed = case_until(&h, &shipment, "closed", |c| c["state"] == "returned_to_origin").await;
    let attempts = closed["attempts"].as_array().unwrap();
    let reasons: Vec<_> = attempts.iter().map(|a| a["reason"].clone()).collect();
    assert_eq!(reasons, [json!("address_issue"), json!("refused")]);
    assert_eq!(attempts[0]["action"]["action"], "rto", "the tenant's default, taken at once");
    assert_eq!(closed["reason"], "refused");
    let (_, all) = h.get("/v1/ndr").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "one case per shipment: {all}");
    let types = event_types(&h, closed["id"].as_str().unwrap()).await;
    assert_eq!(types.first().map(String::as_str), Some("ndr.opened"));
    assert_eq!(types.last().map(String::as_str), Some("ndr.closed"));
    assert!(types.contains(&"ndr.attempt_failed".to_owned()), "{types:?}");
}

/// The `/n/…` path of the NDR link in a page, if it has one.
fn ndr_link(html: &str) -> Option<String> {
    // The page escapes `/` in attributes.
    let html = html.replace("&#x2f;", "/");
    let start = html.find("href=\"/n/")? + "href=\"".len();
    let end = start + html[start..].find(['"', '?'])?;
    Some(html[start..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_chooses_on_the_page_the_tracking_page_offers_after_the_proof() {
    // Slow enough that the simulator waits (12 s) while a browser starts and the customer types.
    let h = Harness::with(Options { day_seconds: 4.0, ..Options::default() }).await;
    let shipment = book(&h, "ndr").await;
    let case = case_until(&h, &shipment, "opened", |c| c["state"] == "awaiting_action").await;
    let number = case["tracking_number"].as_str().unwrap().to_owned();

    // The tracking page offers the choice only to the recipient: after the postcode.
    let tracking = format!("{}/t/{number}", h.api);
    let stranger = h.http.get(&tracking).send().await.unwrap().text().await.unwrap();
    assert_eq!(ndr_link(&stranger), None, "no link without the proof");
    let wrong = h.http.post(&tracking).form(&[("proof", "99999")]).send().await.unwrap().text().await.unwrap();
    assert_eq!(ndr_link(&wrong), None, "no link with a wrong proof");
    let proven = h.http.post(&tracking).form(&[("proof", "06236")]).send().await.unwrap().text().await.unwrap();
    let path = ndr_link(&proven).unwrap_or_else(|| panic!("the recipient is offered the choice: {proven}"));
    let page = format!("{}{path}", h.api);

    // What a customer types is checked as the API checks it, and a refusal changes nothing.
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(9)).date_naive();
    for form in [
        vec![("action", "reschedule"), ("date", "tomorrow")],
        vec![("action", "reschedule"), ("date", &today.to_string())],
        vec![("action", "teleport")],
    ] {
        let r = h.http.post(&page).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
    }
    let long = "x".repeat(201);
    let r = h.http.post(&page).form(&[("action", "update_and_reattempt"), ("street1", &long)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(&long), "the typed value is kept for the customer to fix");
    let (_, unchanged) = h.get(&format!("/v1/ndr/{}", case["id"].as_str().unwrap())).await;
    assert_eq!(unchanged["state"], "awaiting_action", "{unchanged}");
    let forged = format!("{}/n/{}", h.api, "A".repeat(64));
    assert_eq!(h.http.get(&forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // In a real browser, in Turkish: the customer says nobody came, then fixes the directions.
    match crate::browser::Browser::start().await {
        Some(browser) => {
            browser.open(&format!("{page}?lang=tr")).await;
            browser.screenshot("ndr-page-tr").await;
            browser.type_into("#statement", "Bütün gün evdeydim, zil çalmadı.").await;
            browser.click("#choice-dispute button").await;
            browser.wait_for("Kimsenin gelmediğini bize bildirdiniz").await;
            browser.type_into("#phone", "+90 532 111 22 33").await;
            browser.type_into("#landmark", "Eczanenin yanı, mavi kapı").await;
            browser.click("#choice-update_and_reattempt button").await;
            let confirmed = browser.wait_for("düzeltilen bilgilerle yeniden denemesini istedik").await;
            assert!(!confirmed.contains("id=\"choice-rto\""), "no second choice for this attempt");
            browser.screenshot("ndr-page-chosen-tr").await;
            browser.quit().await;
        }
        None => {
            let dispute = [("action", "dispute"), ("statement", "Bütün gün evdeydim, zil çalmadı.")];
            assert_eq!(h.http.post(&page).form(&dispute).send().await.unwrap().status(), StatusCode::OK);
            let fix = [
                ("action", "update_and_reattempt"),
                ("phone", "+90 532 111 22 33"),
                ("landmark", "Eczanenin yanı, mavi kapı"),
            ];
            assert_eq!(h.http.post(&page).form(&fix).send().await.unwrap().status(), StatusCode::OK);
        }
    }

    let asked = case_until(&h, &shipment, "took the customer's choice", |c| c["state"] == "action_requested").await;
    let action = &asked["attempts"][0]["action"];
    assert_eq!(action["requested_by"], "customer");
    assert_eq!(action["action"], "update_and_reattempt");
    assert_eq!(action["phone"], "+90 532 111 22 33");
    assert_eq!(action["landmark"], "Eczanenin yanı, mavi kapı");
    assert_eq!(asked["attempts"][0]["disputed"], "Bütün gün evdeydim, zil çalmadı.");
    let r = h.http.post(&page).form(&[("action", "rto")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "one choice per attempt");
    let again = h.http.post(&tracking).form(&[("proof", "06236")]).send().await.unwrap().text().await.unwrap();
    assert_eq!(ndr_link(&again), None, "nothing left to choose");

    case_until(&h, &shipment, "told the carrier", |c| c["attempts"][0]["action"]["carrier_state"] == "sent").await;
    h.wait_for_status(&shipment, "delivered", Duration::from_secs(40)).await;
}

#[tokio::test]
async fn a_delivery_is_not_rescheduled_to_a_day_the_carrier_keeps_as_a_holiday() {
    let h = Harness::with(slow_days()).await;
    let account = &h.account_id;
    let path = format!("/v1/carrier-accounts/{account}/holidays");
    let (status, empty) = h.get(&path).await;
    assert_eq!((status, empty), (StatusCode::OK, json!({"holidays": []})));

    // The booking goes to Seoul: its days are counted there.
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
    for (body, pointer) in [
        (
            json!({"holidays": [{"date": day(2), "name": "Chuseok"}, {"date": day(2), "name": "Again"}]}),
            "/holidays/1/date",
        ),
        (json!({"holidays": [{"date": day(2), "name": " "}]}), "/holidays/0/name"),
        (json!({"holidays": [{"date": "2026-02-30", "name": "Never"}]}), "/holidays/0/date"),
        (json!({"days": []}), "/days"),
    ] {
        let (status, problem) = h.put(&path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {problem}");
    }
    assert_eq!(h.get(&path).await.1, json!({"holidays": []}), "nothing replaced");
    let calendar = json!({"holidays": [{"date": day(3), "name": "Hangul Day"}, {"date": day(2), "name": "Chuseok"}]});
    let (status, kept) = h.put(&path, &calendar).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["holidays"][0], json!({"date": day(2), "name": "Chuseok"}), "kept by date: {kept}");
    assert_eq!(h.get(&path).await.1, kept);
    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, waybill_core::Mode::Test).await.unwrap();
    assert_eq!(h.get_as(&path, &other_key).await.0, StatusCode::NOT_FOUND);

    let shipment = book(&h, "ndr").await;
    let case = case_until(&h, &shipment, "opened", |c| c["state"] == "awaiting_action").await;
    let actions = format!("/v1/ndr/{}/actions", case["id"].as_str().unwrap());
    let (status, problem) = h.post(&actions, &json!({"action": "reschedule", "date": day(2)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/date");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("holiday"), "{problem}");
    let (status, asked) = h.post(&actions, &json!({"action": "reschedule", "date": day(4)})).await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    assert_eq!(asked["attempts"][0]["action"]["date"], day(4), "{asked}");
}
