//! The branded public tracking page: the page as data, and its rendering to HTML.
//!
//! Every word comes from `locales/{lang}/page.ftl`; templates, strings and CSS are compiled in,
//! and the page fetches nothing (no script, no font, no outside image).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Value, context};
use waybill_core::{Language, NdrReason, TrackingStatus};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments would end up as stray characters in HTML.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
    env.set_syntax(syntax.expect("the default delimiters are valid"));
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("tracking.html", include_str!("../templates/tracking.html")),
        ("not_found.html", include_str!("../templates/not_found.html")),
        ("message.html", include_str!("../templates/message.html")),
        ("unsubscribe.html", include_str!("../templates/unsubscribe.html")),
        ("ndr.html", include_str!("../templates/ndr.html")),
        ("cancel.html", include_str!("../templates/cancel.html")),
        ("info.html", include_str!("../templates/info.html")),
    ] {
        env.add_template(name, source).expect("compiled-in templates parse");
    }
    env
});

const CSS: &str = include_str!("../templates/page.css");

const DEFAULT_PRIMARY: &str = "#1f2937";
const DEFAULT_ACCENT: &str = "#1d4ed8";

/// How a store presents itself on its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub store_name: String,
    /// A path on this server (such as `/t/assets/{tenant}/logo`); anything else is ignored.
    pub logo_src: Option<String>,
    /// `#rrggbb`; anything else falls back to a default.
    pub primary_color: String,
    /// `#rrggbb`; anything else falls back to a default.
    pub accent_color: String,
    pub support_email: Option<String>,
    /// Only `http(s)` links are shown.
    pub links: Vec<BrandLink>,
    /// The page's language when the visitor asks for none Waybill speaks.
    pub default_language: Language,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandLink {
    pub label: String,
    pub url: String,
}

/// Everything the tracking page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPage {
    pub lang: Language,
    pub brand: Brand,
    pub tracking_number: String,
    pub carrier_name: String,
    /// The carrier's own tracking page; only `http(s)` links are shown.
    pub carrier_tracking_url: Option<String>,
    pub status: TrackingStatus,
    pub edd: Option<NaiveDate>,
    /// In any order; shown newest first.
    pub events: Vec<PageEvent>,
    pub ndr_reason: Option<NdrReason>,
    /// Filled only once the visitor proved they are the recipient.
    pub personal: Option<PersonalDetails>,
    /// The visitor sent a proof that did not match.
    pub proof_failed: bool,
    /// Where the proof form posts to.
    pub form_action: String,
    /// The page to choose what happens after a failed delivery (`/n/{token}`); linked only
    /// once the visitor proved they are the recipient, as it acts on their parcel.
    pub ndr_url: Option<String>,
    /// The order's cancellation page (a `/c/…` path), shown with the recipient's details only.
    pub cancel_url: Option<String>,
    /// The page that asks for a detail the carrier needs (an `/i/…` path), shown with the
    /// recipient's details only.
    pub information_url: Option<String>,
}

/// One scan as the customer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEvent {
    /// Shown in its own offset: the local time where the scan happened.
    pub at: DateTime<FixedOffset>,
    pub status: TrackingStatus,
    pub description: Option<String>,
    pub city: Option<String>,
}

/// What only the recipient may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDetails {
    pub name: String,
    pub address_lines: Vec<String>,
    /// Item name and quantity.
    pub items: Vec<(String, u32)>,
}

/// The tracking page for one shipment.
pub fn render_tracking(page: &TrackingPage) -> String {
    let lang = page.lang;
    let mut events: Vec<&PageEvent> = page.events.iter().collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            context! {
                iso => e.at.to_rfc3339(),
                when => format_date_time(lang, &e.at),
                status => text(lang, &status_key(e.status)),
                description => &e.description,
                city => &e.city,
            }
        })
        .collect();
    let exceptional = is_exceptional(page.status);
    let notice = exceptional.then(|| text(lang, &format!("notice-{}", page.status.as_str())));
    let ndr_text = page
        .ndr_reason
        .filter(|_| exceptional)
        .map(|r| text_with(lang, "ndr-reason", &[("reason", text(lang, &ndr_key(r)))]));
    let personal = page.personal.as_ref().map(|p| {
        let items: Vec<String> = p
            .items
            .iter()
            .map(|(name, quantity)| {
                text_with(lang, "item-line", &[("name", name.clone()), ("quantity", quantity.to_string())])
            })
            .collect();
        context! { name => &p.name, address_lines => &p.address_lines, items => items }
    });
    let ndr_url = page
        .ndr_url
        .as_deref()
        .filter(|url| page.personal.is_some() && url.starts_with("/n/"))
        .and_then(local_path)
        .map(|url| with_lang(url, lang));
    let link = |url: &Option<String>, prefix: &str| {
        url.as_deref()
            .filter(|url| page.personal.is_some() && url.starts_with(prefix))
            .and_then(local_path)
            .map(|url| with_lang(url, lang))
    };
    let cancel_url = link(&page.cancel_url, "/c/");
    let information_url = link(&page.information_url, "/i/");
    let page_ctx = context! {
        status_text => text(lang, &status_key(page.status)),
        status_tone => match page.status {
            TrackingStatus::Delivered => "delivered",
            _ if exceptional => "problem",
            _ => "",
        },
        notice => notice,
        ndr_text => ndr_text,
        milestones => milestones(lang, page.status, &page.events),
        edd => page.edd.map(|d| format_date(lang, d)),
        edd_iso => page.edd.map(|d| d.to_string()),
        tracking_number => &page.tracking_number,
        carrier_name => &page.carrier_name,
        carrier_url => page.carrier_tracking_url.as_deref().and_then(web_url),
        carrier_link_text => text_with(lang, "track-with-carrier", &[("carrier", page.carrier_name.clone())]),
        personal => personal,
        proof_failed => page.proof_failed,
        form_action => &page.form_action,
        ndr_url => ndr_url,
        cancel_url => cancel_url,
        information_url => information_url,
        events => events,
    };
    render("tracking.html", lang, Some(&page.brand), page_ctx)
}

/// The answer for a number we do not show (unknown, or another tenant's): it never echoes the
/// number, and offers a search box that sends `number` to `form_action` by GET.
pub fn render_not_found(lang: Language, brand: Option<&Brand>, form_action: &str) -> String {
    render("not_found.html", lang, brand, context! { form_action => form_action })
}

/// The answer when a visitor asks too often.
pub fn render_rate_limited(lang: Language) -> String {
    render_message(lang, "rate-limited-title", "rate-limited-body")
}

/// The answer to a proof form that could not be read (too large, or not a form).
pub fn render_bad_form(lang: Language) -> String {
    render_message(lang, "form-error-title", "form-error-body")
}

/// The unsubscribe page: the question with its button posting to `form_action` when it is
/// Some, else the confirmation that it is done. `channel` is `email` or `sms`.
pub fn render_unsubscribe(
    lang: Language,
    brand: &Brand,
    channel: &str,
    recipient: &str,
    form_action: Option<&str>,
) -> String {
    let (title, body) = if form_action.is_some() {
        ("unsubscribe-title", "unsubscribe")
    } else {
        ("unsubscribed-title", "unsubscribed")
    };
    let args = [("store", brand.store_name.clone()), ("recipient", recipient.to_owned())];
    let ctx = context! {
        title => text(lang, title),
        body => text_with(lang, &format!("{body}-{channel}-body"), &args),
        form_action => form_action,
    };
    render("unsubscribe.html", lang, Some(brand), ctx)
}

/// The answer to an unsubscribe link that is not one of ours.
pub fn render_unsubscribe_unknown(lang: Language) -> String {
    render_message(lang, "unsubscribe-unknown-title", "unsubscribe-unknown-body")
}

/// The answer when the choice could not be recorded.
pub fn render_unsubscribe_unavailable(lang: Language) -> String {
    render_message(lang, "unsubscribe-unavailable-title", "unsubscribe-unavailable-body")
}

pub(crate) fn render_message(lang: Language, title_key: &str, body_key: &str) -> String {
    let ctx = context! { title => text(lang, title_key), body => text(lang, body_key) };
    render("message.html", lang, None, ctx)
}

pub(crate) fn render(template: &str, lang: Language, brand: Option<&Brand>, page_ctx: Value) -> String {
    let colours = Colours::of(brand);
    let languages: Vec<Value> = Language::ALL
        .iter()
        .map(|&l| context! { code => l.as_str(), name => text(l, "lang-name"), current => l == lang })
        .collect();
    let brand = brand.map(|b| {
        let links: Vec<Value> = b
            .links
            .iter()
            .filter_map(|l| web_url(&l.url).map(|url| context! { label => &l.label, url => url }))
            .collect();
        context! {
            name => &b.store_name,
            logo_src => b.logo_src.as_deref().and_then(local_path),
            support_email => &b.support_email,
            links => links,
            footer_note => text_with(lang, "footer-note", &[("store", b.store_name.clone())]),
        }
    });
    let ctx = context! {
        lang => lang.as_str(),
        t => Value::from_function(move |key: &str| text(lang, key)),
        css => Value::from_safe_string(CSS.to_owned()),
        colours => context! {
            primary => colours.primary,
            on_primary => colours.on_primary,
            accent => colours.accent,
            on_accent => colours.on_accent,
        },
        languages => languages,
        brand => brand,
        ..page_ctx
    };
    TEMPLATES.get_template(template).and_then(|t| t.render(ctx)).expect("compiled-in templates render any page data")
}

fn language_id(lang: Language) -> LanguageIdentifier {
    match lang {
        Language::En => langid!("en"),
        Language::Fr => langid!("fr"),
        Language::Ko => langid!("ko"),
        Language::Tr => langid!("tr"),
    }
}

pub(crate) fn text(lang: Language, key: &str) -> String {
    lookup(lang, key, None)
}

pub(crate) fn text_with(lang: Language, key: &str, args: &[(&'static str, String)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue> =
        args.iter().map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone()))).collect();
    lookup(lang, key, Some(&args))
}

fn lookup(lang: Language, key: &str, args: Option<&HashMap<Cow<'static, str>, FluentValue>>) -> String {
    LOCALES.try_lookup_complete(&language_id(lang), key, args).unwrap_or_else(|| {
        // A page with a raw key is still usable; the unit tests keep this from happening.
        tracing::error!(key, lang = lang.as_str(), "missing page string");
        key.to_owned()
    })
}

fn status_key(status: TrackingStatus) -> String {
    format!("status-{}", status.as_str())
}

pub(crate) fn ndr_key(reason: NdrReason) -> String {
    format!("ndr-{}", reason.as_str())
}

pub(crate) fn format_date(lang: Language, date: NaiveDate) -> String {
    let month = text(lang, &format!("month-{}", date.month()));
    text_with(lang, "date", &[("day", date.day().to_string()), ("month", month), ("year", date.year().to_string())])
}

pub(crate) fn format_date_time(lang: Language, at: &DateTime<FixedOffset>) -> String {
    let (pm, hour12) = at.hour12();
    let time = text_with(
        lang,
        "time",
        &[
            ("hour", format!("{:02}", at.hour())),
            ("hour12", hour12.to_string()),
            ("minute", format!("{:02}", at.minute())),
            ("pm", if pm { "yes" } else { "no" }.to_owned()),
        ],
    );
    text_with(lang, "date-time", &[("date", format_date(lang, at.date_naive())), ("time", time)])
}

const MILESTONES: [&str; 5] = [
    "milestone-ordered",
    "milestone-picked_up",
    "milestone-in_transit",
    "milestone-out_for_delivery",
    "milestone-delivered",
];

/// The milestone a status shows the parcel reached, when it says so.
fn milestone_of(status: TrackingStatus) -> Option<usize> {
    use TrackingStatus as S;
    match status {
        S::InfoReceived => Some(0),
        S::PickedUp => Some(1),
        S::InTransit => Some(2),
        S::OutForDelivery | S::AvailableForPickup | S::DeliveryFailed => Some(3),
        S::Delivered => Some(4),
        S::Exception | S::ReturnToOrigin | S::Returned | S::Cancelled => None,
    }
}

/// Statuses told as a notice rather than as a step forward.
fn is_exceptional(status: TrackingStatus) -> bool {
    use TrackingStatus as S;
    matches!(status, S::DeliveryFailed | S::Exception | S::ReturnToOrigin | S::Returned | S::Cancelled)
}

fn milestones(lang: Language, status: TrackingStatus, events: &[PageEvent]) -> Vec<Value> {
    let exceptional = is_exceptional(status);
    // When something went wrong the bar shows how far the parcel got before it did.
    let reached = if exceptional {
        events.iter().map(|e| e.status).chain([status]).filter_map(milestone_of).max()
    } else {
        milestone_of(status)
    }
    .unwrap_or(0);
    MILESTONES
        .iter()
        .enumerate()
        .map(|(i, key)| {
            context! {
                label => text(lang, key),
                done => i <= reached,
                current => i == reached,
                halted => exceptional && i == reached,
            }
        })
        .collect()
}

/// An absolute `http(s)` URL without whitespace or control characters.
pub(crate) fn web_url(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    (scheme_ok && !url.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(url)
}

/// A path on this server: starts with one `/`, so never another host.
pub(crate) fn local_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(path)
}

/// `url` asking for the page in `lang`, so a link keeps the visitor's language.
pub(crate) fn with_lang(url: &str, lang: Language) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}lang={}", lang.as_str())
}

struct Colours {
    primary: String,
    on_primary: &'static str,
    accent: String,
    on_accent: &'static str,
}

impl Colours {
    fn of(brand: Option<&Brand>) -> Colours {
        let pick = |colour: Option<&String>, default: &str| {
            colour.and_then(|c| parse_hex(c)).or_else(|| parse_hex(default)).unwrap_or(BLACK)
        };
        let primary = pick(brand.map(|b| &b.primary_color), DEFAULT_PRIMARY);
        let accent = pick(brand.map(|b| &b.accent_color), DEFAULT_ACCENT);
        Colours {
            primary: to_hex(primary),
            on_primary: readable_text_on(primary),
            accent: to_hex(accent),
            on_accent: readable_text_on(accent),
        }
    }
}

fn to_hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// `#rrggbb`, and nothing else, so a colour can never carry CSS of its own.
fn parse_hex(colour: &str) -> Option<[u8; 3]> {
    let digits = colour.strip_prefix('#')?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG 2 relative luminance.
fn relative_luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

/// Black or white, whichever contrasts more with `background` (always at least 4.58:1).
fn readable_text_on(background: [u8; 3]) -> &'static str {
    if contrast_ratio(background, WHITE) >= contrast_ratio(background, BLACK) { "#ffffff" } else { "#000000" }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;

    use super::*;

    const LOCALE_FILES: [(Language, &str); 4] = [
        (Language::En, include_str!("../locales/en/page.ftl")),
        (Language::Fr, include_str!("../locales/fr/page.ftl")),
        (Language::Ko, include_str!("../locales/ko/page.ftl")),
        (Language::Tr, include_str!("../locales/tr/page.ftl")),
    ];

    fn message_ids(ftl: &str) -> BTreeSet<&str> {
        ftl.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(id, _)| id))
            .collect()
    }

    /// Text as the auto-escaping templates write it.
    fn escaped(text: &str) -> String {
        minijinja::HtmlEscape(text).to_string()
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, offset_hours: i32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(offset_hours * 3600).unwrap().with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn brand() -> Brand {
        Brand {
            store_name: "Maison Lumière".into(),
            logo_src: Some("/t/assets/maison/logo".into()),
            primary_color: "#0b3d2e".into(),
            accent_color: "#f5b700".into(),
            support_email: Some("help@maison.example".into()),
            links: vec![BrandLink { label: "Returns policy".into(), url: "https://maison.example/returns".into() }],
            default_language: Language::Fr,
        }
    }

    fn personal() -> PersonalDetails {
        PersonalDetails {
            name: "Jane Recipient".into(),
            address_lines: vec!["12 Rue des Lilas".into(), "75011 Paris".into()],
            items: vec![("Blue mug".into(), 2)],
        }
    }

    fn page(lang: Language) -> TrackingPage {
        TrackingPage {
            lang,
            brand: brand(),
            tracking_number: "WB123456789".into(),
            carrier_name: "Sandbox Express".into(),
            carrier_tracking_url: Some("https://carrier.example/track?n=WB123456789".into()),
            status: TrackingStatus::OutForDelivery,
            edd: NaiveDate::from_ymd_opt(2026, 12, 7),
            events: vec![
                PageEvent {
                    at: at(2026, 12, 4, 9, 30, 9),
                    status: TrackingStatus::PickedUp,
                    description: Some("Shipment picked up".into()),
                    city: Some("Seoul".into()),
                },
                PageEvent {
                    at: at(2026, 12, 6, 14, 5, 1),
                    status: TrackingStatus::OutForDelivery,
                    description: None,
                    city: Some("Paris".into()),
                },
                PageEvent {
                    at: at(2026, 12, 5, 2, 0, 3),
                    status: TrackingStatus::InTransit,
                    description: Some("Departed hub".into()),
                    city: Some("İstanbul".into()),
                },
            ],
            ndr_reason: None,
            personal: None,
            proof_failed: false,
            form_action: "/t/maison/WB123456789?lang=en".into(),
            ndr_url: None,
            cancel_url: None,
            information_url: None,
        }
    }

    #[test]
    fn every_key_exists_in_every_language() {
        let english = message_ids(LOCALE_FILES[0].1);
        for key in TrackingStatus::ALL.iter().map(|s| status_key(*s)).chain(NdrReason::ALL.iter().map(|r| ndr_key(*r)))
        {
            assert!(english.contains(key.as_str()), "{key} missing");
        }
        for key in TrackingStatus::ALL.iter().filter(|s| is_exceptional(**s)).map(|s| format!("notice-{}", s.as_str()))
        {
            assert!(english.contains(key.as_str()), "{key} missing");
        }
        assert_eq!(LOCALE_FILES.map(|(l, _)| l).as_slice(), Language::ALL);
        let every_argument: HashMap<&str, FluentValue> = [
            "attempt",
            "carrier",
            "date",
            "day",
            "deadline",
            "earliest",
            "hour",
            "hour12",
            "latest",
            "minute",
            "month",
            "name",
            "pm",
            "quantity",
            "reason",
            "recipient",
            "store",
            "time",
            "year",
        ]
        .into_iter()
        .map(|arg| (arg, FluentValue::from("x")))
        .collect();
        for (lang, ftl) in LOCALE_FILES {
            assert_eq!(message_ids(ftl), english, "{} has other keys than en", lang.as_str());
            for key in &english {
                let found = LOCALES.lookup_single_language(&language_id(lang), key, Some(&every_argument));
                assert!(found.is_ok_and(|s| !s.trim().is_empty()), "{key} in {}", lang.as_str());
            }
        }
    }

    #[test]
    fn dates_follow_each_language() {
        let afternoon = at(2026, 12, 6, 14, 5, 1);
        let expected = [
            (Language::En, "Dec 6, 2026, 2:05 PM"),
            (Language::Fr, "6 déc. 2026, 14:05"),
            (Language::Ko, "2026년 12월 6일 14:05"),
            (Language::Tr, "6 Ara 2026 14:05"),
        ];
        for (lang, text) in expected {
            assert_eq!(format_date_time(lang, &afternoon), text);
        }
        let morning = at(2026, 1, 31, 0, 7, -5);
        assert_eq!(format_date_time(Language::En, &morning), "Jan 31, 2026, 12:07 AM");
        assert_eq!(format_date_time(Language::Fr, &morning), "31 janv. 2026, 00:07");
        assert_eq!(format_date(Language::Ko, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()), "2026년 3월 1일");
    }

    #[test]
    fn scans_show_their_local_time() {
        // 23:30 in New York is already the next day in UTC; the page keeps the local day.
        let late = at(2026, 12, 6, 23, 30, -5);
        assert_eq!(format_date_time(Language::Tr, &late), "6 Ara 2026 23:30");
    }

    #[test]
    fn each_language_shows_its_words() {
        let words = [
            (
                Language::En,
                ["Out for delivery", "Estimated delivery", "Show delivery details", "Track with Sandbox Express"],
            ),
            (
                Language::Fr,
                [
                    "En cours de livraison",
                    "Livraison estimée",
                    "Afficher les détails de livraison",
                    "Suivre sur le site de Sandbox Express",
                ],
            ),
            (Language::Ko, ["배달 출발", "도착 예정일", "배송 상세 정보 보기", "Sandbox Express에서 조회하기"]),
            (
                Language::Tr,
                [
                    "Dağıtıma çıktı",
                    "Tahmini teslimat",
                    "Teslimat ayrıntılarını göster",
                    "Sandbox Express sitesinde takip edin",
                ],
            ),
        ];
        for (lang, expected) in words {
            let html = render_tracking(&page(lang));
            assert!(html.contains(&format!("<html lang=\"{}\">", lang.as_str())));
            for word in expected {
                assert!(html.contains(word), "{} lacks {word}", lang.as_str());
            }
            assert!(html.contains(&escaped(&text(lang, "proof-label"))));
            assert!(html.contains(&escaped(&text(lang, "milestone-delivered"))));
            assert!(!html.contains("status-") && !html.contains("milestone-"), "a raw key leaked");
        }
    }

    #[test]
    fn personal_details_need_proof() {
        let locked = render_tracking(&page(Language::En));
        for secret in ["Jane Recipient", "12 Rue des Lilas", "75011", "Blue mug"] {
            assert!(!locked.contains(secret), "{secret} shown without proof");
        }
        // Auto-escaping writes `/` as `&#x2f;` in attributes too, which browsers read back as `/`.
        assert!(locked.contains(r#"<form method="post" action="&#x2f;t&#x2f;maison&#x2f;WB123456789?lang=en">"#));
        assert!(locked.contains(r#"<label for="proof">"#) && locked.contains(r#"name="proof""#));

        let unlocked = render_tracking(&TrackingPage { personal: Some(personal()), ..page(Language::En) });
        for shown in ["Jane Recipient", "12 Rue des Lilas", "75011 Paris", "2 × Blue mug"] {
            assert!(unlocked.contains(shown), "{shown} missing");
        }
        assert!(!unlocked.contains(r#"name="proof""#));
    }

    #[test]
    fn the_failed_delivery_link_needs_the_details_and_a_local_ndr_path() {
        let url = Some("/n/abc".to_owned());
        let shown =
            render_tracking(&TrackingPage { personal: Some(personal()), ndr_url: url.clone(), ..page(Language::Ko) });
        assert!(
            shown.contains(r#"<p class="notice"><a href="&#x2f;n&#x2f;abc?lang=ko">배달하지 못했습니다"#),
            "{shown}"
        );
        let locked = render_tracking(&TrackingPage { ndr_url: url, ..page(Language::Ko) });
        assert!(!locked.contains("&#x2f;n&#x2f;abc") && !locked.contains(&escaped(&text(Language::Ko, "ndr-link"))));
        for bad in ["https://evil.example/n/abc", "//evil.example/n/abc", "/t/abc", "/n/a b", "javascript:alert(1)"] {
            let html = render_tracking(&TrackingPage {
                personal: Some(personal()),
                ndr_url: Some(bad.into()),
                ..page(Language::En)
            });
            assert!(!html.contains("choose what happens next"), "{bad}");
        }
    }

    #[test]
    fn the_cancellation_link_needs_the_details_and_a_local_cancel_path() {
        let url = Some("/c/abc".to_owned());
        let shown = render_tracking(&TrackingPage {
            personal: Some(personal()),
            cancel_url: url.clone(),
            ..page(Language::Tr)
        });
        assert!(shown.contains(r#"<a href="&#x2f;c&#x2f;abc?lang=tr">Fikrinizi mi"#), "{shown}");
        let locked = render_tracking(&TrackingPage { cancel_url: url, ..page(Language::Tr) });
        assert!(!locked.contains("&#x2f;c&#x2f;abc"), "not without the recipient's proof");
        for bad in ["https://evil.example/c/abc", "//evil.example/c/abc", "/n/abc", "javascript:alert(1)"] {
            let html = render_tracking(&TrackingPage {
                personal: Some(personal()),
                cancel_url: Some(bad.into()),
                ..page(Language::En)
            });
            assert!(!html.contains(&escaped(&text(Language::En, "cancel-link"))), "{bad}");
        }
    }

    #[test]
    fn the_information_link_needs_the_details_and_a_local_path() {
        let url = Some("/i/abc".to_owned());
        let shown = render_tracking(&TrackingPage {
            personal: Some(personal()),
            information_url: url.clone(),
            ..page(Language::Fr)
        });
        assert!(shown.contains(r#"<a href="&#x2f;i&#x2f;abc?lang=fr">"#), "{shown}");
        let locked = render_tracking(&TrackingPage { information_url: url, ..page(Language::Fr) });
        assert!(!locked.contains("&#x2f;i&#x2f;abc"), "not without the recipient's proof");
        let foreign = render_tracking(&TrackingPage {
            personal: Some(personal()),
            information_url: Some("https://evil.example/i/abc".into()),
            ..page(Language::Fr)
        });
        assert!(!foreign.contains("evil.example"));
    }

    #[test]
    fn a_failed_proof_is_told_next_to_the_field() {
        let html = render_tracking(&TrackingPage { proof_failed: true, ..page(Language::Fr) });
        assert!(html.contains(r#"<details class="proof" open>"#));
        assert!(html.contains(r#"aria-describedby="proof-help proof-error" aria-invalid="true""#));
        assert!(html.contains(r#"<p id="proof-error" class="error" role="alert">Cette information ne correspond pas"#));
        let fine = render_tracking(&page(Language::Fr));
        assert!(!fine.contains("proof-error") && !fine.contains(r#"aria-invalid="true""#));
    }

    #[test]
    fn hostile_brand_values_stay_inert() {
        let mut hostile = page(Language::En);
        hostile.brand = Brand {
            store_name: "<script>alert(1)</script>".into(),
            logo_src: Some("https://evil.example/logo.png".into()),
            primary_color: "red;}body{display:none".into(),
            accent_color: "#12345g".into(),
            support_email: Some("\"><script>x</script>".into()),
            links: vec![BrandLink { label: "x".into(), url: "javascript:alert(1)".into() }],
            default_language: Language::En,
        };
        hostile.carrier_name = "<b>Carrier</b>".into();
        hostile.carrier_tracking_url = Some("javascript:alert(2)".into());
        hostile.events[0].description = Some("<img src=x onerror=alert(3)>".into());
        let html = render_tracking(&hostile);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(!html.contains("<img src=x") && !html.contains("<b>Carrier"));
        assert!(!html.contains("display:none") && !html.contains("evil.example") && !html.contains("javascript:"));
        assert!(
            html.contains(&format!("--primary:{DEFAULT_PRIMARY}"))
                && html.contains(&format!("--accent:{DEFAULT_ACCENT}"))
        );
    }

    #[test]
    fn the_page_fetches_nothing_and_runs_nothing() {
        let html = render_tracking(&TrackingPage { personal: Some(personal()), ..page(Language::Ko) });
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("url("));
        assert!(html.contains(r#"<img src="&#x2f;t&#x2f;assets&#x2f;maison&#x2f;logo""#));
        for (i, _) in html.match_indices(" src=\"") {
            let src = &html[i + 6..];
            assert!(src.starts_with("&#x2f;") && !src.starts_with("&#x2f;&#x2f;"));
        }
        for required in [
            r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#,
            r#"<meta name="robots" content="noindex">"#,
            r#"<meta name="referrer" content="no-referrer">"#,
            "<main>",
            "<header class=\"brand\">",
            "<ol class=\"timeline\">",
            "<ol class=\"progress\"",
        ] {
            assert!(html.contains(required), "{required} missing");
        }
        for lang in Language::ALL {
            assert!(html.contains(&format!(r#"<a href="?lang={0}" lang="{0}" hreflang="{0}""#, lang.as_str())));
        }
    }

    #[test]
    fn thirty_scans_fit_in_fifty_kilobytes() {
        for lang in Language::ALL {
            let mut busy = TrackingPage { personal: Some(personal()), ..page(*lang) };
            busy.events = (0..30)
                .map(|i| PageEvent {
                    at: at(2026, 11, 1 + i / 2, 8 + i % 12, 15, 3),
                    status: TrackingStatus::InTransit,
                    description: Some(format!(
                        "Arrived at sorting facility number {i} and departed towards the next hub"
                    )),
                    city: Some("Kahramanmaraş".into()),
                })
                .collect();
            let html = render_tracking(&busy);
            assert!(html.len() < 50 * 1024, "{}: {} bytes", lang.as_str(), html.len());
            let first = html.find("number 29 ").unwrap();
            assert!(first < html.find("number 28 ").unwrap() && first < html.find("number 0 ").unwrap());
        }
    }

    #[test]
    fn the_timeline_is_newest_first() {
        let html = render_tracking(&page(Language::En));
        let paris = html.find("Paris").unwrap();
        let istanbul = html.find("İstanbul").unwrap();
        let seoul = html.find("Seoul").unwrap();
        assert!(paris < istanbul && istanbul < seoul);
        assert!(html.contains(r#"<time datetime="2026-12-06T14:05:00+01:00">Dec 6, 2026, 2:05 PM</time>"#));
    }

    #[test]
    fn the_progress_bar_marks_the_step_reached() {
        let html = render_tracking(&page(Language::En));
        assert!(html.contains(r#"<li class="done" aria-current="step">Out for delivery</li>"#), "{html}");
        assert!(html.contains(r#"<li class="">Delivered</li>"#));

        let delivered = render_tracking(&TrackingPage { status: TrackingStatus::Delivered, ..page(Language::En) });
        assert!(delivered.contains(r#"<li class="done" aria-current="step">Delivered</li>"#));
        assert_eq!(delivered.matches(r#"<li class="done""#).count(), 5);
    }

    #[test]
    fn trouble_is_a_notice_with_the_reason_in_plain_words() {
        let mut failed = page(Language::Tr);
        failed.status = TrackingStatus::ReturnToOrigin;
        failed.ndr_reason = Some(NdrReason::CustomerUnavailable);
        let html = render_tracking(&failed);
        assert!(html.contains("Paketiniz mağazaya geri gönderiliyor."));
        assert!(html.contains("Neden: Adreste paketi teslim alacak kimse yoktu"));
        // It got as far as out for delivery before turning back.
        assert!(html.contains(r#"<li class="done halted" aria-current="step">Dağıtımda</li>"#), "{html}");

        let cancelled = TrackingPage { status: TrackingStatus::Cancelled, events: vec![], ..page(Language::En) };
        let html = render_tracking(&cancelled);
        assert!(html.contains(r#"<li class="done halted" aria-current="step">Ordered</li>"#));
        assert!(html.contains("No updates yet."));
    }

    #[test]
    fn every_status_and_reason_renders_in_every_language() {
        for lang in Language::ALL {
            for (i, status) in TrackingStatus::ALL.iter().enumerate() {
                let reason = NdrReason::ALL[i % NdrReason::ALL.len()];
                let p = TrackingPage { status: *status, ndr_reason: Some(reason), ..page(*lang) };
                let html = render_tracking(&p);
                assert!(html.contains(&escaped(&text(*lang, &status_key(*status)))));
                assert_eq!(html.contains(&escaped(&text(*lang, &ndr_key(reason)))), is_exceptional(*status));
            }
        }
        for reason in NdrReason::ALL {
            assert_ne!(text(Language::Ko, &ndr_key(*reason)), ndr_key(*reason));
        }
    }

    #[test]
    fn not_found_offers_a_search_and_never_the_number() {
        let html = render_not_found(Language::Fr, Some(&brand()), "/t");
        assert!(html.contains("Numéro de suivi introuvable") && html.contains("Maison Lumière"));
        assert!(html.contains(r#"<form method="get" action="&#x2f;t">"#) && html.contains(r#"name="number""#));
        assert!(html.contains(r#"<label for="number">"#));
        let bare = render_not_found(Language::Ko, None, "/t");
        assert!(bare.contains("운송장 번호를 찾을 수 없습니다") && !bare.contains("<footer>"));
        let limited = render_rate_limited(Language::Tr);
        assert!(limited.contains("Çok fazla istek") && limited.contains(r#"<html lang="tr">"#));
    }

    #[test]
    fn header_text_is_black_or_white_with_enough_contrast() {
        assert!((contrast_ratio(BLACK, WHITE) - 21.0).abs() < 1e-9);
        assert_eq!(readable_text_on(WHITE), "#000000");
        assert_eq!(readable_text_on(BLACK), "#ffffff");
        assert_eq!(readable_text_on([0x1f, 0x29, 0x37]), "#ffffff");
        assert_eq!(readable_text_on([0xf5, 0xb7, 0x00]), "#000000");
        for r in (0..=255).step_by(15) {
            for g in (0..=255).step_by(15) {
                for b in (0..=255).step_by(15) {
                    let bg = [r as u8, g as u8, b as u8];
                    let text = parse_hex(readable_text_on(bg)).unwrap();
                    assert!(contrast_ratio(bg, text) >= 4.5, "{bg:?}");
                }
            }
        }
        let html = render_tracking(&page(Language::En));
        assert!(html.contains("--primary:#0b3d2e;--on-primary:#ffffff;--accent:#f5b700;--on-accent:#000000"));
    }

    #[test]
    fn only_plain_hex_colours_and_safe_links_pass() {
        assert_eq!(parse_hex("#A1b2C3"), Some([0xa1, 0xb2, 0xc3]));
        for bad in ["A1B2C3", "#a1b2c", "#a1b2c3d", "#a1b2cg", "#a1b2c3;", "", "#ｆｆｆｆｆｆ"] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
        assert_eq!(web_url("HTTPS://example.com/x"), Some("HTTPS://example.com/x"));
        for bad in ["javascript:alert(1)", "//example.com", "data:text/html,x", "https://a b", "ftp://x"] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
        assert_eq!(local_path("/t/assets/acme/logo"), Some("/t/assets/acme/logo"));
        for bad in ["//evil.example/x", "https://evil.example/x", "/\\evil", "logo.png", "/a b"] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
