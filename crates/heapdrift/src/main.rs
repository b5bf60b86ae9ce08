//! heapdrift: a faster drop-in `go tool pprof`, and Go leak hunting.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(heapdrift::app::run(&args));
}
