//! report.html in a real browser: headless Chromium loads the file (no network), runs its
//! script, and the page it builds holds every method's points and the sortable tables; a
//! screenshot of it is not blank. Skipped, saying why, where Chromium cannot be had (`.ci/run`
//! installs Debian's `chromium` when it is missing).

mod common;

use std::process::Command;

use common::{Run, TINY, text};

fn chromium() -> Option<String> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"report_html skipped: no chromium on this machine (Debian: apt-get install chromium)\n",
        );
    }
    found.map(String::from)
}

#[test]
fn report_html_runs_in_a_browser_with_every_methods_points_and_sortable_tables() {
    let Some(browser) = chromium() else { return };
    let run = Run::new(&TINY.replace("name: tiny", "name: tiny\nselection: [last, val-pareto]"));
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let page = run.results().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script src") && !html.contains("<link "),
        "self-contained"
    );
    let url = format!("file://{}", page.display());
    let headless = |extra: &[&str]| {
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1200,1600",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = headless(&["--dump-dom"]);
    assert!(dom.status.success(), "{}", text(&dom));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the script ran to its end"
    );
    // Each policy's scatter: a point per selected configuration-epoch, by method.
    let aggregate = common::read_csv(&run.results().join("aggregate.csv"));
    for method in ["erm", "lagrangian", "fairbinn"] {
        let expected = aggregate.iter().filter(|r| r["method"] == method).count();
        let drawn = dom
            .matches(&format!("data-method=\"{method}\"></circle>"))
            .count();
        assert_eq!(drawn, expected, "{method}'s points in the scatters");
    }
    assert!(
        dom.matches("<table class=\"sortable\">").count() >= 4,
        "two tables a policy"
    );
    assert!(dom.contains("<th data-sort=\"2\">AOPAC</th>"));

    let shot = run.dir.path().join("report.png");
    let taken = headless(&[&format!("--screenshot={}", shot.display())]);
    assert!(taken.status.success(), "{}", text(&taken));
    // A blank white page compresses to a few kilobytes; this one has text, tables and dots.
    let bytes = std::fs::metadata(&shot).unwrap().len();
    assert!(bytes > 30_000, "screenshot of {bytes} bytes");
}
