//! Noticing that stdout's reader has gone without writing to it: `kreflect pods | grep -m1 x`
//! must end when grep does, though kreflect may have nothing more to write for an hour.
//!
//! A thread blocks in `poll(2)` on stdout asking for no event: it returns only on an error or a
//! hang-up, which Linux reports (`POLLERR`) for a pipe whose last reader has closed it, and for
//! a socket whose peer has gone (`POLLHUP`). Other outputs (a file, a terminal, `/dev/null`)
//! have no reader to lose and are not watched. macOS reports a closed pipe's reader to `poll`
//! as `POLLHUP` for the writer, by the same call (not tested here: CI runs on Linux).

use std::os::fd::AsFd;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::FileType;
use rustix::io::Errno;
use tokio::sync::oneshot;

/// Resolves once the process's stdout is a pipe or socket whose reader has gone; never for any
/// other stdout, or if it cannot be watched.
pub async fn stdout_reader_gone() {
    let (gone, noticed) = oneshot::channel();
    let watching = std::thread::Builder::new()
        .name("kreflect-stdout-reader".to_owned())
        .spawn(move || {
            if watch(&std::io::stdout()) {
                let _ = gone.send(());
            }
        });
    if watching.is_err() || noticed.await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Blocks until `output`'s reader has gone (`true`), or returns `false` at once when it has no
/// reader to lose or cannot be polled.
fn watch(output: &impl AsFd) -> bool {
    let fd = output.as_fd();
    let Ok(stat) = rustix::fs::fstat(fd) else {
        return false;
    };
    if !matches!(
        FileType::from_raw_mode(stat.st_mode),
        FileType::Fifo | FileType::Socket
    ) {
        return false;
    }
    loop {
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::empty())];
        match poll(&mut fds, None) {
            Ok(_) => {
                let revents = fds[0].revents();
                if revents.intersects(PollFlags::ERR | PollFlags::HUP) {
                    return true;
                }
                if revents.contains(PollFlags::NVAL) {
                    return false;
                }
            }
            Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_whose_reader_closed_is_noticed_and_a_file_is_not_watched() {
        let (reader, writer) = std::io::pipe().expect("pipe");
        let watcher = std::thread::spawn(move || watch(&writer));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!watcher.is_finished(), "the reader is still there");
        drop(reader);
        assert!(watcher.join().expect("joins"), "the reader has gone");
        let file = tempfile::tempfile().expect("a file");
        assert!(!watch(&file), "a file has no reader to lose");
    }
}
