//! The binary's memory allocator: jemalloc, told to give freed pages back after one second.
//!
//! Only `main.rs` declares this module (a library must not choose its users' allocator); the
//! benchmark includes it too, so its kreflect children allocate as the shipped binary does.
//!
//! Why (figures in docs/performance.md, "Memory under churn"): a reflector
//! replaces each object with one of a slightly different size on every MODIFIED event. With glibc's
//! malloc, the freed holes seldom fit the next object, so at 50,000 pods the heap's free space
//! grew from 5 MiB after the list to 25 MiB after 100,000 events (`mallinfo2`), and peak RSS by
//! 17% (protobuf) and 22% (JSON). jemalloc's size classes reuse those holes. Freed (dirty) pages
//! go back to the kernel after 1 s (`dirty_decay_ms:1000,muzzy_decay_ms:0`): giving them back at
//! once (0 ms) made every page freed and used again within moments an `madvise` and a page fault
//! (3.7-4.4 µs of CPU each on the development machine), a fifth of the faults of a large run;
//! jemalloc's default (10 s) saved no more faults and kept more between bursts. The list's page
//! buffer, which made the default cost 126 MiB with JSON, is now reused from page to page and
//! freed after the last (`api::kube_source`), so it no longer decides this. mimalloc was
//! measured too and kept more.

/// jemalloc's options, read before `main` (jemalloc's `malloc_conf`, a C string; `MALLOC_CONF`
/// in the environment, spelled `_RJEM_MALLOC_CONF`, still overrides them): freed pages go back
/// to the kernel after one second, unused pages not kept in between (muzzy). The `_rjem_`
/// prefix is tikv-jemalloc-sys's.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: Option<&std::ffi::c_char> =
    // SAFETY: the pointer is to the first byte of a static, NUL-terminated string.
    Some(unsafe { &*c"dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() });

/// The allocator of every heap allocation in the process.
pub type Allocator = tikv_jemallocator::Jemalloc;
