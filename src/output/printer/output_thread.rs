//! Writing stdout off the async runtime: one dedicated thread owns the output and performs every
//! write, so a reader that stops reading blocks that thread only, never a runtime worker, and
//! signals, `/healthz` and the reflector go on.
//!
//! The printer hands the thread one buffer at a time and awaits its completion, so at most one
//! rendered buffer is ever waiting for stdout.
//!
//! The thread is not joined while a write is in flight: a `write(2)` into a pipe nobody reads
//! cannot be interrupted, so the process exits around it. Exiting does not wait for it either:
//! the stuck thread holds std's stdout lock, and the flush std does when `main` returns only
//! `try_lock`s it (the binary tests `sigterm_ends_*_promptly_when_stdout_is_never_read` check
//! both).

use std::io::{self, Write};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::write_all;

/// Where rendered output goes: writes that take as long as the reader wants.
pub(crate) trait Sink {
    /// Writes and flushes `bytes` (nothing when empty) after the write in flight, if any;
    /// `Ok(false)` when the reader has gone away. If this future is dropped before it
    /// completes, the write may still be in flight; [`Sink::idle`] waits for it.
    async fn write(&mut self, bytes: Vec<u8>) -> io::Result<bool>;

    /// Waits until no write is in flight; `Ok(false)` once the reader has gone away.
    async fn idle(&mut self) -> io::Result<bool>;
}

/// One buffer to write, and where to report how it went.
type Job = (Vec<u8>, oneshot::Sender<io::Result<bool>>);

/// A [`Sink`] that writes on its own thread.
pub(crate) struct OutputThread {
    jobs: Option<SyncSender<Job>>,
    in_flight: Option<oneshot::Receiver<io::Result<bool>>>,
    closed: bool,
    thread: Option<JoinHandle<()>>,
}

impl OutputThread {
    /// Starts the thread that owns `output`.
    pub(crate) fn spawn<W: Write + Send + 'static>(output: W) -> io::Result<OutputThread> {
        // One job at a time is in flight, so the queue never holds more than that one.
        let (jobs, queue) = sync_channel::<Job>(1);
        let thread = std::thread::Builder::new()
            .name("kreflect-output".to_owned())
            .spawn(move || {
                let mut output = output;
                for (bytes, done) in queue {
                    let written = write_all(&mut output, &bytes);
                    let go_on = matches!(written, Ok(true));
                    // The printer may have stopped waiting (it gave up at its deadline).
                    let _ = done.send(written);
                    if !go_on {
                        break;
                    }
                }
            })?;
        Ok(OutputThread {
            jobs: Some(jobs),
            in_flight: None,
            closed: false,
            thread: Some(thread),
        })
    }
}

impl Sink for OutputThread {
    async fn write(&mut self, bytes: Vec<u8>) -> io::Result<bool> {
        if !self.idle().await? {
            return Ok(false);
        }
        if bytes.is_empty() {
            return Ok(true);
        }
        let (done, receiver) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or_else(thread_gone)?;
        // Never blocks the runtime: nothing is in flight, so the one-job queue has room.
        jobs.try_send((bytes, done)).map_err(|err| match err {
            TrySendError::Full(_) => io::Error::other("the output thread is still busy"),
            TrySendError::Disconnected(_) => thread_gone(),
        })?;
        self.in_flight = Some(receiver);
        self.idle().await
    }

    async fn idle(&mut self) -> io::Result<bool> {
        if let Some(in_flight) = &mut self.in_flight {
            // Cancel-safe: a dropped wait leaves the receiver in place for the next one.
            let written = in_flight.await.unwrap_or_else(|_| Err(thread_gone()));
            self.in_flight = None;
            if !written? {
                self.closed = true;
            }
        }
        Ok(!self.closed)
    }
}

impl Drop for OutputThread {
    /// Lets the thread end. It is joined only when no write is in flight (it then ends at
    /// once); a thread stuck writing to a reader that never reads is left to the process exit.
    fn drop(&mut self) {
        self.jobs = None;
        let stuck = match &mut self.in_flight {
            Some(in_flight) => in_flight.try_recv().is_err(),
            None => false,
        };
        match self.thread.take() {
            Some(thread) if !stuck => {
                let _ = thread.join();
            }
            Some(_) => {
                tracing::debug!("output thread still blocked in a write; not waiting for it");
            }
            None => {}
        }
    }
}

fn thread_gone() -> io::Error {
    io::Error::other("the output thread stopped unexpectedly")
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An output whose first write blocks until the test drops the gate's sender.
    struct Gated {
        gate: Receiver<()>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _ = self.gate.recv();
            self.written
                .lock()
                .expect("written")
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn gated() -> (Gated, Sender<()>, Arc<Mutex<Vec<u8>>>) {
        let (open, gate) = channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let output = Gated {
            gate,
            written: Arc::clone(&written),
        };
        (output, open, written)
    }

    #[tokio::test]
    async fn writes_in_order_and_reports_a_closed_reader() {
        let (output, open, written) = gated();
        drop(open);
        let mut thread = OutputThread::spawn(output).expect("thread");
        assert!(thread.write(b"one\n".to_vec()).await.expect("written"));
        assert!(thread.write(Vec::new()).await.expect("nothing to write"));
        assert!(thread.write(b"two\n".to_vec()).await.expect("written"));
        assert_eq!(written.lock().expect("written").as_slice(), b"one\ntwo\n");

        struct ClosedPipe;
        impl Write for ClosedPipe {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut closed = OutputThread::spawn(ClosedPipe).expect("thread");
        assert!(!closed.write(b"x\n".to_vec()).await.expect("no error"));
        assert!(!closed.idle().await.expect("no error"));
        assert!(!closed.write(b"y\n".to_vec()).await.expect("no error"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_write_leaves_the_runtime_free_and_can_be_abandoned() {
        let (output, open, written) = gated();
        let mut thread = OutputThread::spawn(output).expect("thread");
        let write = thread.write(b"stuck\n".to_vec());
        let abandoned = tokio::time::timeout(std::time::Duration::from_secs(2), write).await;
        assert!(abandoned.is_err(), "the write is blocked");
        // The runtime went on: the timer fired while the thread was blocked. Dropping the sink
        // does not wait for the stuck thread (this test would hang if it did).
        assert!(written.lock().expect("written").is_empty());
        drop(thread);
        drop(open);
    }
}
