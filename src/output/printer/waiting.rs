//! `--for`'s waiting: the objects selected once the initial state is complete, each printed
//! as it meets a condition ([`crate::output::wait`]), until all have or the timeout.

use std::collections::BTreeMap;
use std::io;

use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

use super::{PrinterEnd, Sink};
use crate::cache::store::{Change, ChangeType};
use crate::output::kinds::{KindStore, ObjectType, Stores, prefixed};
use crate::output::render::{ObjectReads, object_value};
use crate::output::wait::{WaitFailure, WaitFor, WaitPlan};
use crate::wire::object::{ObjectKey, RawObject};

/// An object waited for.
struct Waited {
    /// `pod/web-1`: how kubectl names it when it is met.
    shown: String,
    /// `pods/web-1`: how kubectl names it when it is not.
    named: String,
    /// Its `apiVersion` and `kind`, which its changes' objects are read with.
    object_type: ObjectType,
}

/// Waits as `plan` says over `stores`, reading `changes` (each key prefixed by its kind when
/// there are several), writing `kind/name condition met` lines to `output`.
pub(super) async fn wait<S: Sink>(
    mut changes: Receiver<Change>,
    stores: Stores,
    plan: WaitPlan,
    output: &mut S,
    stop: CancellationToken,
) -> io::Result<PrinterEnd> {
    // The changes of the initial lists are read and dropped meanwhile (their queue is bounded:
    // left unread, it would hold a large list back for ever); the stores hold their outcome.
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(PrinterEnd::StoppedUnsynced),
            () = stores.wait_synced() => break,
            change = changes.recv() => {
                // The reflectors have gone (stopped, or failed): the wait was not done.
                if change.is_none() {
                    return Ok(PrinterEnd::StoppedUnsynced);
                }
            }
        }
    }
    let deadline = tokio::time::Instant::now() + plan.timeout;
    let deletes = plan
        .conditions
        .iter()
        .any(|condition| matches!(condition, WaitFor::Delete));
    let mut waiting: BTreeMap<ObjectKey, Waited> = BTreeMap::new();
    let mut met = Vec::new();
    let mut not_found = Vec::new();
    for kind in stores.kinds() {
        let mut present = kind.store.objects();
        present.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        for name in kind.expected.names.iter() {
            if !deletes && !present.iter().any(|object| object.key().name() == name) {
                not_found.push(format!("{} {name:?}", kind.expected.resource));
            }
        }
        for object in present {
            let waited = waited(kind, object.key().name());
            if meets(&plan, &object, &waited.object_type) {
                met.push(waited.shown);
            } else {
                waiting.insert(prefixed(kind.prefix.as_deref(), object.key()), waited);
            }
        }
    }
    if !not_found.is_empty() {
        return Ok(PrinterEnd::NotFound(not_found));
    }
    let named = stores
        .kinds()
        .iter()
        .any(|kind| !kind.expected.names.is_empty());
    if met.is_empty() && waiting.is_empty() && !named && !deletes {
        return Ok(PrinterEnd::WaitFailed(WaitFailure::NoMatch));
    }
    if !write_met(output, &met).await? {
        return Ok(PrinterEnd::OutputClosed);
    }
    if plan.timeout.is_zero()
        && let Some(waited) = waiting.values().next()
    {
        return Ok(PrinterEnd::WaitFailed(WaitFailure::NotMet(
            waited.named.clone(),
        )));
    }
    while !waiting.is_empty() {
        let change = tokio::select! {
            () = stop.cancelled() => return Ok(PrinterEnd::StoppedUnsynced),
            () = tokio::time::sleep_until(deadline) => {
                let first = waiting.values().next().map(|waited| waited.named.clone());
                return Ok(PrinterEnd::WaitFailed(WaitFailure::TimedOut(first.unwrap_or_default())));
            }
            change = changes.recv() => change,
        };
        let Some(change) = change else {
            return Ok(PrinterEnd::StoppedUnsynced);
        };
        let Some(waited) = waiting.get(&change.key) else {
            continue;
        };
        let now_met = match (&change.change_type, &change.object) {
            (ChangeType::Deleted, _) => deletes,
            (ChangeType::Added | ChangeType::Modified, Some(object)) => {
                meets(&plan, object, &waited.object_type)
            }
            _ => false,
        };
        if now_met
            && let Some(waited) = waiting.remove(&change.key)
            && !write_met(output, &[waited.shown]).await?
        {
            return Ok(PrinterEnd::OutputClosed);
        }
    }
    Ok(PrinterEnd::Finished)
}

/// Whether `object`, of `object_type`, meets any of `plan`'s conditions.
fn meets(plan: &WaitPlan, object: &RawObject, object_type: &ObjectType) -> bool {
    object_value(object, object_type, &ObjectReads::all()).is_ok_and(|value| {
        plan.conditions
            .iter()
            .any(|condition| condition.met_by(&value))
    })
}

/// How kubectl names an object of `kind` called `name`, met and not.
fn waited(kind: &KindStore, name: &str) -> Waited {
    let object_type = kind.object_type.clone();
    let resource = kind.expected.resource.split('.').next().unwrap_or_default();
    Waited {
        shown: format!("{}/{name}", object_type.prefix()),
        named: format!("{resource}/{name}"),
        object_type,
    }
}

/// Writes `kind/name condition met` for each of `met`; `Ok(false)` when the reader has gone.
async fn write_met<S: Sink>(output: &mut S, met: &[String]) -> io::Result<bool> {
    if met.is_empty() {
        return Ok(true);
    }
    let mut lines = String::new();
    for shown in met {
        lines.push_str(shown);
        lines.push_str(" condition met\n");
    }
    output.write(lines.into_bytes()).await
}
