//! heapdrift: a faster drop-in `go tool pprof`, and Go leak hunting.

// Profiles decode into many small allocations (strings, frames, samples);
// mimalloc is markedly faster than glibc's malloc at that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    heapdrift::alloc::tune_for_one_large_profile();
    let args: Vec<String> = std::env::args().skip(1).collect();
    heapdrift::app::run(&args)
}
