//! Label specs shared by the integration tests: a Turkish and a Korean shipment.

use waybill_labels::{LabelAddress, LabelSpec, Routing};

/// Istanbul to Istanbul, Turkish names and addresses.
pub fn turkish(cod: bool) -> LabelSpec {
    LabelSpec {
        carrier_name: "Waybill Sandbox".into(),
        service_name: "Express".into(),
        tracking_number: "WB123456789TR".into(),
        ship_from: LabelAddress {
            name: "Işık Ağaç Ürünleri".into(),
            company: Some("Öz Gıda Ltd. Şti.".into()),
            lines: vec!["Büyükdere Cad. No: 185".into(), "Levent".into()],
            city_line: "34394 İstanbul".into(),
            country: "TR".into(),
            phone: Some("+90 212 555 01 23".into()),
        },
        ship_to: LabelAddress {
            name: "Şükrü Çağlayan".into(),
            company: None,
            lines: vec!["Bağdat Cad. No: 42 D: 7".into(), "Göztepe Mah.".into()],
            city_line: "34000 İstanbul".into(),
            country: "TR".into(),
            phone: Some("+90 532 555 12 34".into()),
        },
        weight: "1.25 kg".into(),
        piece: "1/1".into(),
        cod: cod.then(|| "COD 1,250.00 TRY".into()),
        reference: Some("#1001".into()),
        ship_date: "2026-11-21".into(),
        routing: Routing {
            sort_code: "34-KDK-07".into(),
            origin_hub: "IST-AVR".into(),
            destination_hub: "IST-KDK".into(),
            route: "R 12".into(),
        },
    }
}

/// Istanbul to Seoul, the recipient in Hangul.
pub fn korean(cod: bool) -> LabelSpec {
    let mut spec = turkish(cod);
    spec.tracking_number = "WB9876543210KR".into();
    spec.service_name = "국제 특송".into();
    spec.ship_to = LabelAddress {
        name: "김민준".into(),
        company: Some("주식회사 한빛".into()),
        lines: vec!["서울특별시 강남구 테헤란로 152".into(), "강남파이낸스센터 21층".into()],
        city_line: "06236 서울특별시".into(),
        country: "KR".into(),
        phone: Some("+82 2 555 0123".into()),
    };
    spec.cod = cod.then(|| "COD 125,000 KRW".into());
    spec.routing = Routing {
        sort_code: "KR-SEL-3".into(),
        origin_hub: "IST-AVR".into(),
        destination_hub: "ICN 인천".into(),
        route: "TK90".into(),
    };
    spec
}
