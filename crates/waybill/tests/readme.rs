//! The README's carriers and channels tables are `waybill carriers` and `waybill channels` as
//! printed: regenerate them when a carrier, a channel or a capability changes.

use std::process::Command;

fn assert_readme_carries(command: &str, min_lines: usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_waybill")).arg(command).output().expect("waybill runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).expect("the table is UTF-8");
    assert!(table.lines().count() >= min_lines, "{table}");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    assert!(readme.contains(&table), "README.md's table differs from `waybill {command}`; paste this in:\n{table}");
}

#[test]
fn the_readme_carries_the_carriers_table_as_printed() {
    assert_readme_carries("carriers", 4);
}

#[test]
fn the_readme_carries_the_channels_table_as_printed() {
    assert_readme_carries("channels", 3);
}
