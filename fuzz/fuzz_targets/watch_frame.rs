//! Arbitrary bytes through the protobuf watch path (`--wire protobuf`, `auto` for built-in
//! kinds): `FrameSplitter` (fed in chunks whose size the input picks), then
//! `decode_protobuf_event` on each frame, plus `decode_protobuf_list` and `ApiStatus::from_body`
//! on the whole input. Besides "no panic", it checks what the callers rely on: frames are exactly
//! the input after each 4-byte length, at the offsets reported, a length over the cap is refused
//! and never buffered, and every decoded object re-reads to itself from the bytes it kept (which
//! hold no managedFields).

#![no_main]

use kreflect::wire::decode::{ApiStatus, WatchEvent, decode_protobuf_event, decode_protobuf_list};
use kreflect::wire::object::RawObject;
use kreflect::wire::protobuf::FrameSplitter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&chunk_size, data)) = input.split_first() else {
        return;
    };
    let chunk_size = usize::from(chunk_size).max(1);
    let mut splitter = FrameSplitter::default();
    let mut consumed = 0;
    'stream: for chunk in data.chunks(chunk_size) {
        splitter.push(chunk);
        loop {
            match splitter.next_frame() {
                Ok(Some((offset, frame))) => {
                    let start = usize::try_from(offset).expect("offset fits");
                    assert_eq!(start, consumed, "frames are contiguous");
                    let len = u32::from_be_bytes(
                        data[start..start + 4].try_into().expect("four bytes"),
                    );
                    assert_eq!(len as usize, frame.len(), "a frame is as long as it says");
                    assert_eq!(&data[start + 4..start + 4 + frame.len()], &frame[..]);
                    consumed = start + 4 + frame.len();
                    check_event(&frame);
                }
                Ok(None) => break,
                Err(too_long) => {
                    assert_eq!(too_long.offset, consumed as u64, "refused at its length");
                    break 'stream;
                }
            }
        }
    }
    assert!(consumed + splitter.remainder() <= data.len(), "nothing invented");

    if let Ok(page) = decode_protobuf_list(data, "Pod") {
        assert!(!page.resource_version.is_empty());
        for item in &page.items {
            check_object(item);
        }
    }
    let _ = ApiStatus::from_body(data);
});

fn check_event(frame: &[u8]) {
    match decode_protobuf_event(frame, "Pod") {
        Ok(
            WatchEvent::Added(object) | WatchEvent::Modified(object) | WatchEvent::Deleted(object),
        ) => check_object(&object),
        Ok(
            WatchEvent::Bookmark(resource_version) | WatchEvent::InitialEventsEnd(resource_version),
        ) => assert!(!resource_version.is_empty()),
        Ok(WatchEvent::Error(_)) | Err(_) => {}
    }
}

fn check_object(object: &RawObject) {
    assert!(
        !object.key().as_str().is_empty(),
        "keyed objects have a key"
    );
    let again = RawObject::from_protobuf(object.bytes()).expect("kept bytes re-read");
    assert_eq!(&again, object);
}
