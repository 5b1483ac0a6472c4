//! Checks JSON against the Selling Partner API models and listings feed schemas in
//! `fixtures/amazon/` (copied from `../shared/specs/amazon/`, see its README).
//!
//! A model is Swagger 2.0, whose `definitions` are JSON Schema draft 4 as far as these bodies
//! go: the schema checked is the model's `definitions` beside a root `$ref` to one of them. One
//! strictness is added to the models and the feed schemas alike: an object schema that names its
//! properties and says nothing of others admits only those (Amazon's schemas leave that open, so
//! without it a misspelt optional field would pass). The branches of a `oneOf`/`anyOf`/`allOf`
//! are left as they are: they name only the properties they constrain.

#![allow(dead_code)] // Each test binary that includes `support` uses some of it.

use serde_json::{Map, Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/amazon/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Adds `additionalProperties: false` where a schema names its properties and nothing else.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "oneOf" | "anyOf" | "allOf" => {}
                    // Values of a map of property names, or examples: only their schemas matter.
                    "properties" | "definitions" => {
                        for v in value.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
                            strict(v);
                        }
                    }
                    "example" | "examples" | "x-amzn-api-sandbox" | "enum" | "const" => {}
                    _ => strict(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// A checker for one definition of a Swagger 2.0 model (`ordersV0.json`, `ConfirmShipmentRequest`).
pub fn definition(model: &str, name: &str) -> jsonschema::Validator {
    let mut definitions = fixture(model)["definitions"].take();
    assert!(definitions.get(name).is_some(), "{model} has no definition {name}");
    strict(&mut definitions);
    let mut root = Map::new();
    root.insert("$schema".into(), json!("http://json-schema.org/draft-04/schema#"));
    root.insert("$ref".into(), json!(format!("#/definitions/{name}")));
    root.insert("definitions".into(), definitions);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("{model} {name}: {e}"))
}

/// A checker for one of the listings feed JSON Schemas (`listings-feed-schema-v2.json`).
pub fn feed_schema(file: &str) -> jsonschema::Validator {
    let mut schema = fixture(file);
    strict(&mut schema);
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A checker for a JSON Schema as Amazon wrote it, without the added strictness (the
/// notification schemas name only some of the properties a notification carries).
pub fn feed_schema_as_given(file: &str) -> jsonschema::Validator {
    jsonschema::options().should_validate_formats(true).build(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// What is wrong with `body` for `validator`, as `at /pointer: message`.
pub fn violations(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator.iter_errors(body).map(|e| format!("at {}: {e}", e.instance_path())).collect()
}

/// The request bodies of the model's `x-amzn-api-sandbox` examples for `method` `path`, with
/// the status each is answered with (a 2xx example's body is one the schema must accept).
pub fn documented_bodies(model: &str, path: &str, method: &str) -> Vec<(String, Value)> {
    let model = fixture(model);
    let operation = &model["paths"][path][method];
    let mut out = Vec::new();
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        for example in response.pointer("/x-amzn-api-sandbox/static").and_then(Value::as_array).into_iter().flatten() {
            let parameters = &example["request"]["parameters"];
            for key in ["body", "payload"] {
                if let Some(body) = parameters.get(key).and_then(|b| b.get("value")) {
                    out.push((status.clone(), body.clone()));
                }
            }
        }
    }
    out
}

/// A fixture's JSON (`listings-feed-processing-report-schema-v2.example.json`).
pub fn load(name: &str) -> Value {
    fixture(name)
}
