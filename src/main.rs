//! The `kreflect` binary: [`kreflect::main`] with the binary's allocator. Everything else lives
//! in the library.

use std::process::ExitCode;

mod allocator;

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator {};

fn main() -> ExitCode {
    kreflect::main()
}
