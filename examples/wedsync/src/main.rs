//! `wedsync`: serve | migrate | seed | print-schema | token, for the wedsync application.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(wedsync::application())
}
