//! `tasks`: serve | migrate | seed | print-schema | token, for the tasks application.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(tasks::application())
}
