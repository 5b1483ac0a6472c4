//! `waybill import orders` and `waybill export orders|shipments` as an operator runs them:
//! problems told by row and column on stderr (and a failing exit), the good orders imported,
//! and an export that `import` reads back. PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set.

mod support;

use std::process::Command;

use support::{BIN, database_args};

const HEADER: &str = "external_id,channel,currency,payment,cod_amount,locale,ship_to_name,ship_to_company,ship_to_phone,ship_to_email,ship_to_street1,ship_to_street2,ship_to_city,ship_to_state,ship_to_postal_code,ship_to_country,sku,item_name,quantity,unit_price";

#[tokio::test]
async fn a_file_imports_with_its_problems_told_and_exports_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let run =
        |args: &[&str]| Command::new(BIN).args(args).arg("--data-dir").arg(dir.path()).args(&db).output().unwrap();
    let tenant = String::from_utf8(run(&["tenant", "create", "Kupa"]).stdout).unwrap().trim().to_owned();
    let file = dir.path().join("orders.csv");
    std::fs::write(
        &file,
        [
            HEADER,
            "A-1,shop,TRY,prepaid,,tr,Ayşe Yılmaz,,,ayse@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,MUG,Kupa,2,99.90",
            "A-1,shop,TRY,prepaid,,tr,Ayşe Yılmaz,,,ayse@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,CAP,Şapka,1,150",
            "A-2,shop,TRY,cod,,tr,Ali Kaya,,,,Moda Cd. 3,,İstanbul,,34710,TR,MUG,Kupa,1,99.90",
        ]
        .join("\n"),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    let out = run(&["import", "orders", file_arg, "--tenant", &tenant, "--mode", "test"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a file with a bad row fails the command");
    assert!(stderr.contains("row 4, column cod_amount: a cash-on-delivery order needs its amount"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 orders imported"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let exported = dir.path().join("export.csv");
    let out = run(&[
        "export",
        "orders",
        "--tenant",
        &tenant,
        "--mode",
        "test",
        "--since",
        "2000-01-01",
        "-o",
        exported.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&exported).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(lines.len(), 3, "two line items of one order: {text}");
    assert!(lines[1].starts_with("A-1,shop,TRY,prepaid,"), "{text}");
    let later = run(&["export", "orders", "--tenant", &tenant, "--mode", "test", "--since", "2999-01-01"]);
    assert_eq!(String::from_utf8_lossy(&later.stdout).lines().count(), 1, "nothing made since: only the header");

    // The export reads back: every order is there already, so each is a duplicate.
    let out = run(&["import", "orders", exported.to_str().unwrap(), "--tenant", &tenant, "--mode", "test"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("row 2, column external_id: an order with this channel and external_id exists already"),
        "{stderr}"
    );
    let live = run(&["export", "shipments", "--tenant", &tenant, "--mode", "live"]);
    assert!(live.status.success());
    assert!(String::from_utf8_lossy(&live.stdout).starts_with("id,order_id,reference,carrier"));
    let bad = run(&["export", "orders", "--tenant", &tenant, "--mode", "test", "--since", "yesterday"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a date"));
}

#[tokio::test]
async fn stock_counts_import_into_the_default_location() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let run =
        |args: &[&str]| Command::new(BIN).args(args).arg("--data-dir").arg(dir.path()).args(&db).output().unwrap();
    let tenant = String::from_utf8(run(&["tenant", "create", "Kupa"]).stdout).unwrap().trim().to_owned();
    let key = String::from_utf8(run(&["apikey", "create", "--tenant", &tenant, "--mode", "test"]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    let file = dir.path().join("stock.csv");
    std::fs::write(&file, "sku,on_hand\nMUG-1,12\nCAP,many\n").unwrap();
    let import = || run(&["import", "inventory", file.to_str().unwrap(), "--tenant", &tenant, "--mode", "test"]);

    let out = import();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("row 2, column location_id: required"), "no location yet: {stderr}");
    assert!(stderr.contains("row 3, column on_hand: `many` is not a whole number"), "{stderr}");

    let node = support::serve_on(support::free_port(), dir.path(), &db, None, None, &[]).await;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/v1/locations", node.api))
        .bearer_auth(&key)
        .json(
            &serde_json::json!({"name": "Depo", "default": true, "address": {"name": "Depo", "street1": "Atatürk Cd. 1",
            "city": "Ankara", "postal_code": "06100", "country": "TR"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let out = import();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 counts set"), "{}", String::from_utf8_lossy(&out.stderr));
    let levels: serde_json::Value =
        http.get(format!("{}/v1/inventory", node.api)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(levels["data"][0]["sku"], "MUG-1");
    assert_eq!(levels["data"][0]["on_hand"], 12);
}
