//! What goes to stdout: a pure [`render`] of the keys, the [`print_listings`] task that prints a
//! listing as soon as the store is synced, then every interval, and a last one on stop, and the
//! [`print_events`] task for `--events`.
//!
//! The default listing format is a contract with scripts: the keys, sorted bytewise, one per
//! line (control characters and `\\` escaped, see [`crate::quote`]), followed by exactly one
//! empty line; nothing else is ever written to the output. The
//! other formats are in [`crate::output`].

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::object::{ObjectKey, RawObject};
use crate::output::{render_diff, render_event, render_json_listing, render_wide};
use crate::quote::{count_escapable, quote_into};
use crate::store::{Change, Store};

/// One listing: each key on its own line, quoted by the rule in [`crate::quote`] (so a key
/// with a newline stays on one line), then an empty line.
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
    // The fast path: one vectorized pass finds nothing to escape but the newlines just written.
    if count_escapable(&listing) == sorted_keys.len() + 1 {
        return listing;
    }
    listing.clear();
    for key in sorted_keys {
        quote_into(&mut listing, key.as_str());
        listing.push(b'\n');
    }
    listing.push(b'\n');
    listing
}

/// The shape of a listing (`-o`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// The keys, one per line, then an empty line.
    #[default]
    Keys,
    /// One JSON document per listing, on one line.
    Json,
    /// An aligned table for people.
    Wide,
}

/// How to print listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    /// Time between listings.
    pub interval: Duration,
    /// Print one listing after the initial sync, then ask everything to stop.
    pub once: bool,
    /// The listing format.
    pub format: OutputFormat,
    /// Print only `+key` / `-key` lines for what changed since the previous listing.
    pub diff: bool,
    /// Whether the objects are Pods (the wide table's STATUS and NODE columns).
    pub pods: bool,
    /// Whether the objects live in namespaces (the wide table's NAMESPACE column).
    pub namespaced: bool,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            interval: Duration::from_secs(30),
            once: false,
            format: OutputFormat::Keys,
            diff: false,
            pods: true,
            namespaced: true,
        }
    }
}

/// Renders listings, remembering the previous one for `--diff`.
struct Lister {
    config: PrinterConfig,
    previous: Vec<ObjectKey>,
}

impl Lister {
    fn render(&mut self, store: &Store) -> Vec<u8> {
        if self.config.diff {
            let keys = store.sorted_keys();
            let diff = render_diff(&self.previous, &keys);
            self.previous = keys;
            return diff;
        }
        match self.config.format {
            OutputFormat::Keys => render(&store.sorted_keys()),
            OutputFormat::Json => {
                let (keys, resource_version) = store.sorted_keys_and_version();
                render_json_listing(SystemTime::now(), &resource_version, &keys)
            }
            OutputFormat::Wide => {
                let mut objects = store.objects();
                objects.sort_unstable_by(|a, b| a.key().cmp(b.key()));
                let objects: Vec<&RawObject> = objects.iter().map(AsRef::as_ref).collect();
                let (pods, namespaced) = (self.config.pods, self.config.namespaced);
                render_wide(&objects, pods, namespaced, SystemTime::now())
            }
        }
    }
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
    let mut lister = Lister {
        config: config.clone(),
        previous: Vec::new(),
    };
    if !write_all(&mut output, &lister.render(&store))? {
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
        if !write_all(&mut output, &lister.render(&store))? {
            return Ok(PrinterEnd::OutputClosed);
        }
        if last {
            return Ok(PrinterEnd::Finished);
        }
    }
}

/// Prints each change as it is applied (`--events`): `TYPE key` lines, or JSON with `json`,
/// until `stop` or the output closes. Stops everything on the way out, like the listings.
pub async fn print_events<W: Write>(
    mut changes: UnboundedReceiver<Change>,
    json: bool,
    mut output: W,
    stop: CancellationToken,
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    loop {
        let change = tokio::select! {
            _ = stop.cancelled() => return Ok(PrinterEnd::Finished),
            change = changes.recv() => change,
        };
        let Some(change) = change else {
            return Ok(PrinterEnd::Finished);
        };
        // Everything already applied goes out in one write.
        let mut lines = Vec::new();
        for change in std::iter::once(change).chain(std::iter::from_fn(|| changes.try_recv().ok()))
        {
            let event_type = change.change_type.as_str();
            lines.extend(render_event(
                event_type,
                &change.key,
                &change.resource_version,
                json,
            ));
        }
        if !write_all(&mut output, &lines)? {
            return Ok(PrinterEnd::OutputClosed);
        }
    }
}

/// Writes one listing of `store` (snapshot, sort, render into one buffer, one `write_all`) and
/// flushes; `Ok(false)` when the reader has gone away.
pub fn write_listing<W: Write>(store: &Store, output: &mut W) -> io::Result<bool> {
    write_all(output, &render(&store.sorted_keys()))
}

/// Writes and flushes `bytes` (nothing when empty); `Ok(false)` when the reader has gone away.
fn write_all<W: Write>(output: &mut W, bytes: &[u8]) -> io::Result<bool> {
    if bytes.is_empty() {
        return Ok(true);
    }
    match output.write_all(bytes).and_then(|()| output.flush()) {
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

    #[test]
    fn a_listing_escapes_control_characters_so_a_key_stays_on_one_line() {
        assert_eq!(
            render(&[key("a/x\n\ny"), key("b/t\tab\\\u{1}")]),
            b"a/x\\n\\ny\nb/t\\tab\\\\\\x01\n\n"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn prints_after_sync_then_every_interval_then_a_final_listing_on_stop() {
        let (mut writer, store) = new_store();
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            ..PrinterConfig::default()
        };
        let printer = tokio::spawn(print_listings(store, config, output.clone(), stop.clone()));
        writer.upsert(pod("a/partial"));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            output.text(),
            "",
            "nothing may be printed from a partial cache"
        );
        writer.replace(vec![pod("b/y"), pod("a/x")], "2");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\n");
        writer.upsert(pod("c/z"));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\na/x\nb/y\nc/z\n\n");
        writer.remove(&pod("a/x"));
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
        writer.replace(vec![pod("a/x")], "1");
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: true,
            ..PrinterConfig::default()
        };
        let end = print_listings(store, config, output.clone(), stop.clone()).await;
        assert_eq!(end.expect("printed"), PrinterEnd::Finished);
        assert_eq!(output.text(), "a/x\n\n");
        assert!(stop.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_output_ends_the_printer_quietly() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x")], "1");
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            ..PrinterConfig::default()
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
            ..PrinterConfig::default()
        };
        let end = print_listings(store, config, output.clone(), stop).await;
        assert_eq!(end.expect("no error"), PrinterEnd::Finished);
        assert_eq!(output.text(), "");
    }

    #[tokio::test(start_paused = true)]
    async fn diff_prints_only_what_changed_between_listings() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x"), pod("a/y")], "2");
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            diff: true,
            ..PrinterConfig::default()
        };
        let printer = tokio::spawn(print_listings(store, config, output.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "+a/x\n+a/y\n");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            output.text(),
            "+a/x\n+a/y\n",
            "nothing changed, nothing printed"
        );
        writer.remove(&pod("a/x"));
        writer.upsert(pod("b/z"));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(output.text(), "+a/x\n+a/y\n-a/x\n+b/z\n");
        stop.cancel();
        printer.await.expect("joined").expect("printed");
    }

    #[tokio::test(start_paused = true)]
    async fn json_listing_carries_the_store_resource_version() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x")], "41");
        let output = SharedOutput::default();
        let config = PrinterConfig {
            once: true,
            format: OutputFormat::Json,
            ..PrinterConfig::default()
        };
        print_listings(store, config, output.clone(), CancellationToken::new())
            .await
            .expect("printed");
        let listing: serde_json::Value =
            serde_json::from_str(output.text().trim_end()).expect("one JSON document");
        assert_eq!(listing["resourceVersion"], "41");
        assert_eq!(listing["count"], 1);
        assert_eq!(listing["keys"], serde_json::json!(["a/x"]));
        assert!(output.text().ends_with("}\n") && output.text().lines().count() == 1);
    }

    #[tokio::test(start_paused = true)]
    async fn events_are_printed_as_they_are_applied() {
        let (mut writer, _store) = new_store();
        let changes = writer.changes();
        let output = SharedOutput::default();
        let stop = CancellationToken::new();
        let printer = tokio::spawn(print_events(changes, false, output.clone(), stop.clone()));
        writer.replace(vec![pod("a/x")], "1");
        writer.upsert(pod("a/x"));
        writer.remove(&pod("a/x"));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "ADDED a/x\nMODIFIED a/x\nDELETED a/x\n");
        stop.cancel();
        assert_eq!(
            printer.await.expect("joined").expect("ok"),
            PrinterEnd::Finished
        );
    }
}
