//! The Rust examples of the README and of `docs/`, as tests that run; and the check that every
//! ```` ```rust ```` block of the docs appears verbatim in a test under `tests/` (this file, or
//! e.g. `tests/api/https.rs` for a fragment).
//!
//! Keep each example exactly as the page shows it (rustfmt's layout): the check compares the
//! lines with their indentation trimmed. A block marked `rust,ignore` (or `rust no-run`) is
//! exempt, for code that cannot run; `.ci/docs-examples.sh` lists such blocks.

use std::path::Path;

use crate::markdown::blocks;

// ---- README.md: "Rust" ----------------------------------------------------------------------

#[tokio::test]
async fn my_app_registers_its_number() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .start()
        .await
        .unwrap();
    let graph_url = emulator.uri(); // instead of https://graph.facebook.com
    let answer = reqwest::Client::new()
        .post(format!("{graph_url}/v23.0/106540352242922/register"))
        .bearer_auth("EAAEmulatorDevToken")
        .json(&serde_json::json!({"messaging_product": "whatsapp", "pin": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

// ---- docs/guide/testing.md: "In Rust (library mode)" ----------------------------------------

#[tokio::test]
async fn my_app_survives_the_72_hour_block() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .manual_clock("2026-11-25T12:00:00Z".parse().unwrap())
        .start()
        .await
        .unwrap();
    let base_url = emulator.uri(); // give this to your Graph client
    let client = reqwest::Client::new();
    let register = || {
        client
            .post(format!("{base_url}/v23.0/106540352242922/register"))
            .bearer_auth("EAAEmulatorDevToken")
            .json(&serde_json::json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
    };
    for _ in 0..10 {
        assert_eq!(register().await.unwrap().status(), 200);
    }
    let refused: serde_json::Value = register().await.unwrap().json().await.unwrap();
    assert_eq!(refused["error"]["code"], 133016);

    // Travel 72 hours through the control API: the block is over.
    let travel = serde_json::json!({"advance": "72h"});
    let clock = client.post(format!("{base_url}/__emulator/clock"));
    assert_eq!(clock.json(&travel).send().await.unwrap().status(), 200);
    assert_eq!(register().await.unwrap().status(), 200);
}

// ---- the check ------------------------------------------------------------------------------

/// Lines with indentation and trailing spaces trimmed, blank lines dropped.
fn normalized(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn rust_sources(dir: &Path, out: &mut Vec<(String, Vec<String>)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.strip_prefix(crate::root()).unwrap_or(&path);
            out.push((name.display().to_string(), normalized(&text)));
        }
    }
}

#[test]
fn every_rust_block_in_the_docs_is_a_test() {
    let mut sources = Vec::new();
    rust_sources(&crate::root().join("tests"), &mut sources);
    let mut missing = Vec::new();
    let mut found = 0;
    for page in crate::pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page
            .strip_prefix(crate::root())
            .unwrap()
            .display()
            .to_string();
        for block in blocks(&text) {
            let mut words = block.info.split([' ', ',']).filter(|word| !word.is_empty());
            if words.next() != Some("rust") {
                continue;
            }
            // `rust,ignore` / `rust no-run`: shown, not run (.ci/docs-examples.sh lists them).
            if words.any(|word| word == "ignore" || word == "no-run") {
                continue;
            }
            let wanted = normalized(&block.text);
            let hit = sources.iter().find(|(_, lines)| {
                !wanted.is_empty()
                    && lines
                        .windows(wanted.len())
                        .any(|window| window == wanted.as_slice())
            });
            match hit {
                Some(_) => found += 1,
                None => missing.push(format!("{name}:{}", block.line)),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these ```rust blocks are not, line for line, in any test under tests/ (copy each into \
         tests/docs/examples.rs as a test, formatted as on the page, so it is compiled and run):\n  {}",
        missing.join("\n  ")
    );
    assert!(
        found >= 3,
        "expected the docs' Rust examples, found {found}"
    );
}
