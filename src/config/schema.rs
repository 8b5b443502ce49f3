//! Checking the experiment file's keys before its values: which keys a section knows (read
//! from the serde structs themselves, so the lists cannot drift), a "did you mean" for the
//! others, a plain message for a value of the wrong type, and the line each key is on.

use std::collections::HashMap;

use serde::de::{self, DeserializeOwned, Visitor};
use serde_norway::{Mapping, Value};

use crate::train::knob::Knob;

/// The field names the serde struct `T` accepts, asked of its `Deserialize` impl.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut probe = FieldProbe(&[]);
    let _ = T::deserialize(&mut probe);
    probe.0
}

/// A deserializer that only records the fields a struct asks for, then stops.
struct FieldProbe(&'static [&'static str]);

impl<'de> de::Deserializer<'de> for &mut FieldProbe {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only struct fields are probed"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// `train.lr_fiar: unknown key; did you mean lr_fair? (train keys: …)`
pub fn unknown_key(section: &str, key: &str, known: &[&str]) -> String {
    let path = if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    };
    if key == "<<" {
        return format!(
            "{path}: YAML merge keys (`<<: *anchor`) are not read; write the keys out (an alias \
             of a whole value, `key: *anchor`, is read)"
        );
    }
    let hint = crate::spelling::closest(key, known)
        .map_or(String::new(), |k| format!("; did you mean {k}?"));
    let listed = if section.is_empty() {
        "top-level"
    } else {
        section
    };
    format!(
        "{path}: unknown key{hint} ({listed} keys: {})",
        known.join(", ")
    )
}

/// Check the keys of the mapping `section` against the struct `T`: unknown keys and values of
/// the wrong type become problems and are taken out, so that what is left deserializes and
/// the remaining checks still run. `T` must accept a mapping with any one of its keys alone.
pub fn check_section<T: DeserializeOwned>(
    name: &str,
    section: &mut Mapping,
    problems: &mut Vec<String>,
) {
    check_section_and::<T>(name, section, problems, &[]);
}

/// [`check_section`] for a section whose keys are `T`'s and the settings `knobs` declare,
/// each of those checked by its declaration (`train:`: the methods' own settings).
pub fn check_section_and<T: DeserializeOwned>(
    name: &str,
    section: &mut Mapping,
    problems: &mut Vec<String>,
    knobs: &[&Knob],
) {
    let known: Vec<&str> = (fields_of::<T>().iter().copied())
        .chain(knobs.iter().map(|k| k.name))
        .collect();
    let path = |key: &str| match name {
        "" => key.to_string(),
        _ => format!("{name}.{key}"),
    };
    section.retain(|key, value| {
        let Some(key) = key.as_str() else {
            problems.push(format!("{name}: keys are names, found {key:?}"));
            return false;
        };
        if !known.contains(&key) {
            problems.push(unknown_key(name, key, &known));
            return false;
        }
        let checked = match knobs.iter().find(|k| k.name == key) {
            Some(knob) => knob.read(value).map(|_| ()),
            None => {
                let alone: Mapping = [(Value::from(key), value.clone())].into_iter().collect();
                T::deserialize(Value::Mapping(alone))
                    .map(|_| ())
                    .map_err(|e| plain(&e.to_string()))
            }
        };
        match checked {
            Ok(()) => true,
            Err(e) => {
                problems.push(format!("{}: {e}", path(key)));
                false
            }
        }
    });
}

/// serde's type names in words a user of the file knows.
pub fn plain(message: &str) -> String {
    // `expected struct RawTrain` → `expected a mapping of keys`
    let message = match message.split_once("expected struct ") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map_or("", |(_, rest)| rest);
            format!("{head}expected a mapping of keys {rest}")
                .trim_end()
                .to_string()
        }
        None => message.to_string(),
    };
    [
        ("expected usize", "expected a whole number ≥ 0"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected u16", "expected a whole number ≥ 0"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected text"),
    ]
    .iter()
    .fold(message, |text, (from, to)| text.replace(from, to))
}

/// The line of each key of a YAML document, by dotted path (`train.eta`). Read from the text
/// itself: exact for block mappings, and for keys of a one-line flow mapping (`{a: 1}`);
/// other keys are placed at their nearest enclosing key.
pub struct KeyLines(HashMap<String, usize>);

impl KeyLines {
    pub fn of(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut open: Vec<(usize, String)> = Vec::new(); // (indent, key) of enclosing keys
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
            let content = without_comment(line);
            let trimmed = content.trim_start();
            if trimmed.is_empty() || trimmed.starts_with("---") {
                continue;
            }
            // A list item's mapping keys sit at the column after "- ".
            let mut indent = content.len() - trimmed.len();
            let mut rest = trimmed;
            while let Some(item) = rest.strip_prefix("- ") {
                indent += 2;
                rest = item.trim_start();
            }
            let Some((key, value)) = block_key(rest) else {
                continue;
            };
            open.retain(|(open_indent, _)| *open_indent < indent);
            let mut path: Vec<String> = open.iter().map(|(_, k)| k.clone()).collect();
            path.push(key.to_string());
            lines.entry(path.join(".")).or_insert(number);
            flow_keys(value, &path, number, &mut lines);
            open.push((indent, key.to_string()));
        }
        Self(lines)
    }

    /// The line of `path`, or of its nearest enclosing key that has one.
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.0.get(path) {
                return Some(*line);
            }
            path = &path[..path.rfind('.')?];
        }
    }

    /// `line 7: train.eta: …` when the problem starts with a key path this file has; the
    /// line too, to sort by.
    pub fn locate(&self, problem: &str) -> (Option<usize>, String) {
        let path = problem
            .split_once(": ")
            .map(|(head, _)| head)
            .filter(|head| head.chars().all(|c| is_key_char(c) || c == '.'));
        match path.and_then(|path| self.line(path)) {
            Some(line) => (Some(line), format!("line {line}: {problem}")),
            None => (None, problem.to_string()),
        }
    }
}

fn is_key_char(c: char) -> bool {
    // `<` for the YAML merge key `<<`, so that its refusal has a line.
    c.is_alphanumeric() || "_-<".contains(c)
}

/// The line without a trailing `# comment` (a `#` that starts the line or follows a space,
/// outside quotes).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    line
}

/// `key: value` → (key, value) when the line starts with a plain key.
fn block_key(text: &str) -> Option<(&str, &str)> {
    let end = text.find(|c: char| !is_key_char(c) && c != '.')?;
    let (key, rest) = text.split_at(end);
    let value = rest.strip_prefix(':')?;
    (!key.is_empty() && (value.is_empty() || value.starts_with(' '))).then_some((key, value))
}

/// Keys of flow mappings (`{name: adult, sensitive: sex}`) on one line, nested by braces.
fn flow_keys(text: &str, base: &[String], line: usize, lines: &mut HashMap<String, usize>) {
    let mut path = base.to_vec();
    let mut opened: Vec<usize> = Vec::new(); // path length at each open brace or bracket
    let mut last_key: Option<String> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if is_key_char(c) {
            let end = rest.find(|c: char| !is_key_char(c)).unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            if after.trim_start().starts_with(':') && !opened.is_empty() {
                let mut key_path = path.clone();
                key_path.push(word.to_string());
                lines.entry(key_path.join(".")).or_insert(line);
                last_key = Some(word.to_string());
            }
            rest = after;
            continue;
        }
        match c {
            '{' | '[' => {
                opened.push(path.len());
                if let Some(key) = last_key.take() {
                    path.push(key);
                }
            }
            '}' | ']' => {
                path.truncate(opened.pop().unwrap_or(base.len()));
                last_key = None;
            }
            ',' => last_key = None,
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Example {
        epochs: Option<usize>,
        lr_fair: Option<f64>,
    }

    #[test]
    fn fields_are_read_from_the_struct() {
        assert_eq!(fields_of::<Example>(), ["epochs", "lr_fair"]);
    }

    #[test]
    fn a_typo_gets_the_closest_key_and_a_wrong_type_a_plain_message() {
        let mut section: Mapping =
            serde_norway::from_str("{lr_fiar: 1, epochs: -5, colour: red}").unwrap();
        let mut problems = Vec::new();
        check_section::<Example>("train", &mut section, &mut problems);
        assert_eq!(
            problems,
            [
                "train.lr_fiar: unknown key; did you mean lr_fair? (train keys: epochs, lr_fair)",
                "train.epochs: invalid value: integer `-5`, expected a whole number ≥ 0",
                "train.colour: unknown key (train keys: epochs, lr_fair)",
            ]
        );
        assert!(section.is_empty());
    }

    #[test]
    fn key_lines_follow_blocks_lists_and_flow_mappings() {
        let text = "\
name: x            # a comment: not a key
dataset: {name: adult, sensitive: {column: sex}}
train:
  epochs: 2
  lr_schedule:
    exponential: {every: 5}
sweep:
  zip:
    - lr_acc: [1, 2]
      lr_fair: [3, 4]
  methods:
    erm: {eta: [1]}
";
        let lines = KeyLines::of(text);
        for (path, line) in [
            ("name", 1),
            ("dataset.name", 2),
            ("dataset.sensitive.column", 2),
            ("train.epochs", 4),
            ("train.lr_schedule.exponential.every", 6),
            ("sweep.zip.lr_acc", 9),
            ("sweep.zip.lr_fair", 10),
            ("sweep.methods.erm.eta", 12),
            ("train.eta", 3), // not in the file: its section's line
        ] {
            assert_eq!(lines.line(path), Some(line), "{path}");
        }
        assert_eq!(lines.line("seeds"), None);
        assert_eq!(
            lines.locate("train.epochs: expected at least 1").1,
            "line 4: train.epochs: expected at least 1"
        );
        assert_eq!(lines.locate("no path here"), (None, "no path here".into()));
    }
}
