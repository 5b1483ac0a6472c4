//! `waybill import orders` and `waybill export orders|shipments`: CSV files in and out of a
//! tenant's scope, with a progress bar on a terminal.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use waybill_channels::{orders_csv, shipments_csv, stock_csv};
use waybill_core::Scope;
use waybill_core::ids::{OrderId, ShipmentId};
use waybill_engine::Engine;
use waybill_store::ShipmentFilter;

/// Rows read per page while exporting.
const PAGE: u32 = 100;

fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = match len {
        Some(_) => format!("{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"),
        None => format!("{{spinner}} {{pos}} {what} ({{per_sec}})"),
    };
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

/// Prints a file's problems on stderr in the file's order, as `row 4, column sku: …`.
fn tell(mut problems: Vec<orders_csv::CsvProblem>) -> Vec<orders_csv::CsvProblem> {
    problems.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    for p in &problems {
        let column = if p.column.is_empty() { String::new() } else { format!(", column {}", p.column) };
        eprintln!("row {}{column}: {}", p.row, p.detail);
    }
    problems
}

/// Imports a file; prints what was imported and every problem, row by row. Fails (after
/// importing what it could) when any row had a problem, so a script notices.
pub async fn import_orders(engine: &Engine, scope: &Scope, file: &Path) -> Result<()> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let read = match orders_csv::read_orders(std::io::BufReader::new(input)) {
        Ok(read) => read,
        Err(problems) => {
            tell(problems);
            bail!("{}: the header is not the documented one; nothing was imported", file.display());
        }
    };
    let bar = bar(Some(read.orders.len() as u64), "orders");
    let progress = {
        let bar = bar.clone();
        move |done: usize| bar.set_position(done as u64)
    };
    let report = engine.import_orders(scope, read.orders, &progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    let mut problems = read.problems;
    problems.extend(report.duplicates);
    let problems = tell(problems);
    println!("{} orders imported from {}", report.imported, file.display());
    if !problems.is_empty() {
        bail!("{} rows had problems (listed above); their orders were not imported", problems.len());
    }
    Ok(())
}

/// Sets the counts of a file, row by row; prints every problem by row and column and fails
/// (after setting what it could) when there was one.
pub async fn import_inventory(engine: &Engine, scope: &Scope, file: &Path) -> Result<()> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let (counts, mut problems) = match stock_csv::read_counts(std::io::BufReader::new(input)) {
        Ok(read) => (read.counts, read.problems),
        Err(problems) => {
            tell(problems);
            bail!("{}: the header is not the documented one; nothing was set", file.display());
        }
    };
    let bar = bar(Some(counts.len() as u64), "counts");
    let mut set = 0;
    for (row, count) in counts {
        match engine.set_stock(scope, count).await {
            Ok(_) => set += 1,
            Err(waybill_engine::EngineError::Invalid(invalid)) => {
                for e in invalid.0 {
                    let column = e.pointer.trim_start_matches('/').to_owned();
                    problems.push(orders_csv::CsvProblem { row, column, detail: e.detail });
                }
            }
            Err(e) => bail!("row {row}: {e}"),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let problems = tell(problems);
    println!("{set} counts set from {}", file.display());
    if !problems.is_empty() {
        bail!("{} rows had problems (listed above) and were not set", problems.len());
    }
    Ok(())
}

/// Orders or shipments made since `since` (epoch ms), streamed to `out` page by page.
pub async fn export(engine: &Engine, scope: &Scope, what: &str, since: Option<i64>, out: impl Write) -> Result<u64> {
    let mut writer = csv::Writer::from_writer(out);
    let bar = bar(None, what);
    let mut written = 0;
    match what {
        "orders" => {
            writer.write_record(orders_csv::COLUMNS.iter().map(|(c, _)| *c))?;
            let mut after = since.map(OrderId::before_time);
            loop {
                let page = engine.list_orders(scope, after.as_ref(), PAGE).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                for order in &page.items {
                    for row in orders_csv::order_rows(order) {
                        writer.write_record(&row)?;
                    }
                }
                written += page.items.len() as u64;
                bar.set_position(written);
                match page.next_after.as_deref().and_then(OrderId::parse) {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        "shipments" => {
            writer.write_record(shipments_csv::COLUMNS)?;
            let mut after = since.map(ShipmentId::before_time);
            loop {
                let page = engine
                    .list_shipments(scope, ShipmentFilter::default(), after.as_ref(), PAGE)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                for details in &page.items {
                    writer.write_record(shipments_csv::shipment_row(&details.shipment))?;
                }
                written += page.items.len() as u64;
                bar.set_position(written);
                match page.next_after.as_deref().and_then(ShipmentId::parse) {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        other => bail!("cannot export `{other}`: orders or shipments"),
    }
    writer.flush()?;
    bar.finish_and_clear();
    Ok(written)
}

/// `--since`: a date (`2026-12-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_since(text: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("--since `{text}` is not a date (2026-12-01) or an RFC 3339 time"))?;
    Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis())
}
