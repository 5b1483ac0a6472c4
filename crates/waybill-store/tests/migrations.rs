//! Migrations: the SQLite and PostgreSQL migrations build the same schema (tables, columns
//! with their types and nullability, primary keys, unique constraints and indexes), and a
//! database written by the previous version (migrations 0001–0003) upgrades with its data in
//! the right scopes.

mod common;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};
use waybill_core::account::CarrierAccount;
use waybill_core::ids::{CarrierAccountId, JobId, OrderId, PickupId, TenantId, TrackingEventId};
use waybill_core::pickup::PickupStatus;
use waybill_core::{BookingState, Mode, OrderStatus, Scope, Shipment, TrackingStatus};
use waybill_store::db::{Pool, PoolSettings};
use waybill_store::{Sealer, ShipmentFilter, Store, StoreError, args, request_hash};

// ---------------------------------------------------------------------------------------------
// The schema as both backends describe it.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// Normalized: lower case, SQLite's `BLOB` written as PostgreSQL's `bytea`.
    ty: String,
    not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    unique: bool,
    columns: Vec<String>,
    /// Has a `WHERE` clause (the predicates are compared by name only: each dialect prints its own).
    partial: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// Unique constraints (`UNIQUE` on a column or a table), by their columns.
    unique: BTreeSet<Vec<String>>,
    /// Indexes made by `CREATE [UNIQUE] INDEX`, by name.
    indexes: BTreeMap<String, Index>,
}

type Schema = BTreeMap<String, Table>;

fn normalize_type(declared: &str) -> String {
    match declared.trim().to_ascii_lowercase().as_str() {
        "blob" => "bytea".to_owned(),
        other => other.to_owned(),
    }
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut conn = SqliteConnection::connect(url).await.expect("raw sqlite connection");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list sqlite tables");
    let mut schema = Schema::new();
    for name in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .expect("sqlite columns");
        let mut pk = Vec::new();
        for (column, ty, not_null, pk_position) in columns {
            // SQLite lets a non-INTEGER primary key column hold NULL unless it also says NOT
            // NULL (a bug it keeps for compatibility); a primary key means NOT NULL in the
            // migrations, as it does on PostgreSQL.
            table
                .columns
                .insert(column.clone(), Column { ty: normalize_type(&ty), not_null: not_null != 0 || pk_position > 0 });
            if pk_position > 0 {
                pk.push((pk_position, column));
            }
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();

        let indexes: Vec<(String, i64, String, i64)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .expect("sqlite indexes");
        for (index, unique, origin, partial) in indexes {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(&mut conn)
                .await
                .expect("sqlite index columns");
            match origin.as_str() {
                // The primary key's own index (`sqlite_autoindex_…`): described by the key.
                "pk" => assert_eq!(columns, table.primary_key, "sqlite: {name}'s key index {index} indexes its key"),
                // A UNIQUE constraint's index (`sqlite_autoindex_…`, or named after a table
                // since renamed): what it indexes is the constraint.
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.indexes.insert(index, Index { unique: unique != 0, columns, partial: partial != 0 });
                }
            }
        }
        schema.insert(name, table);
    }
    conn.close().await.ok();
    schema
}

/// An index as PostgreSQL lists it: name, unique, partial, the constraint it backs (`p`, `u`)
/// and its columns in order.
type PgIndexRow = (String, bool, bool, Option<String>, Vec<String>);

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = PgConnection::connect(url).await.expect("raw postgres connection");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list postgres tables");
    let mut schema = Schema::new();
    for name in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
        .expect("postgres columns");
        for (column, ty, nullable) in columns {
            table.columns.insert(column, Column { ty: normalize_type(&ty), not_null: nullable == "NO" });
        }
        // Every index of the table, with the constraint it backs (primary key or unique), if any.
        let indexes: Vec<PgIndexRow> = sqlx::query_as(
            "SELECT i.relname::text, x.indisunique, x.indpred IS NOT NULL, c.contype::text, \
                 ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n) \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace s ON s.oid = t.relnamespace \
             LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u') \
             WHERE s.nspname = 'public' AND t.relname = $1",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
        .expect("postgres indexes");
        for (index, unique, partial, constraint, columns) in indexes {
            match constraint.as_deref() {
                Some("p") => table.primary_key = columns,
                Some("u") => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.indexes.insert(index, Index { unique, columns, partial });
                }
            }
        }
        schema.insert(name, table);
    }
    conn.close().await.ok();
    schema
}

fn describe_column(c: Option<&Column>) -> String {
    c.map_or("absent".to_owned(), |c| format!("{} {}", c.ty, if c.not_null { "NOT NULL" } else { "NULL" }))
}

fn describe_index(i: Option<&Index>) -> String {
    i.map_or("absent".to_owned(), |i| {
        format!(
            "{}({}){}",
            if i.unique { "UNIQUE " } else { "" },
            i.columns.join(", "),
            if i.partial { " WHERE …" } else { "" }
        )
    })
}

/// Every way `left` and `right` differ, one line each.
fn differences(left_name: &str, left: &Schema, right_name: &str, right: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for name in names {
        let (l, r) = match (left.get(name), right.get(name)) {
            (Some(l), Some(r)) => (l, r),
            (Some(_), None) => {
                out.push(format!("table {name} exists on {left_name} only"));
                continue;
            }
            (None, _) => {
                out.push(format!("table {name} exists on {right_name} only"));
                continue;
            }
        };
        let columns: BTreeSet<&String> = l.columns.keys().chain(r.columns.keys()).collect();
        for column in columns {
            let (lc, rc) = (l.columns.get(column), r.columns.get(column));
            if lc != rc {
                out.push(format!(
                    "{name}.{column}: {left_name} has {}, {right_name} has {}",
                    describe_column(lc),
                    describe_column(rc)
                ));
            }
        }
        if l.primary_key != r.primary_key {
            out.push(format!(
                "{name} primary key: {left_name} ({}), {right_name} ({})",
                l.primary_key.join(", "),
                r.primary_key.join(", ")
            ));
        }
        for unique in l.unique.symmetric_difference(&r.unique) {
            let side = if l.unique.contains(unique) { left_name } else { right_name };
            out.push(format!("{name}: UNIQUE ({}) on {side} only", unique.join(", ")));
        }
        let indexes: BTreeSet<&String> = l.indexes.keys().chain(r.indexes.keys()).collect();
        for index in indexes {
            let (li, ri) = (l.indexes.get(index), r.indexes.get(index));
            if li != ri {
                out.push(format!(
                    "{name} index {index}: {left_name} has {}, {right_name} has {}",
                    describe_index(li),
                    describe_index(ri)
                ));
            }
        }
    }
    out
}

/// What the current migrations must have built, whichever the backend: the scoped keys and
/// indexes the store's queries rely on.
fn check_current_shape(label: &str, schema: &Schema) {
    let tables: BTreeSet<&str> = schema.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "api_keys",
        "branding",
        "cancellation_settings",
        "carrier_accounts",
        "carrier_holidays",
        "channel_connections",
        "channel_fulfilments",
        "channel_imports",
        "channel_stock",
        "events",
        "idempotency_keys",
        "information_requests",
        "inventory_levels",
        "inventory_movements",
        "jobs",
        "locations",
        "manifest_shipments",
        "manifests",
        "ndr_cases",
        "ndr_settings",
        "nodes",
        "notification_opt_outs",
        "notification_settings",
        "notification_templates",
        "notifications",
        "order_cancellations",
        "orders",
        "pickups",
        "rto_receipts",
        "rto_requests",
        "shipment_changes",
        "shipment_documents",
        "shipments",
        "tenants",
        "tracking_events",
        "webhook_deliveries",
        "webhook_endpoints",
        "webhook_messages",
    ]
    .into();
    assert_eq!(tables, expected, "[{label}] the tables");
    let text_not_null = Column { ty: "text".to_owned(), not_null: true };
    for table in [
        "orders",
        "shipments",
        "pickups",
        "idempotency_keys",
        "events",
        "webhook_endpoints",
        "webhook_messages",
        "webhook_deliveries",
        "notifications",
        "notification_settings",
        "notification_templates",
        "channel_connections",
        "channel_imports",
        "channel_fulfilments",
    ] {
        assert_eq!(schema[table].columns.get("mode"), Some(&text_not_null), "[{label}] {table}.mode");
    }
    let text_null = Column { ty: "text".to_owned(), not_null: false };
    assert_eq!(schema["jobs"].columns.get("mode"), Some(&text_null), "[{label}] jobs.mode (none for global work)");
    assert_eq!(schema["jobs"].columns.get("lease"), Some(&text_null), "[{label}] jobs.lease");
    assert_eq!(schema["shipments"].columns.get("node_id"), Some(&text_null), "[{label}] shipments.node_id");
    let bigint = Column { ty: "bigint".to_owned(), not_null: true };
    assert_eq!(schema["carrier_accounts"].columns.get("updated_at"), Some(&bigint), "[{label}] updated_at");
    assert_eq!(
        schema["channel_imports"].columns.get("payload"),
        Some(&Column { ty: "bytea".to_owned(), not_null: true }),
        "[{label}] a channel's payload, as sent"
    );
    assert_eq!(
        schema["shipment_documents"].columns.get("bytes"),
        Some(&Column { ty: "bytea".to_owned(), not_null: true }),
        "[{label}] label bytes"
    );
    let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        schema["channel_imports"].indexes.get("channel_imports_delivery"),
        Some(&Index { unique: true, columns: cols(&["connection_id", "delivery_key"]), partial: false }),
        "[{label}] a repeated delivery is kept once"
    );
    assert_eq!(schema["idempotency_keys"].primary_key, cols(&["tenant_id", "mode", "key"]), "[{label}] key scope");
    assert_eq!(
        schema["orders"].unique,
        BTreeSet::from([cols(&["tenant_id", "mode", "channel", "external_id"])]),
        "[{label}] an order is unique per scope, channel and external id"
    );
    for (table, index, columns) in [
        ("orders", "orders_scope", cols(&["tenant_id", "mode", "id"])),
        ("shipments", "shipments_scope", cols(&["tenant_id", "mode", "id"])),
        ("shipments", "shipments_scope_booking", cols(&["tenant_id", "mode", "booking_state", "id"])),
        ("pickups", "pickups_scope", cols(&["tenant_id", "mode", "id"])),
        ("events", "events_subject", cols(&["tenant_id", "subject_id", "id"])),
    ] {
        assert_eq!(
            schema[table].indexes.get(index),
            Some(&Index { unique: false, columns, partial: false }),
            "[{label}] index {index}"
        );
    }
    // Keys and indexes of the earlier migrations that the rebuilt tables must keep.
    assert_eq!(schema["shipment_documents"].primary_key, cols(&["shipment_id", "format"]), "[{label}] label slots");
    assert_eq!(schema["orders"].primary_key, cols(&["id"]), "[{label}] orders key");
    assert!(schema["api_keys"].unique.contains(&cols(&["key_hash"])), "[{label}] one key per digest");
    assert!(schema["jobs"].unique.contains(&cols(&["unique_key"])), "[{label}] one job per unique key");
    assert!(
        schema["tracking_events"].unique.contains(&cols(&["shipment_id", "dedupe_key"])),
        "[{label}] scans dedupe per shipment"
    );
    assert_eq!(
        schema["shipments"].indexes.get("shipments_tracking"),
        Some(&Index { unique: true, columns: cols(&["carrier_account_id", "tracking_number"]), partial: false }),
        "[{label}] one shipment per account and tracking number"
    );
    assert_eq!(
        schema["shipments"].indexes.get("shipments_pending"),
        Some(&Index { unique: false, columns: cols(&["created_at"]), partial: true }),
        "[{label}] the sweep's partial index"
    );
    for (table, gone) in [("orders", "orders_tenant"), ("shipments", "shipments_tenant"), ("pickups", "pickups_tenant")]
    {
        assert!(!schema[table].indexes.contains_key(gone), "[{label}] {gone} was replaced by its scoped index");
    }
}

/// The comparison itself reports what differs (so an empty report means the same schema).
#[test]
fn the_schema_comparison_reports_every_kind_of_difference() {
    let column = |ty: &str, not_null| Column { ty: ty.to_owned(), not_null };
    let mut left = Schema::new();
    let mut t = Table::default();
    t.columns.insert("id".into(), column("text", true));
    t.columns.insert("bytes".into(), column(&normalize_type("BLOB"), true));
    t.columns.insert("note".into(), column("text", false));
    t.primary_key = vec!["id".into()];
    t.unique.insert(vec!["note".into()]);
    t.indexes.insert("t_note".into(), Index { unique: false, columns: vec!["note".into()], partial: false });
    left.insert("t".into(), t);
    left.insert("only_left".into(), Table::default());
    assert!(differences("a", &left, "b", &left).is_empty(), "a schema equals itself");

    let mut right = Schema::new();
    let mut t = Table::default();
    t.columns.insert("id".into(), column("text", true));
    t.columns.insert("bytes".into(), column("bytea", true));
    t.columns.insert("note".into(), column("text", true));
    t.columns.insert("extra".into(), column("bigint", false));
    t.primary_key = vec!["id".into(), "note".into()];
    t.indexes.insert("t_note".into(), Index { unique: true, columns: vec!["note".into()], partial: true });
    right.insert("t".into(), t);
    let diff = differences("sqlite", &left, "postgres", &right);
    assert_eq!(
        diff,
        [
            "table only_left exists on sqlite only",
            "t.extra: sqlite has absent, postgres has bigint NULL",
            "t.note: sqlite has text NULL, postgres has text NOT NULL",
            "t primary key: sqlite (id), postgres (id, note)",
            "t: UNIQUE (note) on sqlite only",
            "t index t_note: sqlite has (note), postgres has UNIQUE (note) WHERE …",
        ],
        "BLOB and bytea are the same type; everything else that differs is reported"
    );
}

#[tokio::test]
async fn the_sqlite_and_postgresql_migrations_describe_the_same_schema() {
    let sqlite = empty_sqlite();
    let store = Store::open(&sqlite.url, Sealer::from_base64(&sqlite.key).unwrap()).await.must("sqlite");
    store.close().await;
    let sqlite_schema = sqlite_schema(&sqlite.url).await;
    check_current_shape("sqlite", &sqlite_schema);

    let Some(server) = postgres_server() else {
        eprintln!(
            "SKIPPED: the PostgreSQL half of the schema comparison (WAYBILL_TEST_DATABASE_URL is not set); \
             only SQLite's schema was read and checked"
        );
        return;
    };
    let postgres = empty_postgres(&server).await;
    let store = Store::open(&postgres.url, Sealer::from_base64(&postgres.key).unwrap()).await.must("postgres");
    store.close().await;
    let postgres_schema = postgres_schema(&postgres.url).await;
    check_current_shape("postgres", &postgres_schema);

    let diff = differences("sqlite", &sqlite_schema, "postgres", &postgres_schema);
    assert!(diff.is_empty(), "the migrations build different schemas:\n  {}", diff.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// Upgrading a database written by the previous version.

/// The migrations of `backend` up to and including `last`, read from the crate's folder.
async fn migrator_up_to(backend: &str, last: usize) -> Migrator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    let mut migrator = Migrator::new(dir.as_path()).await.expect("the migrations read");
    assert!(migrator.migrations.len() > last, "there are migrations after {last}");
    migrator.migrations = Cow::Owned(migrator.migrations[..last].to_vec());
    migrator
}

/// Brings the empty database at `url` to the schema of the previous version (0001–0003).
async fn migrate_to_version_3(label: &str, url: &str) {
    let migrator = migrator_up_to(label, 3).await;
    if label == "postgres" {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres pool");
        migrator.run(&pool).await.expect("migrations 0001-0003 run on postgres");
        pool.close().await;
    } else {
        let options = SqliteConnectOptions::from_str(url).expect("sqlite url").create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.expect("sqlite pool");
        migrator.run(&pool).await.expect("migrations 0001-0003 run on sqlite");
        pool.close().await;
    }
}

/// What version 3 wrote, and what the upgraded store must make of it.
struct Version3 {
    acme: TenantId,
    both: TenantId,
    live_key: String,
    live_account: CarrierAccount,
    test_account: CarrierAccount,
    shipped_order: OrderId,
    lone_order: OrderId,
    both_order: OrderId,
    shipment: Shipment,
    pickup: PickupId,
    track_job: String,
    close_job: String,
    lone_close_job: String,
    sweep_job: String,
    document: Vec<u8>,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("serializes")
}

/// Writes rows the way version 3 did: its columns only (no modes on orders, shipments,
/// pickups, idempotency keys or jobs; no `updated_at` on carrier accounts).
async fn write_version_3_rows(l: &str, pool: &Pool, sealer: &Sealer) -> Version3 {
    let now = waybill_store::now_ms();
    let acme = TenantId::generate();
    let both = TenantId::generate();
    for (id, name) in [(&acme, "acme"), (&both, "both")] {
        pool.execute("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)", args![id.as_str(), name, now])
            .await
            .must(l);
    }
    // acme has a live key only; `both` has one of each mode.
    let live_key = format!("wb_live_{}", "k".repeat(32));
    for (tenant, mode, secret) in [
        (&acme, "live", live_key.clone()),
        (&both, "live", format!("wb_live_{}", "b".repeat(32))),
        (&both, "test", format!("wb_test_{}", "b".repeat(32))),
    ] {
        pool.execute(
            "INSERT INTO api_keys (id, tenant_id, mode, key_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                waybill_core::ids::ApiKeyId::generate().as_str(),
                tenant.as_str(),
                mode,
                sha256_hex(&secret),
                "wb…",
                now
            ],
        )
        .await
        .must(l);
    }

    let account = |mode: Mode, created_at: i64| CarrierAccount {
        id: CarrierAccountId::generate(),
        tenant_id: acme.clone(),
        carrier: "sandbox".to_owned(),
        mode,
        description: Some(format!("{} account", mode.as_str())),
        base_url: None,
        settings: None,
        created_at,
        // Version 3 had no `updated_at`: the upgrade takes the creation time.
        updated_at: created_at,
    };
    let live_account = account(Mode::Live, now - 50_000);
    let test_account = account(Mode::Test, now - 40_000);
    for a in [&live_account, &test_account] {
        pool.execute(
            "INSERT INTO carrier_accounts (id, tenant_id, carrier, mode, description, base_url, sealed_secrets, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                a.id.as_str(),
                a.tenant_id.as_str(),
                &a.carrier,
                a.mode.as_str(),
                a.description.clone(),
                a.base_url.clone(),
                sealer.seal(text(&secrets(a.mode.as_str())).as_bytes()),
                a.created_at
            ],
        )
        .await
        .must(l);
    }

    let orders = [
        (OrderId::generate(), &acme, "1001", "shipped"),
        (OrderId::generate(), &acme, "1002", "open"),
        (OrderId::generate(), &both, "2001", "open"),
    ];
    for (id, tenant, external_id, status) in &orders {
        let template = order(&Scope::test((*tenant).clone()), "shopify", external_id);
        pool.execute(
            "INSERT INTO orders (id, tenant_id, channel, external_id, status, currency, payment, ship_to, line_items, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                id.as_str(),
                tenant.as_str(),
                "shopify",
                *external_id,
                *status,
                "TRY",
                text(&template.payment),
                text(&template.ship_to),
                text(&template.line_items),
                now - 30_000,
                now - 20_000
            ],
        )
        .await
        .must(l);
    }
    let [(shipped_order, ..), (lone_order, ..), (both_order, ..)] = orders;

    let mut shipment = as_booked(&pending_shipment(&live_account, Some(&shipped_order)), "TRK-OLD-1");
    shipment.status = TrackingStatus::InTransit;
    shipment.progress = 2;
    shipment.last_scan_at = Some(now - 10_000);
    shipment.created_at = now - 25_000;
    shipment.updated_at = now - 10_000;
    let s = &shipment;
    pool.execute(
        "INSERT INTO shipments (id, tenant_id, order_id, carrier_account_id, carrier, service, booking_state, status, \
         progress, last_scan_at, ndr_reason, tracking_number, carrier_shipment_id, ship_from, ship_to, parcels, cod, charge, \
         edd, routing, simulate, reference, error, created_at, updated_at, is_return) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
         $24, $25, $26)",
        args![
            s.id.as_str(),
            s.tenant_id.as_str(),
            s.order_id.as_ref().map(|o| o.as_str()),
            s.carrier_account_id.as_str(),
            &s.carrier,
            &s.service,
            s.booking_state.as_str(),
            s.status.as_str(),
            i64::from(s.progress),
            s.last_scan_at,
            None::<String>,
            s.tracking_number.clone(),
            s.carrier_shipment_id.clone(),
            text(&s.ship_from),
            text(&s.ship_to),
            text(&s.parcels),
            None::<String>,
            s.charge.as_ref().map(text),
            s.edd.map(|d| d.to_string()),
            s.routing.as_ref().map(text),
            None::<String>,
            s.reference.clone(),
            None::<String>,
            s.created_at,
            s.updated_at,
            0i64
        ],
    )
    .await
    .must(l);
    let document = b"%PDF-1.7 version 3 label \x00\xff".to_vec();
    pool.execute(
        "INSERT INTO shipment_documents (shipment_id, format, tenant_id, bytes, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![s.id.as_str(), "pdf", acme.as_str(), document.clone(), now - 10_000],
    )
    .await
    .must(l);
    pool.execute(
        "INSERT INTO tracking_events (id, tenant_id, shipment_id, dedupe_key, code, status, reason_code, ndr_reason, \
         description, location, occurred_at, occurred_ms, source, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        args![
            TrackingEventId::generate().as_str(),
            acme.as_str(),
            s.id.as_str(),
            "old-1",
            "old-1",
            "in_transit",
            None::<String>,
            None::<String>,
            "in transit",
            Some("Istanbul Hub"),
            "2031-05-01T12:00:00+03:00",
            at("2031-05-01T12:00:00+03:00").timestamp_millis(),
            "push",
            "{}",
            now - 10_000
        ],
    )
    .await
    .must(l);

    let template = pickup(&test_account, &[]);
    let pickup = PickupId::generate();
    pool.execute(
        "INSERT INTO pickups (id, tenant_id, carrier_account_id, carrier, status, pickup_date, ready_time, close_time, \
         address, parcels, shipment_ids, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        args![
            pickup.as_str(),
            acme.as_str(),
            test_account.id.as_str(),
            "sandbox",
            "requested",
            "2031-05-06",
            "09:30",
            "17:00",
            text(&template.address),
            text(&template.parcels),
            "[]",
            now - 5_000,
            now - 5_000
        ],
    )
    .await
    .must(l);

    for (key, resource) in [("idem-shipment", s.id.as_str()), ("idem-pickup", pickup.as_str())] {
        pool.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, operation, request_hash, resource_id, state, response_status, \
             response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                acme.as_str(),
                key,
                "create",
                request_hash("create", b"{}"),
                resource,
                "done",
                201i64,
                format!("{{\"id\":\"{resource}\"}}"),
                now - 20_000
            ],
        )
        .await
        .must(l);
    }

    let jobs = [
        ("track", Some(&acme), json!({ "shipment_id": s.id }), Some(format!("track:{}", s.id))),
        (
            "close_order",
            Some(&acme),
            json!({ "order_id": shipped_order }),
            Some(format!("close_order:{shipped_order}")),
        ),
        ("close_order", Some(&acme), json!({ "order_id": lone_order }), Some(format!("close_order:{lone_order}"))),
        ("sweep_bookings", None, json!({}), Some("sweep_bookings".to_owned())),
    ];
    let mut ids = Vec::new();
    for (kind, tenant, payload, unique_key) in jobs {
        let id = JobId::generate().to_string();
        pool.execute(
            "INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, run_at, attempts, max_attempts, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                id.as_str(),
                tenant.map(|t| t.as_str()),
                kind,
                payload.to_string(),
                unique_key,
                now - 1_000,
                0i64,
                5i64,
                "queued",
                now - 1_000,
                now - 1_000
            ],
        )
        .await
        .must(l);
        ids.push(id);
    }
    let [track_job, close_job, lone_close_job, sweep_job] = <[String; 4]>::try_from(ids).expect("four jobs");

    // What the upgrade must make of the shipment: its account's mode.
    shipment.mode = Mode::Live;
    Version3 {
        acme,
        both,
        live_key,
        live_account,
        test_account,
        shipped_order,
        lone_order,
        both_order,
        shipment,
        pickup,
        track_job,
        close_job,
        lone_close_job,
        sweep_job,
        document,
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ModeRow {
    id: String,
    mode: Option<String>,
}
waybill_store::sqlite_row!(ModeRow { id, mode });

/// `id → mode` of every row the query returns.
async fn modes(l: &str, pool: &Pool, sql: &'static str) -> BTreeMap<String, Option<String>> {
    let rows: Vec<ModeRow> = pool.fetch_all(sql, vec![]).await.must(l);
    rows.into_iter().map(|r| (r.id, r.mode)).collect()
}

#[tokio::test]
async fn data_from_the_previous_version_upgrades() {
    if postgres_server().is_none() {
        eprintln!("SKIPPED: the PostgreSQL half of the upgrade test (WAYBILL_TEST_DATABASE_URL is not set)");
    }
    for (label, guard) in empty_databases().await {
        let l = label.as_str();
        migrate_to_version_3(l, &guard.url).await;
        let sealer = Sealer::from_base64(&guard.key).unwrap();
        let raw = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);
        let v3 = write_version_3_rows(l, &raw, &sealer).await;
        raw.close().await;
        drop(raw);

        // Opening the store runs the remaining migrations.
        let store = Store::open(&guard.url, Sealer::from_base64(&guard.key).unwrap()).await.must(l);
        let raw = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);
        let (live, test) = (Some("live".to_owned()), Some("test".to_owned()));

        // The modes, as the migration wrote them.
        let shipments = modes(l, &raw, "SELECT id, mode FROM shipments").await;
        assert_eq!(shipments.get(v3.shipment.id.as_str()), Some(&live), "[{l}] the shipment takes its account's mode");
        let pickups = modes(l, &raw, "SELECT id, mode FROM pickups").await;
        assert_eq!(pickups.get(v3.pickup.as_str()), Some(&test), "[{l}] the pickup takes its account's mode");
        let orders = modes(l, &raw, "SELECT id, mode FROM orders").await;
        assert_eq!(orders.get(v3.shipped_order.as_str()), Some(&live), "[{l}] the order takes its shipment's mode");
        assert_eq!(orders.get(v3.lone_order.as_str()), Some(&live), "[{l}] a lone order takes the only key mode");
        assert_eq!(orders.get(v3.both_order.as_str()), Some(&test), "[{l}] with keys of both modes, test");
        let keys = modes(l, &raw, "SELECT key AS id, mode FROM idempotency_keys").await;
        assert_eq!(keys.get("idem-shipment"), Some(&live), "[{l}] the shipment's key is live");
        assert_eq!(keys.get("idem-pickup"), Some(&test), "[{l}] the pickup's key is test");
        let jobs = modes(l, &raw, "SELECT id, mode FROM jobs").await;
        assert_eq!(jobs.get(&v3.track_job), Some(&live), "[{l}] the track job takes its shipment's mode");
        assert_eq!(jobs.get(&v3.close_job), Some(&live), "[{l}] the close job takes its order's mode");
        assert_eq!(jobs.get(&v3.lone_close_job), Some(&live), "[{l}] so does the lone order's");
        assert_eq!(jobs.get(&v3.sweep_job), Some(&None), "[{l}] work for no tenant has no mode");
        if l == "sqlite" {
            // The rebuilt tables left every reference whole.
            #[derive(sqlx::FromRow)]
            struct Broken {
                n: i64,
            }
            waybill_store::sqlite_row!(Broken { n });
            let broken: Vec<Broken> =
                raw.fetch_all("SELECT COUNT(*) AS n FROM pragma_foreign_key_check", vec![]).await.must(l);
            assert_eq!(broken[0].n, 0, "[{l}] foreign keys hold after the rebuild");
        }
        raw.close().await;

        // Through the store: each row in its scope, and invisible from the other.
        let (live, test) = (Scope::live(v3.acme.clone()), Scope::test(v3.acme.clone()));
        assert_eq!(store.authenticate(&v3.live_key).await.must(l), Some(live.clone()), "[{l}] the old key works");
        let shipped = store.order(&live, &v3.shipped_order).await.must(l);
        assert_eq!(
            (shipped.mode, shipped.status, shipped.external_id.as_str(), shipped.ship_to.city.as_str()),
            (Mode::Live, OrderStatus::Shipped, "1001", "Istanbul"),
            "[{l}] the shipped order reads"
        );
        assert_eq!(
            store.list_orders(&live, None, 10).await.must(l).items.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
            vec![v3.shipped_order.clone(), v3.lone_order.clone()],
            "[{l}] both of acme's orders are live"
        );
        assert!(store.list_orders(&test, None, 10).await.must(l).items.is_empty(), "[{l}] none in test");
        assert!(matches!(store.order(&test, &v3.shipped_order).await, Err(StoreError::NotFound)), "[{l}] test");
        let both_test = Scope::test(v3.both.clone());
        assert_eq!(store.order(&both_test, &v3.both_order).await.must(l).mode, Mode::Test, "[{l}] both's order");

        assert_eq!(store.shipment(&live, &v3.shipment.id).await.must(l), v3.shipment, "[{l}] the shipment reads back");
        assert_eq!(
            store.shipments_for_order(&live, &v3.shipped_order).await.must(l),
            vec![v3.shipment.clone()],
            "[{l}] the order's shipment"
        );
        assert!(matches!(store.shipment(&test, &v3.shipment.id).await, Err(StoreError::NotFound)), "[{l}] test");
        let events = store.tracking_events(&live, &v3.shipment.id).await.must(l);
        assert_eq!(events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["old-1"], "[{l}] its scan");
        assert!(store.tracking_events(&test, &v3.shipment.id).await.must(l).is_empty(), "[{l}] not in test");
        assert_eq!(store.document(&live, &v3.shipment.id, "pdf").await.must(l), Some(v3.document.clone()), "[{l}]");
        assert_eq!(store.document(&test, &v3.shipment.id, "pdf").await.must(l), None, "[{l}] not in test");
        let mut tx = store.begin().await.must(l);
        let pushed = tx.lock_shipment_for_account(&v3.live_account.id, "TRK-OLD-1").await.must(l);
        assert_eq!(pushed.map(|s| s.scope()), Some(live.clone()), "[{l}] a push finds it, live");
        drop(tx);

        assert_eq!(store.carrier_account(&live, &v3.live_account.id).await.must(l), v3.live_account, "[{l}] live");
        assert_eq!(store.carrier_account(&test, &v3.test_account.id).await.must(l), v3.test_account, "[{l}] test");
        assert_eq!(store.account_secrets(&live, &v3.live_account.id).await.must(l), secrets("live"), "[{l}] sealed");
        assert!(
            matches!(store.carrier_account(&test, &v3.live_account.id).await, Err(StoreError::NotFound)),
            "[{l}] the live account is not test's"
        );

        let p = store.pickup(&test, &v3.pickup).await.must(l);
        assert_eq!(
            (p.mode, p.status, p.carrier_account_id),
            (Mode::Test, PickupStatus::Requested, v3.test_account.id.clone()),
            "[{l}]"
        );
        assert!(matches!(store.pickup(&live, &v3.pickup).await, Err(StoreError::NotFound)), "[{l}] not live");

        let key = store.idempotency_get(&live, "idem-shipment").await.must(l);
        assert_eq!((key.state.as_str(), key.response_status), ("done", Some(201)), "[{l}] the key's answer");
        assert!(matches!(store.idempotency_get(&test, "idem-shipment").await, Err(StoreError::NotFound)), "[{l}]");
        assert_eq!(store.idempotency_get(&test, "idem-pickup").await.must(l).state, "done", "[{l}] pickup key");

        let claimed = store.claim_jobs("upgrade", 10, 60_000).await.must(l);
        let scopes: BTreeMap<&str, Option<Scope>> = claimed.iter().map(|j| (j.id.as_str(), j.scope())).collect();
        assert_eq!(scopes.len(), 4, "[{l}] every old job is claimable: {claimed:?}");
        assert_eq!(scopes[v3.track_job.as_str()], Some(live.clone()), "[{l}] the track job acts live");
        assert_eq!(scopes[v3.close_job.as_str()], Some(live.clone()), "[{l}] the close job acts live");
        assert_eq!(scopes[v3.lone_close_job.as_str()], Some(live.clone()), "[{l}] the lone close job acts live");
        assert_eq!(scopes[v3.sweep_job.as_str()], None, "[{l}] the sweep acts for no one");
        assert!(claimed.iter().all(|j| !j.lease.is_empty()), "[{l}] old jobs get a lease when claimed");
        for job in &claimed {
            assert!(store.complete_job(job).await.must(l), "[{l}] the claim settles {}", job.kind);
        }

        // The order key now includes the mode: the same shop order may exist once per mode.
        let mut tx = store.begin().await.must(l);
        let again = order(&live, "shopify", "1001");
        match tx.insert_order(&again).await {
            Err(StoreError::Conflict(existing)) => assert_eq!(existing, v3.shipped_order.to_string(), "[{l}] conflict"),
            other => panic!("[{l}] a second live shopify 1001: expected a conflict, got {other:?}"),
        }
        tx.insert_order(&order(&test, "shopify", "1001")).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.list_orders(&test, None, 10).await.must(l).items.len(), 1, "[{l}] the test 1001");

        // And the upgraded store takes new bookings in both modes.
        let fresh = pending_shipment(&v3.test_account, None);
        insert_pending(l, &store, &fresh, NODE).await;
        assert_eq!(store.shipment(&test, &fresh.id).await.must(l), fresh, "[{l}] a new test shipment");
        let pending = ShipmentFilter { booking_state: Some(BookingState::Pending) };
        let listed = store.list_shipments(&test, pending, None, 10).await.must(l).items;
        assert_eq!(listed, vec![fresh.clone()], "[{l}] listed by its booking state");
        store.close().await;
    }
}
