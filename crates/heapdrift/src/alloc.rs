//! The allocator's settings (mimalloc, the global allocator of main.rs),
//! made here only. Each is measured; the numbers are in the comments.

/// `mi_option_purge_delay` in mimalloc's option enum (libmimalloc-sys names
/// no constant for it): how long, in milliseconds, freed memory is kept
/// before it is returned to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// For one large report (`pprof`, `flame`, the default). mimalloc keeps
/// freed memory for 1 s by default: the inflated profile bytes (tens of
/// MB, freed after decoding) would then stay resident through the report
/// and raise peak RSS. Returning freed memory at once (0) costs instead:
/// every later allocation faults in fresh zeroed pages, a quarter of the
/// CPU time on a large profile. 10 ms keeps what the next phase reuses and
/// still returns the input buffer early.
pub fn tune_for_one_large_profile() {
    set_purge_delay_ms(10);
}

/// For many profiles of similar size one after another (`hunt`, ~10 ms
/// each): returning each one's pages only to fault them in again for the
/// next cost more system time than parsing (500 heap profiles of 10k
/// sites: 1.6-2.3 s of sys time at 10 ms, 0.2-0.5 s at 1 s, for ~40 MB more
/// peak RSS). No transparent huge pages either: mimalloc asks for them, and
/// a huge page fault zeroes 2 MiB at once and may stall on compaction (on
/// the same 500 profiles: 0.6-1.0 s of sys time and 285 MB peak RSS with
/// them, 0.2-0.3 s and 200 MB without).
pub fn tune_for_many_profiles() {
    set_purge_delay_ms(1000);
    disable_huge_pages();
}

/// For a session of many reports over one large profile (pprof's shell,
/// the web UI): each report allocates and frees hundreds of MB (the
/// prepared copy, graphs), and a user types for seconds between reports.
/// On the 690k-sample compiler heap profile, `top` after start-up spent
/// 2.2-2.5 s of system time zeroing fresh huge pages that a purge had
/// just returned (55% of all samples in `clear_page_erms`); with freed
/// memory kept for 30 s and no huge pages, 0.4 s.
pub fn tune_for_session() {
    set_purge_delay_ms(30_000);
    disable_huge_pages();
}

/// No transparent huge pages for this process (see above).
fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only; affects this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn set_purge_delay_ms(ms: std::ffi::c_long) {
    // SAFETY: sets a plain option value; mimalloc reads it at its next
    // purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms) };
}
