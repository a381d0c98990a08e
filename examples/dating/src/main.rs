//! `dating`: serve | migrate | seed | print-schema | token, for the dating application.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(dating::application())
}
