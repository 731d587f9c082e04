//! Arbitrary bytes through the watch-stream path the reflector runs on every chunk it reads:
//! `LineSplitter` (fed in chunks whose size the input picks), then `decode_watch_line` on each
//! line, plus `decode_list` on the whole input. Besides "no panic", it checks what the callers
//! rely on: lines are exactly the input between newlines, at the offsets reported, and every
//! decoded object re-decodes to itself from the bytes it kept.

#![no_main]

use kreflect::decode::{LineSplitter, WatchEvent, decode_list, decode_watch_line};
use kreflect::object::RawObject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&chunk_size, data)) = input.split_first() else {
        return;
    };
    let chunk_size = usize::from(chunk_size).max(1);
    let mut splitter = LineSplitter::default();
    let mut consumed = 0;
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
        }
    }
    assert_eq!(
        consumed + splitter.remainder(),
        data.len(),
        "nothing lost or invented"
    );

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
        Ok(WatchEvent::Bookmark(resource_version)) => assert!(!resource_version.is_empty()),
        Ok(WatchEvent::Error(_)) | Err(_) => {}
    }
}

fn check_object(object: &RawObject) {
    assert!(
        !object.key().as_str().is_empty(),
        "keyed objects have a key"
    );
    let again = RawObject::from_json(object.json(), "Pod").expect("kept bytes re-decode");
    assert_eq!(&again, object);
}
