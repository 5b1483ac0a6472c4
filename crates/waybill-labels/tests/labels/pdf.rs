//! PDF: a real, small document with both fonts embedded and the text extractable.

use waybill_labels::{LabelFormat, LabelRenderer, LabelSpec};

use crate::pdf_text::extract_text;
use crate::specs;

fn render(spec: &LabelSpec) -> Vec<u8> {
    LabelRenderer::new().render(spec, LabelFormat::Pdf).expect("label renders")
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn is_a_small_pdf_with_a_4x6_page() {
    let pdf = render(&specs::korean(true));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    assert!(contains(&pdf, "/MediaBox[0 0 288 432]"));
    assert!(pdf.len() < 200 * 1024, "{} bytes", pdf.len());
}

#[test]
fn embeds_subsets_of_the_fonts_it_uses() {
    let pdf = render(&specs::korean(false));
    assert!(contains(&pdf, "/FontFile2"));
    // Subset fonts are named with a six-letter tag: "ABCDEF+NotoSans-Bold".
    for font in ["+NotoSans-Bold", "+NotoSans/", "+NanumGothic"] {
        assert!(contains(&pdf, font), "{font} embedded");
    }
    // A label with no Hangul carries no Hangul font.
    let pdf = render(&specs::turkish(true));
    assert!(contains(&pdf, "+NotoSans-Bold"));
    assert!(!contains(&pdf, "NanumGothic"));
}

#[test]
fn turkish_text_is_extractable() {
    let spec = specs::turkish(true);
    let text = extract_text(&render(&spec));
    for expected in [
        "Şükrü Çağlayan",
        "34000 İstanbul",
        "Işık Ağaç Ürünleri",
        "Öz Gıda Ltd. Şti.",
        "COD 1,250.00 TRY",
        "WB123456789TR",
        "34-KDK-07",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text:?}");
    }
}

#[test]
fn korean_text_is_extractable() {
    let spec = specs::korean(false);
    let text = extract_text(&render(&spec));
    for expected in
        ["김민준", "주식회사 한빛", "서울특별시 강남구 테헤란로 152", "06236 서울특별시", "ICN 인천", "국제 특송"]
    {
        assert!(text.contains(expected), "{expected:?} in {text:?}");
    }
    assert!(!text.contains('\u{FFFD}'));
}

#[test]
fn text_too_long_for_its_box_is_cut_short() {
    let mut spec = specs::turkish(false);
    spec.ship_to.name = "Şükrü Çağlayan ".repeat(20);
    let text = extract_text(&render(&spec));
    assert!(text.contains("Şükrü Çağlayan Şükrü"));
    assert!(text.contains('…'));
    assert!(!text.contains(spec.ship_to.name.trim()));
}
