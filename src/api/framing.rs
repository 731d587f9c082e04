//! A watch response body split into events: newline-delimited JSON (plain, or one-row Tables)
//! or length-prefixed protobuf frames.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http_body_util::BodyDataStream;
use kube::client::Body;

use crate::api::request_errors::transport_error;
use crate::cache::list_watch::{StreamError, WatchStream};
use crate::wire::decode::table::decode_table_watch_line;
use crate::wire::decode::{WatchEvent, decode_protobuf_event, decode_watch_line};
use crate::wire::lines::LineSplitter;
use crate::wire::object::TableColumns;
use crate::wire::protobuf::FrameSplitter;

/// How a watch response's events are framed, as its `Content-Type` says.
pub(crate) enum Framing {
    /// Newline-delimited JSON `WatchEvent`s.
    Lines,
    /// Newline-delimited JSON `WatchEvent`s whose objects are one-row Tables.
    Table(TableDecoding),
    /// Length-prefixed protobuf `WatchEvent`s.
    Protobuf,
}

/// The columns of a Table watch: those seen last, starting from the source's, and the
/// source's state to tell of new ones.
pub(crate) struct TableDecoding {
    /// The source's state, told of each new set of columns.
    pub(crate) shared: Arc<Mutex<TableState>>,
    /// The columns the rows seen last belong to.
    pub(crate) columns: Option<Arc<TableColumns>>,
}

/// One event of the stream, or why the stream could not give one.
type Event = Result<WatchEvent, StreamError>;

/// What a source asking for Tables has learnt: whether the server makes them for this
/// resource, and the columns it sent last (a watch's later events carry none).
#[derive(Debug, Default)]
pub(crate) struct TableState {
    /// The server answered a Table request with a 406 or a plain list.
    pub(crate) refused: bool,
    /// The columns of the last Table received.
    pub(crate) columns: Option<Arc<TableColumns>>,
}

/// Where a watch body's bytes wait until they make a whole event.
enum Splitter {
    /// JSON lines, each a `WatchEvent` (its object a one-row Table when `table` is set).
    Lines {
        lines: LineSplitter,
        table: Option<TableDecoding>,
    },
    /// Protobuf frames, each a `WatchEvent`.
    Frames(FrameSplitter),
}

/// State of one watch stream being split into events and decoded.
struct EventReader {
    chunks: BodyDataStream<Body>,
    splitter: Splitter,
    object_kind: String,
    finished: bool,
}

/// Turns a watch response body into decoded events: one per non-empty line (each object a
/// one-row Table with [`Framing::Table`]), or one per protobuf frame.
pub(crate) fn watch_events(body: Body, object_kind: String, framing: Framing) -> WatchStream {
    let splitter = match framing {
        Framing::Lines => Splitter::Lines {
            lines: LineSplitter::default(),
            table: None,
        },
        Framing::Table(table) => Splitter::Lines {
            lines: LineSplitter::default(),
            table: Some(table),
        },
        Framing::Protobuf => Splitter::Frames(FrameSplitter::default()),
    };
    let reader = EventReader {
        chunks: BodyDataStream::new(body),
        splitter,
        object_kind,
        finished: false,
    };
    stream::unfold(reader, |mut reader| async move {
        let item = reader.next_event().await?;
        Some((item, reader))
    })
    .boxed()
}

impl EventReader {
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.finished {
                return None;
            }
            match self.split() {
                Ok(Some(event)) => return Some(event),
                Ok(None) => {}
                Err(too_long) => {
                    self.finished = true;
                    return Some(Err(too_long));
                }
            }
            match self.chunks.next().await {
                Some(Ok(chunk)) => match &mut self.splitter {
                    Splitter::Frames(frames) => frames.push(&chunk),
                    Splitter::Lines { lines, .. } => lines.push(&chunk),
                },
                Some(Err(err)) => {
                    self.finished = true;
                    return Some(Err(StreamError::Transport(transport_error(&err))));
                }
                None => {
                    self.finished = true;
                    let (cut, what) = match &self.splitter {
                        Splitter::Frames(frames) => (frames.remainder(), "frame"),
                        Splitter::Lines { lines, .. } => (lines.remainder(), "line"),
                    };
                    return (cut > 0).then(|| {
                        Err(StreamError::Transport(format!(
                            "stream ended in the middle of a {what} ({cut} bytes)"
                        )))
                    });
                }
            }
        }
    }

    /// The next event whole in what has arrived (`None` until more arrives), or the error of
    /// a line or frame too long to wait for.
    fn split(&mut self) -> Result<Option<Event>, StreamError> {
        match &mut self.splitter {
            Splitter::Frames(frames) => Ok(frames.next_frame()?.map(|(offset, frame)| {
                decode_protobuf_event(&frame, &self.object_kind)
                    .map_err(|error| StreamError::BadLine { offset, error })
            })),
            Splitter::Lines { lines, table } => loop {
                match lines.next_line()? {
                    Some((_, line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
                    Some((offset, line)) => {
                        return Ok(Some(decode_line(table, &self.object_kind, offset, &line)));
                    }
                    None => return Ok(None),
                }
            },
        }
    }
}

/// One JSON watch line as an event; with a Table watch, its columns kept for the next lines
/// and told to the source when they change.
fn decode_line(
    table: &mut Option<TableDecoding>,
    object_kind: &str,
    offset: u64,
    line: &Bytes,
) -> Result<WatchEvent, StreamError> {
    let decoded = match table {
        None => decode_watch_line(line, object_kind),
        Some(table) => {
            let before = table.columns.clone();
            let decoded = decode_table_watch_line(line, object_kind, &mut table.columns);
            if let Some(columns) = &table.columns
                && !before.is_some_and(|before| Arc::ptr_eq(&before, columns))
            {
                let mut shared = table.shared.lock().unwrap_or_else(PoisonError::into_inner);
                shared.columns = Some(Arc::clone(columns));
            }
            decoded
        }
    };
    decoded.map_err(|error| StreamError::BadLine { offset, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::lines::{LineTooLong, MAX_LINE_BYTES};

    /// Every event of a watch whose whole body is `body`, framed as `framing`.
    async fn events_of(body: Vec<u8>, framing: Framing) -> Vec<Event> {
        watch_events(Body::from(body), "Pod".to_owned(), framing)
            .collect()
            .await
    }

    const ADDED: &str = r#"{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","namespace":"n","resourceVersion":"1"}}}"#;

    #[tokio::test]
    async fn json_lines_skip_blank_ones_go_on_past_a_bad_one_and_a_cut_last_line_is_an_error() {
        let body = format!(" \t\r\n\n{ADDED}\nnot json\n{ADDED}\n");
        let bad_at = (" \t\r\n\n".len() + ADDED.len() + 1) as u64;
        let events = events_of(body.clone().into_bytes(), Framing::Lines).await;
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(matches!(&events[0], Ok(WatchEvent::Added(pod)) if pod.key().as_str() == "n/a"));
        assert!(
            matches!(&events[1], Err(StreamError::BadLine { offset, .. }) if *offset == bad_at),
            "{events:?}"
        );
        assert!(matches!(&events[2], Ok(WatchEvent::Added(_))));

        let cut = format!("{body}{{\"type\":\"ADD");
        let events = events_of(cut.into_bytes(), Framing::Lines).await;
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(
            matches!(&events[3], Err(StreamError::Transport(reason))
                if reason == "stream ended in the middle of a line (12 bytes)"),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_line_longer_than_any_object_ends_the_stream_with_its_offset() {
        let mut body = format!("{ADDED}\n").into_bytes();
        body.resize(body.len() + MAX_LINE_BYTES + 1, b' ');
        let offset = (ADDED.len() + 1) as u64;
        let events = events_of(body, Framing::Lines).await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            matches!(&events[1], Err(StreamError::LineTooLong(LineTooLong { offset: at })) if *at == offset),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_table_watch_keeps_the_first_rows_columns_for_the_next_and_tells_the_source() {
        let transcript = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/18-watch-table.txt"
        ))
        .expect("transcript 18");
        let mut body = String::new();
        for line in transcript.lines().filter(|line| line.starts_with('+')) {
            let (_, event) = line.split_once(' ').expect("`+TIME EVENT`");
            body.push_str(event);
            body.push('\n');
        }
        let shared = Arc::new(Mutex::new(TableState::default()));
        let table = TableDecoding {
            shared: Arc::clone(&shared),
            columns: None,
        };
        let events = events_of(body.clone().into_bytes(), Framing::Table(table)).await;
        let rows: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                Ok(WatchEvent::Modified(object)) => object.table_row(),
                _ => None,
            })
            .collect();
        assert_eq!((events.len(), rows.len()), (4, 2), "{events:?}");
        let told = shared.lock().expect("table state").columns.clone();
        assert!(told.is_some_and(|told| Arc::ptr_eq(&told, &rows[0].columns)));
        assert!(Arc::ptr_eq(&rows[0].columns, &rows[1].columns));

        // A watch of one row: its columns are told at once, not when a later row repeats them.
        let first = format!("{}\n", body.lines().next().expect("a first event"));
        let shared = Arc::new(Mutex::new(TableState::default()));
        let table = TableDecoding {
            shared: Arc::clone(&shared),
            columns: None,
        };
        let events = events_of(first.into_bytes(), Framing::Table(table)).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let told = shared.lock().expect("table state").columns.clone();
        assert!(told.is_some(), "the first row's columns are told at once");
    }
}
