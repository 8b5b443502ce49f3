//! Records the git commit the binary is built from, for the results' manifest.json (none
//! when the source is not a git checkout).

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
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for changes_on_commit in ["HEAD", "refs/heads", "packed-refs"] {
            println!("cargo:rerun-if-changed={dir}/{changes_on_commit}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
