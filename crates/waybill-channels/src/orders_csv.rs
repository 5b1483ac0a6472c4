//! Orders from a CSV file: one row per line item; the rows sharing an `external_id` are one
//! order, whose order-level cells must agree. Each order is checked as the API checks one, and
//! every problem is told as the row (line 1 is the header), the column and what is wrong.

use std::collections::HashMap;
use std::io::Read;

use rust_decimal::Decimal;
use serde::Serialize;
use waybill_core::api::requests::OrderCreate;
use waybill_core::{Address, LineItem, Order, Payment};

/// The columns, in the order `waybill export orders` writes them, with whether each is required.
pub const COLUMNS: &[(&str, bool)] = &[
    ("external_id", true),
    ("channel", false),
    ("currency", true),
    ("payment", true),
    ("cod_amount", false),
    ("locale", false),
    ("ship_to_name", true),
    ("ship_to_company", false),
    ("ship_to_phone", false),
    ("ship_to_email", false),
    ("ship_to_street1", true),
    ("ship_to_street2", false),
    ("ship_to_city", true),
    ("ship_to_state", false),
    ("ship_to_postal_code", false),
    ("ship_to_country", true),
    ("sku", true),
    ("item_name", false),
    ("quantity", true),
    ("unit_price", true),
];

/// The columns that say something about the whole order (all but the line item's).
const ORDER_LEVEL: usize = 16;

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsvProblem {
    /// The file's line (1 is the header).
    pub row: u64,
    /// The column's name; empty for a problem with the whole row.
    pub column: String,
    pub detail: String,
}

impl CsvProblem {
    fn new(row: u64, column: &str, detail: impl Into<String>) -> Self {
        Self { row, column: column.to_owned(), detail: detail.into() }
    }
}

/// One order read from the file, with the rows it came from.
#[derive(Debug)]
pub struct CsvOrder {
    /// The file's lines of its line items, in order.
    pub rows: Vec<u64>,
    pub order: OrderCreate,
}

/// What a file holds: the orders that are valid, and the problems of the rest. An order with
/// any problem is left out whole.
#[derive(Debug, Default)]
pub struct CsvOrders {
    pub orders: Vec<CsvOrder>,
    pub problems: Vec<CsvProblem>,
}

struct Pending {
    rows: Vec<u64>,
    first: Vec<String>,
    lines: Vec<LineItem>,
    problems: Vec<CsvProblem>,
}

/// Reads a file. A header that is not the documented one is a problem with row 1 and nothing
/// is read; any other problem leaves out only the order it is in.
pub fn read_orders(input: impl Read) -> Result<CsvOrders, Vec<CsvProblem>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let header =
        reader.headers().map_err(|e| vec![CsvProblem::new(1, "", format!("the header cannot be read: {e}"))])?.clone();
    let mut problems = Vec::new();
    for name in header.iter().filter(|h| !COLUMNS.iter().any(|(c, _)| c == h)) {
        let known: Vec<_> = COLUMNS.iter().map(|(c, _)| *c).collect();
        problems.push(CsvProblem::new(1, name, format!("unknown column; the columns are {}", known.join(","))));
    }
    for (name, _) in COLUMNS.iter().filter(|(c, required)| *required && !header.iter().any(|h| h == *c)) {
        problems.push(CsvProblem::new(1, name, "this column is required"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let at: Vec<Option<usize>> = COLUMNS.iter().map(|(c, _)| header.iter().position(|h| h == *c)).collect();

    let mut pending: Vec<Pending> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut out = CsvOrders::default();
    for (i, record) in reader.records().enumerate() {
        let fallback = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(fallback, |p| p.line());
                out.problems.push(CsvProblem::new(row, "", format!("the row cannot be read: {e}")));
                continue;
            }
        };
        let row = record.position().map_or(fallback, |p| p.line());
        if record.len() != header.len() {
            let detail = format!("the row has {} fields; the header has {}", record.len(), header.len());
            out.problems.push(CsvProblem::new(row, "", detail));
            continue;
        }
        let cells: Vec<String> = at.iter().map(|c| c.and_then(|c| record.get(c)).unwrap_or("").to_owned()).collect();
        let external_id = cells[0].clone();
        let index = *by_id.entry(external_id).or_insert_with(|| {
            pending.push(Pending { rows: vec![], first: cells.clone(), lines: vec![], problems: vec![] });
            pending.len() - 1
        });
        let order = &mut pending[index];
        for k in 1..ORDER_LEVEL {
            if cells[k] != order.first[k] {
                let first_row = order.rows.first().copied().unwrap_or(row);
                order.problems.push(CsvProblem::new(
                    row,
                    COLUMNS[k].0,
                    format!("differs from row {first_row} of the same order (`{}`)", order.first[k]),
                ));
            }
        }
        order.rows.push(row);
        let quantity = match cells[18].parse::<u32>() {
            Ok(q) => q,
            Err(_) => {
                order.problems.push(CsvProblem::new(row, "quantity", format!("`{}` is not a whole number", cells[18])));
                0
            }
        };
        let unit_price = match cells[19].parse::<Decimal>() {
            Ok(p) => p,
            Err(_) => {
                order.problems.push(CsvProblem::new(row, "unit_price", format!("`{}` is not an amount", cells[19])));
                Decimal::ZERO
            }
        };
        let name = Some(cells[17].clone()).filter(|n| !n.is_empty());
        order.lines.push(LineItem { sku: cells[16].clone(), name, quantity, unit_price });
    }
    for order in pending {
        match build(&order) {
            Ok(built) if order.problems.is_empty() => out.orders.push(CsvOrder { rows: order.rows, order: built }),
            Ok(_) => out.problems.extend(order.problems),
            Err(more) => {
                // A cell that could not be read is told once, not again by the order's check.
                let told: Vec<(u64, String)> = order.problems.iter().map(|p| (p.row, p.column.clone())).collect();
                out.problems.extend(order.problems);
                out.problems.extend(more.into_iter().filter(|p| !told.contains(&(p.row, p.column.clone()))));
            }
        }
    }
    out.problems.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    Ok(out)
}

/// The order of a group of rows, checked as the API checks one; each problem at its cell.
fn build(p: &Pending) -> Result<OrderCreate, Vec<CsvProblem>> {
    let first_row = p.rows[0];
    let cell = |k: usize| p.first[k].clone();
    let optional = |k: usize| Some(cell(k)).filter(|v| !v.is_empty());
    let mut problems = Vec::new();
    let currency = cell(2)
        .parse()
        .map_err(|_| CsvProblem::new(first_row, "currency", format!("`{}` is not an ISO 4217 currency", cell(2))));
    let payment = match cell(3).as_str() {
        "prepaid" => Ok(Payment::Prepaid),
        "cod" => match cell(4).parse::<Decimal>() {
            Ok(amount) => Ok(Payment::Cod { amount }),
            Err(_) => Err(CsvProblem::new(first_row, "cod_amount", "a cash-on-delivery order needs its amount")),
        },
        other => Err(CsvProblem::new(first_row, "payment", format!("`{other}` is not `prepaid` or `cod`"))),
    };
    let (currency, payment) = match (currency, payment) {
        (Ok(c), Ok(p)) => (c, p),
        (c, pay) => {
            problems.extend(c.err());
            problems.extend(pay.err());
            return Err(problems);
        }
    };
    let order = OrderCreate {
        external_id: cell(0),
        channel: optional(1),
        currency,
        payment,
        locale: optional(5),
        ship_to: Address {
            name: cell(6),
            company: optional(7),
            phone: optional(8),
            email: optional(9),
            street1: cell(10),
            street2: optional(11),
            city: cell(12),
            state: optional(13),
            postal_code: cell(14),
            country: cell(15),
        },
        line_items: p.lines.clone(),
    };
    let found = order.problems();
    if found.is_empty() {
        return Ok(order);
    }
    Err(found.into_iter().map(|f| at_cell(&f.pointer, &p.rows, f.detail)).collect())
}

/// The row and column of an API pointer into an order made of `rows`.
fn at_cell(pointer: &str, rows: &[u64], detail: String) -> CsvProblem {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let (row, column) = match parts.as_slice() {
        ["line_items", i, field] => {
            let row = i.parse::<usize>().ok().and_then(|i| rows.get(i)).copied().unwrap_or(rows[0]);
            let column = match *field {
                "name" => "item_name",
                other => other,
            };
            (row, column.to_owned())
        }
        ["ship_to", field, ..] => (rows[0], format!("ship_to_{field}")),
        ["payment", ..] => (rows[0], "cod_amount".to_owned()),
        [field, ..] => (rows[0], (*field).to_owned()),
        [] => (rows[0], String::new()),
    };
    CsvProblem { row, column, detail }
}

/// The header line of a file `read_orders` reads.
pub fn header() -> String {
    COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(",")
}

/// An order as the rows of a file (one per line item, in [`COLUMNS`] order), as
/// [`read_orders`] reads them back.
pub fn order_rows(order: &Order) -> Vec<Vec<String>> {
    let to = &order.ship_to;
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let (payment, cod) = match &order.payment {
        Payment::Prepaid => ("prepaid", String::new()),
        Payment::Cod { amount } => ("cod", amount.to_string()),
    };
    let head = vec![
        order.external_id.clone(),
        order.channel.clone(),
        order.currency.code().to_owned(),
        payment.to_owned(),
        cod,
        text(&order.locale),
        to.name.clone(),
        text(&to.company),
        text(&to.phone),
        text(&to.email),
        to.street1.clone(),
        text(&to.street2),
        to.city.clone(),
        text(&to.state),
        to.postal_code.clone(),
        to.country.clone(),
    ];
    order
        .line_items
        .iter()
        .map(|l| {
            let mut row = head.clone();
            row.extend([l.sku.clone(), text(&l.name), l.quantity.to_string(), l.unit_price.to_string()]);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn file(rows: &[&str]) -> String {
        let mut out = header();
        for r in rows {
            out.push('\n');
            out.push_str(r);
        }
        out
    }

    const GOOD: &str = "1001,shop,TRY,cod,749.90,tr,Şükrü Çağlayan,,+90 532 123 45 67,sukru@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,TSHIRT-M,Tişört,2,249.95";
    const SECOND_LINE: &str = "1001,shop,TRY,cod,749.90,tr,Şükrü Çağlayan,,+90 532 123 45 67,sukru@example.com,Bağdat Cd. 12,,İstanbul,,34710,TR,CAP,Şapka,1,250.00";

    #[test]
    fn rows_of_one_order_become_its_line_items() {
        let read = read_orders(
            file(&[GOOD, SECOND_LINE, "1002,,KRW,prepaid,,,김민준,,,,테헤란로 152,,서울,,06236,KR,MUG,,1,15000"])
                .as_bytes(),
        )
        .unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!(read.orders.len(), 2);
        assert_eq!(read.orders[0].rows, [2, 3]);
        assert_eq!(read.orders[0].order.line_items.len(), 2);
        assert_eq!(read.orders[0].order.payment, Payment::Cod { amount: "749.90".parse().unwrap() });
        assert_eq!(read.orders[1].order.channel, None);
    }

    #[test]
    fn each_problem_names_its_row_and_column_and_leaves_out_only_its_order() {
        let bad_line = SECOND_LINE.replace(",1,250.00", ",two,250.00");
        let other = GOOD.replace("1001,", "1003,").replace(",34710,", ",3471,").replace("İstanbul", "Ankara");
        let read = read_orders(
            file(&[GOOD, &bad_line, &other, "1004,x,TRY,prepaid,,,A,,,,B,,C,,06100,TR,SKU,,1,1"]).as_bytes(),
        )
        .unwrap();
        assert_eq!(read.orders.len(), 1, "only 1004 is whole");
        assert_eq!(read.orders[0].order.external_id, "1004");
        let found: Vec<_> = read.problems.iter().map(|p| (p.row, p.column.as_str())).collect();
        assert_eq!(found, [(3, "quantity"), (4, "ship_to_postal_code")], "{:?}", read.problems);
        let differing = read_orders(file(&[GOOD, &SECOND_LINE.replace(",TRY,", ",EUR,")]).as_bytes()).unwrap();
        assert_eq!(differing.problems[0].column, "currency");
        assert!(differing.problems[0].detail.contains("differs from row 2"), "{:?}", differing.problems);
    }

    #[test]
    fn a_wrong_header_is_refused_before_any_row() {
        let problems = read_orders("external_id,currency,paymnt\n1,TRY,prepaid".as_bytes()).unwrap_err();
        assert!(problems.iter().all(|p| p.row == 1));
        assert!(problems.iter().any(|p| p.column == "paymnt" && p.detail.contains("unknown column")));
        assert!(problems.iter().any(|p| p.column == "sku" && p.detail.contains("required")));
    }

    #[test]
    fn a_short_row_is_a_problem_with_the_row() {
        let read = read_orders(file(&["1001,TRY"]).as_bytes()).unwrap();
        assert_eq!(read.problems[0].row, 2);
        assert!(read.problems[0].detail.contains("fields"));
    }

    #[test]
    fn an_exported_order_reads_back_the_same() {
        let read = read_orders(file(&[GOOD, SECOND_LINE]).as_bytes()).unwrap();
        let create = &read.orders[0].order;
        let order = Order {
            id: waybill_core::ids::OrderId::generate(),
            tenant_id: waybill_core::ids::TenantId::generate(),
            mode: waybill_core::Mode::Test,
            channel: create.channel.clone().unwrap(),
            external_id: create.external_id.clone(),
            status: waybill_core::OrderStatus::Open,
            currency: create.currency,
            payment: create.payment.clone(),
            ship_to: create.ship_to.clone(),
            line_items: create.line_items.clone(),
            locale: create.locale.clone(),
            connection_id: None,
            number: None,
            channel_updated_at: None,
            assigned_shipping: None,
            created_at: 0,
            updated_at: 0,
        };
        let mut out = csv::Writer::from_writer(vec![]);
        out.write_record(COLUMNS.iter().map(|(c, _)| *c)).unwrap();
        for row in order_rows(&order) {
            out.write_record(&row).unwrap();
        }
        let again = read_orders(out.into_inner().unwrap().as_slice()).unwrap();
        assert!(again.problems.is_empty(), "{:?}", again.problems);
        let back = &again.orders[0].order;
        assert_eq!(
            (&back.line_items, &back.ship_to, &back.payment),
            (&create.line_items, &create.ship_to, &create.payment)
        );
    }

    proptest! {
        /// Any bytes: orders and problems, never a panic; every problem names a row.
        #[test]
        fn any_file_reads_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let mut input = header().into_bytes();
            input.push(b'\n');
            input.extend(body);
            match read_orders(input.as_slice()) {
                Ok(read) => prop_assert!(read.problems.iter().all(|p| p.row >= 2)),
                Err(problems) => prop_assert!(problems.iter().all(|p| p.row == 1)),
            }
        }
    }
}
