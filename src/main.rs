//! The `tessera` binary: see [`tessera::cli`].

use clap::Parser as _;

/// mimalloc: the request path allocates many small short-lived buffers; glibc malloc cost about
/// a tenth of the server CPU under load (see the README, "Measured").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tessera::cli::Cli::parse();
    match tessera::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
