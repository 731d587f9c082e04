//! Key listings on stdout: a pure [`render`] of the keys, and the [`print_listings`] task that
//! prints one as soon as the store is synced, then every interval, and a last one on stop.
//!
//! The listing format is a contract with scripts: the keys, sorted bytewise, one per line,
//! followed by exactly one empty line; nothing else is ever written to the output.

use std::io::{self, Write};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::object::ObjectKey;
use crate::store::Store;

/// One listing: each key on its own line, then an empty line.
pub fn render(sorted_keys: &[ObjectKey]) -> Vec<u8> {
    let bytes = sorted_keys
        .iter()
        .map(|key| key.as_str().len() + 1)
        .sum::<usize>()
        + 1;
    let mut listing = Vec::with_capacity(bytes);
    for key in sorted_keys {
        listing.extend_from_slice(key.as_str().as_bytes());
        listing.push(b'\n');
    }
    listing.push(b'\n');
    listing
}

/// How to print listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    /// Time between listings.
    pub interval: Duration,
    /// Print one listing after the initial sync, then ask everything to stop.
    pub once: bool,
}

/// Why the printer stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum PrinterEnd {
    /// Stopped by the stop signal (after its final listing) or after the `--once` listing.
    Finished,
    /// The reader of the output went away (`kreflect pods | head`).
    OutputClosed,
}

/// Prints listings of `store` to `output` until `stop` is cancelled, the output is closed, or
/// (with `once`) after the first listing. However it ends, it cancels `stop` on the way out, so
/// the other tasks stop with it.
pub async fn print_listings<W: Write>(
    store: Store,
    config: PrinterConfig,
    mut output: W,
    stop: CancellationToken,
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    tokio::select! {
        _ = stop.cancelled() => return Ok(PrinterEnd::Finished),
        _ = store.wait_synced() => {}
    }
    if !write_listing(&store, &mut output)? {
        return Ok(PrinterEnd::OutputClosed);
    }
    if config.once {
        return Ok(PrinterEnd::Finished);
    }
    let mut ticks = tokio::time::interval_at(Instant::now() + config.interval, config.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            _ = stop.cancelled() => true,
            _ = ticks.tick() => false,
        };
        if !write_listing(&store, &mut output)? {
            return Ok(PrinterEnd::OutputClosed);
        }
        if last {
            return Ok(PrinterEnd::Finished);
        }
    }
}

/// Writes one listing of `store` (snapshot, sort, render into one buffer, one `write_all`) and
/// flushes; `Ok(false)` when the reader has gone away.
pub fn write_listing<W: Write>(store: &Store, output: &mut W) -> io::Result<bool> {
    let listing = render(&store.sorted_keys());
    match output.write_all(&listing).and_then(|()| output.flush()) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::object::RawObject;
    use crate::store::new_store;

    fn key(text: &str) -> ObjectKey {
        let (namespace, name) = text.split_once('/').expect("ns/name");
        ObjectKey::new(Some(namespace), name)
    }

    fn pod(text: &str) -> RawObject {
        let (namespace, name) = text.split_once('/').expect("ns/name");
        let json = format!(r#"{{"metadata":{{"name":"{name}","namespace":"{namespace}"}}}}"#);
        RawObject::from_json(json.as_bytes(), "Pod").expect("pod")
    }

    /// An output the test can read while the printer owns it.
    #[derive(Clone, Default)]
    struct SharedOutput(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedOutput {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("output").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SharedOutput {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("output").clone()).expect("utf-8")
        }
    }

    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_listing_is_the_keys_one_per_line_then_one_empty_line() {
        assert_eq!(render(&[key("a/x"), key("b/y")]), b"a/x\nb/y\n\n");
        assert_eq!(render(&[]), b"\n");
    }

    #[tokio::test(start_paused = true)]
    async fn prints_after_sync_then_every_interval_then_a_final_listing_on_stop() {
        let (mut writer, store) = new_store();
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: false,
        };
        let printer = tokio::spawn(print_listings(store, config, output.clone(), stop.clone()));
        writer.upsert(pod("a/partial"));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            output.text(),
            "",
            "nothing may be printed from a partial cache"
        );
        writer.replace(vec![pod("b/y"), pod("a/x")]);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\n");
        writer.upsert(pod("c/z"));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\na/x\nb/y\nc/z\n\n");
        writer.remove(&key("a/x"));
        stop.cancel();
        let end = printer.await.expect("joined").expect("printed");
        assert_eq!(end, PrinterEnd::Finished);
        assert!(
            output.text().ends_with("c/z\n\nb/y\nc/z\n\n"),
            "{:?}",
            output.text()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn once_prints_one_listing_and_stops_everything() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x")]);
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: true,
        };
        let end = print_listings(store, config, output.clone(), stop.clone()).await;
        assert_eq!(end.expect("printed"), PrinterEnd::Finished);
        assert_eq!(output.text(), "a/x\n\n");
        assert!(stop.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_output_ends_the_printer_quietly() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x")]);
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: false,
        };
        let end = print_listings(store, config, ClosedPipe, CancellationToken::new()).await;
        assert_eq!(end.expect("no error"), PrinterEnd::OutputClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_before_sync_prints_nothing() {
        let (_writer, store) = new_store();
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        stop.cancel();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: false,
        };
        let end = print_listings(store, config, output.clone(), stop).await;
        assert_eq!(end.expect("no error"), PrinterEnd::Finished);
        assert_eq!(output.text(), "");
    }
}
