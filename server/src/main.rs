//! The `rowgate` command of the reference application: serve | migrate | seed | print-schema
//! | token.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(rowgate_server::application())
}
