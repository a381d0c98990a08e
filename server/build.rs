//! Lists the generated entity modules (from `entities/src/lib.rs`) for the catalog, so that a
//! table added by regenerating the entities needs no hand-written registration.

use std::fmt::Write as _;

fn main() {
    let lib = "../entities/src/lib.rs";
    println!("cargo::rerun-if-changed={lib}");
    let text = std::fs::read_to_string(lib).unwrap_or_default();
    let modules: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .filter(|name| *name != "prelude")
        .collect();
    let mut out = String::from("entity_tables![");
    for name in &modules {
        let _ = write!(out, "{name},");
    }
    out.push_str("];");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(format!("{dir}/entity_tables.rs"), out) {
        println!("cargo::error=cannot write the entity list: {e}");
    }
}
