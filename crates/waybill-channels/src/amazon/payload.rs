//! Reading an Orders API 2026-01-01 `Order` (`../shared/specs/amazon/models/orders_2026-01-01.json`)
//! into a [`ChannelOrder`], and the parts of it the fulfilment needs.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use waybill_core::channel::{ChannelLine, ChannelOrder};
use waybill_core::{Address, Payment};

use crate::ReadError;

/// An `Order`, as much of it as Waybill reads. Every data set but the required fields comes
/// only when `includedData` asks for it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Order {
    pub order_id: String,
    pub last_updated_time: String,
    pub buyer: Option<Buyer>,
    pub recipient: Option<Recipient>,
    pub proceeds: Option<OrderProceeds>,
    pub payment: Option<OrderPayment>,
    pub fulfillment: Option<OrderFulfillment>,
    pub order_items: Vec<OrderItem>,
    #[serde(default)]
    pub packages: Vec<OrderPackage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Buyer {
    pub buyer_email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Recipient {
    pub delivery_address: Option<CustomerAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerAddress {
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub city: Option<String>,
    pub district_or_county: Option<String>,
    pub state_or_region: Option<String>,
    pub municipality: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderProceeds {
    pub grand_total: Option<Money>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderPayment {
    #[serde(default)]
    pub payment_executions: Vec<PaymentExecution>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentExecution {
    pub payment_method: Option<String>,
    pub payment_amount: Option<Money>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderFulfillment {
    pub fulfillment_status: Option<String>,
    pub fulfilled_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderItem {
    pub order_item_id: String,
    pub quantity_ordered: i64,
    pub product: Option<ItemProduct>,
    pub proceeds: Option<ItemProceeds>,
    pub fulfillment: Option<ItemFulfillment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemProduct {
    pub title: Option<String>,
    pub seller_sku: Option<String>,
    pub price: Option<ItemPrice>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemPrice {
    pub unit_price: Option<Money>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemProceeds {
    pub proceeds_total: Option<Money>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemFulfillment {
    pub quantity_fulfilled: Option<i64>,
    pub quantity_unfulfilled: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderPackage {
    pub package_reference_id: String,
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub package_items: Vec<PackageItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageItem {
    pub order_item_id: String,
    pub quantity: i64,
}

/// `Money`: the amount is a `Decimal`, which the model types as a string; a number is taken too.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Money {
    pub amount: Value,
    pub currency_code: String,
}

impl Money {
    fn decimal(&self, what: &str) -> Result<Decimal, ReadError> {
        let text = match &self.amount {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            other => return Err(ReadError(format!("{what} `{other}` is not an amount"))),
        };
        text.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| ReadError(format!("{what} `{text}` is not an amount")))
    }
}

impl Order {
    pub fn parse(body: &[u8]) -> Result<Self, ReadError> {
        serde_json::from_slice(body).map_err(|e| ReadError(format!("not an Amazon order (Orders API 2026-01-01): {e}")))
    }

    /// `fulfillment.fulfilledBy` says Amazon ships it (FBA).
    pub fn fulfilled_by_amazon(&self) -> bool {
        self.fulfillment
            .as_ref()
            .and_then(|f| f.fulfilled_by.as_deref())
            .is_some_and(|b| b.eq_ignore_ascii_case("AMAZON"))
    }

    pub fn status(&self) -> Option<String> {
        self.fulfillment.as_ref().and_then(|f| f.fulfillment_status.as_deref()).map(str::to_ascii_lowercase)
    }

    /// Units already in the order's packages, by order item.
    fn packaged(&self, order_item_id: &str) -> i64 {
        self.packages
            .iter()
            .flat_map(|p| &p.package_items)
            .filter(|i| i.order_item_id == order_item_id)
            .map(|i| i.quantity.max(0))
            .sum()
    }
}

impl OrderItem {
    pub fn sku(&self) -> Option<&str> {
        self.product.as_ref().and_then(|p| p.seller_sku.as_deref()).map(str::trim).filter(|s| !s.is_empty())
    }
}

/// Units of an item still to ship: `quantityUnfulfilled` where Amazon gives it, else what is
/// ordered less what is fulfilled (or, without the FULFILLMENT data, less what the packages hold).
pub(crate) fn still_to_ship(order: &Order, item: &OrderItem) -> i64 {
    let fulfilment = item.fulfillment.as_ref();
    let left = match (fulfilment.and_then(|f| f.quantity_unfulfilled), fulfilment.and_then(|f| f.quantity_fulfilled)) {
        (Some(unfulfilled), _) => unfulfilled,
        (None, Some(fulfilled)) => item.quantity_ordered - fulfilled,
        (None, None) => item.quantity_ordered - order.packaged(&item.order_item_id),
    };
    left.clamp(0, item.quantity_ordered.max(0))
}

/// Whether a payment method is cash on delivery (`CashOnDelivery` in the 2026-01-01 model's
/// `PaymentExecution.paymentMethod`; v0 wrote `COD`).
fn is_cod(method: &str) -> bool {
    let squashed: String = method.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    squashed == "cashondelivery" || squashed == "cod"
}

fn present(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// An Orders API 2026-01-01 `Order` (a sync's list item and `getOrder`'s `order` alike).
pub fn read_order(body: &[u8]) -> Result<ChannelOrder, ReadError> {
    let o = Order::parse(body)?;
    let updated_at = crate::millis(&o.last_updated_time)
        .ok_or_else(|| ReadError(format!("lastUpdatedTime `{}` is not a time", o.last_updated_time)))?;
    let status = o.status().ok_or_else(|| {
        ReadError("no fulfillment.fulfillmentStatus: the order was fetched without includedData=FULFILLMENT".into())
    })?;
    let amazon_ships = o.fulfilled_by_amazon();
    // Lines are the ordered quantities, as the order stays the same whatever part of it shipped
    // (Waybill's own partial shipments know which lines each holds); an open order none of whose
    // items is left to ship is no order for Waybill.
    let open = matches!(status.as_str(), "unshipped" | "partially_shipped" | "pending" | "pending_availability");
    let grand_total = o.proceeds.as_ref().and_then(|p| p.grand_total.as_ref());
    // The order's currency: its items' money, else its total's.
    let currency = o
        .order_items
        .iter()
        .find_map(|i| {
            let unit = i.product.as_ref().and_then(|p| p.price.as_ref()).and_then(|p| p.unit_price.as_ref());
            unit.or(i.proceeds.as_ref().and_then(|p| p.proceeds_total.as_ref())).map(|m| m.currency_code.clone())
        })
        .or_else(|| grand_total.map(|m| m.currency_code.clone()))
        .ok_or_else(|| ReadError("no currency: neither the items nor the order carry money".into()))?;
    let nothing_left = open && !amazon_ships && o.order_items.iter().all(|i| still_to_ship(&o, i) <= 0);
    let mut lines = Vec::new();
    for (i, item) in o.order_items.iter().enumerate() {
        let ordered = item.quantity_ordered;
        let quantity = ordered;
        if quantity <= 0 {
            continue;
        }
        let quantity =
            u32::try_from(quantity).map_err(|_| ReadError(format!("orderItems[{i}] quantity {quantity}")))?;
        let product = item.product.as_ref();
        let unit = product.and_then(|p| p.price.as_ref()).and_then(|p| p.unit_price.as_ref());
        let unit_price = match (unit, item.proceeds.as_ref().and_then(|p| p.proceeds_total.as_ref())) {
            (Some(m), _) => m.decimal(&format!("orderItems[{i}].product.price.unitPrice"))?,
            (None, Some(total)) if ordered > 0 => {
                total.decimal(&format!("orderItems[{i}].proceeds.proceedsTotal"))? / Decimal::from(ordered)
            }
            _ => return Err(ReadError(format!("orderItems[{i}] has no price"))),
        };
        lines.push(ChannelLine {
            sku: item.sku().unwrap_or_default().to_owned(),
            name: product.and_then(|p| present(&p.title)),
            quantity,
            unit_price: unit_price.round_dp(4).normalize(),
        });
    }
    let cod =
        o.payment.iter().flat_map(|p| &p.payment_executions).find(|e| e.payment_method.as_deref().is_some_and(is_cod));
    let payment = match cod {
        Some(e) if open => {
            let amount = match (&e.payment_amount, grand_total) {
                (Some(m), _) => m.decimal("paymentExecutions.paymentAmount")?,
                (None, Some(total)) => total.decimal("proceeds.grandTotal")?,
                (None, None) => lines.iter().map(|l| l.unit_price * Decimal::from(l.quantity)).sum(),
            };
            if amount > Decimal::ZERO { Payment::Cod { amount: amount.normalize() } } else { Payment::Prepaid }
        }
        _ => Payment::Prepaid,
    };
    let email = o.buyer.as_ref().and_then(|b| present(&b.buyer_email));
    let ship_to = o.recipient.as_ref().and_then(|r| r.delivery_address.as_ref()).and_then(|a| {
        // Without the restricted role (or a Restricted Data Token) Amazon leaves out the name
        // and street: such an address is no address to ship to.
        let name = present(&a.name)?;
        let street1 = present(&a.address_line1)?;
        let city = present(&a.city).or_else(|| present(&a.municipality)).or_else(|| present(&a.district_or_county));
        let mut rest: Vec<String> =
            [present(&a.address_line2), present(&a.address_line3)].into_iter().flatten().collect();
        // The district (Turkey's ilçe, a county) is part of the address where it is not the city.
        if let Some(district) = present(&a.district_or_county)
            && Some(&district) != city.as_ref()
            && Some(&district) != present(&a.state_or_region).as_ref()
        {
            rest.push(district);
        }
        Some(Address {
            name,
            company: present(&a.company_name),
            phone: present(&a.phone),
            email: email.clone(),
            street1,
            street2: Some(rest.join(", ")).filter(|s| !s.is_empty()),
            city: city.unwrap_or_default(),
            state: present(&a.state_or_region),
            postal_code: present(&a.postal_code).unwrap_or_default(),
            country: present(&a.country_code).unwrap_or_default(),
        })
    });
    let not_ours = if amazon_ships {
        Some("fulfilled by Amazon (FBA): Amazon ships it".to_owned())
    } else if status == "shipped" {
        Some("already shipped in Amazon".to_owned())
    } else if status == "unfulfillable" {
        Some("Amazon marks it unfulfillable".to_owned())
    } else if (lines.is_empty() || nothing_left) && status != "cancelled" {
        Some("nothing in the order needs shipping".to_owned())
    } else {
        None
    };
    Ok(ChannelOrder {
        external_id: o.order_id,
        number: None,
        cancelled: status == "cancelled",
        status,
        updated_at,
        currency,
        payment,
        ship_to,
        lines,
        locale: None,
        not_ours,
        assigned: None,
        carrier_status: None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// `../shared/specs/amazon/models/orders_2026-01-01.json` (Apache-2.0), copied verbatim.
    const MODEL: &str = include_str!("../../tests/fixtures/amazon/orders_2026-01-01.json");

    /// The model's documented `x-amzn-api-sandbox` example: `getOrder`'s `n`th order, or
    /// `searchOrders`' first page's `n`th answer's first order.
    fn documented(operation: &str, n: usize) -> Value {
        let model: Value = serde_json::from_str(MODEL).unwrap();
        let path = match operation {
            "getOrder" => "/paths/~1orders~12026-01-01~1orders~1{orderId}/get/responses/200/x-amzn-api-sandbox/static",
            _ => "/paths/~1orders~12026-01-01~1orders/get/responses/200/x-amzn-api-sandbox/static",
        };
        let response = &model.pointer(path).unwrap()[n]["response"];
        match operation {
            "getOrder" => response["order"].clone(),
            _ => response["orders"][0].clone(),
        }
    }

    fn read(v: &Value) -> Result<ChannelOrder, ReadError> {
        read_order(v.to_string().as_bytes())
    }

    #[test]
    fn the_documented_unshipped_order_reads_with_its_address_lines_and_email() {
        // getOrder's first example: Amazon.com.br, fulfilled by the merchant, unshipped.
        let order = read(&documented("getOrder", 0)).unwrap();
        assert_eq!(order.external_id, "171-9876543-2109876");
        assert_eq!(order.status, "unshipped");
        assert!(!order.cancelled);
        assert_eq!(order.not_ours, None);
        assert_eq!(order.currency, "BRL");
        assert_eq!(order.payment, Payment::Prepaid);
        assert_eq!(order.updated_at, crate::millis("2024-12-25T08:15:00Z").unwrap());
        assert_eq!(
            order.lines,
            [ChannelLine {
                sku: "ECHO-DOT-4-BR-PRETO".into(),
                name: Some("Echo Dot (4ª Geração) | Smart Speaker com Alexa | Cor Preta".into()),
                quantity: 1,
                unit_price: "299.9".parse().unwrap(),
            }]
        );
        let to = order.ship_to.as_ref().unwrap();
        assert_eq!(to.name, "Maria Silva Santos");
        assert_eq!((to.street1.as_str(), to.street2.as_deref()), ("Rua das Flores, 123", Some("Apartamento 45")));
        assert_eq!(
            (to.city.as_str(), to.state.as_deref(), to.postal_code.as_str()),
            ("São Paulo", Some("SP"), "01234-567")
        );
        assert_eq!(to.country, "BR");
        assert_eq!(to.phone.as_deref(), Some("+55 11 98765-4321"));
        assert_eq!(to.email.as_deref(), Some("buyer-email@marketplace.amazon.com.br"), "masked, still an email");
        assert!(order.parts().is_ok(), "{:?}", order.parts());
        assert!(order.is_ready(&[], &["unshipped", "partially_shipped"]));
    }

    #[test]
    fn the_documented_turkish_order_keeps_its_district_and_reads_as_shipped() {
        // getOrder's second example: Amazon.com.tr, already shipped by the merchant.
        let order = read(&documented("getOrder", 1)).unwrap();
        assert_eq!(order.status, "shipped");
        assert_eq!(order.not_ours.as_deref(), Some("already shipped in Amazon"));
        assert_eq!(order.lines[0].quantity, 2, "a shipped order reads at its ordered quantities");
        assert_eq!(order.lines[0].unit_price, "62.5".parse::<Decimal>().unwrap());
        let to = order.ship_to.unwrap();
        assert_eq!(to.street2.as_deref(), Some("Kat 3, Beyoglu"));
        assert_eq!((to.city.as_str(), to.postal_code.as_str(), to.country.as_str()), ("Istanbul", "34430", "TR"));
    }

    #[test]
    fn an_order_amazon_fulfils_is_not_ours() {
        // searchOrders' first example: Amazon.co.jp, fulfilled by Amazon.
        let order = read(&documented("searchOrders", 0)).unwrap();
        assert_eq!(order.not_ours.as_deref(), Some("fulfilled by Amazon (FBA): Amazon ships it"));
        assert_eq!(order.currency, "JPY");
        assert_eq!(order.lines.len(), 2);
        // The same order as if it were still to ship: still Amazon's.
        let mut v = documented("searchOrders", 0);
        v["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED".into();
        assert!(read(&v).unwrap().not_ours.is_some());
    }

    #[test]
    fn partially_shipped_lines_are_as_ordered_and_cancelled_orders_say_so() {
        let mut v = documented("getOrder", 0);
        v["fulfillment"]["fulfillmentStatus"] = "PARTIALLY_SHIPPED".into();
        v["orderItems"][0]["quantityOrdered"] = 3.into();
        v["orderItems"][0]["fulfillment"] = json!({"quantityFulfilled": 1, "quantityUnfulfilled": 2});
        let order = read(&v).unwrap();
        assert_eq!(order.lines[0].quantity, 3, "the order stays as ordered; its shipments hold the parts");
        assert!(order.is_ready(&[], &["unshipped", "partially_shipped"]));
        v["orderItems"][0]["fulfillment"] = json!({"quantityFulfilled": 3, "quantityUnfulfilled": 0});
        assert_eq!(read(&v).unwrap().not_ours.as_deref(), Some("nothing in the order needs shipping"));
        v["fulfillment"]["fulfillmentStatus"] = "CANCELLED".into();
        let cancelled = read(&v).unwrap();
        assert!(cancelled.cancelled);
        assert_eq!(cancelled.status, "cancelled");
    }

    #[test]
    fn cash_on_delivery_is_read_from_the_payment_executions() {
        let mut v = documented("getOrder", 0);
        v["payment"] = json!({"paymentExecutions": [
            {"paymentMethod": "CashOnDelivery", "paymentAmount": {"amount": "299.90", "currencyCode": "BRL"}}]});
        assert_eq!(read(&v).unwrap().payment, Payment::Cod { amount: "299.9".parse().unwrap() });
        v["payment"]["paymentExecutions"][0]["paymentAmount"] = Value::Null;
        assert_eq!(read(&v).unwrap().payment, Payment::Cod { amount: "299.9".parse().unwrap() }, "the grand total");
        // The documented credit-card order (searchOrders' third example) is prepaid.
        assert_eq!(read(&documented("searchOrders", 2)).unwrap().payment, Payment::Prepaid);
    }

    #[test]
    fn an_address_without_name_or_street_is_no_address() {
        // What Amazon sends without the restricted role: the area, not the person.
        let mut v = documented("getOrder", 0);
        v["recipient"]["deliveryAddress"] =
            json!({"city": "São Paulo", "stateOrRegion": "SP", "postalCode": "01234-567", "countryCode": "BR"});
        let order = read(&v).unwrap();
        assert_eq!(order.ship_to, None);
        let problems = order.parts().unwrap_err();
        assert_eq!(problems[0].pointer, "/ship_to");
        v.as_object_mut().unwrap().remove("recipient");
        assert_eq!(read(&v).unwrap().ship_to, None);
    }

    #[test]
    fn unreadable_payloads_say_why() {
        let mut v = documented("getOrder", 0);
        v["lastUpdatedTime"] = "yesterday".into();
        assert!(read(&v).unwrap_err().0.contains("lastUpdatedTime"));
        let mut v = documented("getOrder", 0);
        v.as_object_mut().unwrap().remove("fulfillment");
        assert!(read(&v).unwrap_err().0.contains("includedData=FULFILLMENT"));
        let mut v = documented("getOrder", 0);
        v["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = "lots".into();
        assert!(read(&v).unwrap_err().0.contains("not an amount"));
        assert!(read_order(b"{}").unwrap_err().0.contains("not an Amazon order"));
    }

    proptest! {
        /// Any bytes: an order or a reason, never a panic.
        #[test]
        fn any_bytes_read_or_fail_cleanly(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_order(&body);
        }

        /// Any well-formed order keeps its id, SKU, title, quantities and prices exactly, and is
        /// Waybill's to ship exactly when the merchant fulfils it and it is open.
        #[test]
        fn a_valid_order_round_trips(
            id in "[0-9]{3}-[0-9]{7}-[0-9]{7}",
            sku in "[A-Z0-9][A-Z0-9-]{0,19}",
            title in "[A-Za-z][A-Za-z ]{0,29}",
            ordered in 1i64..50,
            shipped in 0i64..50,
            cents in 1u32..10_000_000,
            status_index in 0usize..7,
            amazon: bool,
            cod: bool,
        ) {
            let statuses = ["PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE"];
            let shipped = shipped.min(ordered);
            let price = format!("{}.{:02}", cents / 100, cents % 100);
            let v = json!({
                "orderId": id, "createdTime": "2026-03-01T10:00:00Z", "lastUpdatedTime": "2026-03-01T11:00:00.250Z",
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A33AVAJ2PDY3EV"},
                "fulfillment": {"fulfillmentStatus": statuses[status_index], "fulfilledBy": if amazon { "AMAZON" } else { "MERCHANT" }},
                "payment": {"paymentExecutions": [{"paymentMethod": if cod { "CashOnDelivery" } else { "CreditCard" }}]},
                "orderItems": [{"orderItemId": "12345678901234", "quantityOrdered": ordered,
                    "product": {"sellerSku": sku, "title": title, "price": {"unitPrice": {"amount": price, "currencyCode": "TRY"}}},
                    "fulfillment": {"quantityFulfilled": shipped, "quantityUnfulfilled": ordered - shipped}}]
            });
            let order = read(&v).unwrap();
            let status = statuses[status_index].to_ascii_lowercase();
            prop_assert_eq!(&order.external_id, &id);
            prop_assert_eq!(&order.status, &status);
            prop_assert_eq!(order.cancelled, status == "cancelled");
            prop_assert_eq!(order.updated_at, 1_772_362_800_250);
            prop_assert_eq!(&order.currency, "TRY");
            let open = ["pending_availability", "pending", "unshipped", "partially_shipped"].contains(&status.as_str());
            let want = ordered;
            if want > 0 {
                prop_assert_eq!(order.lines.len(), 1);
                prop_assert_eq!(&order.lines[0].sku, &sku);
                prop_assert_eq!(order.lines[0].name.as_deref(), Some(title.trim()).filter(|t| !t.is_empty()));
                prop_assert_eq!(i64::from(order.lines[0].quantity), want);
                prop_assert_eq!(order.lines[0].unit_price, Decimal::new(i64::from(cents), 2).normalize());
            } else {
                prop_assert!(order.lines.is_empty());
            }
            let ours = !amazon && open && ordered - shipped > 0;
            prop_assert_eq!(order.not_ours.is_none(), ours || (status == "cancelled" && !amazon));
            let cod_due = cod && open;
            prop_assert_eq!(matches!(order.payment, Payment::Cod { .. }), cod_due);
        }
    }
}
