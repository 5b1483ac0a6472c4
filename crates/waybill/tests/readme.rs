//! The README's carriers table is `waybill carriers` as printed: regenerate it when a carrier
//! or a capability changes.

use std::process::Command;

#[test]
fn the_readme_carries_the_carriers_table_as_printed() {
    let out = Command::new(env!("CARGO_BIN_EXE_waybill")).arg("carriers").output().expect("waybill runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).expect("the table is UTF-8");
    assert!(table.lines().count() > 3, "{table}");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    assert!(
        readme.contains(&table),
        "README.md's carriers table differs from `waybill carriers`; paste this in:\n{table}"
    );
}
