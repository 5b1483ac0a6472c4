//! The OpenAPI document describes every endpoint, and `/docs` works with no internet access.

use reqwest::StatusCode;

use crate::common::Harness;

#[tokio::test]
async fn openapi_describes_every_endpoint_and_docs_are_served_locally() {
    let h = Harness::start().await;
    let spec: serde_json::Value =
        h.http.get(format!("{}/openapi.json", h.api)).send().await.unwrap().json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/shipments",
        "/v1/shipments/{id}",
        "/v1/shipments/{id}/label",
        "/v1/shipments/{id}/cancel",
        "/v1/trackers/{tracking_number}",
        "/v1/carriers",
        "/v1/carrier-accounts",
        "/v1/rates",
        "/v1/hooks/carriers/{carrier}/{account_id}",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} is not in /openapi.json");
    }
    assert!(!paths.contains_key("/metrics"), "metrics are for operators, on their own address or token");
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());

    let page = h.http.get(format!("{}/docs/", h.api)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "the docs page loads nothing from the internet");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        assert!(html.contains(asset), "{asset} is referenced");
        let r = h.http.get(format!("{}/docs/{asset}", h.api)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset} is served from the binary");
        assert!(r.bytes().await.unwrap().len() > 1000);
    }
    let ready = h.http.get(format!("{}/readyz", h.api)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

/// Headless Chromium, when installed (`.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<std::path::PathBuf> {
    let path: std::path::PathBuf =
        std::env::var_os("WAYBILL_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), Into::into);
    path.exists().then_some(path)
}

#[tokio::test]
async fn docs_render_in_a_real_browser_without_internet() {
    let Some(chromium) = chromium() else {
        eprintln!("SKIPPED: no chromium at /usr/bin/chromium or WAYBILL_CHROMIUM; .ci/run installs it");
        return;
    };
    let h = Harness::start().await;
    let profile = tempfile::tempdir().unwrap();
    // Background networking off: the page must render from this server alone.
    let out = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=8000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{}/docs/", h.api))
        .output()
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    for path in ["/v1/orders", "/v1/shipments/{id}/label", "/v1/trackers/{tracking_number}"] {
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "Swagger UI did not render {path}; DOM starts: {}",
            &dom[..dom.len().min(500)]
        );
    }
}
