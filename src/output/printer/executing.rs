//! `--exec`: when the command runs ([`crate::output::exec`] says what it is told). One command
//! at a time, never two; nothing is printed.
//!
//! - Changes (`--events`): they are taken from the stores' queue as they come, while a command
//!   runs, into the coalescing queue (`exec::queue`), so the reflector never waits for a
//!   command, and memory is bounded by the cache; the command runs for each change the queue
//!   gives, in order.
//! - Listings: as listings are printed (one when the stores are synced, then every interval, a
//!   slow command making ticks missed meanwhile one), the command runs for each listing that
//!   differs from the last one it ran for (the first always), or each non-empty `--diff`.
//!
//! On stop, the command running is stopped (SIGTERM, then SIGKILL after the grace) and no other
//! is started; there is no final listing.

use std::future::Future;
use std::pin::Pin;

use futures::future::OptionFuture;
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

use super::remember::Keeper;
use super::{PrinterConfig, PrinterEnd, every, report_absent};
use crate::cache::metrics::commands::CommandMetrics;
use crate::cache::store::{CHANGES_CAPACITY, Change, ChangeType};
use crate::output::exec::command::{Outcome, Shell};
use crate::output::exec::queue::ChangeQueue;
use crate::output::exec::{
    self, ExecFailure, RanFor, change_job, failure_of, listing_identity, listing_job, record,
};
use crate::output::kinds::Stores;
use crate::output::render::{
    EventFilter, EventTypes, Lister, ListingFormat, OutputFormat, WatchOnlyGate,
};

/// A run under way, with the change it is for.
type Running<'a> = Pin<Box<dyn Future<Output = (Change, Outcome)> + Send + 'a>>;

/// Runs `shell` for each of `changes` that `filter` lets through (objects' types looked up in
/// `types`), as the module docs say, until `stop` or the changes end and the queue is empty.
pub(super) async fn changes(
    mut changes: Receiver<Change>,
    (types, filter): (&EventTypes, &EventFilter),
    shell: &Shell,
    metrics: &CommandMetrics,
    (stop, keeper): (&CancellationToken, &mut Option<Keeper>),
) -> PrinterEnd {
    let mut queue = ChangeQueue::new();
    let mut gate = WatchOnlyGate::new(types, filter.watch_only);
    for collection in keeper.iter().flat_map(Keeper::restored_collections) {
        gate.open(collection);
    }
    let mut running: Option<Running<'_>> = None;
    let mut changes_ended = false;
    loop {
        if running.is_none() && !stop.is_cancelled() {
            while let Some(change) = queue.pop() {
                if filter.lets_through(change.change_type) {
                    let job = change_job(&change, types);
                    running = Some(Box::pin(async move {
                        let outcome = shell.run(job, stop).await;
                        (change, outcome)
                    }));
                    break;
                }
                // Left out by --event-types: as good as done.
                if let Some(keeper) = keeper.as_mut() {
                    keeper.shown(&change, None, types);
                }
            }
        }
        metrics.set_queued(queue.len());
        // Not after the stop: a change taken in and not handled must not be passed over.
        let settled = running.is_none() && queue.is_empty() && !stop.is_cancelled();
        if let (true, Some(keeper)) = (settled, keeper.as_mut()) {
            keeper.settled();
            keeper.save_if_due();
        }
        if running.is_none() && (stop.is_cancelled() || changes_ended && queue.is_empty()) {
            return PrinterEnd::Finished;
        }
        let idle = running.is_none();
        let run = OptionFuture::from(running.as_mut());
        let save_due = keeper.as_ref().and_then(Keeper::due);
        tokio::select! {
            biased;
            Some((change, outcome)) = run, if !idle => {
                running = None;
                let ran_for = RanFor {
                    change_type: change.change_type.as_str(),
                    key: Some(change.key.as_str()),
                    ends_the_run: cannot_start(&outcome),
                };
                record(&outcome, &ran_for, metrics);
                if let Outcome::NotStarted { error, every_run: true } = outcome {
                    return PrinterEnd::ExecFailed(ExecFailure::CannotStart(error));
                }
                // A run the stop cut short did not handle its change: the next run gets it.
                if let (false, Some(keeper)) = (matches!(outcome, Outcome::Stopped), keeper.as_mut()) {
                    keeper.shown(&change, None, types);
                    keeper.save_if_due();
                }
            }
            () = stop.cancelled(), if idle => {}
            change = changes.recv(), if !changes_ended => match change {
                // The reflectors have gone: what is queued still runs.
                None => changes_ended = true,
                Some(change) => {
                    let taking = (&mut gate, &mut queue, keeper.as_mut());
                    take(change, &mut changes, taking, types, metrics);
                }
            },
            () = super::sleep_until_some(save_due) => {
                if let Some(keeper) = keeper.as_mut() {
                    keeper.save_if_due();
                }
            }
        }
    }
}

/// Queues `first` and the changes behind it in `changes` (at most [`CHANGES_CAPACITY`] in all),
/// those `gate` admits, counting what the queue folds; `keeper` (with `--state`) learns where
/// each collection is from them, and takes those left out as done.
fn take(
    first: Change,
    changes: &mut Receiver<Change>,
    (gate, queue, mut keeper): (
        &mut WatchOnlyGate<'_>,
        &mut ChangeQueue,
        Option<&mut Keeper>,
    ),
    types: &EventTypes,
    metrics: &CommandMetrics,
) {
    let queued = std::iter::from_fn(|| changes.try_recv().ok());
    for change in std::iter::once(first).chain(queued.take(CHANGES_CAPACITY - 1)) {
        if let Some(keeper) = keeper.as_deref_mut() {
            keeper.received(&change, types);
        }
        if matches!(
            change.change_type,
            ChangeType::Synced | ChangeType::Bookmark
        ) {
            continue;
        }
        if gate.admits(&change) {
            metrics.coalesced(queue.push(change));
        } else if let Some(keeper) = keeper.as_deref_mut() {
            // The initial list --watch-only leaves out: known, not to run for.
            keeper.shown(&change, None, types);
        }
    }
}

/// Whether `outcome` says no run can start (the shell missing): it ends the run.
fn cannot_start(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::NotStarted {
            every_run: true,
            ..
        }
    )
}

/// Runs `shell` for each listing of `stores` that changed (or each non-empty `--diff`), as
/// `config` schedules listings, until `stop`; with `--once`, on the one listing, then ends as it
/// went.
pub(super) async fn listings(
    stores: Stores,
    config: &PrinterConfig,
    shell: &Shell,
    metrics: &CommandMetrics,
    (stop, keeper): (&CancellationToken, &mut Option<Keeper>),
) -> PrinterEnd {
    tokio::select! {
        () = stop.cancelled() => return PrinterEnd::StoppedUnsynced,
        listable = super::first_listing_ready(&stores, config.once) => if !listable {
            // Every context failed (each logged): no listing to run for.
            return PrinterEnd::StoppedUnsynced;
        }
    }
    let every_store = stores;
    let mut left_out = super::LeftOut::default();
    let json = matches!(config.format, ListingFormat::Own(OutputFormat::Json));
    let mut lister = Lister::new(config.format.clone(), config.diff);
    if let Some(keeper) = keeper.as_ref() {
        lister = lister.remembering(keeper.remembered_versions());
    }
    let mut last: Option<Vec<u8>> = None;
    let mut ticks = None;
    let mut first = true;
    loop {
        let stores = left_out.listable(&every_store);
        if stores.kinds().is_empty() {
            // Several contexts, none listable now (each logged): nothing true to run for.
            let ticks = ticks.get_or_insert_with(|| super::every(config.interval));
            tokio::select! {
                () = stop.cancelled() => return PrinterEnd::Finished,
                _ = ticks.tick() => continue,
            }
        }
        let rendered = match lister.render(&stores) {
            Ok(rendered) => rendered,
            Err(err) => return PrinterEnd::TemplateFailed(err),
        };
        // What the command gets (or, unchanged, got already): what the state saves once it ran.
        let handled = lister.take_rendered_from();
        let changed = if config.diff {
            !rendered.is_empty()
        } else {
            last.as_deref() != Some(listing_identity(&rendered, json))
        };
        if changed {
            if !config.diff {
                last = Some(listing_identity(&rendered, json).to_vec());
            }
            let outcome = shell.run(listing_job(config.diff, rendered), stop).await;
            if let (false, Some(keeper), Some(snapshot)) = (
                matches!(outcome, Outcome::Stopped),
                keeper.as_mut(),
                handled,
            ) {
                keeper.shown_listing(snapshot);
                keeper.save_if_due();
            }
            let change_type = if config.diff {
                exec::DIFF
            } else {
                exec::LISTING
            };
            let ran_for = RanFor {
                change_type,
                key: None,
                ends_the_run: config.once || cannot_start(&outcome),
            };
            record(&outcome, &ran_for, metrics);
            match outcome {
                // A `--once` run stopped before its command was done did not do its one job.
                Outcome::Stopped if config.once => return PrinterEnd::StoppedUnsynced,
                Outcome::Stopped => return PrinterEnd::Finished,
                Outcome::NotStarted {
                    error,
                    every_run: true,
                } => return PrinterEnd::ExecFailed(ExecFailure::CannotStart(error)),
                failed => {
                    if config.once
                        && let Some(failure) = failure_of(&failed)
                    {
                        return PrinterEnd::ExecFailed(ExecFailure::Once(failure));
                    }
                }
            }
        } else if let (Some(keeper), Some(snapshot)) = (keeper.as_mut(), handled) {
            keeper.shown_listing(snapshot);
            keeper.save_if_due();
        }
        if std::mem::take(&mut first) {
            let not_found = report_absent(&stores, config.once);
            if config.once && !not_found.is_empty() {
                return PrinterEnd::NotFound(not_found);
            }
        }
        if config.once {
            return PrinterEnd::Finished;
        }
        let ticks = ticks.get_or_insert_with(|| every(config.interval));
        tokio::select! {
            () = stop.cancelled() => return PrinterEnd::Finished,
            _ = ticks.tick() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cache::store::new_store;
    use crate::output::kinds::ObjectType;
    use crate::wire::test_support::pod;

    /// Three times the stores' queue of changes to a few keys, while each run of the command
    /// takes a while: the writer never waits for the command (it would wait for room in the
    /// stores' queue, a run per change), the command runs a few times, not once per change, and
    /// what it was told ends as the store: each key's last state, and not the key deleted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_command_never_holds_the_writer_back_and_ends_with_each_keys_last_state() {
        let (mut writer, _store) = new_store();
        let changes_queue = writer.changes_with_objects();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("log");
        let script = format!(
            "echo \"$KREFLECT_TYPE $KREFLECT_KEY $KREFLECT_RESOURCE_VERSION\" >> {}; sleep 0.2",
            log.display()
        );
        let shell = Shell::new(&script, None);
        let metrics = CommandMetrics::default();
        let stop = CancellationToken::new();
        let types = EventTypes::single(ObjectType::pod());
        let filter = EventFilter::default();
        let mut no_state = None;
        let stopping = (&stop, &mut no_state);
        let running = changes(changes_queue, (&types, &filter), &shell, &metrics, stopping);
        let churn = async {
            let total = 3 * CHANGES_CAPACITY as u32;
            let churned = tokio::time::timeout(Duration::from_secs(10), async {
                for rv in 1..=total {
                    writer.upsert(pod(&format!("a/p{}", rv % 3), rv)).await;
                }
                writer.remove(&pod("a/p0", total + 1)).await;
            });
            churned
                .await
                .expect("the writer never waits for the command");
            // What the command was told, replayed: its view of the keys.
            let view_of = |ran: &str| {
                let mut view = std::collections::BTreeMap::new();
                for line in ran.lines() {
                    let mut words = line.split(' ');
                    let (Some(change_type), Some(key), Some(rv)) =
                        (words.next(), words.next(), words.next())
                    else {
                        continue;
                    };
                    if change_type == "DELETED" {
                        view.remove(key);
                    } else {
                        view.insert(key.to_owned(), rv.to_owned());
                    }
                }
                view
            };
            let last = std::collections::BTreeMap::from([
                ("a/p1".to_owned(), (total - 2).to_string()),
                ("a/p2".to_owned(), (total - 1).to_string()),
            ]);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let ran = std::fs::read_to_string(&log).unwrap_or_default();
                if view_of(&ran) == last {
                    let runs = ran.lines().count();
                    assert!(runs < 10, "{runs} runs: changes were coalesced:\n{ran}");
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the command never had the store's last state: {ran}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            stop.cancel();
        };
        let (end, ()) = tokio::join!(running, churn);
        assert_eq!(end, PrinterEnd::Finished);
    }
}
