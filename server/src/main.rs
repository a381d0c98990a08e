//! The `rowgate` command of the reference application: serve | migrate | seed | print-schema
//! | token.

/// mimalloc: a request allocates and frees thousands of small objects (rows, JSON values,
/// SQL expressions); the system allocator spent about a third of the gateway's
/// instructions on them (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rowgate::cli::main(rowgate_server::application())
}
