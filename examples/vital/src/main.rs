//! `vital`: serve | migrate | seed | print-schema | token, for the vital application.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(vital::application())
}
