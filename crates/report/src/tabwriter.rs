//! Go's `text/tabwriter` for the settings pprof uses (minwidth 0, padding
//! `padding`, space padding, optional right alignment): cells are
//! tab-terminated, a line's last cell is not aligned, and a line without tabs
//! ends a block of aligned columns.

pub struct TabWriter {
    padding: usize,
    align_right: bool,
    buf: String,
}

impl TabWriter {
    pub fn new(padding: usize, align_right: bool) -> Self {
        TabWriter {
            padding,
            align_right,
            buf: String::new(),
        }
    }

    pub fn push_str(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    /// Lays out everything written so far.
    pub fn finish(self) -> String {
        let lines: Vec<Vec<&str>> = self
            .buf
            .split('\n')
            .map(|l| l.split('\t').collect())
            .collect();
        let mut out = String::with_capacity(self.buf.len() * 2);
        let mut start = 0;
        for i in 0..lines.len() {
            if lines[i].len() == 1 {
                let mut widths = Vec::new();
                self.format(&mut out, &lines, &mut widths, start, i + 1, lines.len());
                start = i + 1;
            }
        }
        if start < lines.len() {
            let mut widths = Vec::new();
            self.format(
                &mut out,
                &lines,
                &mut widths,
                start,
                lines.len(),
                lines.len(),
            );
        }
        out
    }

    fn format(
        &self,
        out: &mut String,
        lines: &[Vec<&str>],
        widths: &mut Vec<usize>,
        mut line0: usize,
        line1: usize,
        total: usize,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(out, lines, widths, line0, this, total);
            line0 = this;
            let mut width = 0;
            while this < line1 {
                let line = &lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].chars().count() + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(out, lines, widths, line0, this, total);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, lines, widths, line0, line1, total);
    }

    fn write_lines(
        &self,
        out: &mut String,
        lines: &[Vec<&str>],
        widths: &[usize],
        line0: usize,
        line1: usize,
        total: usize,
    ) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            for (j, cell) in line.iter().enumerate() {
                if j < widths.len() {
                    let pad = widths[j].saturating_sub(cell.chars().count());
                    if self.align_right {
                        out.extend(std::iter::repeat_n(' ', pad));
                        out.push_str(cell);
                    } else {
                        out.push_str(cell);
                        out.extend(std::iter::repeat_n(' ', pad));
                    }
                } else {
                    out.push_str(cell);
                }
            }
            if i + 1 < total {
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_aligned_blocks() {
        let mut t = TabWriter::new(1, true);
        t.push_str(
            "key:\t Total 10 of 10 (100%)\n \t5 (50.00%):\t a\n \t10000 (5%):\t bb\n\nk2:\t x\n",
        );
        assert_eq!(
            t.finish(),
            " key: Total 10 of 10 (100%)\n      5 (50.00%): a\n      10000 (5%): bb\n\n k2: x\n"
        );
    }
}
