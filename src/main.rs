fn main() -> std::process::ExitCode {
    keep_freed_memory_a_while();
    aftercare::cli::main()
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in `mi_option_t`, the same in the v2 and v3 headers that
/// libmimalloc-sys 0.1.49 builds (`mimalloc.h`); the bindings do not name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed is handed back to the OS 2 s later instead of mimalloc's default 10 ms. An
/// import frees and reallocates hundreds of megabytes as it goes (tickets made on one thread,
/// freed on another), and the metrics recomputed right after it need as much again: handed
/// back at once, each reuse faulted in pages the kernel zeroed first, which on a virtual
/// machine is dear. The benchmark's metrics after a million-ticket import: 0.34–0.41 s
/// against 0.45–0.69 s, with the import's peak no higher (642–690 MiB against 645–705 MiB).
fn keep_freed_memory_a_while() {
    // SAFETY: sets one of mimalloc's documented options, before any thread is started; the
    // option is read when memory is purged, never through a pointer.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 2000) };
}
