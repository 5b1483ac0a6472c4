//! The words customers read, in every language Waybill speaks, from the Fluent files under
//! `locales/` (compiled into the binary).

use fluent_templates::{LanguageIdentifier, Loader, langid};
use waybill_core::{Language, Milestone, NdrReason, TrackingStatus};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments would leak into SMS and cost UCS-2.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn language_id(lang: Language) -> LanguageIdentifier {
    match lang {
        Language::En => langid!("en"),
        Language::Fr => langid!("fr"),
        Language::Ko => langid!("ko"),
        Language::Tr => langid!("tr"),
    }
}

/// Fluent ids use hyphens where our enum names use underscores.
fn key(prefix: &str, name: &str) -> String {
    format!("{prefix}-{}", name.replace('_', "-"))
}

/// Where a parcel is, in plain words ("Out for delivery", "Dağıtıma çıktı").
pub fn status(lang: Language, status: TrackingStatus) -> String {
    text(lang, &key("status", status.as_str()))
}

/// Why a delivery attempt failed, told to the customer.
pub fn ndr_reason(lang: Language, reason: NdrReason) -> String {
    text(lang, &key("ndr", reason.as_str()))
}

/// The short name of a milestone, for settings screens and subjects.
pub fn milestone(lang: Language, m: Milestone) -> String {
    text(lang, &key("milestone", m.as_str()))
}

/// Any other text of the word files. Every key exists in every language (a test walks them
/// all); an unknown key comes back as itself rather than failing a message.
pub fn text(lang: Language, key: &str) -> String {
    LOCALES.try_lookup(&language_id(lang), key).unwrap_or_else(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn source(lang: Language) -> &'static str {
        match lang {
            Language::En => include_str!("../locales/en/words.ftl"),
            Language::Fr => include_str!("../locales/fr/words.ftl"),
            Language::Ko => include_str!("../locales/ko/words.ftl"),
            Language::Tr => include_str!("../locales/tr/words.ftl"),
        }
    }

    /// The message ids a word file defines (our files use one-line messages only).
    fn keys(lang: Language) -> BTreeSet<&'static str> {
        source(lang)
            .lines()
            .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
            .collect()
    }

    fn every_key_we_ask_for() -> Vec<String> {
        let statuses = TrackingStatus::ALL.iter().map(|s| key("status", s.as_str()));
        let reasons = NdrReason::ALL.iter().map(|r| key("ndr", r.as_str()));
        let milestones = Milestone::ALL.iter().map(|m| key("milestone", m.as_str()));
        statuses.chain(reasons).chain(milestones).collect()
    }

    #[test]
    fn every_language_has_every_key_and_no_other() {
        let english = keys(Language::En);
        assert!(english.len() > 30, "{english:?}");
        for key in every_key_we_ask_for() {
            assert!(english.contains(key.as_str()), "en lacks {key}");
        }
        for &lang in Language::ALL {
            assert_eq!(keys(lang), english, "keys of {}", lang.as_str());
            for key in &english {
                let id = language_id(lang);
                let found = LOCALES.try_lookup(&id, key);
                assert!(found.as_deref().is_some_and(|t| !t.trim().is_empty()), "{}: {key}", lang.as_str());
            }
        }
    }

    #[test]
    fn each_language_says_it_in_its_own_words() {
        for key in every_key_we_ask_for() {
            let texts: BTreeSet<String> = Language::ALL.iter().map(|&l| text(l, &key)).collect();
            assert_eq!(texts.len(), Language::ALL.len(), "{key}: {texts:?}");
        }
        let out = TrackingStatus::OutForDelivery;
        assert_eq!(status(Language::En, out), "Out for delivery");
        assert_eq!(status(Language::Fr, out), "En cours de livraison");
        assert_eq!(status(Language::Ko, out), "배송 출발");
        assert_eq!(status(Language::Tr, out), "Dağıtıma çıktı");
        assert_eq!(
            ndr_reason(Language::En, NdrReason::CustomerUnavailable),
            "Nobody was available to receive the parcel"
        );
        assert_eq!(milestone(Language::Fr, Milestone::Booked), "Commande expédiée");
    }

    #[test]
    fn turkish_letters_are_kept_as_written() {
        assert_eq!(milestone(Language::Tr, Milestone::Cancelled), "İptal edildi");
        assert_eq!(milestone(Language::Tr, Milestone::ReturnToOrigin), "İade");
        assert_eq!(text(Language::Tr, "sample-customer-name"), "Ayşe Yılmaz");
        assert_eq!(ndr_reason(Language::Tr, NdrReason::Refused), "Gönderi teslimatta reddedildi");
        let all: String = keys(Language::Tr).iter().map(|k| text(Language::Tr, k)).collect();
        for letter in ['İ', 'ı', 'ş', 'ğ', 'ç', 'ö', 'ü'] {
            assert!(all.contains(letter), "{letter}");
        }
        // What a careless to_uppercase/to_lowercase round trip leaves behind.
        assert!(!all.contains("i\u{307}") && !all.contains("I\u{307}"));
    }

    #[test]
    fn no_isolation_marks_and_unknown_keys_come_back_as_given() {
        for &lang in Language::ALL {
            for key in keys(lang) {
                let t = text(lang, key);
                assert!(!t.contains(['\u{2068}', '\u{2069}']), "{key}");
            }
        }
        assert_eq!(text(Language::Ko, "no-such-key"), "no-such-key");
    }
}
