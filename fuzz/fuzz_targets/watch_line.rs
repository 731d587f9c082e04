//! Arbitrary bytes through the watch-stream path the reflector runs on every chunk it reads:
//! `LineSplitter` (fed in chunks whose size the input picks), then `decode_watch_line` on each
//! line, plus `decode_list` on the whole input. Besides "no panic", it checks what the callers
//! rely on: lines are exactly the input between newlines, at the offsets reported, and every
//! decoded object re-decodes to itself from the bytes it kept. The same lines and input go
//! through the server-side Table decoders (`-o wide`), whose rows must hold one cell per column.

#![no_main]

use std::sync::Arc;

use kreflect::wire::decode::table::{decode_table_list, decode_table_watch_line};
use kreflect::wire::decode::{WatchEvent, decode_list, decode_watch_line};
use kreflect::wire::lines::LineSplitter;
use kreflect::wire::object::{RawObject, TableColumns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&chunk_size, data)) = input.split_first() else {
        return;
    };
    let chunk_size = usize::from(chunk_size).max(1);
    let mut splitter = LineSplitter::default();
    let mut consumed = 0;
    let mut columns = None;
    for chunk in data.chunks(chunk_size) {
        splitter.push(chunk);
        while let Some((offset, line)) = splitter.next_line().expect("input is far below the limit")
        {
            let start = usize::try_from(offset).expect("offset fits");
            assert_eq!(start, consumed, "lines are contiguous");
            assert_eq!(
                &data[start..start + line.len()],
                &line[..],
                "line is the input"
            );
            assert_eq!(data[start + line.len()], b'\n', "line ends at a newline");
            assert!(!line.contains(&b'\n'));
            consumed = start + line.len() + 1;
            check_event(&line);
            check_table_event(&line, &mut columns);
        }
    }
    assert_eq!(
        consumed + splitter.remainder(),
        data.len(),
        "nothing lost or invented"
    );

    if let Ok(Some(table)) = decode_table_list(data, None) {
        for item in &table.page.items {
            check_row(item);
        }
    }
    if let Ok(page) = decode_list(data, "Pod") {
        assert!(!page.resource_version.is_empty());
        for item in &page.items {
            check_object(item);
        }
    }
});

fn check_event(line: &[u8]) {
    match decode_watch_line(line, "Pod") {
        Ok(
            WatchEvent::Added(object) | WatchEvent::Modified(object) | WatchEvent::Deleted(object),
        ) => {
            check_object(&object);
        }
        Ok(
            WatchEvent::Bookmark(resource_version) | WatchEvent::InitialEventsEnd(resource_version),
        ) => assert!(!resource_version.is_empty()),
        Ok(WatchEvent::Error(_)) | Err(_) => {}
    }
}

fn check_table_event(line: &[u8], columns: &mut Option<Arc<TableColumns>>) {
    if let Ok(
        WatchEvent::Added(object) | WatchEvent::Modified(object) | WatchEvent::Deleted(object),
    ) = decode_table_watch_line(line, "Pod", columns)
    {
        match object.table_row() {
            Some(_) => check_row(&object),
            None => check_object(&object),
        }
    }
}

fn check_row(object: &RawObject) {
    assert!(!object.key().as_str().is_empty(), "rows have a key");
    let row = object.table_row().expect("a Table's rows are rows");
    assert_eq!(
        row.cells.len(),
        row.columns.columns().len(),
        "a cell per column"
    );
}

fn check_object(object: &RawObject) {
    assert!(
        !object.key().as_str().is_empty(),
        "keyed objects have a key"
    );
    let again = RawObject::from_json(object.bytes(), "Pod").expect("kept bytes re-decode");
    assert_eq!(&again, object);
}
