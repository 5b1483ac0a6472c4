//! The tracking page in headless Chromium on a phone-sized window, in every language.
//! Screenshots land in `<target dir>/screenshots/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use tokio::process::Command;
use waybill_core::{Language, NdrReason, TrackingStatus};
use waybill_web::{Brand, BrandLink, Lookup, PageEvent, PersonalDetails, RateLimits, TrackingPage, TrackingSource};

/// `WB123` is on its way; `WB500` failed delivery. Both would leak personal details (and
/// `WB500` its failed-delivery link) if the router let them through without a proof.
#[derive(Clone)]
struct Demo;

impl TrackingSource for Demo {
    fn lookup(
        &self,
        _tenant: Option<&str>,
        tracking_number: &str,
        _proof: Option<&str>,
        lang: Language,
    ) -> impl Future<Output = Lookup> + Send {
        let status = match tracking_number {
            "WB123" => Some(TrackingStatus::OutForDelivery),
            "WB500" => Some(TrackingStatus::DeliveryFailed),
            _ => None,
        };
        let answer = match status {
            Some(status) => Lookup::Found(page(lang, tracking_number, status)),
            None => Lookup::NotFound { brand: None },
        };
        async move { answer }
    }
}

fn page(lang: Language, number: &str, status: TrackingStatus) -> TrackingPage {
    let scan = |day: u32, hour: u32, offset: i32, status: TrackingStatus, description: &str, city: &str| PageEvent {
        at: FixedOffset::east_opt(offset * 3600).unwrap().with_ymd_and_hms(2026, 12, day, hour, 5, 0).unwrap(),
        status,
        description: Some(description.into()),
        city: Some(city.into()),
    };
    let mut events = vec![
        scan(3, 16, 9, TrackingStatus::InfoReceived, "Shipment information received", "Seoul"),
        scan(4, 9, 9, TrackingStatus::PickedUp, "Picked up from the sender", "Seoul"),
        scan(5, 2, 3, TrackingStatus::InTransit, "Departed the hub", "İstanbul"),
        scan(6, 7, 1, TrackingStatus::OutForDelivery, "With the courier", "Paris"),
    ];
    if status == TrackingStatus::DeliveryFailed {
        events.push(scan(6, 14, 1, status, "Nobody home", "Paris"));
    }
    TrackingPage {
        lang,
        brand: Brand {
            store_name: "Maison Lumière".into(),
            logo_src: None,
            primary_color: "#0b3d2e".into(),
            accent_color: "#f5b700".into(),
            support_email: Some("help@maison.example".into()),
            links: vec![BrandLink { label: "Returns".into(), url: "https://maison.example/returns".into() }],
            default_language: Language::Fr,
        },
        tracking_number: number.into(),
        carrier_name: "Sandbox Express".into(),
        carrier_tracking_url: Some(format!("https://carrier.example/track/{number}")),
        status,
        edd: NaiveDate::from_ymd_opt(2026, 12, 7),
        events,
        ndr_reason: (status == TrackingStatus::DeliveryFailed).then_some(NdrReason::CustomerUnavailable),
        personal: Some(PersonalDetails {
            name: "Jane Recipient".into(),
            address_lines: vec!["12 Rue des Lilas".into(), "75011 Paris".into()],
            items: vec![("Blue mug".into(), 2)],
        }),
        proof_failed: false,
        form_action: String::new(),
        ndr_url: (status == TrackingStatus::DeliveryFailed).then(|| format!("/n/{}", "x".repeat(40))),
        cancel_url: None,
        information_url: None,
    }
}

fn find_chromium() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("chromium")).find(|p| p.is_file())
}

async fn chromium(binary: &Path, profile: &Path, mode: &str, url: &str) -> Vec<u8> {
    let run = Command::new(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([mode, "--window-size=412,915", url])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run).await.expect("chromium finishes").unwrap();
    assert!(output.status.success(), "chromium {mode}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_page_in_chromium() {
    let Some(binary) = find_chromium() else {
        eprintln!("SKIPPED: chromium not found (CI installs it)");
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = waybill_web::router(Demo, RateLimits::default());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, wherever the target dir is.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let screenshots = target.join("screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-profile");

    let expected = [
        (Language::En, "Out for delivery", "Delivery attempt unsuccessful"),
        (Language::Fr, "En cours de livraison", "Tentative de livraison infructueuse"),
        (Language::Ko, "배달 출발", "배달 시도 실패"),
        (Language::Tr, "Dağıtıma çıktı", "Teslimat denemesi başarısız oldu"),
    ];
    for (lang, on_its_way, failed) in expected {
        let code = lang.as_str();
        for (number, words, name) in [("WB123", on_its_way, "tracking"), ("WB500", failed, "tracking-failed")] {
            let url = format!("http://{addr}/t/maison/{number}?lang={code}");
            let dom = String::from_utf8(chromium(&binary, &profile, "--dump-dom", &url).await).unwrap();
            assert!(dom.contains(&format!("<html lang=\"{code}\">")), "{code}: {dom}");
            assert!(dom.contains(words), "{code} lacks {words}");
            for secret in ["Jane Recipient", "Rue des Lilas", "Blue mug", "/n/xxxx"] {
                assert!(!dom.contains(secret), "{code} shows {secret}");
            }
            let shot = screenshots.join(format!("{name}-{code}.png"));
            let _ = std::fs::remove_file(&shot);
            chromium(&binary, &profile, &format!("--screenshot={}", shot.display()), &url).await;
            assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000), "no screenshot at {}", shot.display());
        }
    }
    let dom = chromium(&binary, &profile, "--dump-dom", &format!("http://{addr}/t/NOSUCH?lang=en")).await;
    assert!(String::from_utf8(dom).unwrap().contains("We could not find this tracking number"));
}
