//! The end-of-day manifest: every parcel's row, the totals and the page count readable in the
//! PDF, and (rasterised as a printer would) a Code 128 per parcel that scans back.

use std::collections::{BTreeSet, HashSet};
use std::process::Command;

use rxing::BarcodeFormat;
use waybill_labels::{LabelRenderer, ManifestRow, ManifestSpec, ManifestSums};

use crate::pdf_text::extract_text;

fn spec(rows: usize) -> ManifestSpec {
    ManifestSpec {
        manifest_id: "mft_01jf0k3v9m2c4x8a7b6n5d1e0q".into(),
        carrier_name: "Waybill Sandbox".into(),
        account: "İstanbul depo".into(),
        created: "2026-12-07 16:30 UTC".into(),
        carrier_reference: Some("MAN12345678".into()),
        rows: (0..rows)
            .map(|i| ManifestRow {
                tracking_number: format!("SIM{:010}", 4_000_000_000u64 + i as u64 * 7919),
                reference: Some(format!("#{}", 1001 + i)),
                consignee: if i % 2 == 0 { "Şükrü Çağlayan".into() } else { "김민준".into() },
                destination: "06000 Ankara, TR".into(),
                parcels: 1 + (i % 3) as u32,
                weight: "1.25 kg".into(),
                cod: (i % 4 == 0).then(|| "1,250.00 TRY".into()),
            })
            .collect(),
        totals: ManifestSums {
            shipments: rows as u32,
            parcels: 42,
            weight: "37.5 kg".into(),
            cod: vec!["10,000.00 TRY".into()],
        },
    }
}

#[test]
fn every_row_the_totals_and_the_signatures_are_in_the_pdf() {
    let spec = spec(3);
    let pdf = LabelRenderer::new().render_manifest(&spec).expect("manifest renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = extract_text(&pdf);
    for row in &spec.rows {
        assert!(text.contains(&row.tracking_number), "{} in {text:?}", row.tracking_number);
    }
    for expected in [
        "Manifest",
        "mft_01jf0k3v9m2c4x8a7b6n5d1e0q",
        "Waybill Sandbox · İstanbul depo",
        "Carrier close MAN12345678",
        "Şükrü Çağlayan",
        "김민준",
        "#1003",
        "1,250.00 TRY",
        "10,000.00 TRY",
        "37.5 kg",
        "Received by driver",
        "page 1 of 1",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text:?}");
    }
}

#[test]
fn a_long_day_runs_over_pages_that_say_how_many_there_are() {
    let spec = spec(40);
    let pdf = LabelRenderer::new().render_manifest(&spec).expect("manifest renders");
    // The text reader here reads the first page; the page tree counts them all.
    let text = extract_text(&pdf);
    assert!(text.contains("page 1 of 3"), "{text:?}");
    assert!(pdf.windows(b"/Count 3".len()).any(|w| w == b"/Count 3"), "three pages");
    assert!(text.contains(&spec.rows[0].tracking_number));
}

#[test]
fn a_tracking_number_code_128_cannot_carry_is_printed_without_a_barcode() {
    let mut spec = spec(2);
    spec.rows[0].tracking_number = "ÇK-0001".into();
    let pdf = LabelRenderer::new().render_manifest(&spec).expect("the manifest still prints");
    assert!(extract_text(&pdf).contains("ÇK-0001"));
}

/// Each page as a 203 dpi greyscale image, as a label printer would print it; `None` (and a
/// note) when poppler's `pdftoppm` is not installed (`.ci/run` installs it).
fn rasterise(pdf: &[u8]) -> Option<Vec<image::GrayImage>> {
    if Command::new("pdftoppm").arg("-v").output().is_err() {
        eprintln!("SKIPPED: pdftoppm (poppler-utils) is not installed; the manifest's barcodes were not scanned");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("manifest.pdf");
    std::fs::write(&input, pdf).unwrap();
    let out = dir.path().join("page");
    let status = Command::new("pdftoppm").args(["-r", "203", "-gray", "-png"]).arg(&input).arg(&out).status().unwrap();
    assert!(status.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    Some(pages.iter().map(|p| image::open(p).unwrap().into_luma8()).collect())
}

#[test]
fn every_parcel_barcode_scans_back_to_its_tracking_number() {
    let spec = spec(20);
    let pdf = LabelRenderer::new().render_manifest(&spec).expect("manifest renders");
    let Some(pages) = rasterise(&pdf) else { return };
    assert_eq!(pages.len(), 2, "20 rows take two pages");
    let mut scanned = BTreeSet::new();
    for page in &pages {
        let (width, height) = page.dimensions();
        let mut hints = rxing::DecodeHints {
            TryHarder: Some(true),
            PossibleFormats: Some(HashSet::from([BarcodeFormat::CODE_128])),
            ..rxing::DecodeHints::default()
        };
        let results =
            rxing::helpers::detect_multiple_in_luma_with_hints(page.as_raw().clone(), width, height, &mut hints)
                .expect("barcodes on the page");
        scanned.extend(results.iter().map(|r| r.getText().to_owned()));
    }
    let mut expected: BTreeSet<String> = spec.rows.iter().map(|r| r.tracking_number.clone()).collect();
    expected.insert(spec.manifest_id.clone());
    assert_eq!(scanned, expected);
}
