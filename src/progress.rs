//! The initial list's progress for people: while a large collection is listed and stderr is a
//! terminal, one self-overwriting line (objects so far, pages), then a one-line summary when
//! the store is synced. Later relists are not shown.

use std::io::Write;
use std::sync::Mutex;

use crate::reflector::ListProgress;

/// A progress reporter for [`crate::reflector::Reflector::with_progress`] writing to `out`.
pub fn reporter<W>(plural: String, out: W) -> impl Fn(ListProgress) + Send + Sync + 'static
where
    W: Write + Send + 'static,
{
    // `None` once the summary is written.
    let out = Mutex::new(Some(out));
    move |progress: ListProgress| {
        let mut guard = out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(writer) = guard.as_mut() else {
            return;
        };
        // Progress is best effort: a closed stderr must not disturb the reflector.
        let _ = if progress.done {
            writeln!(
                writer,
                "\r\x1b[Ksynced {} {plural} in {:.1?}",
                progress.objects, progress.elapsed
            )
        } else {
            write!(
                writer,
                "\r\x1b[Klisting {plural}: {} so far ({} pages)",
                progress.objects, progress.pages
            )
        };
        let _ = writer.flush();
        if progress.done {
            *guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::test_support::Captured;

    #[test]
    fn overwrites_one_line_then_prints_a_summary_once() {
        let captured = Captured::default();
        let report = reporter("pods".to_owned(), captured.clone());
        let step = |objects, pages, done| ListProgress {
            objects,
            pages,
            elapsed: Duration::from_millis(1500),
            done,
        };
        report(step(500, 1, false));
        report(step(1000, 2, false));
        report(step(1200, 3, true));
        report(step(1300, 1, true));
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Klisting pods: 1000 so far (2 pages)\
             \r\x1b[Ksynced 1200 pods in 1.5s\n"
        );
    }
}
