//! Records the git commit the binary is built from, for the results' manifest.json (none
//! when the source is not a git checkout).

use std::path::Path;
use std::process::Command;

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    if let Some(revision) = git(&["rev-parse", "HEAD"]) {
        println!("cargo:rustc-env=FAIRBINN_GIT_REVISION={revision}");
    }
    // Run again when HEAD moves: HEAD itself (a checkout), the branches' ref files (a
    // commit) and packed-refs. Only paths that exist: cargo counts a missing one as changed
    // at every build, which reran this script and recompiled the crate on every `cargo
    // build` and `cargo test` (packed-refs is absent from a clone until git packs its refs).
    for name in ["HEAD", "packed-refs", "refs/heads"] {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
