//! SMS segments: how many messages a text costs and where a provider cuts it.
//!
//! A text that fits the GSM 03.38 alphabet travels as 7-bit septets (160 in one message, 153 per
//! part once the user data header of a concatenated message takes its room); anything else
//! travels as UCS-2 (70 UTF-16 code units, 67 per part). Parts never cut a character, a
//! surrogate pair or a GSM escape pair.

/// How an SMS is encoded on the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gsm7 => "GSM-7",
            Self::Ucs2 => "UCS-2",
        }
    }

    /// Units one message holds when the text fits in it alone.
    pub fn single_limit(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Units each part of a concatenated message holds.
    pub fn part_limit(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }

    /// Units `c` takes in this encoding (`c` must be encodable in it).
    fn units(self, c: char) -> usize {
        match self {
            Self::Gsm7 if GSM_EXTENSION.contains(c) => 2,
            Self::Gsm7 => 1,
            Self::Ucs2 => c.len_utf16(),
        }
    }
}

/// What a text costs: its encoding, its length in that encoding's units (septets or UTF-16 code
/// units), and the number of messages it is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    pub units: usize,
    pub segments: usize,
}

/// The GSM 03.38 basic character set (one septet each); 0x1B, the escape, is left out.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM 03.38 extension table: each is sent as the escape plus one septet.
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

fn is_gsm(c: char) -> bool {
    GSM_BASIC.contains(c) || GSM_EXTENSION.contains(c)
}

/// The encoding a provider picks for `text`.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(is_gsm) { Encoding::Gsm7 } else { Encoding::Ucs2 }
}

/// What `text` costs as an SMS. An empty text costs nothing.
pub fn count(text: &str) -> Segments {
    let encoding = encoding(text);
    let units = text.chars().map(|c| encoding.units(c)).sum();
    let segments =
        if units <= encoding.single_limit() { usize::from(units > 0) } else { part_ends(text, encoding).count() };
    Segments { encoding, units, segments }
}

/// `text` cut into the parts a provider sends, in order.
pub fn split(text: &str) -> Vec<String> {
    let encoding = encoding(text);
    let units: usize = text.chars().map(|c| encoding.units(c)).sum();
    if units <= encoding.single_limit() {
        return if text.is_empty() { Vec::new() } else { vec![text.to_owned()] };
    }
    let mut start = 0;
    part_ends(text, encoding)
        .map(|end| {
            let part = text[start..end].to_owned();
            start = end;
            part
        })
        .collect()
}

/// The byte offsets where each part of a concatenated message ends: parts are filled greedily,
/// and a character that does not fit whole starts the next part.
fn part_ends(text: &str, encoding: Encoding) -> impl Iterator<Item = usize> + '_ {
    let limit = encoding.part_limit();
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        chars.peek()?;
        let mut used = 0;
        while let Some(&(at, c)) = chars.peek() {
            let units = encoding.units(c);
            if used + units > limit {
                return Some(at);
            }
            used += units;
            chars.next();
        }
        Some(text.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_english_is_gsm_and_fits_one_message() {
        let s = count("Northwind Goods: your order #1042 has shipped. Track it: https://wbl.example/t/Ab3xK9");
        assert_eq!(s, Segments { encoding: Encoding::Gsm7, units: 85, segments: 1 });
        assert_eq!(count(&"a".repeat(160)).segments, 1);
        assert_eq!(count(&"a".repeat(161)).segments, 2);
        assert_eq!(count(&"a".repeat(306)).segments, 2);
        assert_eq!(count(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        assert_eq!(count("€5 {ok}").units, 10);
        assert_eq!(count(&"€".repeat(80)), Segments { encoding: Encoding::Gsm7, units: 160, segments: 1 });
        // 153 is odd, so a part of escape pairs ends one septet short rather than cut a pair.
        let parts = split(&"€".repeat(81));
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [76, 5]);
        assert_eq!(count(&"€".repeat(81)).segments, 2);
    }

    #[test]
    fn the_gsm_table_is_followed_exactly() {
        assert_eq!(encoding("Ça va à Zürich, señor? ¿Å Ø Æ ß É ¡ §"), Encoding::Gsm7);
        assert_eq!(encoding("Ç"), Encoding::Gsm7);
        assert_eq!(encoding("ç"), Encoding::Ucs2);
        assert_eq!(encoding("ê"), Encoding::Ucs2);
        assert_eq!(encoding("`"), Encoding::Ucs2);
        for turkish in ["ı", "İ", "ş", "Ş", "ğ", "Ğ"] {
            assert_eq!(encoding(turkish), Encoding::Ucs2, "{turkish}");
        }
        assert_eq!(encoding("ö ü Ö Ü"), Encoding::Gsm7);
    }

    #[test]
    fn turkish_and_korean_travel_as_ucs2() {
        let tr = count("Lale Butik: #1042 dağıtıma çıktı. https://wbl.example/t/Ab3xK9");
        assert_eq!(tr, Segments { encoding: Encoding::Ucs2, units: 62, segments: 1 });
        let ko = count("[하늘상점] 주문하신 상품이 발송되었습니다.");
        assert_eq!((ko.encoding, ko.units, ko.segments), (Encoding::Ucs2, 24, 1));
        assert_eq!(count(&"가".repeat(70)).segments, 1);
        assert_eq!(count(&"가".repeat(71)).segments, 2);
        assert_eq!(count(&"가".repeat(135)).segments, 3);
    }

    #[test]
    fn a_surrogate_pair_is_never_cut() {
        assert_eq!(count("📦").units, 2);
        let text = format!("{}📦", "a".repeat(66));
        assert_eq!(count(&text), Segments { encoding: Encoding::Ucs2, units: 68, segments: 1 });
        let text = format!("{}📦{}", "a".repeat(66), "b".repeat(10));
        assert_eq!(split(&text), ["a".repeat(66), format!("📦{}", "b".repeat(10))]);
        assert_eq!(count(&text).segments, 2);
    }

    #[test]
    fn nothing_costs_nothing() {
        assert_eq!(count(""), Segments { encoding: Encoding::Gsm7, units: 0, segments: 0 });
        assert!(split("").is_empty());
    }

    fn sms_text() -> impl Strategy<Value = String> {
        let alphabet = prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => prop::sample::select(vec!['€', '{', '^', '\\', 'é', 'Ç', '\n', ' ']),
            1 => prop::sample::select(vec!['ş', 'ı', 'İ', '가', '힣', '📦', '😀']),
        ];
        prop::collection::vec(alphabet, 0..500).prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn parts_rebuild_the_text_and_fit(text in sms_text()) {
            let parts = split(&text);
            prop_assert_eq!(parts.concat(), text.clone());
            let counted = count(&text);
            prop_assert_eq!(counted.segments, parts.len());
            let limit = if parts.len() > 1 { counted.encoding.part_limit() } else { counted.encoding.single_limit() };
            for part in &parts {
                prop_assert!(!part.is_empty());
                let units: usize = part.chars().map(|c| counted.encoding.units(c)).sum();
                prop_assert!(units <= limit, "{} units in one part", units);
            }
        }

        #[test]
        fn gsm_only_text_stays_gsm(text in "[a-zA-Z0-9 .,!?@£$€{}\\[\\]]{0,400}") {
            prop_assert_eq!(count(&text).encoding, Encoding::Gsm7);
        }
    }
}
