fn main() -> std::process::ExitCode {
    aftercare::cli::main()
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
