fn main() -> std::process::ExitCode {
    aftercare::cli::main()
}
