//! Objects outside the requested scope: a pod of another namespace in a `-n` watch, a pod
//! without a namespace across all namespaces, a node with one. The server never sends them; a
//! broken or hostile server (or a proxy answering for another request) does, and they would sit
//! in the store and every listing. Each is dropped on its way to the store, listed or in a
//! watch event (a streaming list's initial events included), with a warning naming its key and
//! the scope, and counted in `kreflect_out_of_scope_objects_total`. The rule is
//! [`Scope::admits`](crate::cache::list_watch::Scope::admits); this is the one place it is applied.
//!
//! A dropped event moves no resourceVersion and counts as no progress: nothing from it is
//! trusted.

use tracing::warn;

use super::Reflector;
use crate::cache::list_watch::ListWatch;
use crate::cache::metrics::Observed;
use crate::wire::decode::WatchEvent;
use crate::wire::object::RawObject;

impl<S: ListWatch> Reflector<S> {
    /// Drops the listed `objects` that lie outside the source's scope.
    pub(super) fn drop_out_of_scope(&self, objects: &mut Vec<RawObject>) {
        objects.retain(|object| self.admits(object, "listed"));
    }

    /// Whether `event` carries an object outside the source's scope: then it has been warned
    /// about and counted, and the caller skips the event.
    pub(super) fn is_out_of_scope(&self, event: &WatchEvent) -> bool {
        let (object, received) = match event {
            WatchEvent::Added(object) => (object, "ADDED"),
            WatchEvent::Modified(object) => (object, "MODIFIED"),
            WatchEvent::Deleted(object) => (object, "DELETED"),
            WatchEvent::Bookmark(_) | WatchEvent::InitialEventsEnd(_) | WatchEvent::Error(_) => {
                return false;
            }
        };
        !self.admits(object, received)
    }

    /// Whether `object`, `received` in a list or an event of that type, is in the scope; if
    /// not, says so and counts it.
    fn admits(&self, object: &RawObject, received: &'static str) -> bool {
        let scope = self.source.scope();
        if scope.admits(object.key()) {
            return true;
        }
        warn!(key = %object.key(), scope = %scope, received, "dropped an object outside the requested scope");
        self.metrics.observe(Observed::OutOfScope);
        false
    }
}
