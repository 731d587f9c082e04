//! The initial list's progress for people: while a large collection is listed and stderr is a
//! terminal, one self-overwriting status line (objects so far, pages), then a one-line summary
//! when the store is synced. Later relists are not shown.
//!
//! Quiet when quick: a list is shown only once it has taken [`SHOW_AFTER`] (a second, as
//! progress bars such as `indicatif`'s wait before they draw), so a small cluster prints nothing
//! but its listings. Then a ticker redraws the line even while the next page is awaited.
//!
//! The line and log records share stderr through one [`StatusLine`]: a record clears the
//! unfinished line, is written on a line of its own, and the line is drawn again below it, so a
//! warning never lands in the middle of `listing pods: 500 so far`. Several kinds listed at once
//! share the line, one part each. Stdout on the same terminal steps around it the same way
//! ([`beside_status_line`]): one kind's events print while another kind is still listed.

use std::io::{self, IsTerminal, Stderr, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::cache::reflector::{ListProgress, ListShape};

/// How long a list runs before its progress is shown.
pub const SHOW_AFTER: Duration = Duration::from_secs(1);

/// How often a pending list's line is redrawn between pages.
const TICK: Duration = Duration::from_millis(200);

/// The status line at the bottom of a terminal's output `W`, which progress draws and log
/// records step around.
pub struct StatusLine<W> {
    state: Mutex<LineState<W>>,
}

/// The width of the terminal a status line is drawn on, when known.
type Width = fn() -> Option<usize>;

/// What the status line's lock guards.
struct LineState<W> {
    out: W,
    /// The line is cut to this width: a line that wraps cannot be overwritten.
    width: Option<Width>,
    /// The lists in progress, in the order they started.
    lists: Vec<PendingList>,
    /// The unfinished line on the screen now, if any.
    drawn: Option<String>,
    /// Writes to another stream on the same terminal in flight ([`StatusLine::write_beside`]):
    /// the line is not drawn meanwhile.
    beside: usize,
}

/// One initial list in progress.
struct PendingList {
    /// What is listed (`pods`, `deployments.apps`).
    label: String,
    objects: usize,
    pages: u32,
    shape: ListShape,
    started: Instant,
    /// Whether it has been on the line: its summary is printed.
    shown: bool,
}

impl PendingList {
    /// Its part of the line as of `now`: what has come, or, before anything has, what it waits
    /// for and how long it has (a watch-cache list comes in one response: no count to show
    /// until it is complete).
    fn part(&self, now: Instant) -> String {
        let label = &self.label;
        if self.objects == 0 && self.pages == 0 {
            let waited = now.saturating_duration_since(self.started).as_secs();
            let awaited = match self.shape {
                ListShape::Pages => "the first page",
                ListShape::OneResponse => "the whole list in one response",
                ListShape::Streamed => "the first object",
            };
            return format!("listing {label}: waiting for {awaited} ({waited} s)");
        }
        match self.shape {
            ListShape::Streamed => format!("listing {label}: {} so far (streamed)", self.objects),
            ListShape::Pages | ListShape::OneResponse => {
                format!(
                    "listing {label}: {} so far ({} pages)",
                    self.objects, self.pages
                )
            }
        }
    }
}

/// The terminal's width in columns, when `stderr` is one.
fn stderr_width() -> Option<usize> {
    terminal_size::terminal_size_of(io::stderr()).map(|(width, _)| usize::from(width.0))
}

static STDERR: LazyLock<Arc<StatusLine<Stderr>>> =
    LazyLock::new(|| Arc::new(StatusLine::new(io::stderr()).with_width(stderr_width)));

/// The process's stderr status line: the one progress and [`crate::output::logging`] share (stderr is
/// one per process, and so is its last line).
pub fn stderr_line() -> Arc<StatusLine<Stderr>> {
    Arc::clone(&STDERR)
}

impl<W: Write> StatusLine<W> {
    /// A status line over `out`, with nothing on it.
    pub fn new(out: W) -> Self {
        StatusLine {
            state: Mutex::new(LineState {
                out,
                width: None,
                lists: Vec::new(),
                drawn: None,
                beside: 0,
            }),
        }
    }

    /// The same line, cut to the width `width` reports (none: never cut).
    fn with_width(self, width: Width) -> Self {
        self.lock().width = Some(width);
        self
    }

    fn lock(&self) -> MutexGuard<'_, LineState<W>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes a finished record (a log line, newline included) above the status line.
    pub fn write_record(&self, record: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        let drawn = state.drawn.is_some();
        state.clear();
        state.out.write_all(record)?;
        if drawn {
            state.draw(Instant::now());
        }
        state.out.flush()
    }

    /// Writes the last record of the process (the error ending a run) in place of the status
    /// line, which is not drawn again: the lists it shows will not finish.
    pub fn write_last_record(&self, record: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        state.lists.clear();
        state.clear();
        state.out.write_all(record)?;
        state.out.flush()
    }

    /// Writes `bytes` to `other`, another stream on the same terminal (stdout), with the line
    /// off the screen meanwhile, then draws the line again below them. The line's lock is not
    /// held during the write: a reader that does not read `other` cannot hold up the logs.
    pub fn write_beside(&self, other: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
        {
            let mut state = self.lock();
            state.beside += 1;
            state.clear();
            let _ = state.out.flush();
        }
        let written = other.write_all(bytes).and_then(|()| other.flush());
        let mut state = self.lock();
        state.beside -= 1;
        state.draw(Instant::now());
        written
    }

    /// Takes the line off the screen for good, at the end of a run that stopped cleanly (a
    /// signal during a slow first list): the shell's prompt must not land on a line saying the
    /// list goes on.
    pub fn finish(&self) {
        let mut state = self.lock();
        state.lists.clear();
        state.clear();
        let _ = state.out.flush();
    }

    /// Records `progress` of the list of `label`, seen at `now`, and redraws.
    fn report(&self, label: &str, progress: ListProgress, now: Instant) {
        let mut state = self.lock();
        let index = match state.lists.iter().position(|list| list.label == label) {
            Some(index) => index,
            None => {
                state.lists.push(PendingList {
                    label: label.to_owned(),
                    objects: 0,
                    pages: 0,
                    shape: progress.shape,
                    started: now.checked_sub(progress.elapsed).unwrap_or(now),
                    shown: false,
                });
                state.lists.len() - 1
            }
        };
        if progress.done {
            let list = state.lists.remove(index);
            // From the first report: a streaming list that fell back to a list is one wait.
            let elapsed = now
                .saturating_duration_since(list.started)
                .max(progress.elapsed);
            let summary = (list.shown || elapsed >= SHOW_AFTER)
                .then(|| format!("synced {} {label} in {elapsed:.1?}\n", progress.objects));
            state.clear();
            if let Some(summary) = summary {
                let _ = state.out.write_all(summary.as_bytes());
            }
        } else {
            let list = &mut state.lists[index];
            list.objects = progress.objects;
            list.pages = progress.pages;
            list.shape = progress.shape;
        }
        state.draw(now);
    }

    /// Redraws the line as of `now`: a list appears once it has run [`SHOW_AFTER`].
    fn tick(&self, now: Instant) {
        self.lock().draw(now);
    }
}

impl<W: Write> LineState<W> {
    /// Draws the lists that have run long enough, replacing what is on the line; clears it when
    /// none has. Best effort: a closed stderr must not disturb the reflector.
    fn draw(&mut self, now: Instant) {
        if self.beside > 0 {
            return;
        }
        let mut parts = Vec::new();
        for list in &mut self.lists {
            if list.shown || now.saturating_duration_since(list.started) >= SHOW_AFTER {
                list.shown = true;
                parts.push(list.part(now));
            }
        }
        if parts.is_empty() {
            self.clear();
        } else {
            let mut text = parts.join("; ");
            if let Some(columns) = self.width.and_then(|width| width()) {
                // One column short of the edge: some terminals wrap on the last column.
                let cut = text
                    .char_indices()
                    .nth(columns.saturating_sub(1))
                    .map_or(text.len(), |(index, _)| index);
                text.truncate(cut);
            }
            if self.drawn.as_ref() != Some(&text) {
                let _ = write!(self.out, "\r\x1b[K{text}");
                self.drawn = Some(text);
            }
        }
        let _ = self.out.flush();
    }

    /// Erases the unfinished line, if one is on the screen.
    fn clear(&mut self) {
        if self.drawn.take().is_some() {
            let _ = self.out.write_all(b"\r\x1b[K");
        }
    }
}

/// Stdout, with the status line stepped around when both are on a terminal: see
/// [`beside_status_line`].
pub struct BesideStatusLine<W> {
    inner: W,
    line: Option<Arc<StatusLine<Stderr>>>,
}

impl<W: Write> Write for BesideStatusLine<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &self.line {
            Some(line) => line
                .write_beside(&mut self.inner, bytes)
                .map(|()| bytes.len()),
            None => self.inner.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `stdout` for listings and events. When it and stderr are both terminals (most likely the
/// same one), each write takes the status line off the screen first and draws it again below,
/// so an event line printed while another kind is still listed starts on a line of its own.
pub fn beside_status_line(stdout: Stdout) -> BesideStatusLine<Stdout> {
    let line = (stdout.is_terminal() && io::stderr().is_terminal()).then(stderr_line);
    BesideStatusLine {
        inner: stdout,
        line,
    }
}

/// A progress reporter for [`crate::cache::reflector::Reflector::with_progress`] showing the initial
/// list of `label` on `line`. Called inside a tokio runtime, it also redraws the line every
/// 200 ms until that list is done (or the reporter dropped), so a slow first page shows too.
pub fn reporter<W>(
    label: String,
    line: Arc<StatusLine<W>>,
) -> impl Fn(ListProgress) + Send + Sync + 'static
where
    W: Write + Send + 'static,
{
    let done = Arc::new(AtomicBool::new(false));
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(tick_until_done(Arc::clone(&line), Arc::downgrade(&done)));
    }
    move |progress: ListProgress| {
        if done.load(Ordering::Relaxed) {
            return;
        }
        line.report(&label, progress, Instant::now());
        if progress.done {
            done.store(true, Ordering::Relaxed);
        }
    }
}

/// Redraws `line` every [`TICK`] while the reporter owning `done` lives and its list is not done.
async fn tick_until_done<W: Write>(line: Arc<StatusLine<W>>, done: std::sync::Weak<AtomicBool>) {
    loop {
        tokio::time::sleep(TICK).await;
        match done.upgrade() {
            Some(done) if !done.load(Ordering::Relaxed) => line.tick(Instant::now()),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::Captured;

    fn step(objects: usize, pages: u32, elapsed_ms: u64, done: bool) -> ListProgress {
        ListProgress {
            objects,
            pages,
            elapsed: Duration::from_millis(elapsed_ms),
            done,
            shape: ListShape::Pages,
        }
    }

    #[test]
    fn a_quick_list_shows_nothing() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        line.report("pods", step(0, 0, 0, false), start);
        line.report(
            "pods",
            step(500, 1, 300, false),
            start + Duration::from_millis(300),
        );
        line.tick(start + Duration::from_millis(500));
        line.report(
            "pods",
            step(900, 2, 800, true),
            start + Duration::from_millis(800),
        );
        assert_eq!(captured.text(), "");
    }

    #[test]
    fn a_slow_list_appears_after_a_second_then_prints_a_summary_once() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        line.report("pods", step(0, 0, 0, false), start);
        line.report("pods", step(500, 1, 700, false), at(700));
        assert_eq!(captured.text(), "", "not before a second");
        line.tick(at(1000));
        line.report("pods", step(1000, 2, 1400, false), at(1400));
        line.report("pods", step(1200, 3, 1500, true), at(1500));
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Klisting pods: 1000 so far (2 pages)\
             \r\x1b[Ksynced 1200 pods in 1.5s\n"
        );
    }

    #[test]
    fn a_list_that_has_brought_nothing_yet_says_what_it_waits_for_and_how_long() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let shaped = |objects, elapsed_ms, done, shape| ListProgress {
            shape,
            ..step(objects, 0, elapsed_ms, done)
        };
        line.report("pods", shaped(0, 0, false, ListShape::OneResponse), start);
        line.tick(at(1000));
        line.tick(at(3100));
        line.report(
            "pods",
            shaped(50_000, 3500, true, ListShape::Pages),
            at(3500),
        );
        line.report("nodes", shaped(0, 0, false, ListShape::Streamed), at(4000));
        line.tick(at(5000));
        line.report(
            "nodes",
            shaped(500, 1200, false, ListShape::Streamed),
            at(5200),
        );
        line.report(
            "nodes",
            shaped(900, 1300, true, ListShape::Streamed),
            at(5300),
        );
        line.report("svc", step(0, 0, 0, false), at(6000));
        line.tick(at(7000));
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: waiting for the whole list in one response (1 s)\
             \r\x1b[Klisting pods: waiting for the whole list in one response (3 s)\
             \r\x1b[Ksynced 50000 pods in 3.5s\n\
             \r\x1b[Klisting nodes: waiting for the first object (1 s)\
             \r\x1b[Klisting nodes: 500 so far (streamed)\
             \r\x1b[Ksynced 900 nodes in 1.3s\n\
             \r\x1b[Klisting svc: waiting for the first page (1 s)"
        );
    }

    #[test]
    fn a_streaming_list_that_fell_back_to_a_list_is_summed_up_as_one_wait() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let shaped = |objects, elapsed_ms, done, shape| ListProgress {
            shape,
            ..step(objects, 0, elapsed_ms, done)
        };
        line.report("pods", shaped(0, 0, false, ListShape::Streamed), start);
        line.report(
            "pods",
            shaped(1200, 1900, false, ListShape::Streamed),
            at(1900),
        );
        line.tick(at(2000));
        line.report(
            "pods",
            shaped(0, 0, false, ListShape::OneResponse),
            at(3000),
        );
        line.tick(at(4000));
        line.report("pods", shaped(5000, 2500, true, ListShape::Pages), at(5500));
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 1200 so far (streamed)\
             \r\x1b[Klisting pods: waiting for the whole list in one response (3 s)\
             \r\x1b[Klisting pods: waiting for the whole list in one response (4 s)\
             \r\x1b[Ksynced 5000 pods in 5.5s\n"
        );
    }

    #[test]
    fn a_log_record_clears_the_line_and_the_line_comes_back_below_it() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        line.write_record(b"kreflect: warning: before\n")
            .expect("write");
        line.report("pods", step(500, 1, 1200, false), start);
        line.write_record(b"kreflect: warning: request failed\n")
            .expect("write");
        assert_eq!(
            captured.text(),
            "kreflect: warning: before\n\
             \r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Kkreflect: warning: request failed\n\
             \r\x1b[Klisting pods: 500 so far (1 pages)"
        );
    }

    #[test]
    fn the_last_record_replaces_the_line_for_good() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        line.report("pods", step(500, 1, 1200, false), Instant::now());
        line.write_last_record(b"kreflect: forbidden\n")
            .expect("write");
        line.tick(Instant::now());
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 500 so far (1 pages)\r\x1b[Kkreflect: forbidden\n"
        );
    }

    #[test]
    fn the_line_is_cut_to_the_terminal_width() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone()).with_width(|| Some(21));
        line.report("pods", step(500, 1, 1200, false), Instant::now());
        assert_eq!(captured.text(), "\r\x1b[Klisting pods: 500 so");
    }

    #[test]
    fn several_lists_share_the_line_and_each_gets_its_summary() {
        let captured = Captured::default();
        let line = StatusLine::new(captured.clone());
        let start = Instant::now();
        line.report("pods", step(500, 1, 1100, false), start);
        line.report("services", step(20, 1, 1100, false), start);
        line.report("services", step(20, 1, 1200, true), start);
        line.report("pods", step(800, 2, 1300, true), start);
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Klisting pods: 500 so far (1 pages); listing services: 20 so far (1 pages)\
             \r\x1b[Ksynced 20 services in 1.2s\n\
             \r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Ksynced 800 pods in 1.3s\n"
        );
    }

    #[tokio::test]
    async fn a_reporter_ignores_relists_after_its_summary() {
        let captured = Captured::default();
        let report = reporter(
            "pods".to_owned(),
            Arc::new(StatusLine::new(captured.clone())),
        );
        report(step(500, 1, 1100, false));
        report(step(600, 2, 1200, true));
        report(step(0, 0, 1500, false));
        report(step(700, 2, 1600, true));
        assert_eq!(
            captured.text(),
            "\r\x1b[Klisting pods: 500 so far (1 pages)\
             \r\x1b[Ksynced 600 pods in 1.2s\n"
        );
    }
}
