//! The words of customer messages: which milestones a customer hears about, over which
//! channel, and in which language.

use crate::tracking::TrackingStatus;

crate::named_enum! {
    /// A moment in a parcel's life that a customer may be told about.
    #[derive(PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Milestone as "snake_case" {
        /// The carrier has the booking: "your order has shipped".
        Booked,
        PickedUp,
        OutForDelivery,
        /// A delivery attempt failed (with the NDR reason in the customer's words).
        DeliveryFailed,
        AvailableForPickup,
        Delivered,
        /// An exception or delay.
        Exception,
        /// The parcel is going (or went) back to the sender.
        ReturnToOrigin,
        Cancelled,
        /// The carrier needs one detail of the delivery address (an information request),
        /// which the customer can give on their page.
        InformationNeeded,
    }
}

crate::named_enum! {
    /// How a message reaches a customer.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum MessageChannel as "snake_case" {
        Email,
        Sms,
    }
}

crate::named_enum! {
    /// A language Waybill speaks to customers and operators.
    #[derive(PartialOrd, Ord, Default)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Language as "lowercase" {
        #[default]
        En,
        Fr,
        Ko,
        Tr,
    }
}

impl Milestone {
    /// The milestone a shipment reaches when its status becomes `status` (`None` for statuses
    /// customers are not told about, such as a parcel moving between hubs).
    pub fn of_status(status: TrackingStatus) -> Option<Milestone> {
        use TrackingStatus as T;
        Some(match status {
            T::InfoReceived | T::InTransit => return None,
            T::PickedUp => Self::PickedUp,
            T::OutForDelivery => Self::OutForDelivery,
            T::DeliveryFailed => Self::DeliveryFailed,
            T::AvailableForPickup => Self::AvailableForPickup,
            T::Delivered => Self::Delivered,
            T::Exception => Self::Exception,
            T::ReturnToOrigin | T::Returned => Self::ReturnToOrigin,
            T::Cancelled => Self::Cancelled,
        })
    }

    /// Whether a new tenant sends this milestone over `channel` before choosing for itself:
    /// shipped, out for delivery, failed and delivered by email; SMS stays off until the
    /// tenant sets up a provider and turns it on.
    pub fn on_by_default(self, channel: MessageChannel) -> bool {
        channel == MessageChannel::Email
            && matches!(self, Self::Booked | Self::OutForDelivery | Self::DeliveryFailed | Self::Delivered)
    }
}

impl Language {
    /// The language of a locale tag (`tr`, `tr-TR`, `fr_CA`, `ko-KR`), when Waybill speaks it.
    pub fn of_locale(locale: &str) -> Option<Language> {
        let primary = locale.split(['-', '_']).next()?.trim();
        Self::ALL.iter().copied().find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }

    /// The language most people speak in `country` (ISO 3166-1 alpha-2), when Waybill speaks it.
    pub fn of_country(country: &str) -> Option<Language> {
        const FRENCH: &[&str] = &[
            "FR", "BE", "LU", "MC", "SN", "CI", "ML", "BF", "NE", "TG", "BJ", "GA", "CG", "CD", "CM", "MG", "HT", "PF",
            "NC", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF", "WF",
        ];
        let country = country.to_ascii_uppercase();
        match country.as_str() {
            "TR" | "CY" => Some(Self::Tr),
            "KR" => Some(Self::Ko),
            "US" | "GB" | "IE" | "AU" | "NZ" | "IN" | "SG" | "ZA" | "CA" => Some(Self::En),
            c if FRENCH.contains(&c) => Some(Self::Fr),
            _ => None,
        }
    }

    /// The language to write to a customer in: the order's locale, else the ship-to country's
    /// language, else the tenant's default.
    pub fn for_customer(locale: Option<&str>, country: &str, tenant_default: Language) -> Language {
        locale.and_then(Self::of_locale).or_else(|| Self::of_country(country)).unwrap_or(tenant_default)
    }

    /// The first language of an `Accept-Language` header that Waybill speaks, by quality.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut ranked: Vec<(u16, Language)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let language = Self::of_locale(pieces.next()?.trim())?;
                let quality = pieces.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })?;
                (quality > 0).then_some((quality, language))
            })
            .collect();
        // Stable, so of equal qualities the first listed wins.
        ranked.sort_by_key(|(quality, _)| std::cmp::Reverse(*quality));
        ranked.first().map(|(_, l)| *l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_locale_wins_then_the_country_then_the_tenant() {
        assert_eq!(Language::for_customer(Some("tr-TR"), "FR", Language::En), Language::Tr);
        assert_eq!(Language::for_customer(Some("de-DE"), "FR", Language::En), Language::Fr);
        assert_eq!(Language::for_customer(None, "KR", Language::En), Language::Ko);
        assert_eq!(Language::for_customer(None, "DE", Language::Tr), Language::Tr);
        assert_eq!(Language::for_customer(Some("fr_CA"), "CA", Language::En), Language::Fr);
    }

    #[test]
    fn accept_language_is_read_by_quality() {
        assert_eq!(Language::from_accept_language("de-DE,ko;q=0.9,en;q=0.8"), Some(Language::Ko));
        assert_eq!(Language::from_accept_language("en;q=0.2, tr-TR"), Some(Language::Tr));
        assert_eq!(Language::from_accept_language("fr;q=0"), None);
        assert_eq!(Language::from_accept_language("*"), None);
        assert_eq!(Language::from_accept_language(""), None);
    }

    #[test]
    fn every_final_and_customer_facing_status_has_a_milestone() {
        for status in TrackingStatus::ALL {
            let milestone = Milestone::of_status(*status);
            assert_eq!(milestone.is_none(), matches!(status, TrackingStatus::InfoReceived | TrackingStatus::InTransit));
        }
        let defaults: Vec<_> =
            Milestone::ALL.iter().filter(|m| m.on_by_default(MessageChannel::Email)).map(|m| m.as_str()).collect();
        assert_eq!(defaults, ["booked", "out_for_delivery", "delivery_failed", "delivered"]);
        assert!(Milestone::ALL.iter().all(|m| !m.on_by_default(MessageChannel::Sms)));
    }
}
