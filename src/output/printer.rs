//! When and where listings and events go: the `print_listings` task prints a listing as soon
//! as the store is synced, then every interval, and a last one on stop; the `print_events`
//! task prints each change as it is applied (`--events`). What the bytes are is
//! `crate::output::render`'s job; this module only schedules them and writes them. With
//! `--exec`, the same schedules run a command instead of printing (`executing`); with `--for`,
//! the waiting prints as objects meet their conditions (`waiting`).
//!
//! # A reader that does not read
//! The output is written on a thread of its own (`output_thread`), never on the async runtime,
//! so a stdout nobody reads blocks only that thread: signals, `/healthz` and the reflector go
//! on, and memory stays bounded:
//! - Listings: a listing is rendered only when the output has taken the previous one. Ticks
//!   that pass meanwhile are skipped, not queued: they make one listing, rendered from the cache
//!   as it is when the output is free, so a slow reader gets fewer listings, never stale ones.
//! - Events: at most one rendered batch is being written; the changes behind it wait in the
//!   store's bounded queue ([`crate::cache::store::CHANGES_CAPACITY`]), and the reflector waits for
//!   room there.
//!
//! With `--state`, the `remember::Keeper` follows what is written (not what the store holds)
//! and saves it every interval and on the way out.
//!
//! On stop, what is still owed (the final listing; with `--events`, the changes already queued)
//! is written within `FINAL_OUTPUT_DEADLINE`, best effort: if the reader is stuck, the printer
//! gives up, logs a warning and reports `PrinterEnd::Finished`, so the run still exits 0;
//! except a `--once` listing given up so, which was never printed whole
//! (`PrinterEnd::StoppedUnsynced`: the run fails as one interrupted before its listing).

mod executing;
mod output_thread;
pub(crate) mod reader_gone;
pub(crate) mod remember;
mod waiting;

use std::future::Future;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::cache::metrics::commands::CommandMetrics;
use crate::cache::store::{CHANGES_CAPACITY, Change, Store};
use crate::output::exec::command::Shell;
use crate::output::exec::{ExecFailure, ExecPlan};
use crate::output::kinds::Stores;
use crate::output::render::{
    self, EventFilter, EventFormat, EventRenderer, EventTypes, Lister, ListingFormat, OutputFormat,
    RenderFailure,
};
use crate::output::template::TemplateError;
use crate::output::wait::{WaitFailure, WaitPlan};
use output_thread::OutputThread;
pub(crate) use output_thread::Sink;
use remember::Keeper;

/// How long after the stop signal the printer keeps trying to write what it still owes (the
/// final listing, queued events) to a reader that is not reading. Ample for a reader that is
/// reading to take a final listing, short enough that a stop (a pod's termination grace period
/// is 30 s by default) never waits long on a stuck one.
pub(crate) const FINAL_OUTPUT_DEADLINE: Duration = Duration::from_secs(2);

/// How to print listings.
#[derive(Clone, Debug)]
pub(crate) struct PrinterConfig {
    /// Time between listings.
    pub(crate) interval: Duration,
    /// Print one listing after the initial sync, then ask everything to stop.
    pub(crate) once: bool,
    /// The listing format.
    pub(crate) format: ListingFormat,
    /// Print only `+key` / `-key` lines for what changed since the previous listing.
    pub(crate) diff: bool,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            interval: Duration::from_secs(30),
            once: false,
            format: ListingFormat::Own(OutputFormat::Keys),
            diff: false,
        }
    }
}

/// Why the printer stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PrinterEnd {
    /// Stopped by the stop signal (after its final listing, or without it when the reader was
    /// stuck past [`FINAL_OUTPUT_DEADLINE`]) or after the `--once` listing.
    Finished,
    /// Stopped before the stores were synced: no listing was written; or, with `--once`, stopped
    /// while its one listing was stuck in a pipe nobody read, given up half-written. A `--once`
    /// run that ends so has failed to do its one job.
    StoppedUnsynced,
    /// The reader of the output went away (`kreflect pods | head`).
    OutputClosed,
    /// A template failed on the objects (a key missing with
    /// `--allow-missing-template-keys=false`): the run fails, as kubectl's does.
    TemplateFailed(TemplateError),
    /// The `--once` listing was printed, without these objects it named (`pods "web-9"`):
    /// the run fails after it, as `kubectl get` does for NotFound. With `--for`, objects named
    /// and missing, for a condition other than `delete`.
    NotFound(Vec<String>),
    /// `--for`: the condition was not met in time, or nothing was selected.
    WaitFailed(WaitFailure),
    /// `--once --state`: the listing was printed, and the state could not be saved (`FILE:
    /// error`): the next run would print the same changes again, so the run fails.
    StateNotSaved(String),
    /// `--exec`: the command failed on the `--once` listing, or cannot be started at all.
    ExecFailed(ExecFailure),
}

/// Prints listings of `stores` (every kind's, see `crate::output::kinds`) to `output` as soon as all
/// are synced, until `stop` is cancelled (then a final listing, best effort), the output is
/// closed, or (with `once`) after the first listing. `output` is written
/// on a thread of its own (see the module docs). However it ends, it cancels `stop` on the way
/// out, so the other tasks stop with it.
pub(crate) async fn print_listings<W: Write + Send + 'static>(
    stores: impl Into<Stores>,
    config: PrinterConfig,
    output: W,
    (stop, keeper): (CancellationToken, Option<Keeper>),
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    let output = OutputThread::spawn(output)?;
    listings(stores.into(), config, output, stop, keeper).await
}

/// [`print_listings`] over any [`Sink`]; with `--state`, `keeper` saves what was written last
/// on the way out.
async fn listings<S: Sink>(
    stores: impl Into<Stores>,
    config: PrinterConfig,
    output: S,
    stop: CancellationToken,
    mut keeper: Option<Keeper>,
) -> io::Result<PrinterEnd> {
    let once = config.once;
    let end = listings_kept(stores, config, output, stop, &mut keeper).await;
    if let Some(keeper) = &mut keeper
        && let Err(error) = keeper.save_now().await
        && once
        && matches!(end, Ok(PrinterEnd::Finished))
    {
        return Ok(PrinterEnd::StateNotSaved(error));
    }
    end
}

/// [`listings`], `keeper` learning each listing written.
async fn listings_kept<S: Sink>(
    stores: impl Into<Stores>,
    config: PrinterConfig,
    mut output: S,
    stop: CancellationToken,
    keeper: &mut Option<Keeper>,
) -> io::Result<PrinterEnd> {
    let every_store: Stores = stores.into();
    tokio::select! {
        _ = stop.cancelled() => return Ok(PrinterEnd::StoppedUnsynced),
        listable = first_listing_ready(&every_store, config.once) => if !listable {
            // Every context failed (each logged): an empty listing would say "no objects".
            return Ok(PrinterEnd::StoppedUnsynced);
        }
    }
    let mut left_out = LeftOut::default();
    let mut lister = Lister::new(config.format.clone(), config.diff);
    if let Some(keeper) = keeper.as_ref() {
        lister = lister.remembering(keeper.remembered_versions());
    }
    let mut in_flight = None;
    let mut ticks = None;
    let mut first = true;
    loop {
        let store = left_out.listable(&every_store);
        if store.kinds().is_empty() {
            // Several contexts, none listable now (not synced, or failed: each logged): an
            // empty listing would say there are no objects.
            let ticks = ticks.get_or_insert_with(|| every(config.interval));
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => continue,
            }
        }
        let rendered = match lister.render(&store) {
            Ok(rendered) => rendered,
            Err(err) => return Ok(PrinterEnd::TemplateFailed(err)),
        };
        let rendered_from = lister.take_rendered_from();
        let listing = output.write(rendered);
        let written = until_stopped(&stop, listing).await.transpose()?;
        match (written, keeper.as_mut(), rendered_from) {
            (Some(true), Some(keeper), Some(snapshot)) => {
                keeper.shown_listing(snapshot);
                keeper.save_if_due();
            }
            // The stop caught the write: shown once the output has taken it.
            (None, _, snapshot) => in_flight = snapshot,
            _ => {}
        }
        if written == Some(true) && std::mem::take(&mut first) {
            let not_found = report_absent(&store, config.once);
            if config.once && !not_found.is_empty() {
                return Ok(PrinterEnd::NotFound(not_found));
            }
        }
        match written {
            Some(false) => return Ok(PrinterEnd::OutputClosed),
            Some(true) if config.once => return Ok(PrinterEnd::Finished),
            Some(true) => {}
            None => break,
        }
        // The first interval starts once the first listing is out.
        let ticks = ticks.get_or_insert_with(|| every(config.interval));
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
    }
    // A `--once` listing still stuck in the pipe at the deadline was never printed whole: the
    // run failed its one job, as if stopped before it.
    let given_up = if config.once {
        PrinterEnd::StoppedUnsynced
    } else {
        PrinterEnd::Finished
    };
    best_effort("the final listing", given_up, async {
        if !output.idle().await? {
            return Ok(PrinterEnd::OutputClosed);
        }
        if let (Some(snapshot), Some(keeper)) = (in_flight.take(), keeper.as_mut()) {
            keeper.shown_listing(snapshot);
        }
        if config.once {
            // Stopped while the one listing was being written: it was all there was to print.
            return Ok(PrinterEnd::Finished);
        }
        let store = left_out.listable(&every_store);
        if store.kinds().is_empty() {
            return Ok(PrinterEnd::Finished);
        }
        let rendered = match lister.render(&store) {
            Ok(rendered) => rendered,
            Err(err) => return Ok(PrinterEnd::TemplateFailed(err)),
        };
        let rendered_from = lister.take_rendered_from();
        let written = output.write(rendered).await?;
        if let (true, Some(keeper), Some(snapshot)) = (written, keeper.as_mut(), rendered_from) {
            keeper.shown_listing(snapshot);
        }
        Ok(end_of(written))
    })
    .await
}

/// How long a run watching several contexts waits, once one of them is synced, for the others
/// before its first listing: a context that is slow, unreachable or failing joins the
/// listings when it syncs, and does not hold the others back.
pub const CONTEXTS_SYNC_GRACE: Duration = Duration::from_secs(10);

/// Waits until the first listing may be written: every store synced; with several contexts,
/// every one synced or failed (`--once`: the listing is all it prints), or, for a watching
/// run, one synced and [`CONTEXTS_SYNC_GRACE`] for the others. Then whether anything can be
/// listed: not when every context failed.
pub(crate) async fn first_listing_ready(stores: &Stores, once: bool) -> bool {
    if once || !stores.of_several_contexts() {
        stores.wait_synced().await;
    } else {
        stores.wait_any_synced().await;
        let _ = tokio::time::timeout(CONTEXTS_SYNC_GRACE, stores.wait_synced()).await;
    }
    !stores.all_abandoned()
}

/// The contexts the last listing left out (not synced yet, or failed), said on stderr when
/// they change.
#[derive(Default)]
pub(crate) struct LeftOut(Vec<Arc<str>>);

impl LeftOut {
    /// What the next listing shows of `stores` ([`Stores::listable`]), saying on stderr which
    /// contexts it leaves out when that changed since the last listing.
    pub(crate) fn listable(&mut self, stores: &Stores) -> Stores {
        let listable = stores.listable();
        let left_out = stores.contexts_left_out();
        if left_out != self.0 {
            if left_out.is_empty() {
                tracing::info!("every context is in the listings");
            } else {
                let contexts = left_out.join(",");
                tracing::warn!(contexts = %contexts, "contexts not synced or failed are left out of the listings until they sync");
            }
            self.0 = left_out;
        }
        listable
    }
}

/// Says on stderr what the first listing lacked of what was asked for, as kubectl says it
/// (`No resources found in shop namespace.`, `pods "web-9" not found`); stdout keeps only the
/// listing. Returns the objects named and not found (a `--once` run's error line names them,
/// so they are not also logged then).
pub(crate) fn report_absent(stores: &Stores, once: bool) -> Vec<String> {
    let absent = stores.absent();
    for none_found in &absent.none_found {
        // kubectl's sentence as the message itself: `kreflect: warning: No resources found in
        // shop namespace.` on a terminal.
        tracing::warn!(message = %none_found);
    }
    if !once {
        for object in &absent.not_found {
            tracing::warn!(object = %object, "not found");
        }
    }
    absent.not_found
}

/// Ticks every `period` from one `period` from now. Ticks missed while a slow reader held up a
/// write make one tick, not a burst.
pub(crate) fn every(period: Duration) -> Interval {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Prints each change as it is applied (`--events`) in `format` (objects' types looked up in
/// `types`), until `stop` (then the changes already queued, best effort) or the output closes.
/// Written on a thread of its own, and stops everything on the way out, like the listings.
pub(crate) async fn print_events<W: Write + Send + 'static>(
    changes: Receiver<Change>,
    (format, types, filter): (EventFormat, EventTypes, EventFilter),
    output: W,
    (stop, keeper): (CancellationToken, Option<Keeper>),
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    let output = OutputThread::spawn(output)?;
    events(changes, (format, types, filter), output, stop, keeper).await
}

/// [`print_events`] over any [`Sink`]; with `--state`, `keeper` saves what was written last on
/// the way out.
async fn events<S: Sink>(
    changes: Receiver<Change>,
    printing: (EventFormat, EventTypes, EventFilter),
    output: S,
    stop: CancellationToken,
    mut keeper: Option<Keeper>,
) -> io::Result<PrinterEnd> {
    let end = events_kept(changes, printing, output, stop, &mut keeper).await;
    if let Some(keeper) = &mut keeper {
        // Logged: a watching run goes on to its end, and the next run prints the rest again.
        let _ = keeper.save_now().await;
    }
    end
}

/// [`events`], `keeper` learning each batch written.
async fn events_kept<S: Sink>(
    mut changes: Receiver<Change>,
    (format, types, filter): (EventFormat, EventTypes, EventFilter),
    mut output: S,
    stop: CancellationToken,
    keeper: &mut Option<Keeper>,
) -> io::Result<PrinterEnd> {
    let mut renderer = EventRenderer::new(&format, &types, &filter);
    if let Some(keeper) = keeper.as_ref() {
        keeper.teach(&mut renderer);
    }
    // A batch whose write the stop caught: shown once the output has taken it.
    let mut in_flight = None;
    loop {
        let save_due = keeper.as_ref().and_then(Keeper::due);
        let change = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            change = changes.recv() => change,
            () = sleep_until_some(save_due) => {
                if let Some(keeper) = keeper.as_mut() {
                    keeper.save_if_due();
                }
                continue;
            }
        };
        let Some(change) = change else {
            // The reflector has gone, and everything it applied has been printed.
            return Ok(PrinterEnd::Finished);
        };
        let mut batch: Vec<Change> = with_queued(change, &mut changes).collect();
        let lines = match render_kept(&mut renderer, &mut batch, keeper.is_some()) {
            Ok(lines) => lines,
            Err(failure) => return failed(failure, &mut output).await,
        };
        match until_stopped(&stop, output.write(lines))
            .await
            .transpose()?
        {
            Some(false) => return Ok(PrinterEnd::OutputClosed),
            Some(true) => {
                if let Some(keeper) = keeper.as_mut() {
                    keeper.shown_changes(&batch, &renderer, &types);
                    keeper.save_if_due();
                }
            }
            None => {
                in_flight = Some(batch);
                break;
            }
        }
    }
    // What was applied before the stop is printed; nothing after it is taken any more.
    changes.close();
    best_effort("the queued events", PrinterEnd::Finished, async {
        if !output.idle().await? {
            return Ok(PrinterEnd::OutputClosed);
        }
        if let (Some(batch), Some(keeper)) = (in_flight.take(), keeper.as_mut()) {
            keeper.shown_changes(&batch, &renderer, &types);
        }
        while let Some(change) = changes.recv().await {
            let mut batch: Vec<Change> = with_queued(change, &mut changes).collect();
            let lines = match render_kept(&mut renderer, &mut batch, keeper.is_some()) {
                Ok(lines) => lines,
                Err(failure) => return failed(failure, &mut output).await,
            };
            if !output.write(lines).await? {
                return Ok(PrinterEnd::OutputClosed);
            }
            if let Some(keeper) = keeper.as_mut() {
                keeper.shown_changes(&batch, &renderer, &types);
            }
        }
        Ok(PrinterEnd::Finished)
    })
    .await
}

/// Waits as `plan` says (`--for`) over `stores`, reading their `changes`, writing kubectl
/// wait's `kind/name condition met` lines to `output` on a thread of its own. However it ends,
/// it cancels `stop` on the way out, so the other tasks stop with it.
pub(crate) async fn print_waits<W: Write + Send + 'static>(
    changes: Receiver<Change>,
    stores: Stores,
    plan: WaitPlan,
    output: W,
    stop: CancellationToken,
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    let mut output = OutputThread::spawn(output)?;
    let end = waiting::wait(changes, stores, plan, &mut output, stop).await?;
    if end == PrinterEnd::Finished && !output.idle().await? {
        return Ok(PrinterEnd::OutputClosed);
    }
    Ok(end)
}

/// Runs `plan`'s command for each of `changes` (`--events --exec`) that `filter` lets through
/// (objects' types looked up in `types`), counting into `metrics`, one at a time, until `stop`
/// (the command running is stopped) or the changes end. However it ends, it cancels `stop` on
/// the way out, so the other tasks stop with it.
pub(crate) async fn exec_changes(
    changes: Receiver<Change>,
    (types, filter): (EventTypes, EventFilter),
    plan: ExecPlan,
    metrics: Arc<CommandMetrics>,
    (stop, mut keeper): (CancellationToken, Option<Keeper>),
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    let shell = Shell::new(&plan.command, plan.timeout);
    let filters = (&types, &filter);
    let end = executing::changes(changes, filters, &shell, &metrics, (&stop, &mut keeper)).await;
    if let Some(keeper) = &mut keeper {
        // Logged: the next run runs the rest again.
        let _ = keeper.save_now().await;
    }
    Ok(end)
}

/// Runs `plan`'s command for each listing of `stores` that changed (or each non-empty
/// `--diff`), scheduled as `config` says, counting into `metrics`, until `stop` (the command
/// running is stopped) or, with `--once`, after the one listing. However it ends, it cancels
/// `stop` on the way out, so the other tasks stop with it.
pub(crate) async fn exec_listings(
    stores: Stores,
    config: PrinterConfig,
    plan: ExecPlan,
    metrics: Arc<CommandMetrics>,
    (stop, mut keeper): (CancellationToken, Option<Keeper>),
) -> io::Result<PrinterEnd> {
    let _stop_everything_on_exit = stop.clone().drop_guard();
    let shell = Shell::new(&plan.command, plan.timeout);
    let end = executing::listings(stores, &config, &shell, &metrics, (&stop, &mut keeper)).await;
    if let Some(keeper) = &mut keeper
        && let Err(error) = keeper.save_now().await
        && config.once
        && end == PrinterEnd::Finished
    {
        return Ok(PrinterEnd::StateNotSaved(error));
    }
    Ok(end)
}

/// How a template's failure on a batch ends the run: what it printed before the failing change
/// is written first, as kubectl prints the objects before the one it fails on.
async fn failed<S: Sink>(failure: RenderFailure, output: &mut S) -> io::Result<PrinterEnd> {
    let RenderFailure { printed, error } = failure;
    if !printed.is_empty() && !output.write(printed).await? {
        return Ok(PrinterEnd::OutputClosed);
    }
    Ok(PrinterEnd::TemplateFailed(error))
}

/// Renders `batch`, keeping it for the state when `kept` (`--state` learns of it once it is
/// written); without, the batch is rendered from as it is, never copied.
fn render_kept(
    renderer: &mut EventRenderer<'_>,
    batch: &mut Vec<Change>,
    kept: bool,
) -> Result<Vec<u8>, RenderFailure> {
    if kept {
        renderer.render(batch.iter().cloned())
    } else {
        renderer.render(std::mem::take(batch))
    }
}

/// Sleeps until `at`, or for ever without one.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `first` and the changes queued behind it, at most [`CHANGES_CAPACITY`] in all, so that
/// everything already applied goes out in one write.
fn with_queued(first: Change, changes: &mut Receiver<Change>) -> impl Iterator<Item = Change> {
    let queued = std::iter::from_fn(|| changes.try_recv().ok());
    std::iter::once(first).chain(queued.take(CHANGES_CAPACITY - 1))
}

/// Runs `write` unless `stop` comes first (`None`): the write then stays in flight, and
/// [`Sink::idle`] waits for it.
async fn until_stopped<F: Future>(stop: &CancellationToken, write: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        written = write => Some(written),
        () = stop.cancelled() => None,
    }
}

/// Writes what is still `owed` after the stop, giving up after [`FINAL_OUTPUT_DEADLINE`] and
/// ending as `given_up` says.
async fn best_effort(
    owed: &'static str,
    given_up: PrinterEnd,
    write: impl Future<Output = io::Result<PrinterEnd>>,
) -> io::Result<PrinterEnd> {
    match tokio::time::timeout(FINAL_OUTPUT_DEADLINE, write).await {
        Ok(end) => end,
        Err(_) => {
            tracing::warn!(
                owed,
                deadline_ms = FINAL_OUTPUT_DEADLINE.as_millis() as u64,
                "stdout is not being read; stopping without writing the rest"
            );
            Ok(given_up)
        }
    }
}

/// How a run ends after its last write: `written` or the reader went away.
fn end_of(written: bool) -> PrinterEnd {
    if written {
        PrinterEnd::Finished
    } else {
        PrinterEnd::OutputClosed
    }
}

/// Writes one listing of `store` (snapshot, sort, render into one buffer, one `write_all`) and
/// flushes; `Ok(false)` when the reader has gone away.
pub fn write_listing<W: Write>(store: &Store, output: &mut W) -> io::Result<bool> {
    write_all(output, &render::keys(&store.sorted_keys()))
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
    use super::*;
    use crate::cache::store::new_store;
    use crate::wire::test_support::{Captured, pod};

    /// `--events` as `TYPE key` lines.
    fn lines() -> (EventFormat, EventTypes, EventFilter) {
        (
            EventFormat::Lines,
            EventTypes(Vec::new()),
            EventFilter::default(),
        )
    }

    /// A sink that writes in place at once: deterministic under paused time.
    struct Direct<W>(W);

    impl<W: Write> Sink for Direct<W> {
        async fn write(&mut self, bytes: Vec<u8>) -> io::Result<bool> {
            write_all(&mut self.0, &bytes)
        }
        async fn idle(&mut self) -> io::Result<bool> {
            Ok(true)
        }
    }

    /// A sink whose every write takes `delay` (of paused time).
    struct Slow {
        delay: Duration,
        output: Captured,
    }

    impl Sink for Slow {
        async fn write(&mut self, bytes: Vec<u8>) -> io::Result<bool> {
            tokio::time::sleep(self.delay).await;
            write_all(&mut self.output, &bytes)
        }
        async fn idle(&mut self) -> io::Result<bool> {
            Ok(true)
        }
    }

    /// A sink whose reader never reads: no write ever completes.
    struct Stuck;

    impl Sink for Stuck {
        async fn write(&mut self, _: Vec<u8>) -> io::Result<bool> {
            std::future::pending().await
        }
        async fn idle(&mut self) -> io::Result<bool> {
            std::future::pending().await
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

    #[tokio::test(start_paused = true)]
    async fn prints_after_sync_then_every_interval_then_a_final_listing_on_stop() {
        let (mut writer, store) = new_store();
        let output = Captured::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            ..PrinterConfig::default()
        };
        let printer = tokio::spawn(listings(
            store,
            config,
            Direct(output.clone()),
            stop.clone(),
            None,
        ));
        writer.upsert(pod("a/partial", 1)).await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            output.text(),
            "",
            "nothing may be printed from a partial cache"
        );
        writer
            .replace(vec![pod("b/y", 1), pod("a/x", 1)], "2")
            .await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\n");
        writer.upsert(pod("c/z", 1)).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(output.text(), "a/x\nb/y\n\na/x\nb/y\nc/z\n\n");
        writer.remove(&pod("a/x", 1)).await;
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
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let output = Captured::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            once: true,
            ..PrinterConfig::default()
        };
        let end = print_listings(store, config, output.clone(), (stop.clone(), None)).await;
        assert_eq!(end.expect("printed"), PrinterEnd::Finished);
        assert_eq!(output.text(), "a/x\n\n");
        assert!(stop.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_output_ends_the_printer_quietly() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            ..PrinterConfig::default()
        };
        let end = print_listings(store, config, ClosedPipe, (CancellationToken::new(), None)).await;
        assert_eq!(end.expect("no error"), PrinterEnd::OutputClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_before_sync_prints_nothing() {
        let (_writer, store) = new_store();
        let output = Captured::default();
        let stop = CancellationToken::new();
        stop.cancel();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            ..PrinterConfig::default()
        };
        let end = print_listings(store, config, output.clone(), (stop, None)).await;
        assert_eq!(end.expect("no error"), PrinterEnd::StoppedUnsynced);
        assert_eq!(output.text(), "");
    }

    #[tokio::test(start_paused = true)]
    async fn diff_prints_only_what_changed_between_listings() {
        let (mut writer, store) = new_store();
        writer
            .replace(vec![pod("a/x", 1), pod("a/y", 1)], "2")
            .await;
        let output = Captured::default();
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(5),
            diff: true,
            ..PrinterConfig::default()
        };
        let printer = tokio::spawn(listings(
            store,
            config,
            Direct(output.clone()),
            stop.clone(),
            None,
        ));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "+a/x\n+a/y\n");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            output.text(),
            "+a/x\n+a/y\n",
            "nothing changed, nothing printed"
        );
        writer.remove(&pod("a/x", 1)).await;
        writer.upsert(pod("b/z", 1)).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(output.text(), "+a/x\n+a/y\n-a/x\n+b/z\n");
        stop.cancel();
        printer.await.expect("joined").expect("printed");
    }

    #[tokio::test(start_paused = true)]
    async fn json_listing_carries_the_store_resource_version() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x", 1)], "41").await;
        let output = Captured::default();
        let config = PrinterConfig {
            once: true,
            format: ListingFormat::Own(OutputFormat::Json),
            ..PrinterConfig::default()
        };
        print_listings(
            store,
            config,
            output.clone(),
            (CancellationToken::new(), None),
        )
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
        let output = Captured::default();
        let stop = CancellationToken::new();
        let printer = tokio::spawn(events(
            changes,
            lines(),
            Direct(output.clone()),
            stop.clone(),
            None,
        ));
        writer.replace(vec![pod("a/x", 1)], "1").await;
        writer.upsert(pod("a/x", 1)).await;
        writer.remove(&pod("a/x", 1)).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(output.text(), "ADDED a/x\nMODIFIED a/x\nDELETED a/x\n");
        stop.cancel();
        assert_eq!(
            printer.await.expect("joined").expect("ok"),
            PrinterEnd::Finished
        );
    }

    #[tokio::test(start_paused = true)]
    async fn changes_queued_at_stop_are_printed_before_the_printer_ends() {
        let (mut writer, _store) = new_store();
        let changes = writer.changes();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        writer.upsert(pod("a/y", 1)).await;
        writer.remove(&pod("a/x", 1)).await;
        let stop = CancellationToken::new();
        stop.cancel();
        let output = Captured::default();
        let end = events(changes, lines(), Direct(output.clone()), stop, None).await;
        assert_eq!(end.expect("ok"), PrinterEnd::Finished);
        assert_eq!(output.text(), "ADDED a/x\nADDED a/y\nDELETED a/x\n");
    }

    #[tokio::test]
    async fn changes_queued_behind_a_blocked_write_are_printed_once_it_unblocks_after_stop() {
        let (open, blocked, gated, output) = gated();
        let (mut writer, _store) = new_store();
        let changes = writer.changes();
        let stop = CancellationToken::new();
        let printer = tokio::spawn(print_events(changes, lines(), gated, (stop.clone(), None)));
        writer.upsert(pod("a/first", 1)).await;
        blocked.await.expect("the first write blocks");
        writer.upsert(pod("a/queued", 1)).await;
        writer.remove(&pod("a/first", 1)).await;
        stop.cancel();
        drop(open);
        let end = printer.await.expect("joined").expect("ok");
        assert_eq!(end, PrinterEnd::Finished);
        assert_eq!(
            output.text(),
            "ADDED a/first\nADDED a/queued\nDELETED a/first\n"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_reader_is_given_up_on_at_the_deadline_after_stop() {
        let (mut writer, store) = new_store();
        let changes = writer.changes();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let stop = CancellationToken::new();
        let event_printer = tokio::spawn(events(changes, lines(), Stuck, stop.clone(), None));
        let config = PrinterConfig {
            interval: Duration::from_millis(1),
            ..PrinterConfig::default()
        };
        let listing_printer = tokio::spawn(listings(store, config, Stuck, stop.clone(), None));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let stopped = Instant::now();
        stop.cancel();
        for printer in [event_printer, listing_printer] {
            let end = printer.await.expect("joined").expect("no error");
            assert_eq!(end, PrinterEnd::Finished, "a stuck reader is not an error");
        }
        assert_eq!(stopped.elapsed(), FINAL_OUTPUT_DEADLINE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_once_listing_stuck_at_stop_is_given_up_as_not_printed() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            once: true,
            ..PrinterConfig::default()
        };
        let printer = tokio::spawn(listings(store, config, Stuck, stop.clone(), None));
        tokio::time::sleep(Duration::from_secs(60)).await;
        stop.cancel();
        let end = printer.await.expect("joined").expect("no error");
        assert_eq!(
            end,
            PrinterEnd::StoppedUnsynced,
            "the one listing was never printed whole"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_gets_one_listing_per_write_rendered_when_the_output_is_free() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let output = Captured::default();
        let slow = Slow {
            delay: Duration::from_secs(10),
            output: output.clone(),
        };
        let stop = CancellationToken::new();
        let config = PrinterConfig {
            interval: Duration::from_secs(1),
            ..PrinterConfig::default()
        };
        // Listings are rendered at 0 s (written at 10 s), 11 s (the first tick; written at
        // 21 s), then at 21 s: the ticks missed meanwhile make one listing, not ten.
        let printer = tokio::spawn(listings(store, config, slow, stop.clone(), None));
        tokio::time::sleep(Duration::from_secs(15)).await;
        writer.upsert(pod("a/y", 1)).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(output.text(), "a/x\n\na/x\n\n");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(
            output.text(),
            "a/x\n\na/x\n\na/x\na/y\n\n",
            "the listing after a slow write shows the cache as it is when the output is free"
        );
        stop.cancel();
        printer.await.expect("joined").expect("printed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_once_listing_whose_state_cannot_be_saved_fails_after_it_is_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pods.state");
        // The temporary file's path taken by a directory: the save fails, as on a full disk.
        std::fs::create_dir(
            dir.path()
                .join(format!(".pods.state.{}.tmp", std::process::id())),
        )
        .expect("in the way");
        let keeper = keeper_of(&path);
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a/x", 1)], "1").await;
        let output = Captured::default();
        let config = PrinterConfig {
            once: true,
            diff: true,
            ..PrinterConfig::default()
        };
        let printing = (CancellationToken::new(), Some(keeper));
        let end = print_listings(store, config, output.clone(), printing).await;
        assert_eq!(output.text(), "+a/x\n", "printed first");
        assert!(
            matches!(&end, Ok(PrinterEnd::StateNotSaved(error)) if error.contains("pods.state")),
            "{end:?}"
        );
        assert!(!path.exists(), "nothing half-written in its place");
    }

    #[tokio::test]
    async fn a_batch_whose_write_the_stop_caught_is_saved_once_the_output_took_it() {
        let (open, blocked, gated, output) = gated();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pods.state");
        let keeper = keeper_of(&path);
        let (mut writer, _store) = new_store();
        let changes = writer.changes();
        let stop = CancellationToken::new();
        let printing = (stop.clone(), Some(keeper));
        let printer = tokio::spawn(print_events(changes, lines(), gated, printing));
        writer.upsert(pod("a/first", 1)).await;
        blocked.await.expect("the write blocks");
        stop.cancel();
        drop(open);
        let end = printer.await.expect("joined").expect("ok");
        assert_eq!(end, PrinterEnd::Finished);
        assert_eq!(output.text(), "ADDED a/first\n");
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("saved")).expect("json");
        assert_eq!(
            saved["collections"][0]["objects"],
            serde_json::json!([["a/first", "1", null]]),
            "what the output took after the stop is saved: {saved}"
        );
    }

    /// A keeper of the state file at `path` for one collection of pods, saving only when asked.
    fn keeper_of(path: &std::path::Path) -> Keeper {
        use crate::cache::state::{CollectionId, Identity, StateFile};
        let identity = Identity {
            server: "https://a".into(),
            label_selector: String::new(),
            field_selector: String::new(),
            collections: vec![CollectionId {
                resource: "pods".into(),
                namespace: String::new(),
                names: Vec::new(),
            }],
        };
        let (file, _) = StateFile::open(path, identity, "keys".into()).expect("opened");
        let only = remember::Collection {
            name: "".into(),
            prefix: None,
        };
        Keeper::new(file, None, vec![only], Duration::from_secs(3600))
    }

    /// A [`Gated`] output: dropping the sender opens its gate, the receiver says when its first
    /// write has started, and what it wrote is captured.
    fn gated() -> (
        std::sync::mpsc::Sender<()>,
        tokio::sync::oneshot::Receiver<()>,
        Gated,
        Captured,
    ) {
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (entered, blocked) = tokio::sync::oneshot::channel();
        let output = Captured::default();
        let gated = Gated {
            gate,
            entered: Some(entered),
            output: output.clone(),
        };
        (open, blocked, gated, output)
    }

    /// An output whose writes block until the gate's sender is dropped; says when the first
    /// write has started.
    struct Gated {
        gate: std::sync::mpsc::Receiver<()>,
        entered: Option<tokio::sync::oneshot::Sender<()>>,
        output: Captured,
    }

    impl Write for Gated {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if let Some(entered) = self.entered.take() {
                let _ = entered.send(());
            }
            let _ = self.gate.recv();
            self.output.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
