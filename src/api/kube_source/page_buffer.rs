//! The buffer a list's pages are read into, one page after the other: each page of a paged list
//! (about 2.5 MB for 500 pods) would otherwise grow a fresh `Vec` and free it, and the
//! allocator hand its pages to the kernel and take them back, a page fault each 4 KiB.
//! Decoding copies every object out of the page (`RawObject` owns its bytes), so once a page is
//! decoded its buffer is free for the next one.

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

/// The most a response's announced length (`Content-Length`, the body's size hint) reserves at
/// once: a larger page still arrives whole, growing as it comes, but a lying header cannot make
/// the client allocate gigabytes before a byte of the body is there.
pub(super) const MAX_RESERVED_BYTES: usize = 32 * 1024 * 1024;

/// The spare page buffer of a source's lists, shared by its clones.
#[derive(Clone, Debug, Default)]
pub(super) struct PageBuffers(Arc<Mutex<Vec<u8>>>);

impl PageBuffers {
    /// The spare buffer, emptied, or a new one when another list holds it (or none was kept).
    pub(super) fn take(&self) -> Vec<u8> {
        let mut spare = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        spare.clear();
        spare
    }

    /// A page's body read into `bytes` (from [`PageBuffers::take`]), which goes back here when
    /// the page is dropped, unless it was the list's last ([`PageBody::last_page`]).
    pub(super) fn page(&self, bytes: Vec<u8>) -> PageBody {
        PageBody {
            bytes,
            home: Some(self.clone()),
        }
    }

    /// Keeps `buffer` for the next page, unless a larger one is already kept.
    fn keep(&self, buffer: Vec<u8>) {
        let mut spare = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.capacity() > spare.capacity() {
            *spare = buffer;
        }
    }
}

/// The body of one list page: its bytes, and where its buffer goes back to.
#[derive(Debug)]
pub(super) struct PageBody {
    bytes: Vec<u8>,
    /// `None` once the buffer is not to be kept.
    home: Option<PageBuffers>,
}

impl PageBody {
    /// Frees the buffer rather than keeping it: the list is complete (no continue token), and
    /// the watch that follows needs no page buffer, so it would only hold memory until the
    /// next relist.
    pub(super) fn last_page(mut self) {
        self.home = None;
    }
}

impl Deref for PageBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for PageBody {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.keep(std::mem::take(&mut self.bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pages_buffer_serves_the_next_page_until_the_last_page_frees_it() {
        let buffers = PageBuffers::default();
        let mut first = buffers.take();
        first.extend_from_slice(&[7; 1000]);
        let address = first.as_ptr();
        drop(buffers.page(first));
        let second = buffers.take();
        assert!(second.is_empty(), "handed out empty");
        assert_eq!(second.as_ptr(), address, "the same allocation");
        assert!(second.capacity() >= 1000);
        buffers.page(second).last_page();
        assert_eq!(
            buffers.take().capacity(),
            0,
            "nothing kept after the last page"
        );
    }

    #[test]
    fn two_pages_at_once_each_get_a_buffer_and_the_larger_is_kept() {
        let buffers = PageBuffers::default();
        let (mut small, mut large) = (buffers.take(), buffers.take());
        small.reserve(10);
        large.reserve(10_000);
        let large_capacity = large.capacity();
        drop(buffers.page(large));
        drop(buffers.page(small));
        assert_eq!(buffers.take().capacity(), large_capacity);
    }
}
