//! heapdrift: a faster drop-in `go tool pprof`, and Go leak hunting.

// Profiles decode into many small allocations (strings, frames, samples);
// mimalloc is markedly faster than glibc's malloc at that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // mimalloc keeps freed memory for 1 s by default: the inflated profile
    // bytes (tens of MB, freed after decoding) would then stay resident
    // through the report and raise peak RSS. Returning freed memory at once
    // (0) costs instead: every later allocation faults in fresh zeroed
    // pages, a quarter of the CPU time on a large profile. 10 ms keeps
    // what the next phase reuses and still returns the input buffer early.
    // 15 is `mi_option_purge_delay` in mimalloc's option enum.
    // SAFETY: sets a plain option value before any allocation-heavy work.
    unsafe { libmimalloc_sys::mi_option_set(15, 10) };
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(heapdrift::app::run(&args));
}
