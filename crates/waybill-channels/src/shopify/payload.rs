//! Shopify's order payloads, read into a [`ChannelOrder`]: the REST `Order` JSON that webhooks
//! carry (Admin API 2026-07; sample: `../shared/specs/shopify/fixtures_shopify-app-js/
//! order__get_order__resp200.json`) and the GraphQL `Order` node the sync fetches
//! (`graphql/orders_since.graphql`). Both become the same [`Order`] first, so one mapping
//! decides what Waybill keeps.

use rust_decimal::Decimal;
use serde::Deserialize;
use waybill_core::channel::{ChannelLine, ChannelOrder};
use waybill_core::{Address, Payment};

use crate::{ReadError, millis};

/// An order in the words both payloads share.
struct Order {
    id: String,
    name: Option<String>,
    updated_at: String,
    cancelled: bool,
    financial_status: Option<String>,
    fulfilled: bool,
    email: Option<String>,
    phone: Option<String>,
    currency: String,
    locale: Option<String>,
    gateways: Vec<String>,
    outstanding: Option<Decimal>,
    shipping: Option<MailingAddress>,
    lines: Vec<Line>,
}

struct MailingAddress {
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    company: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province: Option<String>,
    province_code: Option<String>,
    zip: Option<String>,
    country_code: Option<String>,
    phone: Option<String>,
}

struct Line {
    sku: Option<String>,
    name: Option<String>,
    quantity: i64,
    price: Decimal,
    requires_shipping: bool,
}

/// Money as Shopify writes it: a decimal string (`"199.00"`).
fn money(s: &str, what: &str) -> Result<Decimal, ReadError> {
    s.trim().parse().map_err(|_| ReadError(format!("{what} `{s}` is not an amount")))
}

/// A REST (webhook) order.
pub fn read_rest(body: &[u8]) -> Result<ChannelOrder, ReadError> {
    #[derive(Deserialize)]
    struct Rest {
        id: u64,
        name: Option<String>,
        updated_at: String,
        cancelled_at: Option<String>,
        financial_status: Option<String>,
        fulfillment_status: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        currency: String,
        customer_locale: Option<String>,
        #[serde(default)]
        payment_gateway_names: Vec<String>,
        total_outstanding: Option<String>,
        shipping_address: Option<RestAddress>,
        #[serde(default)]
        line_items: Vec<RestLine>,
    }
    #[derive(Deserialize)]
    struct RestAddress {
        name: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        company: Option<String>,
        address1: Option<String>,
        address2: Option<String>,
        city: Option<String>,
        province: Option<String>,
        province_code: Option<String>,
        zip: Option<String>,
        country_code: Option<String>,
        phone: Option<String>,
    }
    #[derive(Deserialize)]
    struct RestLine {
        sku: Option<String>,
        name: Option<String>,
        title: Option<String>,
        quantity: i64,
        /// Quantity after refunds and order edits (absent in older versions).
        current_quantity: Option<i64>,
        price: String,
        #[serde(default = "yes")]
        requires_shipping: bool,
    }
    fn yes() -> bool {
        true
    }
    let rest: Rest = serde_json::from_slice(body).map_err(|e| ReadError(format!("not a Shopify order: {e}")))?;
    let lines = rest
        .line_items
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(Line {
                sku: l.sku,
                name: l.name.or(l.title),
                quantity: l.current_quantity.unwrap_or(l.quantity),
                price: money(&l.price, &format!("line_items[{i}].price"))?,
                requires_shipping: l.requires_shipping,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    let order = Order {
        id: rest.id.to_string(),
        name: rest.name,
        updated_at: rest.updated_at,
        cancelled: rest.cancelled_at.is_some(),
        financial_status: rest.financial_status,
        fulfilled: rest.fulfillment_status.as_deref() == Some("fulfilled"),
        email: rest.email,
        phone: rest.phone,
        currency: rest.currency,
        locale: rest.customer_locale,
        gateways: rest.payment_gateway_names,
        outstanding: rest.total_outstanding.as_deref().map(|s| money(s, "total_outstanding")).transpose()?,
        shipping: rest.shipping_address.map(|a| MailingAddress {
            name: a.name,
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            province: a.province,
            province_code: a.province_code,
            zip: a.zip,
            country_code: a.country_code,
            phone: a.phone,
        }),
        lines,
    };
    channel_order(order)
}

/// A GraphQL `Order` node, as `orders_since.graphql` selects it.
pub fn read_graphql(body: &[u8]) -> Result<ChannelOrder, ReadError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Node {
        legacy_resource_id: String,
        name: Option<String>,
        updated_at: String,
        cancelled_at: Option<String>,
        display_financial_status: Option<String>,
        display_fulfillment_status: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        currency_code: String,
        customer_locale: Option<String>,
        #[serde(default)]
        payment_gateway_names: Vec<String>,
        total_outstanding_set: Option<MoneyBag>,
        shipping_address: Option<GqlAddress>,
        line_items: Nodes<GqlLine>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct MoneyBag {
        shop_money: MoneyV2,
    }
    #[derive(Deserialize)]
    struct MoneyV2 {
        amount: String,
    }
    #[derive(Deserialize)]
    struct Nodes<T> {
        nodes: Vec<T>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GqlAddress {
        name: Option<String>,
        company: Option<String>,
        address1: Option<String>,
        address2: Option<String>,
        city: Option<String>,
        province: Option<String>,
        province_code: Option<String>,
        zip: Option<String>,
        country_code_v2: Option<String>,
        phone: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GqlLine {
        sku: Option<String>,
        name: Option<String>,
        quantity: i64,
        current_quantity: Option<i64>,
        requires_shipping: bool,
        original_unit_price_set: MoneyBag,
    }
    let node: Node = serde_json::from_slice(body).map_err(|e| ReadError(format!("not a Shopify order node: {e}")))?;
    // GraphQL's unsigned 64-bit ids are strings; the REST payload's are numbers.
    let id: u64 = node
        .legacy_resource_id
        .parse()
        .map_err(|_| ReadError(format!("legacyResourceId `{}` is not a number", node.legacy_resource_id)))?;
    let lines = node
        .line_items
        .nodes
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(Line {
                sku: l.sku,
                name: l.name,
                quantity: l.current_quantity.unwrap_or(l.quantity),
                price: money(&l.original_unit_price_set.shop_money.amount, &format!("lineItems[{i}] price"))?,
                requires_shipping: l.requires_shipping,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    let order = Order {
        id: id.to_string(),
        name: node.name,
        updated_at: node.updated_at,
        cancelled: node.cancelled_at.is_some(),
        financial_status: node.display_financial_status,
        fulfilled: node.display_fulfillment_status.as_deref() == Some("FULFILLED"),
        email: node.email,
        phone: node.phone,
        currency: node.currency_code,
        locale: node.customer_locale,
        gateways: node.payment_gateway_names,
        outstanding: node.total_outstanding_set.map(|m| money(&m.shop_money.amount, "totalOutstanding")).transpose()?,
        shipping: node.shipping_address.map(|a| MailingAddress {
            name: a.name,
            first_name: None,
            last_name: None,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            province: a.province,
            province_code: a.province_code,
            zip: a.zip,
            country_code: a.country_code_v2,
            phone: a.phone,
        }),
        lines,
    };
    channel_order(order)
}

/// Whether a payment gateway is cash on delivery (Shopify's manual method is named
/// "Cash on Delivery (COD)"; local gateways use "Kapıda Ödeme" and the like).
fn is_cod_gateway(name: &str) -> bool {
    let name = name.to_lowercase();
    ["cash on delivery", "(cod)", "kapıda ödeme", "kapida odeme", "paiement à la livraison", "착불"]
        .iter()
        .any(|p| name.contains(p))
        || name == "cod"
}

fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn channel_order(o: Order) -> Result<ChannelOrder, ReadError> {
    let updated_at =
        millis(&o.updated_at).ok_or_else(|| ReadError(format!("updated_at `{}` is not a time", o.updated_at)))?;
    let cod = o.gateways.iter().any(|g| is_cod_gateway(g));
    let payment = match o.outstanding {
        Some(amount) if cod && amount > Decimal::ZERO => Payment::Cod { amount },
        _ => Payment::Prepaid,
    };
    let mut lines = Vec::new();
    for l in &o.lines {
        if !l.requires_shipping || l.quantity <= 0 {
            continue;
        }
        let quantity = u32::try_from(l.quantity).map_err(|_| ReadError(format!("a quantity of {}", l.quantity)))?;
        lines.push(ChannelLine {
            sku: present(l.sku.clone()).unwrap_or_default(),
            name: present(l.name.clone()),
            quantity,
            unit_price: l.price,
        });
    }
    let not_ours = if o.fulfilled {
        Some("already fulfilled in Shopify".to_owned())
    } else if lines.is_empty() {
        Some("nothing in the order needs shipping".to_owned())
    } else {
        None
    };
    let email = present(o.email);
    let ship_to = o.shipping.map(|a| {
        let joined = [a.first_name.as_deref(), a.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Address {
            name: present(a.name).unwrap_or(joined),
            company: present(a.company),
            phone: present(a.phone).or_else(|| present(o.phone.clone())),
            email: email.clone(),
            street1: present(a.address1).unwrap_or_default(),
            street2: present(a.address2),
            city: present(a.city).unwrap_or_default(),
            state: present(a.province_code).or(present(a.province)),
            postal_code: present(a.zip).unwrap_or_default(),
            country: present(a.country_code).unwrap_or_default(),
        }
    });
    Ok(ChannelOrder {
        number: o.name.filter(|n| *n != o.id),
        external_id: o.id,
        status: o.financial_status.map(|s| s.to_lowercase()).unwrap_or_default(),
        cancelled: o.cancelled,
        updated_at,
        currency: o.currency,
        payment,
        ship_to,
        lines,
        locale: present(o.locale),
        not_ours,
        assigned: None,
        carrier_status: None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Shopify's own sample order (API 2026-07), from `../shared/specs/shopify/
    /// fixtures_shopify-app-js/order__get_order__resp200.json` (MIT), as its `order` object.
    const SAMPLE: &str = include_str!("../../tests/fixtures/shopify/order_2026-07.json");

    #[test]
    fn shopifys_sample_order_reads_with_its_address_lines_and_state() {
        let order = read_rest(SAMPLE.as_bytes()).unwrap();
        assert_eq!(order.external_id, "450789469");
        assert_eq!(order.number.as_deref(), Some("#1001"));
        assert_eq!(order.currency, "USD");
        assert_eq!(order.status, "partially_refunded");
        assert!(!order.cancelled);
        let to = order.ship_to.as_ref().unwrap();
        assert_eq!((to.name.as_str(), to.city.as_str(), to.country.as_str()), ("Bob Norman", "Louisville", "US"));
        assert_eq!(to.state.as_deref(), Some("KY"));
        assert_eq!(to.email.as_deref(), Some("bob.norman@mail.example.com"));
        assert!(order.lines.iter().all(|l| l.quantity > 0));
        assert_eq!(order.payment, Payment::Prepaid);
    }

    #[test]
    fn a_cash_on_delivery_order_owes_what_is_outstanding() {
        let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        v["payment_gateway_names"] = serde_json::json!(["Cash on Delivery (COD)"]);
        v["total_outstanding"] = "409.94".into();
        let order = read_rest(v.to_string().as_bytes()).unwrap();
        assert_eq!(order.payment, Payment::Cod { amount: "409.94".parse().unwrap() });
        v["total_outstanding"] = "0.00".into();
        assert_eq!(read_rest(v.to_string().as_bytes()).unwrap().payment, Payment::Prepaid, "paid already");
    }

    #[test]
    fn removed_and_unshippable_lines_are_left_out_and_an_order_with_none_is_not_ours() {
        let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        let lines = v["line_items"].as_array_mut().unwrap();
        lines[0]["current_quantity"] = 0.into();
        let order = read_rest(v.to_string().as_bytes()).unwrap();
        assert!(order.lines.iter().all(|l| l.quantity > 0));
        for line in v["line_items"].as_array_mut().unwrap() {
            line["requires_shipping"] = false.into();
        }
        let order = read_rest(v.to_string().as_bytes()).unwrap();
        assert!(order.lines.is_empty());
        assert_eq!(order.not_ours.as_deref(), Some("nothing in the order needs shipping"));
    }

    #[test]
    fn a_graphql_node_reads_like_the_webhook_order() {
        let node = serde_json::json!({
            "id": "gid://shopify/Order/820982911946154508", "legacyResourceId": "820982911946154508",
            "name": "#1002", "updatedAt": "2026-12-01T10:00:00Z", "cancelledAt": null,
            "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED",
            "email": "ayse@example.com", "phone": null, "currencyCode": "TRY", "customerLocale": "tr",
            "paymentGatewayNames": ["manual"], "totalOutstandingSet": {"shopMoney": {"amount": "0.0"}},
            "shippingAddress": {"name": "Ayşe Yılmaz", "company": null, "address1": "Bağdat Cd. 12",
                "address2": null, "city": "İstanbul", "province": "İstanbul", "provinceCode": "TR-34",
                "zip": "34710", "countryCodeV2": "TR", "phone": "+90 532 000 00 00"},
            "lineItems": {"nodes": [{"sku": "TSHIRT-M", "name": "T-shirt - M", "quantity": 2, "currentQuantity": 2,
                "requiresShipping": true, "originalUnitPriceSet": {"shopMoney": {"amount": "249.9"}}}]}
        });
        let order = read_graphql(node.to_string().as_bytes()).unwrap();
        assert_eq!(order.external_id, "820982911946154508", "ids past 2^53 are kept exactly");
        assert_eq!(order.status, "paid");
        assert_eq!(order.locale.as_deref(), Some("tr"));
        assert_eq!(order.lines[0].unit_price, "249.9".parse().unwrap());
        assert!(order.parts().is_ok(), "{:?}", order.parts());
    }

    #[test]
    fn unreadable_payloads_say_what_is_wrong() {
        assert!(read_rest(b"{}").unwrap_err().0.contains("not a Shopify order"));
        let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        v["updated_at"] = "yesterday".into();
        assert!(read_rest(v.to_string().as_bytes()).unwrap_err().0.contains("updated_at"));
        v["updated_at"] = "2026-12-01T10:00:00Z".into();
        v["line_items"][0]["price"] = "1,5".into();
        assert!(read_rest(v.to_string().as_bytes()).unwrap_err().0.contains("line_items[0].price"));
    }

    proptest! {
        /// Any bytes: an order or a reason, never a panic.
        #[test]
        fn any_bytes_read_or_fail_cleanly(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_rest(&body);
            let _ = read_graphql(&body);
        }

        /// Any quantities and prices in a well-formed order: only positive lines are kept.
        #[test]
        fn only_lines_left_to_ship_are_kept(quantities in proptest::collection::vec(-3i64..5, 1..6), cents in 0u32..100_000) {
            let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
            let template = v["line_items"][0].clone();
            v["line_items"] = quantities.iter().map(|q| {
                let mut l = template.clone();
                l["current_quantity"] = (*q).into();
                l["price"] = format!("{}.{:02}", cents / 100, cents % 100).into();
                l
            }).collect();
            let order = read_rest(v.to_string().as_bytes()).unwrap();
            prop_assert_eq!(order.lines.len(), quantities.iter().filter(|q| **q > 0).count());
        }
    }
}
