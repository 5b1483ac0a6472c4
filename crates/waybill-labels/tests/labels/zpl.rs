//! ZPL: well-formed, UTF-8, native barcodes carrying the right data, specials escaped.

use waybill_labels::{LabelFormat, LabelRenderer, LabelSpec, qr_payload};

use crate::specs;

fn render(spec: &LabelSpec) -> String {
    let bytes = LabelRenderer::new().render(spec, LabelFormat::Zpl).expect("label renders");
    String::from_utf8(bytes).expect("ZPL is UTF-8")
}

/// The field data following the first occurrence of `command`.
fn field_after<'z>(zpl: &'z str, command: &str) -> &'z str {
    let rest = &zpl[zpl.find(command).expect("command present")..];
    let start = rest.find("^FD").expect("field data") + 3;
    &rest[start..start + rest[start..].find("^FS").expect("field end")]
}

/// Reads `^BC` mode N data back: start and code set switches dropped, escapes resolved.
fn code128_text(data: &str) -> String {
    let mut out = String::new();
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        if c != '>' {
            out.push(c);
            continue;
        }
        match chars.next().expect("invocation code") {
            '<' => out.push('^'),
            '0' => out.push('>'),
            '=' => out.push('~'),
            ':' | ';' | '5' | '6' => {}
            other => panic!("unexpected invocation code >{other}"),
        }
    }
    out
}

#[test]
fn is_a_complete_utf8_label_format() {
    let spec = specs::turkish(true);
    let zpl = render(&spec);
    assert!(zpl.starts_with("^XA^CI28"));
    assert!(zpl.contains("^PW812^LL1218"));
    assert!(zpl.trim_end().ends_with("^XZ"));
    assert_eq!(zpl.matches("^XA").count(), 1);
    for field in zpl.split("^FD").skip(1) {
        assert!(field.contains("^FS"), "field data ends before the next field");
    }
    for text in ["Şükrü Çağlayan", "34000 İstanbul", "COD 1,250.00 TRY", "WB123456789TR"] {
        assert!(zpl.contains(&format!("^FD{text}^FS")), "{text}");
    }
    // The COD amount prints white out of a black box.
    assert!(zpl.contains("^FR^FDCOD 1,250.00 TRY^FS"));
}

#[test]
fn barcodes_are_native_and_carry_the_data() {
    for spec in [specs::turkish(false), specs::korean(true)] {
        let zpl = render(&spec);
        assert_eq!(code128_text(field_after(&zpl, "^BC")), spec.tracking_number);
        assert!(zpl.contains("^BCN,"));
        assert!(zpl.contains("^BQN,2,"));
        assert_eq!(field_after(&zpl, "^BQ"), format!("MA,{}", qr_payload(&spec)));
    }
    let mut spec = specs::turkish(false);
    spec.tracking_number = "ABC-XYZ".into();
    assert!(render(&spec).contains("^BCN,175,N,N,N,N^FD>:ABC-XYZ^FS"));
}

#[test]
fn zpl_specials_in_data_are_escaped() {
    let mut spec = specs::turkish(false);
    spec.ship_to.name = "Ali ^XZ Veli~JA_1".into();
    spec.tracking_number = "A^B>C~D".into();
    let zpl = render(&spec);
    assert!(zpl.contains("^FH^FDAli _5EXZ Veli_7EJA_5F1^FS"));
    assert!(!zpl.contains("Ali ^"));
    assert_eq!(zpl.matches("^XZ").count(), 1);
    assert_eq!(zpl.matches('~').count(), 0);
    assert_eq!(code128_text(field_after(&zpl, "^BC")), "A^B>C~D");
}
