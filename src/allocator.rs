//! The binary's memory allocator: jemalloc, told to give freed pages back at once.
//!
//! Only `main.rs` declares this module (a library must not choose its users' allocator); the
//! benchmark includes it too, so its kreflect children allocate as the shipped binary does.
//!
//! Why (figures in docs/performance.md, "Memory under churn"): a reflector
//! replaces each object with one of a slightly different size on every MODIFIED event. With glibc's
//! malloc, the freed holes seldom fit the next object, so at 50,000 pods the heap's free space
//! grew from 5 MiB after the list to 25 MiB after 100,000 events (`mallinfo2`), and peak RSS by
//! 17% (protobuf) and 22% (JSON). jemalloc's size classes reuse those holes; returning dirty
//! and muzzy pages at once (`dirty_decay_ms:0,muzzy_decay_ms:0`, instead of after 10 s) keeps
//! the list's page buffers from adding to the peak. mimalloc was measured too and kept more.

/// jemalloc's options, read before `main` (jemalloc's `malloc_conf`, a C string; `MALLOC_CONF`
/// in the environment, spelled `_RJEM_MALLOC_CONF`, still overrides them): freed pages go back
/// to the kernel immediately. The `_rjem_` prefix is tikv-jemalloc-sys's.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: Option<&std::ffi::c_char> =
    // SAFETY: the pointer is to the first byte of a static, NUL-terminated string.
    Some(unsafe { &*c"dirty_decay_ms:0,muzzy_decay_ms:0".as_ptr() });

/// The allocator of every heap allocation in the process.
pub type Allocator = tikv_jemallocator::Jemalloc;
