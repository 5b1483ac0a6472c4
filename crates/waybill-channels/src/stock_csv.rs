//! Stock counts from a CSV file, for `waybill import inventory`: `sku`, `on_hand` and an
//! optional `location_id` (the default location when empty), one row per SKU and location.

use std::io::Read;

use waybill_core::api::requests::StockSet;
use waybill_core::ids::LocationId;

use crate::orders_csv::CsvProblem;

pub const COLUMNS: &[(&str, bool)] = &[("location_id", false), ("sku", true), ("on_hand", true)];

/// The counts of a file, each with its row, and the problems of the rows that could not be read.
pub struct Counts {
    pub counts: Vec<(u64, StockSet)>,
    pub problems: Vec<CsvProblem>,
}

/// Reads a file; a header that is not the documented one is told as problems with row 1.
pub fn read_counts(input: impl Read) -> Result<Counts, Vec<CsvProblem>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let problem = |row: u64, column: &str, detail: String| CsvProblem { row, column: column.to_owned(), detail };
    let header = reader.headers().map_err(|e| vec![problem(1, "", format!("the header cannot be read: {e}"))])?.clone();
    let mut wrong = Vec::new();
    for name in header.iter().filter(|h| !COLUMNS.iter().any(|(c, _)| c == h)) {
        wrong.push(problem(1, name, "unknown column; the columns are location_id,sku,on_hand".into()));
    }
    for (name, _) in COLUMNS.iter().filter(|(c, required)| *required && !header.iter().any(|h| h == *c)) {
        wrong.push(problem(1, name, "this column is required".into()));
    }
    if !wrong.is_empty() {
        return Err(wrong);
    }
    let at = |name: &str| header.iter().position(|h| h == name);
    let (location_at, sku_at, on_hand_at) = (at("location_id"), at("sku"), at("on_hand"));
    let mut counts = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let fallback = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(
                    e.position().map_or(fallback, |p| p.line()),
                    "",
                    format!("the row cannot be read: {e}"),
                ));
                continue;
            }
        };
        let row = record.position().map_or(fallback, |p| p.line());
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("");
        let location_id = match cell(location_at) {
            "" => None,
            raw => match LocationId::parse(raw) {
                Some(id) => Some(id),
                None => {
                    problems.push(problem(row, "location_id", format!("`{raw}` is not a location id (`loc_…`)")));
                    continue;
                }
            },
        };
        let on_hand = match cell(on_hand_at).parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(problem(row, "on_hand", format!("`{}` is not a whole number", cell(on_hand_at))));
                continue;
            }
        };
        counts.push((row, StockSet { location_id, sku: cell(sku_at).to_owned(), on_hand }));
    }
    Ok(Counts { counts, problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_their_rows_and_bad_cells_are_told() {
        let file = "sku,on_hand,location_id\nMUG-1,12,\nCAP,x,\nTEE,3,loc_nope\nTEE,4,loc_01jd3xk8w3v6a8g0n6r1c5e2qz";
        let Counts { counts, problems } = read_counts(file.as_bytes()).unwrap();
        assert_eq!(
            counts.iter().map(|(r, c)| (*r, c.sku.as_str(), c.on_hand)).collect::<Vec<_>>(),
            [(2, "MUG-1", 12), (5, "TEE", 4)]
        );
        assert_eq!(
            problems.iter().map(|p| (p.row, p.column.as_str())).collect::<Vec<_>>(),
            [(3, "on_hand"), (4, "location_id")]
        );
        assert!(read_counts("sku,count\n".as_bytes()).is_err());
    }
}
