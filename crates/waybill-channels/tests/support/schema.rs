//! Checks GraphQL documents, and the variables sent with them, against the Shopify Admin API
//! introspection (`fixtures/shopify/admin_schema_2025-01.json.gz`, from
//! `../shared/specs/shopify/graphql/`): every field selected exists on its type, every argument
//! exists and is given where required, every variable's declared type is the argument's, and
//! every input object sent names only fields its input type has, with valid enum values.

use std::collections::HashMap;
use std::io::Read;

use graphql_parser::query::{
    Definition, Document, OperationDefinition, Selection, SelectionSet, Type, Value as GqlValue,
};
use serde_json::Value;

pub struct Schema {
    types: HashMap<String, Value>,
    query: String,
    mutation: String,
}

/// A type reference written as GraphQL writes it (`[ID!]!`).
fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The named type under lists and non-nulls.
fn named(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL" | "LIST") => named(&t["ofType"]),
        _ => t["name"].as_str().unwrap_or_default().to_owned(),
    }
}

fn written(t: &Type<'_, String>) -> String {
    match t {
        Type::NamedType(n) => n.clone(),
        Type::ListType(inner) => format!("[{}]", written(inner)),
        Type::NonNullType(inner) => format!("{}!", written(inner)),
    }
}

impl Schema {
    pub fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shopify/admin_schema_2025-01.json.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).expect("the schema fixture"))
            .read_to_string(&mut text)
            .expect("a gzipped JSON schema");
        let root: Value = serde_json::from_str(&text).expect("introspection JSON");
        let schema = &root["data"]["__schema"];
        let mut types: HashMap<String, Value> = schema["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t.clone()))
            .collect();
        // The one change since 2025-01 the connector depends on (../shared/notes/channels.md §2.5,
        // shopify.dev's 2026-07 `InventorySetQuantityInput`): each quantity carries
        // `changeFromQuantity`. (Directives such as 2026-04's `@idempotent` are not checked.)
        if let Some(fields) = types.get_mut("InventoryQuantityInput").and_then(|t| t["inputFields"].as_array_mut()) {
            fields.push(serde_json::json!({"name": "changeFromQuantity", "defaultValue": null,
                "type": {"kind": "SCALAR", "name": "Int", "ofType": null}}));
        }
        Schema {
            types,
            query: schema["queryType"]["name"].as_str().unwrap_or("QueryRoot").to_owned(),
            mutation: schema["mutationType"]["name"].as_str().unwrap_or("Mutation").to_owned(),
        }
    }

    fn field<'a>(&'a self, on: &str, name: &str) -> Option<&'a Value> {
        self.types.get(on)?["fields"].as_array()?.iter().find(|f| f["name"] == name)
    }

    /// Every problem with `document`; empty when it is valid against the schema.
    pub fn check_document(&self, document: &str) -> Vec<String> {
        let parsed: Document<'_, String> = match graphql_parser::parse_query(document) {
            Ok(d) => d,
            Err(e) => return vec![format!("does not parse: {e}")],
        };
        let mut problems = Vec::new();
        for definition in &parsed.definitions {
            let Definition::Operation(operation) = definition else {
                problems.push("fragments are not used by the connector".into());
                continue;
            };
            let (root, variables, selection) = match operation {
                OperationDefinition::Query(q) => (&self.query, &q.variable_definitions, &q.selection_set),
                OperationDefinition::Mutation(m) => (&self.mutation, &m.variable_definitions, &m.selection_set),
                OperationDefinition::SelectionSet(s) => (&self.query, &Vec::new(), s),
                OperationDefinition::Subscription(_) => {
                    problems.push("subscriptions are not used".into());
                    continue;
                }
            };
            let declared: HashMap<String, String> =
                variables.iter().map(|v| (v.name.clone(), written(&v.var_type))).collect();
            self.check_selection(root, selection, &declared, root, &mut problems);
        }
        problems
    }

    fn check_selection(
        &self,
        on: &str,
        selection: &SelectionSet<'_, String>,
        declared: &HashMap<String, String>,
        path: &str,
        problems: &mut Vec<String>,
    ) {
        for item in &selection.items {
            let Selection::Field(field) = item else {
                problems.push(format!("{path}: only plain fields are used"));
                continue;
            };
            if field.name == "__typename" {
                continue;
            }
            let here = format!("{path}.{}", field.name);
            let Some(def) = self.field(on, &field.name) else {
                problems.push(format!("{here}: `{on}` has no field `{}`", field.name));
                continue;
            };
            let args = def["args"].as_array().cloned().unwrap_or_default();
            for (name, value) in &field.arguments {
                let Some(arg) = args.iter().find(|a| a["name"] == name.as_str()) else {
                    problems.push(format!("{here}: no argument `{name}`"));
                    continue;
                };
                if let GqlValue::Variable(v) = value {
                    let want = type_ref(&arg["type"]);
                    match declared.get(v) {
                        None => problems.push(format!("{here}: ${v} is not declared")),
                        // A non-null variable may fill a nullable argument.
                        Some(got) if *got != want && got.strip_suffix('!') != Some(want.as_str()) => {
                            problems.push(format!("{here}({name}): ${v} is `{got}`, the argument is `{want}`"))
                        }
                        Some(_) => {}
                    }
                }
            }
            for arg in &args {
                let required = arg["type"]["kind"] == "NON_NULL" && arg["defaultValue"].is_null();
                let name = arg["name"].as_str().unwrap_or_default();
                if required && !field.arguments.iter().any(|(n, _)| n == name) {
                    problems.push(format!("{here}: the required argument `{name}` is missing"));
                }
            }
            let inner = named(&def["type"]);
            let leaf = matches!(self.types.get(&inner).and_then(|t| t["kind"].as_str()), Some("SCALAR" | "ENUM"));
            match (leaf, field.selection_set.items.is_empty()) {
                (true, false) => problems.push(format!("{here}: `{inner}` has no fields to select")),
                (false, true) => problems.push(format!("{here}: `{inner}` needs a selection")),
                (false, false) => self.check_selection(&inner, &field.selection_set, declared, &here, problems),
                (true, true) => {}
            }
        }
    }

    /// Problems with the variables sent with `document`: each must fit its declared type.
    pub fn check_variables(&self, document: &str, variables: &Value) -> Vec<String> {
        let parsed: Document<'_, String> = match graphql_parser::parse_query(document) {
            Ok(d) => d,
            Err(e) => return vec![format!("does not parse: {e}")],
        };
        let mut problems = Vec::new();
        for definition in &parsed.definitions {
            let declared = match definition {
                Definition::Operation(OperationDefinition::Query(q)) => &q.variable_definitions,
                Definition::Operation(OperationDefinition::Mutation(m)) => &m.variable_definitions,
                _ => continue,
            };
            for v in declared {
                self.check_value(&v.var_type, &variables[&v.name], &format!("${}", v.name), &mut problems);
            }
        }
        problems
    }

    fn check_value(&self, t: &Type<'_, String>, value: &Value, at: &str, problems: &mut Vec<String>) {
        match t {
            Type::NonNullType(inner) => {
                if value.is_null() {
                    problems.push(format!("{at}: required, but null"));
                } else {
                    self.check_value(inner, value, at, problems);
                }
            }
            Type::ListType(inner) => match value {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(inner, item, &format!("{at}[{i}]"), problems);
                    }
                }
                _ => problems.push(format!("{at}: a list is expected")),
            },
            Type::NamedType(name) => self.check_named(name, value, at, problems),
        }
    }

    fn check_named(&self, name: &str, value: &Value, at: &str, problems: &mut Vec<String>) {
        if value.is_null() {
            return;
        }
        let Some(t) = self.types.get(name) else {
            problems.push(format!("{at}: no type `{name}`"));
            return;
        };
        match t["kind"].as_str() {
            Some("INPUT_OBJECT") => {
                let Some(object) = value.as_object() else {
                    problems.push(format!("{at}: `{name}` is an object"));
                    return;
                };
                let fields = t["inputFields"].as_array().cloned().unwrap_or_default();
                for (key, v) in object {
                    match fields.iter().find(|f| f["name"] == key.as_str()) {
                        None => problems.push(format!("{at}.{key}: `{name}` has no field `{key}`")),
                        Some(f) => self.check_json_type(&f["type"], v, &format!("{at}.{key}"), problems),
                    }
                }
                for f in &fields {
                    let key = f["name"].as_str().unwrap_or_default();
                    if f["type"]["kind"] == "NON_NULL"
                        && f["defaultValue"].is_null()
                        && object.get(key).is_none_or(Value::is_null)
                    {
                        problems.push(format!("{at}.{key}: required by `{name}`"));
                    }
                }
            }
            Some("ENUM") => {
                let ok = value.as_str().is_some_and(|v| {
                    t["enumValues"].as_array().is_some_and(|values| values.iter().any(|e| e["name"] == v))
                });
                if !ok {
                    problems.push(format!("{at}: {value} is not a `{name}`"));
                }
            }
            Some("SCALAR") => {
                let ok = match name {
                    "Int" => value.is_i64() || value.is_u64(),
                    "Float" => value.is_number(),
                    "Boolean" => value.is_boolean(),
                    _ => value.is_string(),
                };
                if !ok {
                    problems.push(format!("{at}: {value} is not a `{name}`"));
                }
            }
            other => problems.push(format!("{at}: `{name}` is a {other:?}, not an input type")),
        }
    }

    fn check_json_type(&self, t: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        match t["kind"].as_str() {
            Some("NON_NULL") => {
                if value.is_null() {
                    problems.push(format!("{at}: required, but null"));
                } else {
                    self.check_json_type(&t["ofType"], value, at, problems);
                }
            }
            Some("LIST") => match value {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_json_type(&t["ofType"], item, &format!("{at}[{i}]"), problems);
                    }
                }
                _ => problems.push(format!("{at}: a list is expected")),
            },
            _ => self.check_named(t["name"].as_str().unwrap_or_default(), value, at, problems),
        }
    }
}
