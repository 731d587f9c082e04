//! kubectl's table aligner: `github.com/liggitt/tabwriter` (Go's `text/tabwriter` plus
//! `RememberWidths`) with cli-runtime's settings (`printers/tabwriter.go`): minimum width 6,
//! padding 3, padded with spaces, column widths remembered across flushes.
//!
//! Cells end with a tab (or a vertical tab); the text after a line's last tab is no column's.
//! A column's width is its widest cell plus the padding, at least the minimum, and never less
//! than what it was at an earlier flush (so `kubectl get -w` keeps its columns in place).
//! Width counts runes. The block formatting Go does by recursion runs here on a stack.

/// `tabwriterMinWidth`: the narrowest column, padding included.
const MIN_WIDTH: isize = 6;
/// `tabwriterPadding`: spaces after a column's widest cell.
const PADDING: isize = 3;
/// `tabwriter.Escape`: text between two of these bytes is not interpreted.
const ESCAPE: u8 = 0xff;

/// A segment of text ended by a tab or a line break.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    /// Its size in bytes.
    size: usize,
    /// Its width in runes (an unfinished escape makes it -1, as in Go).
    width: isize,
    /// Whether a tab (not a vertical tab or line break) ended it.
    htab: bool,
}

/// A table being written: text is buffered until [`TabWriter::flush`] or a line that cannot
/// change the layout.
#[derive(Debug)]
pub(crate) struct TabWriter {
    /// The text written since the last flush, tabs and line breaks removed.
    buf: Vec<u8>,
    /// How much of `buf` the current cell's width accounts for.
    pos: usize,
    /// The cell being written.
    cell: Cell,
    /// Inside an escaped segment.
    escaped: bool,
    /// The cells of each line since the last flush.
    lines: Vec<Vec<Cell>>,
    /// The widths of the columns being formatted.
    widths: Vec<isize>,
    /// The widest each column has been (`RememberWidths`).
    max_widths: Vec<isize>,
}

impl TabWriter {
    /// An empty table with kubectl's settings.
    pub(crate) fn new() -> Self {
        TabWriter {
            buf: Vec::new(),
            pos: 0,
            cell: Cell::default(),
            escaped: false,
            lines: vec![Vec::new()],
            widths: Vec::new(),
            max_widths: Vec::new(),
        }
    }

    /// Go's `Write`: takes `text` into cells; a line that ends with its first cell (no tab)
    /// flushes everything before it into `out`.
    pub(crate) fn write(&mut self, text: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        for (index, &byte) in text.iter().enumerate() {
            if self.escaped {
                if byte == ESCAPE {
                    self.append(&text[start..=index]);
                    start = index + 1;
                    self.end_escape();
                }
                continue;
            }
            match byte {
                b'\t' | b'\x0b' | b'\n' | b'\x0c' => {
                    self.append(&text[start..index]);
                    self.update_width();
                    start = index + 1;
                    let cells = self.terminate_cell(byte == b'\t');
                    if byte == b'\n' || byte == b'\x0c' {
                        self.lines.push(Vec::new());
                        if byte == b'\x0c' || cells == 1 {
                            self.flush(out);
                        }
                    }
                }
                ESCAPE => {
                    self.append(&text[start..index]);
                    self.update_width();
                    start = index;
                    self.escaped = true;
                }
                _ => {}
            }
        }
        self.append(&text[start..]);
    }

    /// Go's `Flush`: formats and writes everything buffered into `out`.
    pub(crate) fn flush(&mut self, out: &mut Vec<u8>) {
        if self.cell.size > 0 {
            if self.escaped {
                self.end_escape();
            }
            self.terminate_cell(false);
        }
        self.format(out);
        self.buf.clear();
        self.pos = 0;
        self.cell = Cell::default();
        self.escaped = false;
        self.lines.clear();
        self.lines.push(Vec::new());
        self.widths.clear();
    }

    /// Adds `text` to the current cell.
    fn append(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
        self.cell.size += text.len();
    }

    /// Counts the runes appended since the last count into the cell's width.
    fn update_width(&mut self) {
        let runes = rune_count(&self.buf[self.pos..]);
        self.cell.width = self
            .cell
            .width
            .saturating_add(isize::try_from(runes).unwrap_or(isize::MAX));
        self.pos = self.buf.len();
    }

    /// Ends an escaped segment; its two escape bytes have no width.
    fn end_escape(&mut self) {
        self.update_width();
        self.cell.width = self.cell.width.saturating_sub(2);
        self.pos = self.buf.len();
        self.escaped = false;
    }

    /// Ends the current cell; returns how many cells its line now has.
    fn terminate_cell(&mut self, htab: bool) -> usize {
        self.cell.htab = htab;
        let cell = std::mem::take(&mut self.cell);
        match self.lines.last_mut() {
            Some(line) => {
                line.push(cell);
                line.len()
            }
            None => {
                self.lines.push(vec![cell]);
                1
            }
        }
    }

    /// Go's `format`, on a stack of column blocks rather than by recursion: each frame is a
    /// run of lines that all have a cell in the frame's column (its depth).
    fn format(&mut self, out: &mut Vec<u8>) {
        /// Lines `line0..line1` with a cell in this column, `this` the next to look at.
        struct Block {
            line0: usize,
            line1: usize,
            this: usize,
        }
        let mut pos = 0;
        let mut stack = vec![Block {
            line0: 0,
            line1: self.lines.len(),
            this: 0,
        }];
        while let Some(block) = stack.last_mut() {
            let column = self.widths.len();
            while block.this < block.line1 && column + 1 >= self.lines[block.this].len() {
                block.this += 1;
            }
            if block.this >= block.line1 {
                let (line0, line1) = (block.line0, block.line1);
                pos = self.write_lines(pos, line0, line1, out);
                stack.pop();
                if let Some(parent) = stack.last_mut() {
                    self.widths.pop();
                    parent.line0 = line1;
                    parent.this = line1 + 1;
                }
                continue;
            }
            // A new block of this column starts: print the lines before it.
            let start = block.this;
            pos = self.write_lines(pos, block.line0, start, out);
            block.line0 = start;
            let mut end = start;
            let mut width = MIN_WIDTH;
            while end < block.line1 && column + 1 < self.lines[end].len() {
                width = width.max(self.lines[end][column].width.saturating_add(PADDING));
                end += 1;
            }
            let width = self.remember(width);
            self.widths.push(width);
            stack.push(Block {
                line0: start,
                line1: end,
                this: start,
            });
        }
    }

    /// `RememberWidths`: a column is never narrower than it was; returns the width to use.
    fn remember(&mut self, width: isize) -> isize {
        let column = self.widths.len();
        if self.max_widths.len() < column {
            let missing = self.widths[self.max_widths.len()..].to_vec();
            self.max_widths.extend(missing);
        }
        match self.max_widths.get_mut(column) {
            None => {
                self.max_widths.push(width);
                width
            }
            Some(max) if *max > width => *max,
            Some(max) => {
                *max = width;
                width
            }
        }
    }

    /// Go's `writeLines`: lines `line0..line1`, cells padded to the column widths; returns
    /// the position in `buf` after them.
    fn write_lines(&self, mut pos: usize, line0: usize, line1: usize, out: &mut Vec<u8>) -> usize {
        for (index, line) in self.lines.iter().enumerate().take(line1).skip(line0) {
            for (column, cell) in line.iter().enumerate() {
                if cell.size > 0 {
                    out.extend_from_slice(&self.buf[pos..pos + cell.size]);
                    pos += cell.size;
                }
                if let Some(width) = self.widths.get(column) {
                    let padding = usize::try_from(width.saturating_sub(cell.width)).unwrap_or(0);
                    out.resize(out.len() + padding, b' ');
                }
            }
            if index + 1 == self.lines.len() {
                // The last line has no line break: write what is left of the cell in progress.
                let rest = &self.buf[pos..(pos + self.cell.size).min(self.buf.len())];
                out.extend_from_slice(rest);
                pos += rest.len();
            } else {
                out.push(b'\n');
            }
        }
        pos
    }
}

/// Go's `utf8.RuneCount`: each invalid byte counts as one rune.
fn rune_count(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().count() + chunk.invalid().len())
        .sum()
}
