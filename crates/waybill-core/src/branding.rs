//! A tenant's branding: how its public tracking page presents the store (name, logo, colours,
//! support address, links), and the request that sets it with its checks.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::TenantId;
use crate::message::Language;
use crate::text;

/// The largest logo, decoded.
pub const MAX_LOGO_BYTES: usize = 100 * 1024;
/// The longest base64 text a logo of [`MAX_LOGO_BYTES`] takes.
pub const MAX_LOGO_BASE64: usize = MAX_LOGO_BYTES.div_ceil(3) * 4;
pub const MAX_LINKS: usize = 5;
pub const MAX_LINK_LABEL: usize = 40;
/// Waybill's own colours, for a tenant that chose none.
pub const DEFAULT_PRIMARY_COLOR: &str = "#1f2937";
pub const DEFAULT_ACCENT_COLOR: &str = "#1d4ed8";

/// A link in the page's footer (returns policy, help centre, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrandLink {
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub label: String,
    /// https only.
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: String,
}

/// A tenant's branding, stored or the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub tenant_id: TenantId,
    /// The tenant's part of its tracking URLs: `/t/{slug}/{tracking_number}`.
    pub slug: String,
    pub store_name: String,
    pub primary_color: String,
    pub accent_color: String,
    pub support_email: Option<String>,
    pub links: Vec<BrandLink>,
    pub default_language: Language,
    pub has_logo: bool,
    /// Epoch ms; 0 for defaults never saved.
    pub updated_at: i64,
}

impl Branding {
    /// What a tenant that never set its branding shows: its name in Waybill's colours, under
    /// the slug derived from its id.
    pub fn defaults(tenant_id: TenantId, store_name: &str) -> Self {
        Branding {
            slug: default_slug(&tenant_id),
            tenant_id,
            store_name: store_name.chars().take(text::NAME.max).collect(),
            primary_color: DEFAULT_PRIMARY_COLOR.into(),
            accent_color: DEFAULT_ACCENT_COLOR.into(),
            support_email: None,
            links: vec![],
            default_language: Language::En,
            has_logo: false,
            updated_at: 0,
        }
    }

    /// Where the page shows the logo from (this server, never the internet).
    pub fn logo_path(&self) -> Option<String> {
        self.has_logo.then(|| format!("/t/assets/{}/logo", self.slug))
    }
}

/// The slug every tenant has before choosing one: its id with `-` for `_` (`ten-01j…`).
pub fn default_slug(tenant: &TenantId) -> String {
    tenant.as_str().replacen('_', "-", 1)
}

/// The tenant whose default slug this is, when it has that form.
pub fn tenant_of_default_slug(slug: &str) -> Option<TenantId> {
    TenantId::parse(&slug.replacen('-', "_", 1))
}

/// `PUT /v1/branding`: the whole branding at once. The logo stays as it is unless one of
/// `logo`, `logo_url` or `remove_logo` says otherwise.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "slug": "acme-store",
    "store_name": "Acme Store",
    "primary_color": "#0b3d2e",
    "accent_color": "#f59e0b",
    "support_email": "help@acme.example",
    "links": [{"label": "Returns", "url": "https://acme.example/returns"}],
    "default_language": "en"
})))]
pub struct BrandingUpdate {
    /// 3–40 characters: lower-case letters, digits and inner hyphens; unique across tenants.
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub slug: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub store_name: String,
    /// `#rrggbb` (Waybill's when absent).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 7))]
    pub primary_color: Option<String>,
    /// `#rrggbb` (Waybill's when absent).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 7))]
    pub accent_color: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub support_email: Option<String>,
    /// At most 5.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 5))]
    pub links: Vec<BrandLink>,
    /// English when absent.
    #[serde(default)]
    pub default_language: Option<Language>,
    /// A PNG or JPEG image in base64, at most 100 KB decoded (SVG is refused: it can carry script).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 136536))]
    pub logo: Option<String>,
    /// Instead of `logo`: an image URL fetched once, now, and kept (the page never links to it).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub logo_url: Option<String>,
    /// Drop the stored logo.
    #[serde(default)]
    pub remove_logo: bool,
}

impl BrandingUpdate {
    /// Problems that need no network and no database.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if let Some(p) = slug_problem(&self.slug) {
            out.push(FieldError::new("/slug", p));
        }
        out.extend(text::NAME.check("/store_name", &self.store_name));
        for (pointer, colour) in [("/primary_color", &self.primary_color), ("/accent_color", &self.accent_color)] {
            if colour.as_deref().is_some_and(|c| !is_colour(c)) {
                out.push(FieldError::new(pointer, "a colour is `#` and six hex digits, like `#1d4ed8`"));
            }
        }
        if let Some(email) = &self.support_email {
            match text::EMAIL.check("/support_email", email) {
                Some(p) => out.push(p),
                None if !text::is_email(email) => out.push(FieldError::new("/support_email", "not an email address")),
                None => {}
            }
        }
        if self.links.len() > MAX_LINKS {
            out.push(FieldError::new("/links", format!("at most {MAX_LINKS} links")));
        } else {
            for (i, link) in self.links.iter().enumerate() {
                let label = text::Rule { max: MAX_LINK_LABEL, ..text::NAME };
                out.extend(label.check(&format!("/links/{i}/label"), &link.label));
                let pointer = format!("/links/{i}/url");
                match text::URL.check(&pointer, &link.url) {
                    Some(p) => out.push(p),
                    None if !is_web_url(&link.url, &["https://"]) => {
                        out.push(FieldError::new(pointer, "a link must be an https:// URL"));
                    }
                    None => {}
                }
            }
        }
        let logo_sources = [self.logo.is_some(), self.logo_url.is_some(), self.remove_logo];
        if logo_sources.iter().filter(|&&given| given).count() > 1 {
            out.push(FieldError::new("/logo", "give one of `logo`, `logo_url` and `remove_logo`"));
        }
        if self.logo.as_ref().is_some_and(|l| l.len() > MAX_LOGO_BASE64) {
            out.push(FieldError::new("/logo", format!("the logo must be at most {} KB", MAX_LOGO_BYTES / 1024)));
        }
        if let Some(url) = &self.logo_url {
            match text::URL.check("/logo_url", url) {
                Some(p) => out.push(p),
                None if !is_web_url(url, &["https://", "http://"]) => {
                    out.push(FieldError::new("/logo_url", "the logo URL must be an https:// URL"));
                }
                None => {}
            }
        }
        out
    }
}

/// What is wrong with a slug, if anything: `^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`.
pub fn slug_problem(slug: &str) -> Option<&'static str> {
    let bytes = slug.as_bytes();
    let inner_ok = bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ends_ok = |b: Option<&u8>| b.is_some_and(|&b| b != b'-');
    if !(3..=40).contains(&bytes.len()) || !inner_ok || !ends_ok(bytes.first()) || !ends_ok(bytes.last()) {
        return Some("3 to 40 characters: lower-case letters a-z, digits and hyphens, not at either end");
    }
    None
}

fn is_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A URL with one of `schemes`, a host and no credentials or spaces.
fn is_web_url(url: &str, schemes: &[&str]) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = schemes.iter().find_map(|s| lower.strip_prefix(s)) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !authority.is_empty() && !authority.contains('@') && !url.chars().any(char::is_whitespace)
}

/// The content type of a logo, told by its first bytes: PNG or JPEG, nothing else.
pub fn logo_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The logo's content type, or what is wrong with it.
pub fn check_logo(bytes: &[u8]) -> Result<&'static str, String> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!("the logo must be at most {} KB (this is {} bytes)", MAX_LOGO_BYTES / 1024, bytes.len()));
    }
    logo_content_type(bytes).ok_or_else(|| "the logo must be a PNG or JPEG image (SVG is not accepted)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update() -> BrandingUpdate {
        serde_json::from_value(serde_json::json!({"slug": "acme-store", "store_name": "Acme"})).unwrap()
    }

    fn pointers(u: &BrandingUpdate) -> Vec<String> {
        u.problems().into_iter().map(|p| p.pointer).collect()
    }

    #[test]
    fn slugs_keep_to_their_pattern() {
        for good in ["abc", "acme-store", "a1-b2", &"a".repeat(40)] {
            assert_eq!(slug_problem(good), None, "{good}");
        }
        for bad in ["ab", "-abc", "abc-", "Acme", "acme_store", "acme store", "ébc", &"a".repeat(41)] {
            assert!(slug_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn every_bad_field_has_its_pointer() {
        assert!(update().problems().is_empty());
        let mut u = update();
        u.slug = "Bad Slug".into();
        u.primary_color = Some("red".into());
        u.accent_color = Some("#12345g".into());
        u.support_email = Some("help.example".into());
        u.links = vec![
            BrandLink { label: "Returns".into(), url: "http://acme.example/returns".into() },
            BrandLink { label: "x".repeat(41), url: "https://acme.example".into() },
        ];
        u.logo_url = Some("ftp://acme.example/logo.png".into());
        assert_eq!(
            pointers(&u),
            [
                "/slug",
                "/primary_color",
                "/accent_color",
                "/support_email",
                "/links/0/url",
                "/links/1/label",
                "/logo_url"
            ]
        );
    }

    #[test]
    fn links_and_logo_sources_are_limited() {
        let mut u = update();
        u.links = vec![BrandLink { label: "a".into(), url: "https://a.example".into() }; 6];
        u.logo = Some(String::new());
        u.remove_logo = true;
        assert_eq!(pointers(&u), ["/links", "/logo"]);
    }

    #[test]
    fn only_png_and_jpeg_logos_are_kept() {
        assert_eq!(check_logo(b"\x89PNG\r\n\x1a\nrest"), Ok("image/png"));
        assert_eq!(check_logo(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok("image/jpeg"));
        assert!(check_logo(b"<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap_err().contains("SVG"));
        let big = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; MAX_LOGO_BYTES]].concat();
        assert!(check_logo(&big).unwrap_err().contains("100 KB"));
    }

    #[test]
    fn default_slugs_lead_back_to_their_tenant() {
        let tenant = TenantId::generate();
        let slug = default_slug(&tenant);
        assert_eq!(slug_problem(&slug), None);
        assert_eq!(tenant_of_default_slug(&slug), Some(tenant));
        assert_eq!(tenant_of_default_slug("acme-store"), None);
    }
}
