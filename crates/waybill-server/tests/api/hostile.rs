//! A hostile client against every route the OpenAPI document lists: no key, a bad key, another
//! tenant's ids, the other mode's ids, a body with trailing garbage, an unknown field, every
//! string made too long or given a control character, and bad query parameters. Every answer
//! must be problem+json with the right status, and nothing may be written. A new route joins
//! this suite by being in `/openapi.json` (with an `example` for its JSON body).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Harness, Options, generic_account, order_body};

/// One kind of object, and an id of it in each scope the suite needs.
struct Ids {
    /// The suite's own (tenant A, test mode).
    own: BTreeMap<&'static str, String>,
    /// Tenant B's, test mode.
    other_tenant: BTreeMap<&'static str, String>,
    /// Tenant A's, live mode.
    other_mode: BTreeMap<&'static str, String>,
}

/// The id prefixes the suite knows, by the path parameter or body field that takes them.
const KINDS: [(&str, &str); 7] = [
    ("ord", "order"),
    ("shp", "shipment"),
    ("car", "carrier account"),
    ("pku", "pickup"),
    ("trk", "tracking number"),
    ("wh", "webhook endpoint"),
    ("evt", "event"),
];

/// A test-mode world for key `key` in `h`: an order, a booked sandbox shipment (with its
/// tracking number), a pickup, and the sandbox account.
async fn test_world(h: &Harness, key: &str, account: &str) -> BTreeMap<&'static str, String> {
    let (_, order) = h.post_with("/v1/orders", &order_body("h-1", json!({"method": "prepaid"})), key, None).await;
    let mut booking = h.booking(Some(order["id"].as_str().unwrap()), "delivered");
    booking["carrier_account_id"] = json!(account);
    let (status, shipment) = h.post_with("/v1/shipments", &booking, key, None).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let pickup = json!({"carrier_account_id": account, "address": crate::common::warehouse(), "date": "2031-01-15",
        "ready_time": "10:00", "close_time": "17:00", "parcels": [{"weight": {"value": 2, "unit": "kg"}}]});
    let (status, pickup) = h.post_with("/v1/pickups", &pickup, key, None).await;
    assert_eq!(status, StatusCode::CREATED, "{pickup}");
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["order.created"]});
    let (status, webhook) = h.post_with("/v1/webhooks", &hook, key, None).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    BTreeMap::from([
        ("ord", order["id"].as_str().unwrap().to_owned()),
        ("shp", shipment["id"].as_str().unwrap().to_owned()),
        ("car", account.to_owned()),
        ("pku", pickup["id"].as_str().unwrap().to_owned()),
        ("trk", shipment["tracking_number"].as_str().unwrap().to_owned()),
        ("wh", webhook["id"].as_str().unwrap().to_owned()),
        ("evt", "evt_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("chc", "chc_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("chi", "chi_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("loc", "loc_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("ndr", "ndr_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("mft", "mft_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("inf", "inf_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
    ])
}

/// The live world of tenant A: a generic account (no carrier is called), an order and a
/// shipment. Pickups need a carrier that offers them; the live pickup id is one that exists
/// nowhere, which must answer the same.
async fn live_world(h: &Harness) -> BTreeMap<&'static str, String> {
    let (_, account) = h.post_with("/v1/carrier-accounts", &generic_account("live"), &h.live_key, None).await;
    let (_, order) =
        h.post_with("/v1/orders", &order_body("live-h", json!({"method": "prepaid"})), &h.live_key, None).await;
    let mut booking = h.booking(Some(order["id"].as_str().unwrap()), "delivered");
    booking["carrier_account_id"] = account["id"].clone();
    booking["service"] = json!("std");
    booking["options"] = json!({});
    let (status, shipment) = h.post_with("/v1/shipments", &booking, &h.live_key, None).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    BTreeMap::from([
        ("ord", order["id"].as_str().unwrap().to_owned()),
        ("shp", shipment["id"].as_str().unwrap().to_owned()),
        ("car", account["id"].as_str().unwrap().to_owned()),
        ("pku", "pku_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("trk", shipment["tracking_number"].as_str().unwrap().to_owned()),
        ("wh", "wh_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("evt", "evt_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("chc", "chc_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("chi", "chi_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("loc", "loc_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("ndr", "ndr_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("mft", "mft_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
        ("inf", "inf_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()),
    ])
}

/// The kind of id a path parameter takes, from its name and the path around it.
fn kind_of(path: &str, param: &str) -> Option<&'static str> {
    match param {
        "tracking_number" => Some("trk"),
        "account_id" => Some("car"),
        "id" if path.starts_with("/v1/orders") => Some("ord"),
        "id" if path.starts_with("/v1/shipments") => Some("shp"),
        "id" if path.starts_with("/v1/pickups") => Some("pku"),
        "id" if path.starts_with("/v1/carrier-accounts") => Some("car"),
        "id" if path.starts_with("/v1/webhooks") => Some("wh"),
        "id" if path.starts_with("/v1/channel-connections") => Some("chc"),
        "id" if path.starts_with("/v1/channel-imports") => Some("chi"),
        "id" if path.starts_with("/v1/locations") => Some("loc"),
        "id" if path.starts_with("/v1/ndr") => Some("ndr"),
        "id" if path.starts_with("/v1/manifests") => Some("mft"),
        "id" if path.starts_with("/v1/information-requests") => Some("inf"),
        "connection_id" => Some("chc"),
        "id" if path.starts_with("/v1/events") => Some("evt"),
        _ => None,
    }
}

/// `path` with its parameters filled from `ids`.
fn fill(path: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let mut out = path.to_owned();
    while let (Some(open), Some(close)) = (out.find('{'), out.find('}')) {
        let param = &out[open + 1..close];
        let value = match param {
            "carrier" => "sandbox".to_owned(),
            "channel" => "shopify".to_owned(),
            _ => ids[kind_of(path, param).unwrap_or_else(|| panic!("{path}: unknown parameter {param}"))].clone(),
        };
        out.replace_range(open..=close, &value);
    }
    out
}

/// A schema, with `$ref`s followed.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(spec, &spec["components"]["schemas"][r.rsplit('/').next().unwrap()]),
        None => schema,
    }
}

/// The schema of `key` (an object property) or of the items (`None`) under `schema`, through
/// `oneOf`/`allOf`/`anyOf`.
fn child<'a>(spec: &'a Value, schema: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    let schema = resolve(spec, schema);
    for alts in ["oneOf", "allOf", "anyOf"] {
        if let Some(items) = schema[alts].as_array() {
            return items.iter().find_map(|s| child(spec, s, key));
        }
    }
    let found = match key {
        Some(k) => schema["properties"].get(k),
        None => schema.get("items"),
    };
    found.map(|s| resolve(spec, s))
}

/// The longest a string may be: its `maxLength`, or the longest of its `enum` values.
fn max_length(spec: &Value, schema: &Value) -> Option<u64> {
    let schema = resolve(spec, schema);
    for alts in ["oneOf", "allOf", "anyOf"] {
        if let Some(items) = schema[alts].as_array() {
            return items.iter().find_map(|s| max_length(spec, s));
        }
    }
    schema["maxLength"].as_u64().or_else(|| {
        let values = schema["enum"].as_array()?;
        values.iter().filter_map(Value::as_str).map(|v| v.chars().count() as u64).max()
    })
}

/// Every string in `value`: its JSON pointer, and its schema's `maxLength` (`None` inside a
/// free-form object, where the API's general limit of 4096 characters holds).
fn strings(spec: &Value, value: &Value, schema: Option<&Value>, pointer: String, out: &mut Vec<(String, Option<u64>)>) {
    match value {
        Value::String(_) => out.push((pointer, schema.and_then(|s| max_length(spec, s)))),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let s = schema.and_then(|s| child(spec, s, None));
                strings(spec, item, s, format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let s = schema.and_then(|s| child(spec, s, Some(k)));
                strings(spec, v, s, format!("{pointer}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn set(body: &mut Value, pointer: &str, to: Value) {
    *body.pointer_mut(pointer).unwrap() = to;
}

/// Row counts of every table a request may write to, read on one connection of its own.
enum Rows {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Rows {
    async fn connect(url: &str) -> Self {
        use sqlx::Connection;
        if url.starts_with("postgres") {
            Rows::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        } else {
            Rows::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        }
    }

    async fn count(&mut self) -> Vec<i64> {
        let sql = crate::common::WRITTEN_TABLES
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {t})"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = sqlx::AssertSqlSafe(format!("SELECT {sql}"));
        match self {
            Rows::Sqlite(c) => {
                use sqlx::Row;
                let r = sqlx::query(sql).fetch_one(c).await.unwrap();
                (0..r.len()).map(|i| r.get::<i64, _>(i)).collect()
            }
            Rows::Postgres(c) => {
                use sqlx::Row;
                let r = sqlx::query(sql).fetch_one(c).await.unwrap();
                (0..r.len()).map(|i| r.get::<i64, _>(i)).collect()
            }
        }
    }
}

struct Suite<'a> {
    h: &'a Harness,
    rows: Rows,
    checked: usize,
}

impl Suite<'_> {
    /// Sends one hostile request and checks its answer: problem+json, `want` (one of them),
    /// and nothing written.
    async fn expect(
        &mut self,
        what: &str,
        method: &Method,
        url: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
        want: &[StatusCode],
    ) -> Value {
        let h = self.h;
        let before = self.rows.count().await;
        let mut req = h.http.request(method.clone(), format!("{}{url}", h.api));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let problem: Value = r.json().await.unwrap_or(Value::Null);
        assert!(want.contains(&status), "[{}] {what}: {method} {url} answered {status}: {problem}", h.backend);
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "[{}] {what}: {method} {url}", h.backend);
        assert_eq!(problem["status"], status.as_u16(), "[{}] {what}: {method} {url}: {problem}", h.backend);
        assert_eq!(
            self.rows.count().await,
            before,
            "[{}] {what}: {method} {url} wrote something: {problem}",
            h.backend
        );
        self.checked += 1;
        problem
    }
}

fn problem_pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|x| x["pointer"].as_str().unwrap().to_owned()).collect())
}

#[tokio::test]
async fn every_route_resists_a_hostile_client() {
    let h =
        Harness::with(Options { day_seconds: 3600.0, poll_interval: Duration::from_secs(3600), ..Default::default() })
            .await;
    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, waybill_core::Mode::Test).await.unwrap();
    let (_, other_account) = h
        .post_with(
            "/v1/carrier-accounts",
            &json!({"carrier": "sandbox", "mode": "test",
        "base_url": h.sim_url, "credentials": {"api_key": "test"}}),
            &other_key,
            None,
        )
        .await;
    let ids = Ids {
        own: test_world(&h, &h.key, &h.account_id).await,
        other_tenant: test_world(&h, &other_key, other_account["id"].as_str().unwrap()).await,
        other_mode: live_world(&h).await,
    };
    // The simulator's first push comes a second after each booking; let it land first.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (_, spec) = h.get("/openapi.json").await;
    let mut suite = Suite { h: &h, rows: Rows::connect(&h.db_url).await, checked: 0 };
    let unauthorized = [StatusCode::UNAUTHORIZED];
    let not_found = [StatusCode::NOT_FOUND];
    let invalid = [StatusCode::UNPROCESSABLE_ENTITY];
    let mut routes = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            routes += 1;
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let own_url = fill(path, &ids.own);
            let json_body = resolve(&spec, &op["requestBody"]["content"]["application/json"]["schema"]).clone();
            // A body of several shapes (`oneOf`) carries its example too.
            let example = (json_body.get("properties").is_some() || json_body.get("oneOf").is_some()).then(|| {
                let e = json_body["example"].clone();
                assert!(!e.is_null(), "{method} {path} takes JSON: its schema needs an `example` for this suite");
                e
            });
            let bytes = |v: &Value| Some(serde_json::to_vec(v).unwrap());

            if secured {
                let body = example.as_ref().and_then(bytes);
                suite.expect("no key", &method, &own_url, None, body.clone(), &unauthorized).await;
                suite
                    .expect(
                        "a bad key",
                        &method,
                        &own_url,
                        Some("wb_test_notakey0000000000000000000000"),
                        body.clone(),
                        &unauthorized,
                    )
                    .await;
                suite.expect("not a key", &method, &own_url, Some("hunter2"), body, &unauthorized).await;
            } else if path.starts_with("/v1/hooks/") {
                // Pushes: a stranger with no signature, for each kind of account id.
                for (what, world) in
                    [("another tenant's account", &ids.other_tenant), ("a live account", &ids.other_mode)]
                {
                    suite.expect(what, &method, &fill(path, world), None, Some(b"{}".to_vec()), &unauthorized).await;
                }
                continue;
            } else {
                continue;
            }

            // Another tenant's ids, and the other mode's, in the path.
            if path.contains('{') {
                for (what, world) in
                    [("another tenant's id", &ids.other_tenant), ("the other mode's id", &ids.other_mode)]
                {
                    let url = fill(path, world);
                    suite.expect(what, &method, &url, Some(&h.key), example.as_ref().and_then(bytes), &not_found).await;
                }
            }

            // Bad query parameters: unknown, repeated, of the wrong type, too long.
            let params: Vec<&Value> =
                op["parameters"].as_array().map_or(vec![], |p| p.iter().filter(|p| p["in"] == "query").collect());
            let sep = if own_url.contains('?') { '&' } else { '?' };
            let body = example.as_ref().and_then(bytes);
            let p = suite
                .expect(
                    "an unknown query parameter",
                    &method,
                    &format!("{own_url}{sep}zz_unknown=1"),
                    Some(&h.key),
                    body.clone(),
                    &invalid,
                )
                .await;
            assert_eq!(problem_pointers(&p), ["/query/zz_unknown"], "{method} {path}");
            for param in params {
                let name = param["name"].as_str().unwrap();
                let schema = resolve(&spec, &param["schema"]);
                let mut bad = vec![format!("{name}=1&{name}=2")];
                if schema["type"] == "integer" {
                    bad.extend(["-1", "abc", "1e9", "99999999999999"].map(|v| format!("{name}={v}")));
                }
                if let Some(max) = max_length(&spec, schema) {
                    bad.push(format!("{name}={}", "x".repeat(max as usize + 1)));
                }
                // An id cursor must be an id of the kind listed; a SKU cursor may be any SKU.
                let sku_cursor = param["description"].as_str().is_some_and(|d| d.contains("(a SKU)"));
                if (name == "after" && !sku_cursor) || name.ends_with("_id") {
                    bad.push(format!("{name}=garbage"));
                }
                bad.push(format!("{name}=a%00b"));
                for q in bad {
                    let p = suite
                        .expect(
                            "a bad query parameter",
                            &method,
                            &format!("{own_url}{sep}{q}"),
                            Some(&h.key),
                            body.clone(),
                            &invalid,
                        )
                        .await;
                    assert!(problem_pointers(&p).contains(&format!("/query/{name}")), "{method} {path}?{q}: {p}");
                }
            }

            let Some(example) = example else { continue };
            // Trailing garbage, and an unknown field.
            let mut garbage = serde_json::to_vec(&example).unwrap();
            garbage.extend_from_slice(b"}}} not json");
            let p = suite.expect("trailing garbage", &method, &own_url, Some(&h.key), Some(garbage), &invalid).await;
            assert_eq!(problem_pointers(&p), [""], "{method} {path}");
            let mut unknown = example.clone();
            unknown["zz_unknown"] = json!(1);
            let p = suite.expect("an unknown field", &method, &own_url, Some(&h.key), bytes(&unknown), &invalid).await;
            assert_eq!(problem_pointers(&p), ["/zz_unknown"], "{method} {path}");

            // Every string: too long, and with a control character. Ids in the body: another
            // tenant's and the other mode's are not found.
            let mut leaves = Vec::new();
            strings(&spec, &example, Some(&json_body), String::new(), &mut leaves);
            for (pointer, max) in leaves {
                let free_form = pointer.starts_with("/credentials") || pointer.starts_with("/settings");
                assert!(
                    max.is_some() || free_form,
                    "{method} {path}: {pointer} has no maxLength in the OpenAPI document"
                );
                let max = max.unwrap_or(4096) as usize;
                for (what, value) in
                    [("a too long string", "x".repeat(max + 1)), ("a control character", "a\u{0}b".to_owned())]
                {
                    let mut body = example.clone();
                    set(&mut body, &pointer, json!(value));
                    let p = suite.expect(what, &method, &own_url, Some(&h.key), bytes(&body), &invalid).await;
                    assert_eq!(
                        problem_pointers(&p),
                        std::slice::from_ref(&pointer),
                        "{method} {path}: {what} at {pointer}"
                    );
                }
                let current = example.pointer(&pointer).and_then(Value::as_str).unwrap_or_default();
                if let Some((prefix, kind)) = KINDS.iter().find(|(p, _)| current.starts_with(&format!("{p}_"))) {
                    for (what, world) in
                        [("another tenant's id", &ids.other_tenant), ("the other mode's id", &ids.other_mode)]
                    {
                        let mut body = example.clone();
                        set(&mut body, &pointer, json!(world[prefix]));
                        let p = suite
                            .expect(
                                what,
                                &method,
                                &own_url,
                                Some(&h.key),
                                bytes(&body),
                                &[StatusCode::NOT_FOUND, StatusCode::UNPROCESSABLE_ENTITY],
                            )
                            .await;
                        if p["status"] == 422 {
                            assert!(
                                problem_pointers(&p).contains(&pointer),
                                "{method} {path}: {what} ({kind}) at {pointer}: {p}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(routes >= 20, "the document lists {routes} operations");
    eprintln!("[{}] hostile client: {} requests over {routes} operations", h.backend, suite.checked);
}

/// Every string property of every request schema, found by walking the document.
fn string_properties(spec: &Value, schema: &Value, at: String, seen: &mut Vec<String>, out: &mut Vec<(String, bool)>) {
    if let Some(name) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_owned());
    }
    let schema = resolve(spec, schema);
    for alts in ["oneOf", "allOf", "anyOf"] {
        for s in schema[alts].as_array().into_iter().flatten() {
            string_properties(spec, s, at.clone(), seen, out);
        }
    }
    if schema["type"] == "string" || schema["type"].as_array().is_some_and(|t| t.contains(&json!("string"))) {
        out.push((at.clone(), max_length(spec, schema).is_some()));
    }
    for (k, v) in schema["properties"].as_object().into_iter().flatten() {
        string_properties(spec, v, format!("{at}/{k}"), seen, out);
    }
    if let Some(items) = schema.get("items") {
        string_properties(spec, items, format!("{at}/0"), seen, out);
    }
}

#[tokio::test]
async fn every_string_the_api_takes_has_a_documented_maximum_length() {
    let h = Harness::start().await;
    let (_, spec) = h.get("/openapi.json").await;
    let mut unbounded = Vec::new();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            let mut found = Vec::new();
            if resolve(&spec, body).get("properties").is_some() {
                string_properties(&spec, body, String::new(), &mut Vec::new(), &mut found);
            }
            for param in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query") {
                found.push((
                    format!("/query/{}", param["name"].as_str().unwrap()),
                    max_length(&spec, &param["schema"]).is_some() || param["schema"]["type"] != "string",
                ));
            }
            count += found.len();
            unbounded.extend(
                found.into_iter().filter(|(_, bounded)| !bounded).map(|(p, _)| format!("{method} {path}: {p}")),
            );
        }
    }
    assert!(count > 50, "only {count} strings found");
    assert!(unbounded.is_empty(), "strings without a maxLength: {unbounded:#?}");
}
