//! A method's settings, declared once beside its rule (in its file under `methods/`): name,
//! type and bounds, default, how it enters the trial id, and one line of help. Config reads and
//! checks them from `train:` by these declarations, the CSVs get a column for each, trial ids
//! and the plan's lines include them only for the methods that read them. A method's rule reads
//! the values from [`Knobs`], which holds the settings of the trial's method and no others.

use serde_norway::Value as Yaml;

/// An enum whose variants a [`Kind::Choice`] setting names: `ALL`, `NAMES` (for the
/// declaration), `as_str` and `parse`, from one list of `Variant => "name"`.
macro_rules! choice_names {
    ($type:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            pub const ALL: &[Self] = &[$(Self::$variant),+];
            pub const NAMES: &[&str] = &[$($name),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// The choice `name` spells: its own name or another spelling (`knob::canonical`).
            pub fn parse(name: &str) -> Option<Self> {
                let name = $crate::train::knob::canonical(name, Self::NAMES);
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }
    };
}
pub(crate) use choice_names;

/// A setting's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Number(f64),
    Count(usize),
    /// One of [`Kind::Choice`]'s names.
    Choice(&'static str),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(x) => write!(f, "{x}"),
            Self::Count(n) => write!(f, "{n}"),
            Self::Choice(name) => f.write_str(name),
        }
    }
}

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A finite number within `low..=high`, `low` itself excluded when `low_open` (and `high`
    /// when `high_open`); `what` says it in the error ("a positive learning rate").
    Number {
        low: f64,
        low_open: bool,
        high: f64,
        high_open: bool,
        what: &'static str,
    },
    /// A whole number in `low..=high`.
    Count { low: usize, high: usize },
    /// One of these names.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// A positive learning rate.
    pub const RATE: Kind = Kind::Number {
        low: 0.0,
        low_open: true,
        high: f64::INFINITY,
        high_open: true,
        what: "a positive learning rate",
    };

    /// A weight ≥ 0.
    pub const fn at_least_zero(what: &'static str) -> Kind {
        Kind::Number {
            low: 0.0,
            low_open: false,
            high: f64::INFINITY,
            high_open: true,
            what,
        }
    }
}

/// A setting's value when the experiment file does not give one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    Value(Value),
    /// The value of another `train:` setting (`lr_adv` is `lr_acc` unless set).
    SameAs(&'static str),
}

/// How a setting enters the trial id (`plan::canonical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InId {
    /// In the first release's fixed text, written out by `plan::canonical` for every trial
    /// (a neutral value for methods that do not read it), so that those ids never move.
    Template,
    /// ` name=value`, after the template, for the methods that read it, in their order.
    WhenRead,
}

/// A method's setting, as its file declares it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knob {
    /// `train.<name>` in experiment files, the CSV column and the key in the trial id.
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    pub id: InId,
    /// One line: what it does.
    pub about: &'static str,
}

impl Knob {
    /// The value `value` of the experiment file stands for, or what is wrong with it, in
    /// words that follow `train.<name>: `.
    pub fn read(&self, value: &Yaml) -> Result<Value, String> {
        match self.kind {
            Kind::Number {
                low,
                low_open,
                high,
                high_open,
                what,
            } => {
                let Some(x) = value.as_f64() else {
                    return Err(format!("expected a number, found {}", shown(value)));
                };
                let above = if low_open { x > low } else { x >= low };
                let below = if high_open { x < high } else { x <= high };
                match x.is_finite() && above && below {
                    // `+ 0.0` makes −0 the 0 it equals, so `eta: -0` is the trial `eta: 0` is.
                    true => Ok(Value::Number(x + 0.0)),
                    false => Err(format!("expected {what}, found {x}")),
                }
            }
            Kind::Count { low, high } => {
                let Some(n) = value.as_u64() else {
                    return Err(format!(
                        "expected a whole number ≥ 0, found {}",
                        shown(value)
                    ));
                };
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n < low {
                    Err(format!("expected at least {low}"))
                } else if n > high {
                    Err(format!("expected at most {high}, found {n}"))
                } else {
                    Ok(Value::Count(n))
                }
            }
            Kind::Choice(names) => {
                let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                let name = value.as_str().map(|s| canonical(s, names));
                match name.and_then(|s| names.iter().find(|n| **n == s)) {
                    Some(name) => Ok(Value::Choice(name)),
                    None => {
                        let aliases: Vec<String> = (ALIASES.iter())
                            .filter(|(alias, choice)| {
                                names.contains(choice) && !names.contains(alias)
                            })
                            .map(|(alias, _)| format!("`{alias}`"))
                            .collect();
                        let also = match aliases.is_empty() {
                            true => String::new(),
                            false => format!(" (other spellings read: {})", aliases.join(", ")),
                        };
                        Err(format!(
                            "unknown variant {}, expected one of {}{also}",
                            shown(value),
                            listed.join(", ")
                        ))
                    }
                }
            }
        }
    }
}

/// fairlearn's names (and the other settings' spellings) of the fairness notions, read as
/// the choice a setting names it by: `constraint: equalized_odds` is `eo`, `fairness_loss:
/// true_positive_rate_parity` is `equal-opportunity`. The choice's own name is what trials
/// record, so their ids do not depend on the spelling.
const ALIASES: &[(&str, &str)] = &[
    ("demographic_parity", "dp"),
    ("equalized_odds", "eo"),
    ("equalized-odds", "eo"),
    ("true_positive_rate_parity", "equal-opportunity"),
    ("equal-opportunity", "true_positive_rate_parity"),
    ("equal_opportunity", "true_positive_rate_parity"),
    ("equal_opportunity", "equal-opportunity"),
];

/// The name among `names` that `name` spells: itself, or the choice an alias stands for.
pub fn canonical<'a>(name: &'a str, names: &[&'a str]) -> &'a str {
    (ALIASES.iter())
        .find(|&&(alias, choice)| alias == name && names.contains(&choice))
        .map_or(name, |&(_, choice)| choice)
}

/// A YAML value as a message shows it.
fn shown(value: &Yaml) -> String {
    match value {
        Yaml::String(text) => format!("`{text}`"),
        other => serde_norway::to_string(other)
            .map_or_else(|_| format!("{other:?}"), |text| text.trim().to_string()),
    }
}

/// The most settings one method reads.
const MOST: usize = 16;

/// The values of a trial's method's settings, in the method's order; the settings it does
/// not read are absent.
#[derive(Debug, Clone, Copy, PartialEq, std::default::Default)]
pub struct Knobs {
    set: [Option<(&'static Knob, Value)>; MOST],
}

impl Knobs {
    /// The values of `knobs`: the experiment file's where it gives one (`given`), else each
    /// one's default, `same_as` giving the value of the setting a default names.
    pub fn of(
        knobs: impl Iterator<Item = &'static Knob>,
        given: impl Fn(&Knob) -> Option<Value>,
        same_as: impl Fn(&str) -> Value,
    ) -> Self {
        let mut set = Self::default();
        for knob in knobs {
            let value = given(knob).unwrap_or(match knob.default {
                Default::Value(value) => value,
                Default::SameAs(other) => same_as(other),
            });
            set.set(knob, value);
        }
        set
    }

    /// The value of the setting `name`, if the method reads it.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Value::Number(x) => Some(x),
            other => panic!("{name} is a number, not {other:?} (its declarations disagree)"),
        }
    }

    pub fn count(&self, name: &str) -> Option<usize> {
        match self.get(name)? {
            Value::Count(n) => Some(n),
            other => panic!("{name} is a count, not {other:?} (its declarations disagree)"),
        }
    }

    pub fn choice(&self, name: &str) -> Option<&'static str> {
        match self.get(name)? {
            Value::Choice(c) => Some(c),
            other => panic!("{name} is a choice, not {other:?} (its declarations disagree)"),
        }
    }

    /// Set `knob` to `value`: replaced where it is, else added after the others.
    pub fn set(&mut self, knob: &'static Knob, value: Value) {
        let slot = (self.set.iter())
            .position(|s| s.is_none_or(|(k, _)| k.name == knob.name))
            .expect("a method reads at most MOST settings");
        self.set[slot] = Some((knob, value));
    }

    /// Keep the settings `keep` says yes to, in their order.
    pub fn retain(&mut self, keep: impl Fn(&Knob) -> bool) {
        let mut kept = Self::default();
        for (knob, value) in self.iter().filter(|(k, _)| keep(k)) {
            kept.set(knob, value);
        }
        *self = kept;
    }

    /// (setting, value), in the method's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Knob, Value)> + '_ {
        self.set.iter().map_while(|s| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: Knob = Knob {
        name: "steps",
        kind: Kind::Count { low: 1, high: 10 },
        default: Default::Value(Value::Count(1)),
        id: InId::WhenRead,
        about: "",
    };

    #[test]
    fn values_are_read_and_bounds_named() {
        let yaml = |text: &str| serde_norway::from_str::<Yaml>(text).unwrap();
        assert_eq!(STEPS.read(&yaml("3")), Ok(Value::Count(3)));
        assert_eq!(STEPS.read(&yaml("0")), Err("expected at least 1".into()));
        assert_eq!(
            STEPS.read(&yaml("11")),
            Err("expected at most 10, found 11".into())
        );
        assert_eq!(
            STEPS.read(&yaml("-1")),
            Err("expected a whole number ≥ 0, found -1".into())
        );
        let rate = Knob {
            kind: Kind::RATE,
            ..STEPS
        };
        assert_eq!(rate.read(&yaml("0.5")), Ok(Value::Number(0.5)));
        assert_eq!(
            rate.read(&yaml("0")),
            Err("expected a positive learning rate, found 0".into())
        );
        assert_eq!(
            rate.read(&yaml("fast")),
            Err("expected a number, found `fast`".into())
        );
        let choice = Knob {
            kind: Kind::Choice(&["same", "separate"]),
            ..STEPS
        };
        assert_eq!(choice.read(&yaml("same")), Ok(Value::Choice("same")));
        assert_eq!(
            choice.read(&yaml("own")),
            Err("unknown variant `own`, expected one of `same`, `separate`".into())
        );
    }

    #[test]
    fn knobs_keep_their_order_and_replace_in_place() {
        static A: Knob = STEPS;
        static B: Knob = Knob { name: "b", ..STEPS };
        let mut knobs = Knobs::default();
        knobs.set(&A, Value::Count(1));
        knobs.set(&B, Value::Count(2));
        knobs.set(&A, Value::Count(3));
        let names: Vec<_> = knobs.iter().map(|(k, v)| (k.name, v)).collect();
        assert_eq!(names, [("steps", Value::Count(3)), ("b", Value::Count(2))]);
        knobs.retain(|k| k.name == "b");
        assert_eq!(knobs.count("b"), Some(2));
        assert_eq!(knobs.get("steps"), None);
    }
}
