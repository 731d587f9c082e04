//! Names on the command line (`kreflect pods web-1 web-2`): [`NameFilter`] wraps a
//! [`ListWatch`] source and passes on only the objects with those names, so nothing else
//! reaches the store, the listings or `--events` (DELETED events included).
//!
//! One name is also asked of the server as `fieldSelector=metadata.name=NAME`
//! ([`crate::cli::selection::field_selector`]); several are listed and watched in full and filtered
//! here, as the server has no "name in (...)" field selector. A name that does not exist is an
//! empty listing: the watch goes on and shows the object once it is created.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;

use crate::cache::list_watch::{
    ListRequest, ListWatch, Scope, SourceError, WatchRequest, WatchStream,
};
use crate::wire::decode::{ListPage, WatchEvent};
use crate::wire::object::{RawObject, TableColumns};

/// A source that passes on only objects called one of `names` (every object without names).
pub struct NameFilter<S> {
    inner: S,
    names: Option<Arc<BTreeSet<String>>>,
}

impl<S: ListWatch> NameFilter<S> {
    /// `inner`, limited to `names`; every object when `names` is empty.
    pub fn new(inner: S, names: &[String]) -> Self {
        let names = (!names.is_empty()).then(|| Arc::new(names.iter().cloned().collect()));
        NameFilter { inner, names }
    }
}

/// Whether `object` is one of `names`.
fn wanted(names: &BTreeSet<String>, object: &RawObject) -> bool {
    names.contains(object.key().name())
}

impl<S: ListWatch> ListWatch for NameFilter<S> {
    fn scope(&self) -> &Scope {
        self.inner.scope()
    }

    fn table_columns(&self) -> Option<Arc<TableColumns>> {
        self.inner.table_columns()
    }

    async fn list(&self, request: ListRequest) -> Result<ListPage, SourceError> {
        let mut page = self.inner.list(request).await?;
        if let Some(names) = &self.names {
            page.items.retain(|object| wanted(names, object));
        }
        Ok(page)
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream, SourceError> {
        let mut initial_events = request.send_initial_events;
        let stream = self.inner.watch(request).await?;
        let Some(names) = self.names.clone() else {
            return Ok(stream);
        };
        // An event for another object still moves the watch's position: once the initial
        // events of a streaming list are over, it becomes a bookmark at its resourceVersion, so
        // a watch that only sees other objects resumes from where it was, not from long ago.
        let filtered = stream.filter_map(move |event| {
            let passed = match event {
                Ok(WatchEvent::InitialEventsEnd(version)) => {
                    initial_events = false;
                    Some(Ok(WatchEvent::InitialEventsEnd(version)))
                }
                Ok(
                    WatchEvent::Added(ref object)
                    | WatchEvent::Modified(ref object)
                    | WatchEvent::Deleted(ref object),
                ) if !wanted(&names, object) => (!initial_events)
                    .then(|| Ok(WatchEvent::Bookmark(object.resource_version().to_owned()))),
                other => Some(other),
            };
            std::future::ready(passed)
        });
        Ok(filtered.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    struct Fixed {
        scope: Scope,
        objects: Vec<RawObject>,
    }

    fn object(name: &str, version: &str) -> RawObject {
        let json = format!(
            r#"{{"metadata":{{"name":"{name}","namespace":"shop","resourceVersion":"{version}"}}}}"#
        );
        RawObject::from_json(json.as_bytes(), "Pod").expect("object")
    }

    impl ListWatch for Fixed {
        fn scope(&self) -> &Scope {
            &self.scope
        }
        async fn list(&self, _: ListRequest) -> Result<ListPage, SourceError> {
            Ok(ListPage {
                items: self.objects.clone(),
                rejected: Vec::new(),
                resource_version: "9".to_owned(),
                continue_token: None,
            })
        }
        async fn watch(&self, _: WatchRequest) -> Result<WatchStream, SourceError> {
            let events: Vec<_> = self
                .objects
                .iter()
                .cloned()
                .map(|o| Ok(WatchEvent::Deleted(o)))
                .chain([Ok(WatchEvent::InitialEventsEnd("9".to_owned()))])
                .collect();
            Ok(stream::iter(events).boxed())
        }
    }

    fn source() -> Fixed {
        Fixed {
            scope: Scope {
                plural: "pods".to_owned(),
                namespace: None,
                namespaced: true,
            },
            objects: vec![
                object("web-1", "1"),
                object("db", "2"),
                object("web-2", "3"),
            ],
        }
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn watch_request(send_initial_events: bool) -> WatchRequest {
        WatchRequest {
            resource_version: "0".to_owned(),
            timeout_seconds: 1,
            send_initial_events,
        }
    }

    fn described(event: Result<WatchEvent, crate::cache::list_watch::StreamError>) -> String {
        match event.expect("event") {
            WatchEvent::Deleted(object) => format!("DELETED {}", object.key()),
            WatchEvent::Bookmark(version) => format!("BOOKMARK {version}"),
            WatchEvent::InitialEventsEnd(version) => format!("END {version}"),
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn lists_only_the_named_objects() {
        let filter = NameFilter::new(source(), &names(&["web-2", "web-1", "gone"]));
        let page = filter.list(ListRequest::default()).await.expect("page");
        let keys: Vec<String> = page.items.iter().map(|o| o.key().to_string()).collect();
        assert_eq!(keys, ["shop/web-1", "shop/web-2"]);
        assert_eq!(page.resource_version, "9");
        let all = NameFilter::new(source(), &[]);
        assert_eq!(
            all.list(ListRequest::default())
                .await
                .expect("page")
                .items
                .len(),
            3
        );
    }

    #[tokio::test]
    async fn other_objects_events_become_bookmarks_except_in_a_streaming_lists_initial_events() {
        let filter = NameFilter::new(source(), &names(&["web-1"]));
        let watched: Vec<String> = filter
            .watch(watch_request(false))
            .await
            .expect("watch")
            .map(described)
            .collect()
            .await;
        assert_eq!(
            watched,
            ["DELETED shop/web-1", "BOOKMARK 2", "BOOKMARK 3", "END 9"]
        );
        let streamed: Vec<String> = filter
            .watch(watch_request(true))
            .await
            .expect("watch")
            .map(described)
            .collect()
            .await;
        assert_eq!(streamed, ["DELETED shop/web-1", "END 9"]);
    }
}
