//! The generated reference pages: configuration (from the clap definition) and the control API
//! (from the OpenAPI document the emulator serves).

use std::collections::BTreeSet;
use std::fmt::Write;

use clap::CommandFactory;
use serde_json::Value;

use crate::markdown::{cell, code, slug};

const CONFIGURATION_PAGE: &str = "docs/reference/configuration.md";
const CONTROL_API_PAGE: &str = "docs/reference/control-api.md";
const CONTROL_PREFIX: &str = "/__emulator/";
const METHODS: [&str; 7] = ["get", "head", "post", "put", "patch", "delete", "options"];

#[test]
fn configuration_reference_is_current() {
    crate::check_generated(CONFIGURATION_PAGE, &configuration());
}

#[tokio::test]
async fn control_api_reference_is_current() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .start()
        .await
        .unwrap();
    let url = format!("{}/__emulator/openapi.json", emulator.uri());
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    let document: Value = response.json().await.unwrap();
    crate::check_generated(CONTROL_API_PAGE, &control_api(&document));
}

// ---- configuration --------------------------------------------------------------------------

/// The flags of the binary and of each subcommand, as tables.
pub fn configuration() -> String {
    let mut command = wa_cloud_emulator::Cli::command();
    command.build();
    let mut out = String::new();
    let name = command.get_name().to_owned();
    writeln!(out, "## Server settings: `{name}`\n").unwrap();
    writeln!(out, "{}\n", command_about(&command)).unwrap();
    out.push_str(&arguments_table(&command));
    for sub in command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
    {
        writeln!(out, "\n## `{name} {}`\n", sub.get_name()).unwrap();
        writeln!(out, "{}\n", command_about(sub)).unwrap();
        out.push_str(&arguments_table(sub));
    }
    out
}

fn command_about(command: &clap::Command) -> String {
    let about = command
        .get_long_about()
        .or(command.get_about())
        .map(|text| text.to_string())
        .unwrap_or_default();
    about.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn arguments_table(command: &clap::Command) -> String {
    let mut out =
        String::from("| Flag | Environment | Default | Description |\n| --- | --- | --- | --- |\n");
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || matches!(id, "help" | "version") {
            continue;
        }
        let mut flag = match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => id.to_owned(),
        };
        if arg.get_action().takes_values() {
            let value = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map(|name| name.to_string())
                .unwrap_or_else(|| id.to_uppercase());
            let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
            if optional {
                write!(flag, " [<{value}>]").unwrap();
            } else {
                write!(flag, " <{value}>").unwrap();
            }
        }
        let env = arg
            .get_env()
            .map(|env| code(&env.to_string_lossy()))
            .unwrap_or_else(|| "—".to_owned());
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|value| value.to_string_lossy().into_owned())
            .collect();
        let default = if defaults.is_empty() {
            "—".to_owned()
        } else {
            code(&defaults.join(","))
        };
        let mut help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|text| text.to_string())
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|value| !value.is_hide_set())
            .map(|value| match value.get_help() {
                Some(help) => format!("`{}` ({})", value.get_name(), help),
                None => format!("`{}`", value.get_name()),
            })
            .collect();
        let mut notes = Vec::new();
        if !values.is_empty() && !matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            notes.push(format!("Values: {}.", values.join(", ")));
        }
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append);
        if repeatable && !help.to_lowercase().contains("repeatable") {
            notes.push("Repeatable.".to_owned());
        }
        if !notes.is_empty() {
            if !help.trim_end().ends_with(['.', ')']) {
                help.push('.');
            }
            help = format!("{help} {}", notes.join(" "));
        }
        writeln!(
            out,
            "| {} | {env} | {default} | {} |",
            code(&flag),
            cell(&help)
        )
        .unwrap();
    }
    out
}

// ---- control API ----------------------------------------------------------------------------

/// Every control operation of the OpenAPI document: parameters, body, responses, and the
/// schemas they use.
pub fn control_api(document: &Value) -> String {
    let mut operations: Vec<(&str, &str, &Value)> = Vec::new();
    let mut graph: Vec<(&str, &str, &Value)> = Vec::new();
    for (path, item) in entries(&document["paths"]) {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                if path.starts_with(CONTROL_PREFIX) {
                    operations.push((method, path, operation));
                } else {
                    graph.push((method, path, operation));
                }
            }
        }
    }

    let version = document["info"]["version"].as_str().unwrap_or("?");
    let mut out = String::new();
    writeln!(
        out,
        "Generated from `GET /__emulator/openapi.json` (document version {version}): {} control \
         operations.\n",
        operations.len()
    )
    .unwrap();
    out.push_str("| Method | Path | Summary |\n| --- | --- | --- |\n");
    for (method, path, operation) in &operations {
        let heading = format!("{} {path}", method.to_uppercase());
        writeln!(
            out,
            "| {} | [{}](#{}) | {} |",
            method.to_uppercase(),
            code(path),
            slug(&heading),
            cell(operation["summary"].as_str().unwrap_or(""))
        )
        .unwrap();
    }

    let mut schemas = BTreeSet::new();
    for (method, path, operation) in &operations {
        out.push('\n');
        out.push_str(&render_operation(method, path, operation, &mut schemas));
    }

    out.push_str("\n## Schemas\n");
    let mut done = BTreeSet::new();
    while let Some(name) = schemas.iter().find(|name| !done.contains(*name)).cloned() {
        done.insert(name.clone());
        let schema = &document["components"]["schemas"][&name];
        writeln!(out, "\n### {name}\n").unwrap();
        out.push_str(&fields_table(schema, &mut schemas));
    }

    writeln!(
        out,
        "\n## Graph operations in the same document\n\nThe document also describes the {} Graph \
         operations (tag `Graph`), documented by hand in \
         [Graph API endpoints](graph-api.md):\n",
        graph.len()
    )
    .unwrap();
    out.push_str("| Method | Path | Summary |\n| --- | --- | --- |\n");
    for (method, path, operation) in &graph {
        writeln!(
            out,
            "| {} | {} | {} |",
            method.to_uppercase(),
            code(path),
            cell(operation["summary"].as_str().unwrap_or(""))
        )
        .unwrap();
    }
    out
}

fn render_operation(
    method: &str,
    path: &str,
    operation: &Value,
    schemas: &mut BTreeSet<String>,
) -> String {
    let mut out = String::new();
    writeln!(out, "## {} {path}\n", method.to_uppercase()).unwrap();
    if let Some(summary) = operation["summary"].as_str() {
        writeln!(out, "{}.\n", summary.trim_end_matches('.')).unwrap();
    }
    if let Some(description) = operation["description"].as_str() {
        writeln!(out, "{description}\n").unwrap();
    }
    let open = operation["security"]
        .as_array()
        .is_some_and(|requirements| requirements.is_empty());
    let id = operation["operationId"].as_str().unwrap_or("?");
    let access = if open {
        "always open"
    } else {
        "the admin token when one is set; off beyond loopback without one"
    };
    writeln!(out, "Operation `{id}`; access: {access}.\n").unwrap();

    if let Some(parameters) = operation["parameters"].as_array() {
        out.push_str("| Parameter | In | Required | Type | Description |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for parameter in parameters {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                code(parameter["name"].as_str().unwrap_or("?")),
                parameter["in"].as_str().unwrap_or("?"),
                yes_no(parameter["required"].as_bool().unwrap_or(false)),
                type_of(&parameter["schema"], schemas),
                cell(parameter["description"].as_str().unwrap_or(""))
            )
            .unwrap();
        }
        out.push('\n');
    }

    if let Some(body) = operation.get("requestBody") {
        let required = if body["required"].as_bool().unwrap_or(false) {
            "required"
        } else {
            "optional"
        };
        let content = entries(&body["content"]);
        let types: Vec<String> = content.iter().map(|(t, _)| code(t)).collect();
        write!(out, "Request body ({required}, {})", types.join(", ")).unwrap();
        match body["description"].as_str() {
            Some(description) => writeln!(out, ": {description}\n").unwrap(),
            None => out.push_str(".\n\n"),
        }
        if let Some((_, media)) = content.first() {
            out.push_str(&fields_table(&media["schema"], schemas));
            out.push('\n');
        }
    }

    out.push_str("| Response | Description | Body |\n| --- | --- | --- |\n");
    for (status, response) in entries(&operation["responses"]) {
        let content = entries(&response["content"]);
        let body = if content.is_empty() {
            "—".to_owned()
        } else {
            content
                .iter()
                .map(|(media_type, media)| match media_type.as_str() {
                    "application/json" => type_of(&media["schema"], schemas),
                    other => code(other),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            out,
            "| {status} | {} | {body} |",
            cell(response["description"].as_str().unwrap_or(""))
        )
        .unwrap();
    }
    out
}

/// A JSON object's entries in key order, whatever map type serde_json was built with.
fn entries(value: &Value) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = value.as_object().into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// A one-line description of a schema's type, linking named schemas.
fn type_of(schema: &Value, schemas: &mut BTreeSet<String>) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
        let link = format!("[{name}](#{})", slug(&name));
        schemas.insert(name);
        return link;
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let choices: Vec<String> = choices.iter().map(|c| type_of(c, schemas)).collect();
        return format!("one of: {}", choices.join(", "));
    }
    let mut text = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    if schema["items"].is_object() {
        let items = type_of(&schema["items"], schemas);
        text = text.replacen("array", &format!("array of {items}"), 1);
    }
    if let Some(format) = schema["format"].as_str() {
        write!(text, " ({format})").unwrap();
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .filter(|value| !value.is_null())
            .map(|value| match value {
                Value::String(text) => code(text),
                other => code(&other.to_string()),
            })
            .collect();
        write!(text, ", one of {}", values.join(", ")).unwrap();
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        write!(text, ", matching {}", code(pattern)).unwrap();
    }
    if let Some(minimum) = schema.get("minimum") {
        write!(text, ", ≥ {minimum}").unwrap();
    }
    if let Some(maximum) = schema.get("maximum") {
        write!(text, ", ≤ {maximum}").unwrap();
    }
    if let Some(example) = schema.get("example") {
        let example = example
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| example.to_string());
        write!(text, ", e.g. {}", code(&example)).unwrap();
    }
    text
}

/// The fields of an object schema, nested objects flattened with dots (`register.limit`) and
/// arrays of objects with `[]`.
fn fields_table(schema: &Value, schemas: &mut BTreeSet<String>) -> String {
    let mut rows = Vec::new();
    collect_fields(schema, "", &mut rows, schemas);
    let mut out = String::new();
    if rows.is_empty() {
        writeln!(out, "Type: {}.", type_of(schema, schemas)).unwrap();
    } else {
        out.push_str("| Field | Type | Required |\n| --- | --- | --- |\n");
        for (name, kind, required) in rows {
            writeln!(out, "| {} | {kind} | {} |", code(&name), yes_no(required)).unwrap();
        }
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => out.push_str("\nOther fields are accepted.\n"),
        Some(Value::Bool(false)) => out.push_str("\nNo other fields.\n"),
        _ => {}
    }
    out
}

fn collect_fields(
    schema: &Value,
    prefix: &str,
    rows: &mut Vec<(String, String, bool)>,
    schemas: &mut BTreeSet<String>,
) {
    if !schema["properties"].is_object() {
        return;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in entries(&schema["properties"]) {
        let path = format!("{prefix}{name}");
        let nested_object = property["properties"].is_object();
        let nested_items = property["items"]["properties"].is_object();
        let kind = if nested_items {
            "array of objects".to_owned()
        } else {
            type_of(property, schemas)
        };
        rows.push((path.clone(), kind, required.contains(&name.as_str())));
        if nested_object {
            collect_fields(property, &format!("{path}."), rows, schemas);
        }
        if nested_items {
            collect_fields(&property["items"], &format!("{path}[]."), rows, schemas);
        }
    }
}
