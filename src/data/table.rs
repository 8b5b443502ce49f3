//! Reading a table file into records: header, filters, derived columns. The file is read as
//! a stream, and reading stops once a `max_rows` limit is reached. Every error names the
//! file and, for a row, its line. Each kept value takes four bytes ([`Column`]), so a table
//! in memory is smaller than its file.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use csv::StringRecord;
use indexmap::IndexSet;

use super::encode::is_missing;
use super::spec::{Comparison, Filter, Header, TableSpec};

/// The rows of one file that passed the filters, with derived columns appended, column by
/// column.
pub struct Table {
    pub path: PathBuf,
    pub names: Vec<String>,
    /// One per name; `None` for a column nothing reads (dropped, or not among `features`).
    columns: Vec<Option<Column>>,
    /// Each row's line in the file (1-based), for error messages.
    pub lines: Vec<u64>,
    /// Records in the file, before filtering.
    pub records: usize,
    /// Blocks of rows given back ([`release`](Self::release)).
    released: usize,
}

/// A value as the table holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Empty, or one of `missing.tokens`.
    Missing,
    /// A finite number, in a column that keeps numbers as numbers.
    Number(f32),
    Text(&'a str),
}

impl<'a> Value<'a> {
    /// The value as a finite number, when it is one (in a column kept as text too).
    pub fn number(self) -> Option<f32> {
        match self {
            Value::Number(number) => Some(number),
            Value::Text(text) => text.parse::<f32>().ok().filter(|n| n.is_finite()),
            Value::Missing => None,
        }
    }

    /// The value as text (a number as its shortest form); `None` when missing.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::Missing => None,
            Value::Number(number) => Some(Cow::Owned(number.to_string())),
            Value::Text(text) => Some(Cow::Borrowed(text)),
        }
    }
}

/// One column's values, four bytes each: a finite number as its `f32` bits, anything else a
/// NaN whose low bits index the column's distinct texts (a million rows of fifty numbers take
/// 200 MB, against 1.6 GB as records of text). The label, the sensitive columns and those
/// listed `categorical` keep every value as text, since their values are compared as
/// written (`yes`, `1.0`). (A column found to be categorical only once read, mostly words,
/// gives its few numbers back in their shortest form, `1.50` as `1.5`, in training and in
/// `predict` alike.)
struct Column {
    /// `BLOCK` rows a block, so that rows already encoded can be given back ([`Table::release`]).
    cells: Vec<Vec<u32>>,
    texts: IndexSet<Box<str>>,
    /// Every value kept as text.
    exact: bool,
}

/// A quiet NaN: no number parsed as finite has these bits. Its low 22 bits hold a text's
/// index plus one; 0 is a missing value.
const TEXT: u32 = 0x7FC0_0000;
/// Rows per block of cells.
const BLOCK: usize = 1 << 16;
const MAX_TEXTS: usize = (1 << 22) - 1;

impl Column {
    fn new(exact: bool) -> Self {
        Self {
            cells: Vec::new(),
            texts: IndexSet::new(),
            exact,
        }
    }

    fn push(&mut self, value: &str, missing: bool) -> Result<(), String> {
        let cell = if missing {
            TEXT
        } else if let Some(number) = (!self.exact)
            .then(|| value.parse::<f32>().ok())
            .flatten()
            .filter(|n| n.is_finite())
        {
            number.to_bits()
        } else {
            let index = match self.texts.get_index_of(value) {
                Some(index) => index,
                None if self.texts.len() >= MAX_TEXTS => {
                    return Err(format!(
                        "more than {MAX_TEXTS} distinct values that are not numbers; drop the \
                         column (dataset.drop) if it is an identifier"
                    ));
                }
                None => self.texts.insert_full(value.into()).0,
            };
            TEXT | (index as u32 + 1)
        };
        self.push_cell(cell);
        Ok(())
    }

    fn push_number(&mut self, number: f32) {
        debug_assert!(number.is_finite() && !self.exact);
        self.push_cell(number.to_bits());
    }

    fn push_cell(&mut self, cell: u32) {
        match self.cells.last_mut() {
            Some(block) if block.len() < BLOCK => block.push(cell),
            _ => {
                let mut block = Vec::with_capacity(BLOCK);
                block.push(cell);
                self.cells.push(block);
            }
        }
    }

    fn value(&self, row: usize) -> Value<'_> {
        let cell = self.cells[row / BLOCK][row % BLOCK];
        match cell {
            TEXT => Value::Missing,
            _ if f32::from_bits(cell).is_nan() => {
                Value::Text(&self.texts[(cell & !TEXT) as usize - 1])
            }
            _ => Value::Number(f32::from_bits(cell)),
        }
    }
}

impl Table {
    /// An empty table of columns `names`, all kept; `exact` says which keep values as text.
    pub fn new(path: PathBuf, names: Vec<String>, exact: impl Fn(&str) -> bool) -> Self {
        let columns = names.iter().map(|n| Some(Column::new(exact(n)))).collect();
        Self {
            path,
            names,
            columns,
            lines: Vec::new(),
            records: 0,
            released: 0,
        }
    }

    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// The value in `row` of `column`, a column the table keeps.
    pub fn value(&self, row: usize, column: usize) -> Value<'_> {
        self.kept(column).value(row)
    }

    /// The distinct texts of `column` (every value but missing ones when it is exact).
    pub fn texts(&self, column: usize) -> impl Iterator<Item = &str> {
        self.kept(column).texts.iter().map(|text| &**text)
    }

    /// Give back the memory of the rows before `row`, whose values will not be read again
    /// (encoded into splits); a value there can no longer be read.
    pub fn release(&mut self, row: usize) {
        let before = row / BLOCK;
        if before <= self.released {
            return; // Called for every row: only a new block boundary has work.
        }
        for column in self.columns.iter_mut().flatten() {
            let end = before.min(column.cells.len());
            for block in column.cells.iter_mut().take(end).skip(self.released) {
                *block = Vec::new();
            }
        }
        self.released = before;
    }

    /// Every kept value of `row`, in column order.
    #[cfg(test)]
    pub fn row(&self, row: usize) -> Vec<Value<'_>> {
        (self.columns.iter().flatten())
            .map(|c| c.value(row))
            .collect()
    }

    fn kept(&self, column: usize) -> &Column {
        self.columns[column]
            .as_ref()
            .unwrap_or_else(|| panic!("column {} is not kept", self.names[column]))
    }

    /// Append a number to `column` of a row being made (data made in code).
    pub fn push_number(&mut self, column: usize, number: f32) {
        self.columns[column]
            .as_mut()
            .expect("kept")
            .push_number(number);
    }

    /// Append a text to `column` of a row being made (data made in code).
    pub fn push_text(&mut self, column: usize, text: &str) {
        let column = self.columns[column].as_mut().expect("kept");
        column.push(text, false).expect("few texts");
    }

    /// End a row made with the `push_` calls, found on `line`.
    pub fn end_row(&mut self, line: u64) {
        self.lines.push(line);
        self.records += 1;
    }

    /// The position of `column`, or an error naming the key that asked for it.
    pub fn column(&self, column: &str, key: &str) -> Result<usize> {
        find_column(&self.names, column, key, &self.path)
    }

    /// `file:line` of row `row`, for messages.
    pub fn at(&self, row: usize) -> String {
        format!("{}:{}", self.path.display(), self.lines[row])
    }
}

/// Whether the table keeps `name`, and as text: the label and sensitive columns (as text),
/// and the columns that can become features (as text when listed `categorical`).
fn kept_as(spec: &TableSpec, name: &str) -> Option<bool> {
    let compared = name == spec.label.column()
        || (spec.sensitive.attributes().iter()).any(|(column, _)| *column == name);
    let feature = !spec.drop.iter().any(|d| d == name)
        && (spec.features.as_ref()).is_none_or(|listed| listed.iter().any(|f| f == name));
    match (compared, feature) {
        (true, _) => Some(true),
        (false, true) => Some(spec.categorical.iter().any(|c| c == name)),
        (false, false) => None,
    }
}

/// Stop reading once `rows` rows that `usable` accepts (given the columns' names) are in.
pub struct Limit<'a> {
    pub rows: usize,
    pub usable: &'a mut dyn FnMut(&[String], &StringRecord) -> bool,
}

/// Read `input` as `spec` describes; `path` names it in messages.
pub fn read(
    path: &Path,
    input: &mut dyn Read,
    spec: &TableSpec,
    mut limit: Option<Limit>,
) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(spec.comment)
        .from_reader(LineBreaks::new(input));
    let mut record = StringRecord::new();
    let mut first = StringRecord::new();
    let has_first = reader
        .read_record(&mut first)
        .with_context(|| format!("{}: cannot read as CSV", path.display()))?;
    if !has_first {
        bail!("{}: the file is empty", path.display());
    }
    if spec.delimiter != b' ' && is_padded(&first) {
        first.trim();
    }

    let is_header = match spec.header {
        Header::Present => true,
        Header::Absent => false,
        Header::Auto => first.iter().all(|field| field.parse::<f64>().is_err()),
    };
    let mut names: Vec<String> = match (&spec.columns, is_header) {
        (Some(columns), _) => columns.clone(),
        (None, true) => first.iter().map(str::to_string).collect(),
        (None, false) => bail!(
            "{}: the first line is not a header, so name the columns: dataset.columns: [a, b, ...]",
            path.display()
        ),
    };
    // A delimiter ending every line (`a,b,` … `1,2,`) makes no column of its own.
    let trailing =
        spec.columns.is_none() && names.len() > 1 && names.last().is_some_and(String::is_empty);
    if trailing {
        names.pop();
    }
    rename_duplicates(&mut names);
    let width = names.len();

    let filters: Vec<(usize, &Filter)> = spec
        .filters
        .iter()
        .map(|filter| Ok((find_column(&names, &filter.column, "filter", path)?, filter)))
        .collect::<Result<_>>()?;
    let derived: Vec<Vec<usize>> = spec
        .derived
        .iter()
        .map(|d| {
            d.argmax_of
                .iter()
                .map(|c| find_column(&names, c, &format!("derive.{}", d.name), path))
                .collect()
        })
        .collect::<Result<_>>()?;

    let mut all_names = names.clone();
    all_names.extend(spec.derived.iter().map(|d| d.name.clone()));
    let mut table = Table {
        path: path.to_path_buf(),
        columns: (all_names.iter())
            .map(|name| kept_as(spec, name).map(Column::new))
            .collect(),
        names: Vec::new(),
        lines: Vec::new(),
        records: 0,
        released: 0,
    };
    let mut pending = (!is_header).then_some(first);
    let mut usable = 0;
    loop {
        if limit.as_ref().is_some_and(|limit| usable >= limit.rows) {
            break;
        }
        match pending.take() {
            Some(first) => record = first,
            None => {
                let more = reader
                    .read_record(&mut record)
                    .with_context(|| format!("{}: cannot read as CSV", path.display()))?;
                if !more {
                    break;
                }
            }
        }
        let line = reader
            .get_mut()
            .line_at(record.position().map_or(0, |p| p.byte()));
        // Padded fields (Adult's `, `) are trimmed wherever they are in the file, by one rule;
        // looking first costs far less than trimming every record.
        if spec.delimiter != b' ' && is_padded(&record) {
            record.trim();
        }
        if record.len() == 1 && record[0].is_empty() {
            continue; // A blank line.
        }
        table.records += 1;
        if trailing && record.len() == width + 1 && record[width].is_empty() {
            record.truncate(width);
        }
        if record.len() != width {
            bail!(
                "{}:{line}: expected {width} fields separated by {:?}, found {}",
                path.display(),
                spec.delimiter as char,
                record.len()
            );
        }
        let mut keep = true;
        for (column, filter) in &filters {
            keep = passes(&record[*column], filter).map_err(|e| {
                anyhow!(
                    "{}:{line}: column {}: {e} (dataset.filter)",
                    path.display(),
                    filter.column
                )
            })?;
            if !keep {
                break;
            }
        }
        if !keep {
            continue;
        }
        for (rule, columns) in spec.derived.iter().zip(&derived) {
            let index = argmax(&record, columns).map_err(|(column, value)| {
                anyhow!(
                    "{}:{line}: column {}: expected a number for dataset.derive.{}, found {value:?}",
                    path.display(),
                    names[column],
                    rule.name
                )
            })?;
            record.push_field(&index.to_string());
        }
        if let Some(limit) = &mut limit {
            usable += usize::from((limit.usable)(&all_names, &record));
        }
        for (c, column) in table.columns.iter_mut().enumerate() {
            if let Some(column) = column {
                let value = &record[c];
                column.push(value, is_missing(spec, value)).map_err(|e| {
                    anyhow!("{}:{line}: column {}: {e}", path.display(), all_names[c])
                })?;
            }
        }
        table.lines.push(line);
    }
    table.names = all_names;
    Ok(table)
}

/// The reader under the csv reader: it notes where the line breaks are, so a record's line is
/// the one an editor shows (the csv crate's count skips blank lines ending in `\r\n`).
struct LineBreaks<R> {
    inner: R,
    offset: u64,
    /// Offsets of the `\r` and `\n` bytes not yet passed (`true` for `\n`).
    breaks: VecDeque<(u64, bool)>,
    /// `\n` bytes passed.
    lines: u64,
}

impl<R: Read> LineBreaks<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            lines: 0,
        }
    }

    /// The line (from 1) of the record whose position is `byte`: the csv crate puts it at
    /// the line break before the record when that ended in `\r\n`, so breaks there are passed.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = byte;
        while let Some(&(at, newline)) = self.breaks.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            self.lines += u64::from(newline);
            self.breaks.pop_front();
        }
        self.lines + 1
    }
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn is_padded(record: &StringRecord) -> bool {
    record
        .iter()
        .any(|field| field.starts_with(char::is_whitespace) || field.ends_with(char::is_whitespace))
}

/// A second `x` becomes `x.1`, a third `x.2` (as pandas does), so every name is unique.
/// Linear in the names: each base name remembers the next suffix to try (20,000 empty header
/// cells took 15 s when every search started again from `.1`). Returns the suffixes tried.
fn rename_duplicates(names: &mut [String]) -> usize {
    let mut taken: std::collections::HashSet<String> = names.iter().cloned().collect();
    let mut seen = std::collections::HashSet::new();
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut tried = 0;
    for name in names.iter_mut() {
        if seen.insert(name.clone()) {
            continue;
        }
        // The first suffix free among every name of the file (`x,x,x.1` → `x,x.2,x.1`).
        let n = next.entry(name.clone()).or_insert(1);
        let free = loop {
            let candidate = format!("{name}.{n}");
            *n += 1;
            tried += 1;
            if !taken.contains(&candidate) {
                break candidate;
            }
        };
        taken.insert(free.clone());
        seen.insert(free.clone());
        *name = free;
    }
    tried
}

/// The position of `column` among `names`, or an error naming the key that asked for it
/// and the closest name.
pub fn find_column(names: &[String], column: &str, key: &str, path: &Path) -> Result<usize> {
    if let Some(index) = names.iter().position(|name| name == column) {
        return Ok(index);
    }
    let hint = crate::spelling::closest(column, names)
        .map_or(String::new(), |name| format!("; did you mean {name:?}?"));
    bail!(
        "dataset.{key}: no column {column:?} in {}{hint} (its columns: {})",
        path.display(),
        names.join(", ")
    )
}

/// Two values are equal as numbers when both are numbers, else as text.
/// `value` as a number, unless it is not one or not finite (`inf`, `NaN`, `1e400`).
pub(super) fn finite(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn same_value(field: &str, value: &str) -> bool {
    match (field.parse::<f64>(), value.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => field == value,
    }
}

/// Whether `field` passes `filter`. An empty field fails an ordering comparison (as a
/// missing value does in pandas); other text there is an error.
fn passes(field: &str, filter: &Filter) -> Result<bool, String> {
    if !filter.comparison.is_ordering() {
        let equal = same_value(field, &filter.value);
        return Ok(equal == (filter.comparison == Comparison::Equal));
    }
    if field.is_empty() {
        return Ok(false);
    }
    let number: f64 = field
        .parse()
        .map_err(|_| format!("expected a number to compare, found {field:?}"))?;
    let bound: f64 = filter
        .value
        .parse()
        .expect("checked when the filter was read");
    Ok(match filter.comparison {
        Comparison::Less => number < bound,
        Comparison::LessOrEqual => number <= bound,
        Comparison::Greater => number > bound,
        _ => number >= bound,
    })
}

/// The position among `columns` of the largest value (the first on ties).
fn argmax(record: &StringRecord, columns: &[usize]) -> Result<usize, (usize, String)> {
    let mut best = (0, f64::NEG_INFINITY);
    for (position, &column) in columns.iter().enumerate() {
        let value: f64 = record[column]
            .parse()
            .map_err(|_| (column, record[column].to_string()))?;
        if value > best.1 {
            best = (position, value);
        }
    }
    Ok(best.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_get_suffixes() {
        let mut names: Vec<String> = ["a", "b", "a", "a"].map(String::from).to_vec();
        rename_duplicates(&mut names);
        assert_eq!(names, ["a", "b", "a.1", "a.2"]);
    }

    /// Issue 29, item 8: many empty header cells are named in linear time (100,000 of them
    /// took minutes: each search started again from `.1`, n²/2 suffixes tried).
    #[test]
    fn many_duplicates_are_renamed_in_linear_time() {
        let mut names = vec![String::new(); 20_000];
        names.push(".3".into()); // a name the file has is skipped, not reused
        let tried = rename_duplicates(&mut names);
        assert_eq!((names[1].as_str(), names[3].as_str()), (".1", ".4"));
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert_eq!(
            tried, 20_000,
            "one suffix tried per duplicate, and one skipped"
        );
    }

    #[test]
    fn a_suffix_never_takes_a_name_the_file_has() {
        let mut names: Vec<String> = ["x", "x", "x.1"].map(String::from).to_vec();
        rename_duplicates(&mut names);
        assert_eq!(names, ["x", "x.2", "x.1"]);
    }

    #[test]
    fn filters_compare_numbers_as_numbers() {
        let filter = |text: &str| Filter {
            column: "x".into(),
            comparison: Comparison::SYMBOLS
                .iter()
                .find(|(s, _)| text.starts_with(s))
                .unwrap()
                .1,
            value: text.trim_start_matches(['<', '>', '=', '!']).into(),
        };
        assert_eq!(passes("-1.0", &filter("!=-1")), Ok(false));
        assert_eq!(passes("O", &filter("!=O")), Ok(false));
        assert_eq!(passes("F", &filter("!=O")), Ok(true));
        assert_eq!(passes("30", &filter("<=30")), Ok(true));
        assert_eq!(passes("31", &filter("<=30")), Ok(false));
        assert_eq!(passes("", &filter(">=-30")), Ok(false));
        assert!(passes("soon", &filter(">=-30")).is_err());
    }
}
