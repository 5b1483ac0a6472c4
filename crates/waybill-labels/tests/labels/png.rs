//! PNG: the barcodes must scan back to the tracking number and the routing payload.

use image::GrayImage;
use rxing::BarcodeFormat;
use waybill_labels::{LabelFormat, LabelRenderer, LabelSpec, qr_payload};

use crate::specs;

fn render(spec: &LabelSpec) -> GrayImage {
    let png = LabelRenderer::new().render(spec, LabelFormat::Png).expect("label renders");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    image::load_from_memory(&png).expect("valid PNG").into_luma8()
}

fn decode(image: &GrayImage, format: BarcodeFormat) -> String {
    let (width, height) = image.dimensions();
    rxing::helpers::detect_in_luma(image.as_raw().clone(), width, height, Some(format))
        .unwrap_or_else(|e| panic!("no {format:?} found: {e:?}"))
        .getText()
        .to_owned()
}

fn assert_scans(spec: &LabelSpec) {
    let image = render(spec);
    assert_eq!(image.dimensions(), (812, 1218), "4×6 in at 203 dpi");
    assert_eq!(decode(&image, BarcodeFormat::CODE_128), spec.tracking_number);
    assert_eq!(decode(&image, BarcodeFormat::QR_CODE), qr_payload(spec));
}

#[test]
fn turkish_label_scans_with_cod() {
    assert_scans(&specs::turkish(true));
}

#[test]
fn turkish_label_scans_without_cod() {
    assert_scans(&specs::turkish(false));
}

#[test]
fn korean_label_scans_with_cod() {
    assert_scans(&specs::korean(true));
}

#[test]
fn korean_label_scans_without_cod() {
    assert_scans(&specs::korean(false));
}

#[test]
fn longest_tracking_number_still_scans_at_two_pixel_modules() {
    let mut spec = specs::turkish(true);
    // 30 set B characters: the most that fit at 2 px per module with quiet zones.
    spec.tracking_number = "WBABCDEFGHIJKLMNOPQRSTUVWXYZ-X".into();
    let image = render(&spec);
    assert_eq!(decode(&image, BarcodeFormat::CODE_128), spec.tracking_number);

    // Every bar and gap on a line through the barcode is at least 2 px wide, and the white
    // margins either side are at least 10 narrowest modules (the Code 128 quiet zone).
    let y = 1000;
    let row: Vec<bool> = (0..image.width()).map(|x| image.get_pixel(x, y).0[0] < 128).collect();
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for dark in row {
        match runs.last_mut() {
            Some((d, n)) if *d == dark => *n += 1,
            _ => runs.push((dark, 1)),
        }
    }
    // Page edge, frame, quiet zone, symbol, quiet zone, frame, page edge.
    let symbol = &runs[3..runs.len() - 3];
    assert!(symbol.first().unwrap().0 && symbol.last().unwrap().0);
    let narrowest = symbol.iter().map(|r| r.1).min().unwrap();
    assert_eq!(narrowest, 2);
    assert!(runs[2].1 >= 10 * narrowest && runs[runs.len() - 3].1 >= 10 * narrowest);
}
