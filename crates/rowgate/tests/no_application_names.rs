//! The engine is general: its sources (the engine and the policy language, tests included)
//! name no table of any application served on it — neither as a string literal (`"posts"`)
//! nor in a doc comment's code span (`` `posts` ``). The applications' tables are read from
//! their generated entities (`table_name = "…"`): the reference application's `entities/`
//! and every `examples/<name>/src/entities/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `table_name = "…"` of the entity files under `dir`.
fn tables_of(dir: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut tables = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("an entity file");
        for part in text.split("table_name = \"").skip(1) {
            if let Some((name, _)) = part.split_once('"') {
                tables.insert(name.to_owned());
            }
        }
    }
    tables
}

/// Each application's entity directory with the tables it declares.
fn applications() -> Vec<(PathBuf, BTreeSet<String>)> {
    let mut dirs = vec![root().join("entities/src")];
    let examples = std::fs::read_dir(root().join("examples")).expect("examples/");
    for entry in examples {
        let entities = entry.expect("an application").path().join("src/entities");
        if entities.is_dir() {
            dirs.push(entities);
        }
    }
    dirs.sort();
    dirs.into_iter()
        .map(|d| (d.clone(), tables_of(&d)))
        .collect()
}

#[test]
fn the_engine_names_no_table_of_any_application() {
    let applications = applications();
    assert!(
        applications.len() >= 2,
        "the reference application and the examples: {applications:?}"
    );
    for (dir, tables) in &applications {
        assert!(!tables.is_empty(), "{} declares no table", dir.display());
    }
    let mut sources = Vec::new();
    for crate_dir in ["crates/rowgate/src", "crates/rowgate-policy/src"] {
        rust_files(&root().join(crate_dir), &mut sources);
    }
    assert!(
        sources.len() > 20,
        "the engine's sources: {}",
        sources.len()
    );
    let mut found = Vec::new();
    for source in &sources {
        let text = std::fs::read_to_string(source).expect("a source file");
        for (dir, tables) in &applications {
            for table in tables {
                for spelled in [format!("\"{table}\""), format!("`{table}`")] {
                    for (number, line) in text.lines().enumerate() {
                        if line.contains(&spelled) {
                            found.push(format!(
                                "{}:{}: {spelled} (a table of {})",
                                source.display(),
                                number + 1,
                                dir.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine names tables of applications:\n{}",
        found.join("\n")
    );
}
