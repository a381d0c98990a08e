//! `vibeup`: serve | migrate | seed | print-schema | token, for the vibeup application.

fn main() -> std::process::ExitCode {
    rowgate::cli::main(vibeup::application())
}
