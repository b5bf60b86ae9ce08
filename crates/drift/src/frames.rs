//! Which frames are the user's own code.
//!
//! Function names are read by their syntax. Rust and C++ names join paths
//! with `::` (`myapp::cache::Cache::insert`, `<alloc::vec::Vec<T> as
//! core::clone::Clone>::clone`, `std::vector<int>::push_back(int const&)`):
//! their first path element is the crate or namespace, standard when it is
//! one of the language's own (`std`, `core`, `alloc`, `__gnu_cxx`, ...) or
//! an allocator's. A name without a package (`malloc`, `handle_request`)
//! is C: the allocator and libc's (`malloc`, `operator new`, names with a
//! leading `_`, ...) are standard, the rest is the program's own. Go names
//! (`pkg/path.Func`) follow Go's rule below.
//!
//! Go's rule (cmd/go `IsStandardImportPath`) is that a standard-library
//! import path has no dot in its first element. That rule alone would call a
//! module named `myapp` standard, so heapdrift also requires the first
//! element to be one of the standard library's top-level directories
//! (Go 1.27). A new standard package of a later Go is then taken for user
//! code; attribution still lands on a real frame, only one level too deep.

/// Top-level directories of Go 1.27's `src/` that hold packages, plus
/// `vendor` (the standard library's vendored golang.org/x code).
const STD_ROOTS: &[&str] = &[
    "archive",
    "arena",
    "bufio",
    "builtin",
    "bytes",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "simd",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "uuid",
    "vendor",
    "weak",
];

/// The package path of a Go function name as pprof prints it
/// (`net/http.(*persistConn).readLoop` → `net/http`,
/// `github.com/a/b.v2.F` → `github.com/a/b`): up to the first dot after the
/// last slash. Type arguments (`F[...]`) are cut first, since they may hold
/// slashes and dots. Empty for names without a package (C functions).
pub fn package_path(function: &str) -> &str {
    let name = function.split('[').next().unwrap_or(function);
    let base = name.rfind('/').map_or(0, |i| i + 1);
    match name[base..].find('.') {
        Some(d) => &name[..base + d],
        None => "",
    }
}

/// Crates and namespaces of Rust's and C++'s standard libraries, their
/// allocators, and the profilers that sample them.
const NATIVE_STD: &[&str] = &[
    "__cxxabiv1",
    "__gnu_cxx",
    "alloc",
    "backtrace",
    "compiler_builtins",
    "core",
    "hashbrown",
    "jemalloc_pprof",
    "jemalloc_sys",
    "jemallocator",
    "libmimalloc_sys",
    "mimalloc",
    "panic_unwind",
    "pprof",
    "std",
    "std_detect",
    "tcmalloc",
    "tikv_jemalloc_sys",
    "tikv_jemallocator",
];

/// C allocation functions (and C++'s), by exact name or prefix.
const C_ALLOCATORS: &[&str] = &[
    "aligned_alloc",
    "calloc",
    "je_",
    "malloc",
    "memalign",
    "mi_",
    "operator new",
    "posix_memalign",
    "prof_",
    "pvalloc",
    "realloc",
    "strdup",
    "strndup",
    "tc_",
    "valloc",
];

/// The path of a Rust or C++ function name, from its first element, when
/// the name is one (it has `::`): leading `<`, `&`, `*` and `dyn ` of
/// trait-impl names are dropped. `None` for Go and C names.
fn native_path(function: &str) -> Option<&str> {
    if !function.contains("::") {
        return None;
    }
    let mut s = function;
    loop {
        let t = s
            .trim_start_matches(['<', '&', '*', ' '])
            .trim_start_matches("dyn ")
            .trim_start_matches("mut ")
            .trim_start_matches("const ");
        if t.len() == s.len() {
            return Some(t);
        }
        s = t;
    }
}

/// The first element of a native path (`myapp` of `myapp::cache::put`).
fn native_root(path: &str) -> &str {
    let end = path.find([':', '<']).unwrap_or(path.len());
    &path[..end]
}

/// A plain C name that belongs to the allocator or libc, or an address
/// left unsymbolized.
fn is_c_runtime(function: &str) -> bool {
    function.starts_with('_')
        || function.starts_with("0x")
        || C_ALLOCATORS.iter().any(|p| function.starts_with(p))
}

/// A function of the Go standard library or runtime; of Rust's, C++'s or
/// C's standard library and allocators (see the module doc); or
/// compiler-generated (`type:.eq.*`).
pub fn is_standard(function: &str) -> bool {
    if let Some(path) = native_path(function) {
        return NATIVE_STD.contains(&native_root(path));
    }
    if function.starts_with("type:") || function.starts_with("type..") {
        return true;
    }
    let pkg = package_path(function);
    if pkg.is_empty() {
        return function.is_empty() || is_c_runtime(function);
    }
    let first = pkg.split('/').next().unwrap_or(pkg);
    !first.contains('.') && STD_ROOTS.binary_search(&first).is_ok()
}

/// The user's own code: with `user_prefixes` given, a function whose package
/// path starts with one of them; otherwise any non-standard function
/// (`main`, `command-line-arguments`, every module path).
pub fn is_user(function: &str, user_prefixes: &[String]) -> bool {
    if user_prefixes.is_empty() {
        return !is_standard(function);
    }
    if let Some(path) = native_path(function) {
        return user_prefixes.iter().any(|p| path.starts_with(p.as_str()));
    }
    let pkg = package_path(function);
    user_prefixes.iter().any(|p| pkg.starts_with(p.as_str()))
}

/// Frames skipped when a stack has no user frame at all (an allocation made
/// entirely inside the standard library, such as net/http's connection
/// buffers): the runtime, the allocator and generic growth helpers. The first
/// frame past them names what the standard library was doing.
const HELPER_PREFIXES: &[&str] = &[
    "runtime.",
    "internal/",
    "bytes.",
    "strings.",
    "bufio.",
    "reflect.",
    "sync.",
    "slices.",
    "maps.",
    "unique.",
    "strconv.",
    "fmt.",
    "errors.",
    "io.",
    "sort.",
    "encoding/",
    "container/",
    "vendor/",
];

/// A runtime, allocator or generic helper frame (see `HELPER_PREFIXES`);
/// in Rust, C++ and C, every standard frame (growth helpers and
/// allocators are most of them).
pub fn is_helper(function: &str) -> bool {
    if function.is_empty() {
        return true;
    }
    if native_path(function).is_some() {
        return is_standard(function);
    }
    is_standard(function) && package_path(function).is_empty()
        || HELPER_PREFIXES.iter().any(|p| function.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_roots_sorted() {
        assert!(STD_ROOTS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn packages() {
        assert_eq!(package_path("net/http.(*persistConn).readLoop"), "net/http");
        assert_eq!(package_path("runtime.mallocgc"), "runtime");
        assert_eq!(package_path("main.main.func1"), "main");
        assert_eq!(package_path("github.com/a/b.(*T).M"), "github.com/a/b");
        assert_eq!(
            package_path("gopkg.in/yaml%2ev3.Unmarshal"),
            "gopkg.in/yaml%2ev3"
        );
        assert_eq!(
            package_path("main.Map[go.shape.string,net/http.Header]"),
            "main"
        );
        assert_eq!(package_path("malloc"), "");
    }

    #[test]
    fn standard_or_user() {
        for f in [
            "runtime.mallocgc",
            "internal/runtime/maps.newarray",
            "bytes.growSlice",
            "bytes.(*Buffer).grow",
            "strings.(*Builder).grow",
            "encoding/json.(*decodeState).object",
            "sync.(*Pool).Get",
            "context.WithCancel",
            "time.NewTicker",
            "vendor/golang.org/x/net/http2/hpack.(*Decoder).Write",
            "net/http.(*Transport).dialConn",
            "type:.eq.main.T",
            "__libc_malloc",
        ] {
            assert!(is_standard(f), "{f}");
            assert!(!is_user(f, &[]), "{f}");
        }
        for f in [
            "main.main",
            "main.(*cache).put",
            "command-line-arguments.F",
            "github.com/acme/svc/store.(*Store).Put",
            "golang.org/x/net/http2.(*Framer).ReadFrame",
            "myapp/internal/cache.Put",
            "main.G[...]",
        ] {
            assert!(!is_standard(f), "{f}");
            assert!(is_user(f, &[]), "{f}");
        }
        let own = vec!["github.com/acme/".to_string()];
        assert!(is_user("github.com/acme/svc.F", &own));
        assert!(!is_user("github.com/other/lib.F", &own));
    }

    #[test]
    fn rust_cpp_and_c_frames() {
        for f in [
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "alloc::vec::Vec<T,A>::push",
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone",
            "core::ptr::drop_in_place<myapp::Cache>",
            "hashbrown::raw::RawTable<T,A>::reserve_rehash",
            "std::collections::hash::map::HashMap<K,V,S>::insert",
            "tikv_jemallocator::alloc",
            "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(int const&)",
            "std::__1::basic_string<char>::append(char const*)",
            "__gnu_cxx::new_allocator<char>::allocate(unsigned long)",
            "operator new(unsigned long)",
            "malloc",
            "je_malloc_default",
            "_rjem_malloc",
            "__rust_alloc",
            "prof_backtrace_impl",
            "0x4a5b6c",
        ] {
            assert!(is_standard(f), "{f}");
            assert!(is_helper(f), "{f}");
            assert!(!is_user(f, &[]), "{f}");
        }
        for f in [
            "myapp::cache::Cache::insert",
            "<myapp::Request as core::clone::Clone>::clone",
            "myapp::main::{{closure}}",
            "tokio::runtime::task::harness::Harness<T,S>::poll",
            "Cache::Put(std::string const&)",
            "(anonymous namespace)::Parser::parse()",
            "handle_request",
            "main",
        ] {
            assert!(!is_standard(f), "{f}");
            assert!(!is_helper(f), "{f}");
            assert!(is_user(f, &[]), "{f}");
        }
        let own = vec!["myapp".to_string()];
        assert!(is_user("myapp::cache::Cache::insert", &own));
        assert!(is_user(
            "<myapp::Request as core::clone::Clone>::clone",
            &own
        ));
        assert!(!is_user("tokio::spawn", &own));
    }

    #[test]
    fn helpers() {
        assert!(is_helper("runtime.mallocgc"));
        assert!(is_helper("bufio.NewReaderSize"));
        assert!(is_helper("malloc"));
        assert!(!is_helper("net/http.(*Transport).dialConn"));
        assert!(!is_helper("main.main"));
    }
}
