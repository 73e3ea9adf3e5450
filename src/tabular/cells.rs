//! A row's cells in one buffer. An export's row is a dozen or more short cells; a `String`
//! each meant fifteen allocations a row, freed on another thread than the one that made
//! them, which cost more CPU than reading the row (perf, a million-row import).

/// The cells of one row: their text back to back, and where each ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    text: String,
    ends: Vec<usize>,
}

impl Cells {
    /// The cells of a CSV record, copied once into buffers of their exact size; `None` if
    /// they are not UTF-8. Read as bytes and checked here once, with SIMD: `csv`'s own
    /// `StringRecord` checks with the standard library's scalar loop, which over Chinese
    /// text was a tenth of the reading thread (perf, a million-row import).
    pub fn from_record(record: &csv::ByteRecord) -> Option<Cells> {
        let text = simdutf8::basic::from_utf8(record.as_slice()).ok()?;
        let mut ends = Vec::with_capacity(record.len());
        let mut end = 0;
        for cell in record {
            end += cell.len();
            ends.push(end);
        }
        Some(Cells {
            text: text.to_owned(),
            ends,
        })
    }

    /// Every cell's text, back to back: to search all of a row at once.
    pub fn joined(&self) -> &str {
        &self.text
    }

    /// The `i`-th cell, if the row has one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| self.get(i).unwrap_or(""))
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Cells {
        let mut out = Cells::default();
        for cell in cells {
            out.text.push_str(cell.as_ref());
            out.ends.push(out.text.len());
        }
        out
    }
}

impl From<Vec<String>> for Cells {
    fn from(cells: Vec<String>) -> Cells {
        cells.into_iter().collect()
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Cells {
    fn eq(&self, other: &[S; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_empty_and_multibyte_cells_apart() {
        let record = csv::ByteRecord::from(vec!["", "统一社会信用代码", "", "a,b", ""]);
        let cells = Cells::from_record(&record).expect("UTF-8");
        assert_eq!(cells.len(), 5);
        assert_eq!(cells, ["", "统一社会信用代码", "", "a,b", ""]);
        assert_eq!(cells.get(1), Some("统一社会信用代码"));
        assert_eq!(cells.get(5), None);
        let same: Cells = vec![
            String::new(),
            "统一社会信用代码".into(),
            String::new(),
            "a,b".into(),
            String::new(),
        ]
        .into();
        assert_eq!(same, cells);
        assert_eq!(cells.joined(), "统一社会信用代码a,b");
        assert!(Cells::default().is_empty());
        // A cell cut inside a character is refused, not split.
        let cut = csv::ByteRecord::from(vec![&"统一".as_bytes()[..4], b""]);
        assert_eq!(Cells::from_record(&cut), None);
        assert_eq!(Cells::default().iter().count(), 0);
    }
}
